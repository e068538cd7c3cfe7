"""Read-side rows for "the story at a glance" and a document's headline history.

:func:`story_marks` gives one row per version of every document of a story (never the text):
what the story page's lane picture draws. :func:`headline_history` gives every title a document
had, in order, per channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from storage.models import Document, StoryDocument, Version


@dataclass(frozen=True, slots=True)
class MarkRow:
    """One version of one of the story's documents."""

    document_id: int
    url: str
    discovered_at: datetime
    channel: str
    seq: int
    kind: str
    revert_of: int | None
    observed_at: datetime
    title: str | None
    change_summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HeadlineRow:
    channel: str
    seq: int
    observed_at: datetime
    kind: str
    title: str | None


def story_marks(session: Session, *, story_id: int, at: datetime | None = None) -> list[MarkRow]:
    """Every version (observed by ``at``) of the story's documents, by document, channel, seq."""
    query = (
        sa.select(
            col(Version.document_id),
            col(Document.url),
            col(StoryDocument.discovered_at),
            col(Version.channel),
            col(Version.seq),
            col(Version.kind),
            col(Version.revert_of),
            col(Version.observed_at),
            col(Version.title),
            col(Version.change_summary),
        )  # fmt: skip
        .join(Document, col(Document.id) == col(Version.document_id))
        .join(StoryDocument, col(StoryDocument.document_id) == col(Version.document_id))
        .where(col(StoryDocument.story_id) == story_id)
        .order_by(col(Version.document_id), col(Version.channel), col(Version.seq))
    )
    if at is not None:
        query = query.where(col(Version.observed_at) <= at, col(StoryDocument.discovered_at) <= at)
    return [MarkRow(*row) for row in session.execute(query)]


def headline_history(session: Session, *, document_id: int) -> list[HeadlineRow]:
    """Every version's title (and kind) of the document, by channel and seq."""
    query = (
        sa.select(
            col(Version.channel),
            col(Version.seq),
            col(Version.observed_at),
            col(Version.kind),
            col(Version.title),
        )  # fmt: skip
        .where(col(Version.document_id) == document_id)
        .order_by(col(Version.channel), col(Version.seq))
    )
    return [HeadlineRow(*row) for row in session.execute(query)]


def channels_of(rows: Sequence[HeadlineRow]) -> list[str]:
    return list(dict.fromkeys(row.channel for row in rows))
