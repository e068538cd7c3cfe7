"""A story's timeline: what happened to its coverage, in time order, as plain values.

Every document linked to the story gives a ``discovered`` event (when storytrail attached it to
the story, how and why), and every version of every channel gives exactly one event:

=============  ===============================================================================
``captured``   the first version of a channel
``changed``    a later version whose title is the same as the previous version's
``headline``   a later version whose title differs from the previous version's (same channel)
``deleted``    a tombstone: the page or post is gone
``restored``   the first version after a tombstone
``reverted``   a version of kind ``revert``: back to an earlier content (``revert_of``)
``reextracted`` new text from a stored raw body by a newer extractor: never a publisher edit
=============  ===============================================================================

``headline_changed`` is set on every event whose title differs from the previous version's, so a
revert or a restoration that also changed the headline is found by that flag too.

``timeline(session, story_id, at=T)`` is the story as a reader saw it at T: only what had happened
by then, and each document's state (title, latest version, deleted or not) as of T.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col

from storage.catalog import story_documents
from storage.documents import NotFoundError
from storage.models import Document, Story, StoryDocument, Version


class EventKind(StrEnum):
    DISCOVERED = "discovered"
    CAPTURED = "captured"
    CHANGED = "changed"
    HEADLINE = "headline"
    DELETED = "deleted"
    RESTORED = "restored"
    REVERTED = "reverted"
    REEXTRACTED = "reextracted"


class InvalidWindowError(ValueError):
    """since/until/at that cannot select anything (since later than until...)."""


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    kind: EventKind
    document_id: int
    url: str
    outlet: str
    channel: str | None  # None for ``discovered``
    seq: int | None
    title: str | None
    summary: str
    headline_changed: bool = False
    previous_title: str | None = None
    revert_of: int | None = None
    significance: float | None = None
    details: dict[str, Any] = field(default_factory=dict)  # discovered: via, score, reason, depth...

    def to_json(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at), "kind": self.kind.value, "document_id": self.document_id, "url": self.url,
            "outlet": self.outlet, "channel": self.channel, "seq": self.seq, "title": self.title,
            "summary": self.summary, "headline_changed": self.headline_changed,
            "previous_title": self.previous_title, "revert_of": self.revert_of,
            "significance": self.significance, "details": self.details,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class DocumentState:
    """One document of the story as of the timeline's ``at`` (or now)."""

    document_id: int
    url: str
    outlet: str
    discovered_at: datetime
    via: str
    score: float
    reason: str
    title: str | None
    deleted: bool
    latest: dict[str, int]  # channel -> latest seq
    last_changed_at: datetime | None
    versions: int

    def to_json(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id, "url": self.url, "outlet": self.outlet,
            "discovered_at": _iso(self.discovered_at), "via": self.via, "score": self.score,
            "reason": self.reason, "title": self.title, "deleted": self.deleted, "latest": self.latest,
            "last_changed_at": _iso(self.last_changed_at), "versions": self.versions,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Timeline:
    story_id: int
    slug: str
    title: str
    at: datetime | None
    since: datetime | None
    until: datetime | None
    events: tuple[TimelineEvent, ...]
    documents: tuple[DocumentState, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "story": {"id": self.story_id, "slug": self.slug, "title": self.title},
            "at": _iso(self.at), "since": _iso(self.since), "until": _iso(self.until),
            "documents": [d.to_json() for d in self.documents], "events": [e.to_json() for e in self.events],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class VersionRow:
    """The columns of a Version a timeline needs (never the text)."""

    document_id: int
    channel: str
    seq: int
    kind: str
    revert_of: int | None
    observed_at: datetime
    title: str | None
    change_summary: dict[str, Any]

    @classmethod
    def of(cls, v: Version) -> VersionRow:
        return cls(
            v.document_id, v.channel, v.seq, v.kind, v.revert_of, v.observed_at, v.title, v.change_summary
        )


VERSION_COLUMNS = (
    "document_id",
    "channel",
    "seq",
    "kind",
    "revert_of",
    "observed_at",
    "title",
    "change_summary",
)


def outlet(url: str) -> str:
    """The publisher's host name without ``www.`` (``www.cnbc.com`` -> ``cnbc.com``, ``t.me``)."""
    host = urlsplit(url).hostname or ""
    return host[4:] if host.startswith("www.") else host


def timeline(
    session: Session,
    story_id: int,
    at: datetime | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Timeline:
    """The story's events in time order (see the module docstring), optionally as of ``at``."""
    story = session.get(Story, story_id)
    if story is None:
        raise NotFoundError(f"no story with id {story_id}")
    if since and until and since > until:
        raise InvalidWindowError(f"since ({_iso(since)}) is later than until ({_iso(until)})")
    links = [(link, doc) for link, doc in story_documents(session, story_id=story_id)
             if at is None or link.discovered_at <= at]  # fmt: skip
    rows = version_rows(session, document_ids=[d.id for _, d in links if d.id is not None], at=at)
    events = build_events(links, rows)
    window = [e for e in events if _within(e.at, since, _earliest(until, at))]
    return Timeline(
        story_id=story_id, slug=story.slug, title=story.title, at=at, since=since, until=until,
        events=tuple(window), documents=tuple(document_states(links, rows)),
    )  # fmt: skip


def version_rows(
    session: Session, *, document_ids: Sequence[int], at: datetime | None = None
) -> list[VersionRow]:
    """The versions of these documents (observed at or before ``at``), by document, channel, seq."""
    if not document_ids:
        return []
    columns = [col(getattr(Version, name)) for name in VERSION_COLUMNS]
    query = sa.select(*columns).where(col(Version.document_id).in_(document_ids))
    if at is not None:
        query = query.where(col(Version.observed_at) <= at)
    query = query.order_by(col(Version.document_id), col(Version.channel), col(Version.seq))
    return [VersionRow(*row) for row in session.execute(query)]


def build_events(
    links: Sequence[tuple[StoryDocument, Document]], rows: Iterable[VersionRow]
) -> list[TimelineEvent]:
    """Events from the story's links and its versions (ordered by document, channel, seq)."""
    docs = {doc.id: doc for _, doc in links}
    events: list[TimelineEvent] = []
    first_titles: dict[int, tuple[datetime, str]] = {}
    previous: VersionRow | None = None
    for row in rows:
        doc = docs.get(row.document_id)
        same = previous is not None and (previous.document_id, previous.channel) == (
            row.document_id,
            row.channel,
        )
        if doc is not None:
            events.append(_version_event(doc, row, previous if same else None))
        if row.title and (
            row.document_id not in first_titles or row.observed_at < first_titles[row.document_id][0]
        ):
            first_titles[row.document_id] = (row.observed_at, row.title)
        previous = row
    found = [_discovered(link, doc, first_titles.get(doc.id or 0, (None, None))[1]) for link, doc in links]
    return sorted(found + events, key=_order)


def _order(event: TimelineEvent) -> tuple[datetime, int, int, str, int]:
    first = 0 if event.kind == EventKind.DISCOVERED else 1
    return (event.at, first, event.document_id, event.channel or "", event.seq or 0)


def _discovered(link: StoryDocument, doc: Document, title: str | None) -> TimelineEvent:
    """``title`` is the document's first known title (it is discovered before it is read)."""
    details = {"via": link.via, "score": link.score, "reason": link.reason, "depth": link.depth,
               "source_id": link.source_id, "from_document_id": link.from_document_id}  # fmt: skip
    how = f"found via {link.via}" + (f": {link.reason}" if link.reason else "")
    assert doc.id is not None
    return TimelineEvent(at=link.discovered_at, kind=EventKind.DISCOVERED, document_id=doc.id, url=doc.url,
                         outlet=outlet(doc.url), channel=None, seq=None, title=title, summary=how,
                         details=details)  # fmt: skip


def _version_event(doc: Document, row: VersionRow, previous: VersionRow | None) -> TimelineEvent:
    kind = event_kind(row, previous)
    title_changed = (
        previous is not None and kind != EventKind.DELETED and (row.title or "") != (previous.title or "")
    )
    summary = str((row.change_summary or {}).get("summary", "")) or kind.value
    significance = (row.change_summary or {}).get("significance")
    assert doc.id is not None
    return TimelineEvent(
        at=row.observed_at, kind=kind, document_id=doc.id, url=doc.url, outlet=outlet(doc.url),
        channel=row.channel, seq=row.seq, title=row.title, summary=summary, headline_changed=title_changed,
        previous_title=previous.title if title_changed and previous else None, revert_of=row.revert_of,
        significance=float(significance) if isinstance(significance, int | float) else None,
    )  # fmt: skip


def event_kind(row: VersionRow, previous: VersionRow | None) -> EventKind:
    """What one version means for a reader, given the version before it in its channel."""
    if row.kind == "tombstone":
        return EventKind.DELETED
    if previous is not None and previous.kind == "tombstone":
        return EventKind.RESTORED
    if row.kind == "revert":
        return EventKind.REVERTED
    if row.kind == "reextracted":
        return EventKind.REEXTRACTED
    if previous is None:
        return EventKind.CAPTURED
    return EventKind.HEADLINE if (row.title or "") != (previous.title or "") else EventKind.CHANGED


def document_states(
    links: Sequence[tuple[StoryDocument, Document]], rows: Sequence[VersionRow]
) -> list[DocumentState]:
    """Each document as the given versions leave it (pass versions up to ``at`` for an as-of view)."""
    by_doc: dict[int, list[VersionRow]] = {}
    for row in rows:
        by_doc.setdefault(row.document_id, []).append(row)
    return [_state(link, doc, by_doc.get(doc.id or 0, [])) for link, doc in links]


def _state(link: StoryDocument, doc: Document, rows: list[VersionRow]) -> DocumentState:
    latest: dict[str, VersionRow] = {}
    for row in rows:
        latest[row.channel] = row
    main = latest.get("page") or latest.get("api") or latest.get("feed")
    changes = [r.observed_at for r in rows if r.kind not in ("tombstone", "reextracted")]
    assert doc.id is not None
    return DocumentState(
        document_id=doc.id, url=doc.url, outlet=outlet(doc.url), discovered_at=link.discovered_at,
        via=link.via,
        score=link.score, reason=link.reason, title=main.title if main else None,
        deleted=main is not None and main.kind == "tombstone",
        latest={c: r.seq for c, r in sorted(latest.items())},
        last_changed_at=max(changes) if changes else None, versions=len(rows),
    )  # fmt: skip


def _within(when: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or when >= since) and (until is None or when <= until)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
