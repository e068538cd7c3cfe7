"""Diffs between two versions of a document: pure functions, one return shape (:class:`Diff`).

How: the bodies are cut into sentences (:mod:`scraper.core.diff_text`), aligned sentence by
sentence and word by word inside edited sentences with difflib's SequenceMatcher, autojunk off
(:mod:`scraper.core.diff_align`; bench/bench_diff.py measures it against a flat word diff), then
numbers, quotations and editor's notes are called out (:mod:`scraper.core.diff_facts`) and the
result is scored and summarised (:mod:`scraper.core.diff_summary`). Whitespace, quote styles and
invisible characters are folded before comparing, so changes of only those are no change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scraper.core.diff_align import align, coalesce, word_ops
from scraper.core.diff_classes import classify, explain, score
from scraper.core.diff_display import sides
from scraper.core.diff_facts import edit_kind, find_notes, number_changes, quote_changes
from scraper.core.diff_fields import FIELDS, field_changes, field_values
from scraper.core.diff_model import (
    DIFF_VERSION,
    Block,
    Diff,
    EditClass,
    FieldChange,
    Note,
    WordOp,
    unchanged,
)
from scraper.core.diff_summary import Facts, stats, summarize
from scraper.core.diff_text import segment, word_count
from scraper.core.types import Content

__all__ = [
    "DIFF_VERSION",
    "FIELDS",
    "Block",
    "Diff",
    "DiffMismatchError",
    "EditClass",
    "FieldChange",
    "Note",
    "WordOp",
    "apply_blocks",
    "change_summary",
    "diff_contents",
    "diff_texts",
    "field_values",
]


class DiffMismatchError(ValueError):
    """A diff was applied to a text it was not made from."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"this diff was not made from the given old text: {reason}")


def diff_texts(old: str, new: str) -> Diff:
    """Compare two bodies (paragraphs separated by blank lines or line breaks)."""
    return _diff((), old, new, first_version=False)


def diff_contents(old: Content | None, new: Content) -> Diff:
    """Compare two versions' fields and bodies; ``old=None`` describes a first version."""
    if old is None:
        return _diff(field_changes(None, new), "", new.text, first_version=True)
    return _diff(field_changes(old, new), old.text, new.text, first_version=False)


def _diff(fields: tuple[FieldChange, ...], old: str, new: str, *, first_version: bool) -> Diff:
    old_units, new_units = segment(old), segment(new)
    blocks = tuple(coalesce(align(old_units, new_units), old_units, new_units))
    facts = _facts(fields, blocks, word_count(old), word_count(new), first_version)
    counts = stats(facts)
    empty = unchanged(fields, blocks, first_version=first_version)
    classes = () if empty else classify(facts, counts)
    return Diff(
        fields=fields,
        blocks=blocks,
        numbers=facts.numbers,
        quotes=facts.quotes,
        stats=counts,
        significance=0.0 if empty else (1.0 if first_version else score(classes)),
        summary=summarize(facts, empty),
        notes=facts.notes,
        first_version=first_version,
        classes=classes,
    )


def _facts(
    fields: tuple[FieldChange, ...], blocks: tuple[Block, ...], words_old: int, words_new: int, first: bool
) -> Facts:
    kinds = {at: edit_kind(b) for at, b in enumerate(blocks) if b.op == "edited"}
    notes, note_at = find_notes(blocks) if not first else ((), frozenset[int]())
    numbers = [] if first else [*_title_numbers(fields), *_body_numbers(blocks)]
    quotes = [] if first else [pair for b in blocks for pair in quote_changes(b)]
    return Facts(fields, blocks, kinds, _unique(numbers), tuple(quotes), notes, note_at,
                 words_old, words_new, first_version=first)  # fmt: skip


def _title_numbers(fields: Iterable[FieldChange]) -> list[tuple[str, str]]:
    return [
        pair
        for change in fields
        if change.field == "title" and change.old and change.new
        for pair in number_changes(word_ops(change.old, change.new))
    ]


def _body_numbers(blocks: Iterable[Block]) -> list[tuple[str, str]]:
    return [pair for b in blocks if b.op == "edited" for pair in number_changes(b.words)]


def _unique(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys(pairs))


def apply_blocks(old_text: str, diff: Diff) -> str:
    """Rebuild the new text from ``old_text`` and ``diff``.

    The old side of the blocks must spell ``old_text`` exactly (else :class:`DiffMismatchError`);
    edited sentences are rebuilt from their word operations."""
    rebuilt = sides(diff)[0]
    if rebuilt != old_text:
        raise DiffMismatchError(_first_difference(rebuilt, old_text))
    new = [(b.new_index, f"{_new_text(b)}{b.new_sep}") for b in diff.blocks if b.new_index is not None]
    return "".join(text for _, text in sorted(new))


def _first_difference(expected: str, got: str) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
        min(len(expected), len(got)),
    )
    diff_side, text_side = expected[at : at + 20], got[at : at + 20]
    return f"they part at character {at} ({diff_side!r} in the diff, {text_side!r} in the text)"


def _new_text(block: Block) -> str:
    if block.op == "edited":
        return "".join(w.text for w in block.words if w.op != "delete")
    return block.new or ""


def change_summary(diff: Diff) -> dict[str, Any]:
    """The compact, JSON-able record of a diff stored on every Version."""
    return {
        "diff_version": DIFF_VERSION,
        "summary": diff.summary,
        "significance": diff.significance,
        "stats": dict(diff.stats),
        "fields": [f.to_json() for f in diff.fields],
        "numbers": [list(pair) for pair in diff.numbers],
        "quotes": [list(pair) for pair in diff.quotes],
        "notes": [n.kind for n in diff.notes],
        "classes": [c.to_json() for c in diff.classes],
        "reasons": explain(diff.classes),
    }
