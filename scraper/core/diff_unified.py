"""The ``unified`` diff format: a patch that ``patch`` applies.

A version is written as a small plain-text document (:func:`document_text`): its fields as
``Name: value`` header lines, a blank line, then the body. The patch turns the old version's
document into the new one's, so it can be checked with ``patch`` and read by any diff viewer.
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import unified_diff

from scraper.core.diff_display import View, flat, labels, sides
from scraper.core.diff_fields import FIELDS, field_values

HEADERS = {
    "title": "Title",
    "byline": "Byline",
    "description": "Description",
    "published": "Published",
    "modified": "Modified",
    "canonical_url": "Canonical-URL",
    "language": "Language",
}
CONTEXT = 3


def document_text(fields: Mapping[str, str | None], body: str) -> str:
    """One version as text: header lines for the fields that are set, a blank line, the body."""
    header = [f"{HEADERS[name]}: {flat(value)}" for name in FIELDS if (value := fields.get(name)) is not None]
    text = "\n".join(header) + ("\n\n" if header else "") + body.replace("\r\n", "\n").replace("\r", "\n")
    return text if not text or text.endswith("\n") else text + "\n"


def render_unified(view: View) -> str:
    """A unified patch from the old version's :func:`document_text` to the new one's."""
    old_fields, new_fields = _fields(view)
    old_body, new_body = sides(view.diff)
    old_label, new_label = labels(view)
    patch = unified_diff(
        _lines(document_text(old_fields, old_body)),
        _lines(document_text(new_fields, new_body)),
        fromfile=old_label,
        tofile=new_label,
        n=CONTEXT,
    )
    return "".join(patch)


def _lines(text: str) -> list[str]:
    """Lines cut at "\\n" only (as ``patch`` reads them), each keeping its "\\n"."""
    return [f"{line}\n" for line in text[:-1].split("\n")] if text else []


def _fields(view: View) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Every field when both versions are known; else only the fields that changed."""
    if view.new is not None and (view.old is not None or view.diff.first_version):
        return (field_values(view.old) if view.old is not None else {}), field_values(view.new)
    return {c.field: c.old for c in view.diff.fields}, {c.field: c.new for c in view.diff.fields}
