"""What a reader wants called out of a diff: changed numbers and quotations, editor's notes, and
whether an edited sentence was only a typo fix, a number change or a quotation change."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from itertools import zip_longest
from typing import Literal

from scraper.core.diff_model import Block, Note, WordOp
from scraper.core.diff_text import breaks_line, key

EditKind = Literal["typo", "number", "quote", "edit"]

NUMBER = re.compile(r"[$\u20ac\u00a3\u00a5]?\d+(?:[.,:]\d+)*%?")
QUOTE = re.compile(r'"([^"]{2,400})"')  # on comparison keys, where every double quote style is '"'
_NOTE = re.compile(
    r"^[\W_]*(?:(?P<label>corrections?|clarifications?|updates?|updated|editor'?s'? ?notes?)\s*[:.\u2014-]"
    r"|(?P<updated>this (?:article|story|report|post|piece|page) (?:has been|was|is) "
    r"(?P<how>updated|corrected|amended|changed|revised))"
    r"|(?P<earlier>an? (?:earlier|previous|prior|older) version of this))",
    re.IGNORECASE,
)
TYPO_SIMILARITY = 0.75  # character similarity from which a one- or two-word replacement is a typo fix
TYPO_MAX_CHANGES, TYPO_MIN_LENGTH = 2, 5  # or: at most 2 characters changed in words of 5 or more


def change_runs(words: Sequence[WordOp]) -> list[tuple[str, str]]:
    """(deleted, inserted) text of every run of changed words."""
    runs: list[tuple[str, str]] = []
    deleted = inserted = ""
    for op in [*words, WordOp("equal", "")]:
        if op.op == "equal" and (deleted or inserted):
            runs.append((deleted, inserted))
            deleted = inserted = ""
        elif op.op == "delete":
            deleted += op.text
        elif op.op == "insert":
            inserted += op.text
    return runs


def number_changes(words: Sequence[WordOp]) -> list[tuple[str, str]]:
    """Numbers replaced inside the changed runs, paired in order."""
    pairs: list[tuple[str, str]] = []
    for deleted, inserted in change_runs(words):
        pairs += [
            (a, b) for a, b in zip(NUMBER.findall(deleted), NUMBER.findall(inserted), strict=False) if a != b
        ]
    return pairs


def quotations(text: str) -> list[str]:
    return QUOTE.findall(key(text))


def quote_changes(block: Block) -> list[tuple[str | None, str | None]]:
    """Quotations that differ between the two sides of a block, paired in order."""
    if block.op in ("moved", "equal") or block.op == "edited" and _typo_only(block):
        return []
    old, new = quotations(block.old or ""), quotations(block.new or "")
    gone, came = [q for q in old if q not in new], [q for q in new if q not in old]
    return list(zip_longest(gone, came))


def edit_kind(block: Block) -> EditKind:
    """Classify an edited block by the least that explains all of its changed runs."""
    runs = change_runs(block.words)
    if runs and all(_numbers_only(d, i) for d, i in runs):
        return "number"
    if _typo_only(block):
        return "typo"
    if quote_changes(block) and _unquoted(block.old or "") == _unquoted(block.new or ""):
        return "quote"
    return "edit"


def _typo_only(block: Block) -> bool:
    runs = change_runs(block.words)
    return bool(runs) and len(runs) <= 3 and all(is_typo(d, i) for d, i in runs)


def is_typo(deleted: str, inserted: str) -> bool:
    """True for a change of spelling, case, punctuation or encoding in at most two words.

    Never for a number, nor for a word added or removed (a "not" inserted is no typo)."""
    a, b = key(deleted), key(inserted)
    if NUMBER.search(a) or NUMBER.search(b):
        return False
    if _letters(a) == _letters(b):
        return True
    if not (0 < len(a.split()) <= 2 and 0 < len(b.split()) <= 2):
        return False
    matcher = SequenceMatcher(None, a.lower(), b.lower(), autojunk=False)
    if matcher.ratio() >= TYPO_SIMILARITY:
        return True
    changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    return min(len(a), len(b)) >= TYPO_MIN_LENGTH and changed <= TYPO_MAX_CHANGES


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _numbers_only(deleted: str, inserted: str) -> bool:
    a, b = key(deleted), key(inserted)
    return NUMBER.sub("#", a) == NUMBER.sub("#", b) and NUMBER.findall(a) != NUMBER.findall(b)


def _unquoted(text: str) -> str:
    return QUOTE.sub('""', key(text))


def note_kind(text: str) -> str | None:
    """The kind of editor's note ``text`` opens with, or None when it is not one."""
    match = _NOTE.match(key(text))
    if match is None:
        return None
    if match.group("label"):
        return _label_kind(match.group("label").lower())
    if match.group("updated"):
        return "update" if match.group("how").lower() in ("updated", "changed") else "correction"
    return "correction"


def _label_kind(label: str) -> str:
    for kind in ("correction", "clarification", "update"):
        if label.startswith(kind[:6]):
            return kind
    return "editor's note"


def find_notes(blocks: Sequence[Block]) -> tuple[tuple[Note, ...], frozenset[int]]:
    """Editor's notes among the added blocks, and the positions of the blocks that hold them.

    An added sentence right after a note sentence, in the same paragraph, belongs to that note."""
    found: list[tuple[int, str, str]] = []  # (position of its first block, kind, text)
    at: set[int] = set()
    for index, block in enumerate(blocks):
        if block.op != "added" or block.new is None:
            continue
        kind = note_kind(block.new)
        if index - 1 in at and _same_paragraph(blocks[index - 1]):
            at.add(index)
            first, first_kind, text = found[-1]
            found[-1] = (first, first_kind, f"{text} {block.new}")
        elif kind is not None:
            at.add(index)
            found.append((index, kind, block.new))
    last = _last_content(blocks, at)
    return tuple(Note(kind, text, appended=first > last) for first, kind, text in found), frozenset(at)


def _last_content(blocks: Sequence[Block], notes: set[int]) -> int:
    """Position of the last block with visible new text that is not part of a note (-1: none)."""
    for index in range(len(blocks) - 1, -1, -1):
        if index not in notes and key(blocks[index].new or ""):
            return index
    return -1


def _same_paragraph(block: Block) -> bool:
    """True when the block after ``block`` continues its paragraph."""
    return block.level == "sentence" and not breaks_line(block.new_sep)
