"""Repository functions for sources and stories (what storytrail follows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage import events
from storage.documents import NotFoundError
from storage.models import Document, Source, Story, StoryDocument
from storage.rows import add_once


def list_sources(session: Session, *, enabled_only: bool = False) -> list[Source]:
    query = select(Source).order_by(col(Source.name))
    if enabled_only:
        query = query.where(col(Source.enabled).is_(True))
    return list(session.exec(query))


def find_source(session: Session, *, name: str) -> Source | None:
    return session.exec(select(Source).where(Source.name == name)).first()


def get_source(session: Session, *, name: str) -> Source:
    source = find_source(session, name=name)
    if source is None:
        raise NotFoundError(f"no source named {name!r} (see `storytrail sources list`)")
    return source


def upsert_source(session: Session, *, name: str, now: datetime, **fields: Any) -> tuple[Source, bool]:
    """Create or update the source called ``name``; validators and schedule state are kept."""
    source = find_source(session, name=name)
    if source is None:
        source, created = add_once(
            session, Source(name=name, created_at=now, **fields), lambda: find_source(session, name=name)
        )
        if created:
            return source, True
    for key, value in fields.items():
        setattr(source, key, value)
    session.add(source)
    session.flush()
    return source, False


def remove_source(session: Session, *, name: str) -> None:
    session.delete(get_source(session, name=name))
    session.flush()


def list_stories(session: Session) -> list[Story]:
    return list(session.exec(select(Story).order_by(col(Story.slug))))


def find_story(session: Session, *, slug: str) -> Story | None:
    return session.exec(select(Story).where(Story.slug == slug)).first()


def get_story(session: Session, *, slug: str) -> Story:
    story = find_story(session, slug=slug)
    if story is None:
        raise NotFoundError(f"no story with slug {slug!r} (see `storytrail stories list`)")
    return story


def upsert_story(session: Session, *, slug: str, now: datetime, **fields: Any) -> tuple[Story, bool]:
    story = find_story(session, slug=slug)
    if story is None:
        story, created = add_once(
            session, Story(slug=slug, created_at=now, **fields), lambda: find_story(session, slug=slug)
        )
        if created:
            return story, True
    for key, value in fields.items():
        setattr(story, key, value)
    session.add(story)
    session.flush()
    return story, False


def disable_source(session: Session, *, source: Source) -> None:
    """A source no longer polled (kept, with everything it found)."""
    source.enabled = False
    session.add(source)
    session.flush()


def link_story_document(
    session: Session,
    *,
    story_id: int,
    document_id: int,
    now: datetime,
    score: float = 1.0,
    reason: str = "",
    via: str = "seed",
    source_id: int | None = None,
    from_document_id: int | None = None,
    depth: int = 0,
) -> tuple[StoryDocument, bool]:
    """Attach a document to a story once; a later, better score replaces the reason.

    Safe against a concurrent linker of the same pair (another process or node): the insert runs
    in a savepoint, and on a unique-key conflict the other's link is updated instead."""
    link = _story_link(session, story_id=story_id, document_id=document_id)
    if link is None:
        link = StoryDocument(
            story_id=story_id,
            document_id=document_id,
            score=score,
            reason=reason,
            via=via,
            source_id=source_id,
            from_document_id=from_document_id,
            depth=depth,
            discovered_at=now,
        )
        link, created = add_once(
            session, link, lambda: _story_link(session, story_id=story_id, document_id=document_id)
        )
        if created:
            doc = session.get(Document, document_id)
            details = {"via": via, "score": score, "reason": reason, "source_id": source_id}
            events.new_coverage(
                session, story_id=story_id, document_id=document_id, at=now, url=doc.url if doc else "",
                **details,
            )  # fmt: skip
            return link, True
    if score > link.score:
        link.score, link.reason = score, reason
        session.add(link)
    return link, False


def _story_link(session: Session, *, story_id: int, document_id: int) -> StoryDocument | None:
    query = select(StoryDocument).where(
        StoryDocument.story_id == story_id, StoryDocument.document_id == document_id
    )
    return session.exec(query).first()


def story_documents(session: Session, *, story_id: int) -> list[tuple[StoryDocument, Document]]:
    rows = session.exec(
        select(StoryDocument, Document)
        .join(Document, col(Document.id) == StoryDocument.document_id)
        .where(StoryDocument.story_id == story_id)
        .order_by(col(StoryDocument.discovered_at), col(StoryDocument.id))
    )
    return list(rows)
