"""The event table: an append-only stream of what a person would care about (docs/events.md).

Written only in the transaction of what it reports (:func:`storage.versions.apply`, and
:func:`storage.catalog.link_story_document` for new coverage); read with a cursor: the ``id`` is
monotonic, so ``after(session, after_id=last_seen)`` never misses or repeats an event.

Kinds and their ``data`` keys (every event has ``at``, ``kind``, ``summary``; version events
also ``document_id``, ``channel``, ``version_id``, ``seq``, ``prev_seq``):

================  ==============================================================================
new_coverage      ``story_id`` set; data: ``via``, ``score``, ``reason``, ``source_id``, ``url``
first_version     significance 1.0; data: ``kind``, ``title``
change            significance from the diff; data: ``kind``
headline          the title changed (beside change / reverted / restored); data: ``old_title``,
                  ``new_title``
moved             a feed entry's stable id (RSS guid, Atom id) came with a new link; data:
                  ``from_url``, ``to_url``, ``guid``
deleted           a tombstone; significance 1.0; data: ``http_status``
restored          a version after a tombstone; data: ``kind``
reverted          back to an earlier content; data: ``kind``, ``revert_of``
suspect           an extraction not trusted (no version made); ``prev_seq`` the latest version;
                  data: ``reason`` (no_text, lost_text, mojibake)
reextracted       a stored body re-derived by a newer extractor; significance 0.0; data: ``kind``
================  ==============================================================================

Events of the ``page`` and ``feed`` channel of one document are separate events (``channel``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scraper.core.versioning import EventDraft, EventKind
from storage.models import Event, StoryDocument

KINDS = tuple(kind.value for kind in EventKind)


def add(
    session: Session,
    *,
    draft: EventDraft,
    at: datetime,
    document_id: int | None = None,
    story_id: int | None = None,
    channel: str | None = None,
    version_id: int | None = None,
) -> Event:
    """Append one event (flushed, so it has its id); the caller's transaction commits it."""
    event = Event(
        at=at,
        kind=draft.kind.value,
        document_id=document_id,
        story_id=story_id,
        channel=channel,
        version_id=version_id,
        seq=draft.seq,
        prev_seq=draft.prev_seq,
        significance=draft.significance,
        summary=draft.summary,
        data=dict(draft.data),
    )
    session.add(event)
    session.flush()
    return event


def new_coverage(
    session: Session, *, story_id: int, document_id: int, at: datetime, url: str, **data: Any
) -> Event:
    """A document newly linked to a story."""
    draft = EventDraft(EventKind.NEW_COVERAGE, f"new coverage: {url}", data={"url": url, **data})
    return add(session, draft=draft, at=at, document_id=document_id, story_id=story_id)


def moved(
    session: Session, *, document_id: int, at: datetime, from_url: str, to_url: str, guid: str
) -> Event:
    """A feed entry's stable id came with a new link: the document's URL moved."""
    data = {"from_url": from_url, "to_url": to_url, "guid": guid}
    draft = EventDraft(EventKind.MOVED, f"moved: {from_url} -> {to_url}", data=data)
    return add(session, draft=draft, at=at, document_id=document_id, channel="feed")


def after(
    session: Session, *, after_id: int = 0, limit: int = 500, kinds: Sequence[str] | None = None
) -> list[Event]:
    """Events with an id greater than ``after_id``, oldest first (the notification cursor)."""
    query = select(Event).where(col(Event.id) > after_id)
    if kinds:
        query = query.where(col(Event.kind).in_(list(kinds)))
    return list(session.exec(query.order_by(col(Event.id)).limit(limit)))


def for_document(session: Session, *, document_id: int, channel: str | None = None) -> list[Event]:
    """A document's events, oldest first."""
    query = select(Event).where(Event.document_id == document_id)
    if channel:
        query = query.where(Event.channel == channel)
    return list(session.exec(query.order_by(col(Event.id))))


def for_story(
    session: Session,
    *,
    story_id: int,
    after_id: int = 0,
    limit: int | None = None,
    since: datetime | None = None,
) -> list[Event]:
    """A story's events, oldest first: those naming the story, and the events of its documents
    (new coverage of other stories left out)."""
    docs = select(StoryDocument.document_id).where(StoryDocument.story_id == story_id)
    mine = sa.or_(
        col(Event.story_id) == story_id,
        sa.and_(col(Event.story_id).is_(None), col(Event.document_id).in_(docs)),
    )
    query = select(Event).where(mine, col(Event.id) > after_id)
    if since is not None:
        query = query.where(col(Event.at) >= since)
    query = query.order_by(col(Event.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def last_id(session: Session) -> int:
    """The id of the newest event (0 when there is none)."""
    return int(session.exec(select(sa.func.max(Event.id))).one() or 0)


def to_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "kind": event.kind,
        "document_id": event.document_id,
        "story_id": event.story_id,
        "channel": event.channel,
        "version_id": event.version_id,
        "seq": event.seq,
        "prev_seq": event.prev_seq,
        "significance": event.significance,
        "summary": event.summary,
        "data": dict(event.data or {}),
    }
