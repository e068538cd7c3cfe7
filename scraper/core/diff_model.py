"""The diff's value types: every diff, whatever its input, is one :class:`Diff`.

Blocks come in display order: the new text's order, with removed units where they stood in the
old text. A block is one sentence (``level="sentence"``) or one whole paragraph. Its exact old and
new text are kept, with the whitespace that followed it in ``old_sep`` / ``new_sep``, so a diff
can rebuild both texts exactly (:func:`scraper.core.diff.apply_blocks`). ``old_index`` and
``new_index`` number the block's first sentence in the old and new text (sentences count from 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from scraper.core.diff_text import visible

DIFF_VERSION = 2  # bump when a change to the algorithm would change stored change summaries

WordOpKind = Literal["equal", "insert", "delete"]
BlockOp = Literal["equal", "added", "removed", "edited", "moved"]
Level = Literal["sentence", "paragraph"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """A metadata field that differs: ``title``, ``byline``, ``description``, ``published``,
    ``modified``, ``canonical_url`` or ``language`` (dates as ISO 8601 strings)."""

    field: str
    old: str | None
    new: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class WordOp:
    """A run of word tokens (each with the whitespace after it) inside an edited sentence.

    ``equal`` runs hold the new text's spelling (whitespace or quote styles may differ)."""

    op: WordOpKind
    text: str


@dataclass(frozen=True, slots=True)
class Block:
    op: BlockOp
    old: str | None
    new: str | None
    words: tuple[WordOp, ...] = ()
    old_index: int | None = None
    new_index: int | None = None
    level: Level = "sentence"
    old_sep: str = ""
    new_sep: str = ""

    @property
    def visible(self) -> bool:
        """False for a block of nothing but whitespace or invisible characters."""
        return visible(self.old or "") or visible(self.new or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "level": self.level,
            "old": self.old,
            "new": self.new,
            "old_index": self.old_index,
            "new_index": self.new_index,
            "old_sep": self.old_sep,
            "new_sep": self.new_sep,
            "words": [[w.op, w.text] for w in self.words],
        }


@dataclass(frozen=True, slots=True)
class Note:
    """An editor's note found among the added text: a correction, update, clarification..."""

    kind: str  # "correction" | "update" | "clarification" | "editor's note"
    text: str
    appended: bool  # True when nothing but other notes follows it in the new text

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "appended": self.appended}


@dataclass(frozen=True, slots=True)
class EditClass:
    """One kind of edit found in a diff: its class name, its weight (0..1) and why."""

    name: str
    weight: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"class": self.name, "weight": round(self.weight, 3), "reason": self.reason}


def unchanged(fields: tuple[FieldChange, ...], blocks: tuple[Block, ...], *, first_version: bool) -> bool:
    """True when no field changed and every block is equal or invisible (and not a first version)."""
    if first_version or fields:
        return False
    return all(b.op == "equal" or not b.visible for b in blocks)


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed between two versions, and how much it matters.

    ``numbers`` pairs changed numbers (old, new); ``quotes`` pairs changed quotations (old, new),
    with ``None`` on one side for a quotation added or removed. ``significance`` runs from 0 (a
    typo fixed) to 1 (rewritten); ``summary`` says it in one line.
    """

    fields: tuple[FieldChange, ...]
    blocks: tuple[Block, ...]
    numbers: tuple[tuple[str, str], ...]
    quotes: tuple[tuple[str | None, str | None], ...]
    stats: dict[str, int]
    significance: float
    summary: str
    notes: tuple[Note, ...] = ()
    first_version: bool = False
    classes: tuple[EditClass, ...] = ()  # heaviest first; significance is computed from them

    def is_empty(self) -> bool:
        """True when nothing but whitespace, quote styles or invisible characters changed."""
        return unchanged(self.fields, self.blocks, first_version=self.first_version)

    def changed_blocks(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.op != "equal" and b.visible)

    def to_json(self) -> dict[str, Any]:
        return {
            "diff_version": DIFF_VERSION,
            "summary": self.summary,
            "significance": self.significance,
            "first_version": self.first_version,
            "stats": dict(self.stats),
            "fields": [f.to_json() for f in self.fields],
            "numbers": [list(pair) for pair in self.numbers],
            "quotes": [list(pair) for pair in self.quotes],
            "notes": [n.to_json() for n in self.notes],
            "classes": [c.to_json() for c in self.classes],
            "blocks": [b.to_json() for b in self.blocks],
        }
