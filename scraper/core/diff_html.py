"""The ``html`` (inline) and ``html-side`` (side by side) diff formats.

Each is one self-contained page: inline CSS in a single ``<style>`` block, no script, and a
Content-Security-Policy that forbids any. Every piece of archived text (and every label) goes
through :func:`html.escape`, so a version holding ``<script>``, ``onerror=`` or ``</style>``
shows as text and never runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from scraper.core.diff_display import View, flat, labels, paragraphs, runs
from scraper.core.diff_model import Block, Diff, FieldChange

CSS = (
    "body{font:16px/1.55 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
    "ins{background:#d4f4dc;text-decoration:none}"
    "del{background:#fadadb;color:#7a1010}"
    ".moved{background:#e1eafb}"
    ".summary{font-weight:600;font-size:1.1rem}"
    ".meta{color:#555}"
    "table{border-collapse:collapse;width:100%;margin:1rem 0}"
    "th,td{border:1px solid #d8d8d8;padding:.35rem .5rem;vertical-align:top;text-align:left}"
    "table.side td{width:50%}"
    "tr.equal td{color:#555}"
)
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'"


def render_html(view: View) -> str:
    """The new text with every change inline: ``<del>`` for removed words, ``<ins>`` for added."""
    body = "\n".join(
        f"<p>{' '.join(_inline(b) for b in group)}</p>" for group in paragraphs(view.diff.blocks)
    )
    return _page(view, f'<article class="inline">\n{body}\n</article>')


def render_html_side(view: View) -> str:
    """A two-column table: the old text on the left, the new on the right, one row per block."""
    old_label, new_label = labels(view)
    head = f"<tr><th>{escape(old_label)}</th><th>{escape(new_label)}</th></tr>"
    rows = "\n".join(_side_row(b) for b in view.diff.blocks if b.visible)
    return _page(view, f'<table class="side">\n{head}\n{rows}\n</table>')


def _page(view: View, main: str) -> str:
    old_label, new_label = labels(view)
    diff = view.diff
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(old_label)} \u2192 {escape(new_label)}: {escape(diff.summary)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f'<p class="summary">{escape(diff.summary)}</p>',
            f'<p class="meta">{escape(old_label)} \u2192 {escape(new_label)} \u00b7 '
            f"significance {diff.significance:.2f}</p>",
            _fields_table(diff.fields),
            _facts(diff),
            main,
            "</body>",
            "</html>",
            "",
        ]
    )


def _fields_table(fields: Sequence[FieldChange]) -> str:
    if not fields:
        return ""
    rows = "".join(
        f"<tr><th>{escape(c.field)}</th><td>{_wrap('del', c.old)}</td><td>{_wrap('ins', c.new)}</td></tr>"
        for c in fields
    )
    return f'<table class="fields"><tr><th>field</th><th>before</th><th>after</th></tr>{rows}</table>'


def _facts(diff: Diff) -> str:
    items = [f"<li>number: {_wrap('del', a)} \u2192 {_wrap('ins', b)}</li>" for a, b in diff.numbers]
    items += [f"<li>quotation: {_wrap('del', a)} \u2192 {_wrap('ins', b)}</li>" for a, b in diff.quotes]
    items += [f"<li>{escape(n.kind)}: {escape(flat(n.text))}</li>" for n in diff.notes]
    return f'<ul class="facts">{"".join(items)}</ul>' if items else ""


def _wrap(tag: str, text: str | None) -> str:
    return f"<{tag}>{escape(flat(text))}</{tag}>" if text else "\u2014"


def _inline(block: Block) -> str:
    if block.op == "edited":
        return _words(block, "delete", "insert")
    if block.op == "added":
        return _wrap("ins", block.new)
    if block.op == "removed":
        return _wrap("del", block.old)
    text = escape(flat(block.new or ""))
    return f'<span class="moved" title="moved">{text}</span>' if block.op == "moved" else text


def _words(block: Block, *shown: str) -> str:
    tags = {"delete": "del", "insert": "ins"}
    parts = []
    for run in runs(block.words, ("equal", *shown)):
        if run.op == "equal":
            parts.append(escape(run.text) + run.gap)
        elif run.text:
            parts.append(f"<{tags[run.op]}>{escape(run.text)}</{tags[run.op]}>{run.gap}")
    return "".join(parts).rstrip()


def _side_row(block: Block) -> str:
    if block.op == "edited":
        old, new = _words(block, "delete"), _words(block, "insert")
    elif block.op == "moved":
        old = f'<span class="moved">(moved from sentence {(block.old_index or 0) + 1})</span>'
        new = f'<span class="moved">{escape(flat(block.new or ""))}</span>'
    else:
        old = _wrap("del", block.old) if block.op == "removed" else escape(flat(block.old or ""))
        new = _wrap("ins", block.new) if block.op == "added" else escape(flat(block.new or ""))
    return f'<tr class="{block.op}"><td>{old}</td><td>{new}</td></tr>'
