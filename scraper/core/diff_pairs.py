"""Sentence pairs of a diff, labelled as NewsEdits labels them (Spangher et al., 2022).

Every sentence of the old and of the new text appears in exactly one pair:

==============  =====================================================================
``unchanged``   (old, new): the same sentence (whitespace, quote styles aside)
``edit``        (old, new): a sentence edited in place (a word-level diff inside)
``refactor``    (old, new): a sentence moved elsewhere, unchanged
``addition``    (None, new): a sentence only the new text has
``deletion``    (old, None): a sentence only the old text had
==============  =====================================================================

Indices count the sentences of :func:`scraper.core.diff_text.segment` from 0, as the diff's
``old_index`` / ``new_index`` do.
"""

from __future__ import annotations

from scraper.core.diff_model import Block, Diff
from scraper.core.diff_text import count_sentences

LABELS = {
    "equal": "unchanged",
    "edited": "edit",
    "moved": "refactor",
    "added": "addition",
    "removed": "deletion",
}

Pair = tuple[int | None, int | None, str]


def sentence_pairs(diff: Diff) -> list[Pair]:
    """(old index, new index, label) for every sentence of both texts, in the diff's order."""
    return [pair for block in diff.blocks for pair in _pairs(block)]


def _pairs(block: Block) -> list[Pair]:
    label = LABELS[block.op]
    if block.op == "edited":
        return [(block.old_index, block.new_index, label)]
    old_n = count_sentences(block.old or "") if block.old_index is not None else 0
    new_n = count_sentences(block.new or "") if block.new_index is not None else 0
    if block.op == "added":
        return [(None, _at(block.new_index, i), label) for i in range(new_n)]
    if block.op == "removed":
        return [(_at(block.old_index, i), None, label) for i in range(old_n)]
    return [(_at(block.old_index, i), _at(block.new_index, i), label) for i in range(max(old_n, new_n))]


def _at(start: int | None, offset: int) -> int | None:
    return None if start is None else start + offset
