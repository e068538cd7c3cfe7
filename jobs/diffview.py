"""A diff coloured for a terminal (rich). Piped output uses the plain ``text`` format instead.

Archived text is appended as plain :class:`rich.text.Text` spans, never parsed as console markup,
so a version holding ``[red]`` or ``[link=...]`` prints as it is.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from scraper.core.diff import Block, Diff, FieldChange
from scraper.core.diff_display import flat, runs

STYLES = {
    "added": "green",
    "removed": "red strike",
    "moved": "cyan",
    "insert": "bold green",
    "delete": "bold red strike",
    "summary": "bold",
    "meta": "dim",
}
MARKS = {"added": "+ ", "removed": "- ", "edited": "~ ", "moved": "> "}


def render_rich(diff: Diff, *, old_label: str = "old", new_label: str = "new") -> Group:
    """The summary, the changed fields, then one coloured line per changed sentence or paragraph."""
    header = Text(diff.summary, style=STYLES["summary"])
    meta = Text(
        f"{old_label} \u2192 {new_label} \u00b7 significance {diff.significance:.2f}", style=STYLES["meta"]
    )
    lines = [_field(change) for change in diff.fields]
    lines += [_block(block) for block in diff.changed_blocks()]
    return Group(header, meta, *lines)


def _field(change: FieldChange) -> Text:
    line = Text(f"{change.field}: ", style="bold")
    line.append(flat(change.old or "(none)"), style=STYLES["removed"])
    line.append(" \u2192 ")
    line.append(flat(change.new or "(none)"), style=STYLES["added"])
    return line


def _block(block: Block) -> Text:
    line = Text(MARKS[block.op], style="bold")
    if block.op == "edited":
        for run in runs(block.words):
            line.append(run.text, style=STYLES.get(run.op, ""))
            line.append(run.gap)
        line.rstrip()
        return line
    text = block.new if block.new is not None else block.old
    line.append(("(moved) " if block.op == "moved" else "") + flat(text or ""), style=STYLES[block.op])
    return line
