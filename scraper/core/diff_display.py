"""Shared by every diff renderer: what it is given (:class:`View`), word runs ready to print,
blocks grouped into paragraphs, and the old and new texts a diff was made from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from scraper.core.diff_model import Block, Diff, WordOp
from scraper.core.diff_text import breaks_line
from scraper.core.types import Content

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class View:
    """What a renderer gets: the diff, the versions when known, and labels for the two sides."""

    diff: Diff
    old: Content | None = None
    new: Content | None = None
    old_label: str = ""
    new_label: str = ""


def labels(view: View) -> tuple[str, str]:
    return flat(view.old_label) or "old", flat(view.new_label) or "new"


@dataclass(frozen=True, slots=True)
class Run:
    """A word run to display: ``op`` (equal, insert, delete), its text on one line, then ``gap``
    (" " or "") to print after the markup that surrounds it."""

    op: str
    text: str
    gap: str


def flat(text: str) -> str:
    """``text`` on one line, whitespace runs folded to single spaces."""
    return _SPACES.sub(" ", text).strip()


def runs(words: Sequence[WordOp], ops: Sequence[str] = ("equal", "delete", "insert")) -> list[Run]:
    """The word runs of kinds ``ops``, their trailing space moved outside so markup hugs the words."""
    words = [w for w in words if w.op in ops]
    out: list[Run] = []
    for at, word in enumerate(words):
        gap = " " if word.text[-1:].isspace() else ""
        if word.op == "delete" and at + 1 < len(words) and words[at + 1].op == "insert":
            gap = ""
        if word.op == "delete" and out and out[-1].op == "equal" and not out[-1].gap:
            out[-1] = Run(out[-1].op, out[-1].text, " ")
        out.append(Run(word.op, flat(word.text), gap))
    return out


def paragraphs(blocks: Sequence[Block]) -> list[list[Block]]:
    """Blocks grouped as they read: a paragraph-level block, or sentences up to a line break."""
    groups: list[list[Block]] = []
    current: list[Block] = []
    for block in blocks:
        if block.level == "paragraph" and current:
            groups.append(current)
            current = []
        current.append(block)
        sep = block.new_sep if block.new is not None else block.old_sep
        if block.level == "paragraph" or breaks_line(sep):
            groups.append(current)
            current = []
    return [*groups, current] if current else groups


def sides(diff: Diff) -> tuple[str, str]:
    """The old and new bodies the diff was made from, exactly."""
    old = [
        (b.old_index, f"{b.old}{b.old_sep}")
        for b in diff.blocks
        if b.old is not None and b.old_index is not None
    ]
    new = [
        (b.new_index, f"{b.new}{b.new_sep}")
        for b in diff.blocks
        if b.new is not None and b.new_index is not None
    ]
    return "".join(text for _, text in sorted(old)), "".join(text for _, text in sorted(new))
