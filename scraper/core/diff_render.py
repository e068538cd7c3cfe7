"""A diff in the form a reader needs, looked up by name: :data:`FORMATS`.

Every renderer is a pure function of a :class:`View` returning a string. ``text`` is for a
terminal without colour, ``unified`` a patch (``patch`` applies it), ``markdown`` for notes and
issues, ``html`` and ``html-side`` self-contained pages, ``json`` every operation and statistic.
Archived text is escaped in every format that has markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from scraper.core.diff_display import View, flat, labels, runs
from scraper.core.diff_html import render_html, render_html_side
from scraper.core.diff_model import Block, Diff, FieldChange
from scraper.core.diff_unified import render_unified
from scraper.core.types import Content

FORMATS = ("text", "unified", "markdown", "html", "html-side", "json")

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<|~&])")  # enough for text that never starts a line


class UnknownFormatError(ValueError):
    def __init__(self, fmt: str) -> None:
        super().__init__(f"unknown diff format {fmt!r}: choose one of {', '.join(FORMATS)}")
        self.format = fmt


def render(
    diff: Diff,
    fmt: str,
    *,
    old: Content | None = None,
    new: Content | None = None,
    old_label: str = "",
    new_label: str = "",
) -> str:
    """Render ``diff`` in format ``fmt`` (one of :data:`FORMATS`), else :class:`UnknownFormatError`."""
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise UnknownFormatError(fmt)
    return renderer(View(diff, old, new, old_label, new_label))


# -- text ---------------------------------------------------------------------------------------

_TEXT_MARKS = {"added": "+", "removed": "-", "edited": "~", "moved": ">"}


def render_text(view: View) -> str:
    """Plain text: the summary, the fields that changed, one line per changed sentence or paragraph."""
    old_label, new_label = labels(view)
    lines = [view.diff.summary, f"{old_label} -> {new_label}"]
    lines += [_text_field(change) for change in view.diff.fields]
    lines += [""] if view.diff.changed_blocks() else []
    lines += [_text_block(block) for block in view.diff.changed_blocks()]
    return "\n".join(lines) + "\n"


def _text_field(change: FieldChange) -> str:
    return f"{change.field}: {flat(change.old or '(none)')} -> {flat(change.new or '(none)')}"


def _text_block(block: Block) -> str:
    mark = _TEXT_MARKS[block.op]
    if block.op == "edited":
        return f"{mark} " + "".join(_text_run(r.op, r.text) + r.gap for r in runs(block.words)).rstrip()
    text = flat(block.new if block.new is not None else block.old or "")
    return f"{mark} (moved) {text}" if block.op == "moved" else f"{mark} {text}"


def _text_run(op: str, text: str) -> str:
    if not text:
        return ""
    return {"delete": f"[-{text}-]", "insert": f"{{+{text}+}}"}.get(op, text)


# -- markdown -----------------------------------------------------------------------------------


def md_escape(text: str) -> str:
    """``text`` on one line with every Markdown and HTML special character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", flat(text))


def render_markdown(view: View) -> str:
    old_label, new_label = labels(view)
    diff = view.diff
    parts = [f"### Changes: {md_escape(old_label)} \u2192 {md_escape(new_label)}", "",
             f"**{md_escape(diff.summary)}** (significance {diff.significance:.2f})", ""]  # fmt: skip
    if diff.fields:
        parts += [*_md_fields(diff.fields), ""]
    parts += [_md_block(block) for block in diff.changed_blocks()]
    return "\n".join(parts).rstrip("\n") + "\n"


def _md_fields(fields: Sequence[FieldChange]) -> list[str]:
    rows = [f"| {c.field} | {_md_side(c.old, '~~')} | {_md_side(c.new, '**')} |" for c in fields]
    return ["| field | before | after |", "|---|---|---|", *rows]


def _md_side(value: str | None, mark: str) -> str:
    return f"{mark}{md_escape(value)}{mark}" if value and flat(value) else "\u2014"


def _md_block(block: Block) -> str:
    if block.op == "edited":
        text = "".join(_md_run(r.op, r.text) + r.gap for r in runs(block.words)).rstrip()
    elif block.op == "removed":
        text = f"~~{md_escape(block.old or '')}~~"
    else:
        text = md_escape(block.new or "")
    return f"- **{block.op}:** {text}"


def _md_run(op: str, text: str) -> str:
    if not text:
        return ""
    escaped = md_escape(text)
    return {"delete": f"~~{escaped}~~", "insert": f"**{escaped}**"}.get(op, escaped)


# -- json ---------------------------------------------------------------------------------------


def render_json(view: View) -> str:
    """Every block with its word operations, the statistics, the summary and the labels."""
    old_label, new_label = labels(view)
    document = {"old_label": old_label, "new_label": new_label, **view.diff.to_json()}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


_RENDERERS: dict[str, Callable[[View], str]] = {
    "text": render_text,
    "unified": render_unified,
    "markdown": render_markdown,
    "html": render_html,
    "html-side": render_html_side,
    "json": render_json,
}
