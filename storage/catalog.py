"""Repository functions for sources and stories (what storytrail follows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage import events
from storage.documents import NotFoundError
from storage.models import Document, Source, Story, StoryDocument


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
    created = source is None
    if source is None:
        source = Source(name=name, created_at=now, **fields)
    else:
        for key, value in fields.items():
            setattr(source, key, value)
    session.add(source)
    session.flush()
    return source, created


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
    created = story is None
    if story is None:
        story = Story(slug=slug, created_at=now, **fields)
    else:
        for key, value in fields.items():
            setattr(story, key, value)
    session.add(story)
    session.flush()
    return story, created


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
    """Attach a document to a story once; a later, better score replaces the reason."""
    link = session.exec(
        select(StoryDocument).where(
            StoryDocument.story_id == story_id, StoryDocument.document_id == document_id
        )
    ).first()
    if link is not None:
        if score > link.score:
            link.score, link.reason = score, reason
            session.add(link)
        return link, False
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
    session.add(link)
    session.flush()
    doc = session.get(Document, document_id)
    details = {"via": via, "score": score, "reason": reason, "source_id": source_id}
    events.new_coverage(
        session, story_id=story_id, document_id=document_id, at=now, url=doc.url if doc else "", **details
    )
    return link, True


def story_documents(session: Session, *, story_id: int) -> list[tuple[StoryDocument, Document]]:
    rows = session.exec(
        select(StoryDocument, Document)
        .join(Document, col(Document.id) == StoryDocument.document_id)
        .where(StoryDocument.story_id == story_id)
        .order_by(col(StoryDocument.discovered_at), col(StoryDocument.id))
    )
    return list(rows)
