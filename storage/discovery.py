"""Repository functions for discovery: documents found by polling, their story links, source
checks, identity (canonical URL, near duplicates) and what ``stories show`` lists.

Keyword-only arguments; every write flushes and leaves the commit to the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from storage import blobs, catalog, events
from storage import documents as docs
from storage.models import Check, Document, DocumentAlias, Source, Story, StoryDocument, Version

_MASK64 = (1 << 64) - 1


# --- documents ------------------------------------------------------------------------------


def ensure_entry_document(
    session: Session,
    *,
    url: str,
    guid: str | None,
    now: datetime,
    source_id: int | None = None,
    status: str = "seen",
    kind: str = "article",
) -> tuple[Document, bool]:
    """The document of a feed entry: by its URL, else by its stable id (``guid``: RSS guid, Atom
    id). An entry whose id names a document under another URL moved: the new URL becomes the
    document's URL (the old one an alias) and a ``moved`` event is written, so the entry's edits
    stay in one history. A new document is registered under the id."""
    if not guid:
        return docs.get_or_create_document(
            session, url=url, now=now, source_id=source_id, status=status, kind=kind
        )
    key = docs.guid_key(guid)
    by_url = docs.find_document(session, url=url)
    by_guid = docs.find_document(session, url=key)
    if by_url is None and by_guid is not None:
        old = by_guid.url
        if promote_url(session, document=by_guid, url=url):
            assert by_guid.id is not None
            events.moved(session, document_id=by_guid.id, at=now, from_url=old, to_url=url, guid=guid)
            return by_guid, False
    doc, created = docs.get_or_create_document(
        session, url=url, now=now, source_id=source_id, status=status, kind=kind
    )
    if by_guid is None:
        _register_guid(session, doc, key)
    return doc, created


def _register_guid(session: Session, doc: Document, key: str) -> None:
    assert doc.id is not None
    try:
        with session.begin_nested():
            session.add(DocumentAlias(url=key, document_id=doc.id))
    except IntegrityError:  # another worker registered it first
        pass


def enrol_url(
    session: Session,
    *,
    url: str,
    now: datetime,
    story_slug: str | None = None,
    via: str = "manual",
    source_id: int | None = None,
) -> int:
    """The document for ``url`` made one that is followed (``storytrail check``), linked to the
    story ``story_slug`` when given; its id."""
    doc, _ = docs.get_or_create_document(session, url=url, now=now, source_id=source_id)
    if doc.status in ("seen", "retired"):
        doc.status = "active"
    assert doc.id is not None
    if story_slug:
        story = catalog.get_story(session, slug=story_slug)
        assert story.id is not None
        catalog.link_story_document(
            session,
            story_id=story.id,
            document_id=doc.id,
            now=now,
            via=via,
            reason=f"added by {via}",
            source_id=source_id,
        )
    session.add(doc)
    session.flush()
    return doc.id


def ensure_post(
    session: Session, *, url: str, platform: str, now: datetime, source_id: int | None = None
) -> tuple[Document, bool]:
    """The post document for ``url`` (new ones "seen"), marked kind "post" of ``platform``."""
    doc, created = docs.get_or_create_document(session, url=url, now=now, source_id=source_id, status="seen")
    if doc.kind != "post" or doc.platform != platform:
        doc.kind, doc.platform = "post", platform
        session.add(doc)
        session.flush()
    return doc, created


def posts_since(session: Session, *, source_id: int, since: datetime, exclude: set[str]) -> list[int]:
    """Posts first seen by ``source_id``, published at or after ``since``, not gone, not in ``exclude``;
    the newest first."""
    rows = session.exec(
        select(Document.id, Document.url)
        .join(Version, col(Version.document_id) == Document.id)
        .where(
            Document.source_id == source_id,
            Document.kind == "post",
            Document.status != "gone",
            Version.channel == "api",
            Version.seq == 1,
            col(Version.published) >= since,
        )
        .order_by(col(Version.published).desc())
    )
    return [doc_id for doc_id, url in rows if doc_id is not None and url not in exclude]


def schedule_for(session: Session, *, document_id: int) -> Schedule | None:
    doc = session.get(Document, document_id)
    return schedule_of(doc) if doc is not None else None


def settle_post(session: Session, *, document_id: int, schedule: Schedule | None, revive: bool) -> None:
    """After a post's observations: put back the schedule of a post that is not followed
    (``schedule``, its status left as the observations made it), and revive a post seen again
    (no longer missing; a gone post active again when a story follows it, else seen)."""
    doc = session.get(Document, document_id)
    if doc is None:
        return
    if schedule is not None and schedule.status != "active":
        restore_schedule(session, document_id=document_id, schedule=replace(schedule, status=doc.status))
    if revive:
        doc.missing_count = 0
        if doc.status == "gone":
            linked = linked_stories(session, document_ids=[document_id]).get(document_id)
            doc.status = "active" if linked else "seen"
        session.add(doc)
        session.flush()


def page_version_ids(session: Session, *, document_ids: Iterable[int]) -> set[int]:
    """Which of these documents have at least one page version."""
    ids = list(document_ids)
    if not ids:
        return set()
    rows = session.exec(
        select(Version.document_id)
        .where(col(Version.document_id).in_(ids), Version.channel == "page")
        .distinct()
    )
    return set(rows)


def posts(session: Session, *, document_ids: Iterable[int]) -> set[int]:
    """Which of these documents are social posts."""
    ids = list(document_ids)
    if not ids:
        return set()
    rows = session.exec(select(Document).where(col(Document.id).in_(ids), Document.kind == "post"))
    return {doc.id for doc in rows if doc.id is not None}


def has_page_version(session: Session, *, document_id: int) -> bool:
    return bool(page_version_ids(session, document_ids=[document_id]))


def mark_seen(session: Session, *, document: Document) -> None:
    """Known but not followed: no re-check (status ``seen``, no ``next_check``)."""
    document.status = "seen"
    document.next_check, document.check_interval_s = None, None
    session.add(document)
    session.flush()


def hold_for_first_fetch(
    session: Session, *, document: Document, owner: str, now: datetime, lease: timedelta
) -> None:
    """Lease an active, unleased document whose first fetch this process is about to make (a
    poll's enrolment), so that another daemon does not claim it as due and fetch it a second time.
    The check releases the lease (storage.schedule); an interrupted one expires like any lease."""
    if document.status == "active" and document.lease_owner is None:
        document.lease_owner, document.lease_until = owner, now + lease
        session.add(document)
        session.flush()


def activate(session: Session, *, document: Document, now: datetime) -> None:
    """Make a ``seen`` document one that is followed: re-checked, due at once."""
    if document.status == "seen":
        document.status = "active"
        document.next_check = document.next_check or now
        session.add(document)
        session.flush()


@dataclass(frozen=True, slots=True)
class Schedule:
    """A document's re-check state, kept across a feed observation (which must not move it)."""

    status: str
    next_check: datetime | None
    check_interval_s: int | None
    unchanged_checks: int
    last_changed_at: datetime | None


def schedule_of(document: Document) -> Schedule:
    return Schedule(
        document.status,
        document.next_check,
        document.check_interval_s,
        document.unchanged_checks,
        document.last_changed_at,
    )


def restore_schedule(
    session: Session, *, document_id: int, schedule: Schedule, due: datetime | None = None
) -> None:
    """Put back a document's re-check state; ``due`` brings an active document's next check forward."""
    doc = session.get(Document, document_id)
    if doc is None:
        return
    doc.status, doc.next_check, doc.check_interval_s = (
        schedule.status,
        schedule.next_check,
        schedule.check_interval_s,
    )
    doc.unchanged_checks, doc.last_changed_at = schedule.unchanged_checks, schedule.last_changed_at
    if due is not None and doc.status == "active" and (doc.next_check is None or doc.next_check > due):
        doc.next_check = due
    session.add(doc)
    session.flush()


# --- story links ----------------------------------------------------------------------------


def active_stories(session: Session, *, now: datetime) -> list[Story]:
    """Stories whose active window holds ``now`` (no window: always active)."""
    return [
        story
        for story in catalog.list_stories(session)
        if (story.active_from is None or story.active_from <= now)
        and (story.active_until is None or now < story.active_until)
    ]


def linked_stories(session: Session, *, document_ids: Iterable[int]) -> dict[int, dict[int, StoryDocument]]:
    """document id -> {story id -> its StoryDocument}."""
    ids = list(document_ids)
    found: dict[int, dict[int, StoryDocument]] = defaultdict(dict)
    if ids:
        for link in session.exec(select(StoryDocument).where(col(StoryDocument.document_id).in_(ids))):
            found[link.document_id][link.story_id] = link
    return found


def seed_documents(session: Session, *, urls: Sequence[str]) -> list[Document]:
    found = (docs.find_document(session, url=url) for url in urls)
    return [doc for doc in found if doc is not None]


def document_text(session: Session, *, document_id: int) -> tuple[str | None, str | None, str] | None:
    """(title, description, text) of the latest page version that is not a tombstone."""
    version = session.exec(
        select(Version)
        .where(Version.document_id == document_id, Version.channel == "page", Version.kind != "tombstone")
        .order_by(col(Version.seq).desc())
    ).first()
    return (version.title, version.description, version.text) if version else None


def latest_raw(session: Session, *, document_id: int) -> bytes | None:
    """The raw body of the latest page version (for links and the declared canonical URL)."""
    latest = docs.latest_version(session, document_id=document_id, channel="page")
    if latest is None or latest.raw_sha256 is None:
        return None
    return blobs.get_blob(session, sha256=latest.raw_sha256)


def checked_ever(session: Session, *, document_id: int) -> bool:
    """Whether any page check was made (a seed that failed once is left to the re-check schedule)."""
    row = session.exec(
        select(Check.id).where(Check.document_id == document_id, Check.channel == "page").limit(1)
    ).first()
    return row is not None


# --- identity: canonical URLs and near duplicates -------------------------------------------


def promote_url(session: Session, *, document: Document, url: str) -> bool:
    """Make ``url`` (an alias of ``document`` or unused) its URL; the old URL becomes an alias."""
    alias = session.exec(select(DocumentAlias).where(DocumentAlias.url == url)).first()
    if alias is not None and alias.document_id != document.id:
        return False
    if alias is None and docs.find_document(session, url=url) is not None:
        return False
    old = document.url
    if alias is not None:
        session.delete(alias)
        session.flush()
    document.url = url
    session.add(document)
    session.flush()
    assert document.id is not None
    session.add(DocumentAlias(url=old, document_id=document.id))
    session.flush()
    return True


def unsigned(value: int) -> int:
    return value & _MASK64


def near_duplicates(
    session: Session, *, document: Document, story_ids: Iterable[int], max_distance: int
) -> list[Document]:
    """Documents of these stories (by id, none itself a duplicate) whose page fingerprint is
    within ``max_distance`` bits of ``document``'s."""
    ids = list(story_ids)
    if document.simhash is None or not ids:
        return []
    rows = session.exec(
        select(Document)
        .join(StoryDocument, col(StoryDocument.document_id) == Document.id)
        .where(
            col(StoryDocument.story_id).in_(ids),
            col(Document.simhash).is_not(None),
            Document.id != document.id,
            col(Document.duplicate_of).is_(None),
        )
        .order_by(col(Document.id))
    )
    mine = unsigned(document.simhash)
    found = {d.id: d for d in rows if (unsigned(d.simhash or 0) ^ mine).bit_count() <= max_distance}
    return list(found.values())


def set_duplicate(session: Session, *, document: Document, of: Document) -> None:
    document.duplicate_of = of.id
    session.add(document)
    session.flush()


# --- sources --------------------------------------------------------------------------------


def get_source_by_id(session: Session, *, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise docs.NotFoundError(f"source {source_id} does not exist")
    return source


def record_poll(
    session: Session,
    *,
    source: Source,
    now: datetime,
    validators: tuple[str | None, str | None] | None = None,
) -> None:
    """A successful poll: its time and (when given) the (ETag, Last-Modified) for the next one."""
    source.last_polled_at = now
    if validators is not None:
        source.etag, source.last_modified = validators
    session.add(source)
    session.flush()


def add_source_check(session: Session, *, source_id: int, raw: bytes | None = None, **fields: Any) -> Check:
    """A poll of a source; ``raw``: the listing's bytes, stored as a blob the check points at."""
    if raw:
        fields["raw_sha256"] = blobs.put_blob(session, data=raw, now=fields["at"])
    return docs.add_check(session, source_id=source_id, channel="feed", **fields)


def source_checks(session: Session, *, source_id: int, limit: int = 20) -> list[Check]:
    return list(
        session.exec(
            select(Check).where(Check.source_id == source_id).order_by(col(Check.id).desc()).limit(limit)
        )
    )


# --- what `stories show` lists --------------------------------------------------------------


def version_counts(session: Session, *, document_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """document id -> {channel -> number of versions}."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    if document_ids:
        rows = session.exec(
            select(Version.document_id, Version.channel, func.count())
            .where(col(Version.document_id).in_(list(document_ids)))
            .group_by(col(Version.document_id), col(Version.channel))
        )
        for doc_id, channel, n in rows:
            found[doc_id][channel] = n
    return found


def latest_titles(session: Session, *, document_ids: Sequence[int]) -> dict[int, str]:
    """document id -> the title of its latest page version (else feed version)."""
    titles: dict[int, str] = {}
    if not document_ids:
        return titles
    rows = session.exec(
        select(Version.document_id, Version.channel, Version.title)
        .where(col(Version.document_id).in_(list(document_ids)), col(Version.title).is_not(None))
        .order_by(sa.case((col(Version.channel) == "page", 1), else_=0), col(Version.seq))
    )
    for doc_id, _channel, title in rows:
        titles[doc_id] = title or ""
    return titles


def source_names(session: Session, *, source_ids: Iterable[int]) -> dict[int, str]:
    ids = [i for i in set(source_ids) if i is not None]
    if not ids:
        return {}
    return {
        s.id: s.name for s in session.exec(select(Source).where(col(Source.id).in_(ids))) if s.id is not None
    }


def document_urls(session: Session, *, document_ids: Iterable[int]) -> dict[int, str]:
    ids = [i for i in set(document_ids) if i is not None]
    if not ids:
        return {}
    rows = session.exec(select(Document.id, Document.url).where(col(Document.id).in_(ids)))
    return {doc_id: url for doc_id, url in rows if doc_id is not None}


def story_document_counts(session: Session) -> dict[int, int]:
    rows = session.exec(select(StoryDocument.story_id, func.count()).group_by(col(StoryDocument.story_id)))
    return {story_id: n for story_id, n in rows}
