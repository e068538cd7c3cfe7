"""Metadata fields of two versions that differ (title, byline, dates...)."""

from __future__ import annotations

from datetime import UTC, datetime

from scraper.core.diff_model import FieldChange
from scraper.core.diff_text import key
from scraper.core.types import Content

FIELDS = ("title", "byline", "description", "published", "modified", "canonical_url", "language")


def field_values(content: Content) -> dict[str, str | None]:
    """The compared fields of ``content`` as strings (dates in ISO 8601, UTC when aware)."""
    return {
        "title": content.title,
        "byline": content.byline,
        "description": content.description,
        "published": _iso(content.published),
        "modified": _iso(content.modified),
        "canonical_url": content.canonical_url,
        "language": content.language,
    }


def field_changes(old: Content | None, new: Content) -> tuple[FieldChange, ...]:
    """Fields that differ; with no old version, every field the new one has."""
    after = field_values(new)
    before = field_values(old) if old is not None else dict.fromkeys(FIELDS)
    return tuple(
        FieldChange(name, before[name], after[name])
        for name in FIELDS
        if not _same(name, before[name], after[name])
    )


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return (when.astimezone(UTC) if when.tzinfo is not None else when).isoformat()


def _same(name: str, old: str | None, new: str | None) -> bool:
    if name == "language":
        return (old or "").strip().lower() == (new or "").strip().lower()
    return key(old or "") == key(new or "")
