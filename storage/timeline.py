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
by then, and each document's state (title, latest version, deleted or not) as of T. It is built
from the versions (the exports use it).

The timeline people page through (CLI, API, web) reads the event table instead:
:func:`story_events` is one index range of ``story_event`` (migration 0008) per page, filtered
and ordered in SQL with a keyset cursor, so the hundredth page of a story of 100,000 events costs
what the first page of a story of ten does. Its kinds are the event table's (:data:`EVENT_KINDS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col

from scraper.core.notify import EVENT_KINDS as _EVENT_KINDS
from storage.catalog import story_documents
from storage.documents import NotFoundError
from storage.models import Document, Event, Story, StoryDocument, StoryEvent, Version
from storage.reading import Page, decode_cursor, encode_cursor
from storage.types import UTCDateTime, one_of


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


@lru_cache(maxsize=16384)
def outlet(url: str) -> str:
    """The publisher's host name without ``www.`` (``www.cnbc.com`` -> ``cnbc.com``, ``t.me``).
    Cached: a story page asks for the outlet of the same few hundred URLs ~900 times."""
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


# -- the paged timeline, from the event table ---------------------------------------------------

EVENT_KINDS = _EVENT_KINDS  # the event table's kinds (scraper.core.notify holds the one list)
ORDERS = ("asc", "desc")
MAX_PAGE = 1000


class UnknownKindError(InvalidWindowError):
    """An event kind the timeline does not have."""


@dataclass(frozen=True, slots=True)
class StoryEventRow:
    """One event of a story's timeline, with its document's URL and the version's title."""

    id: int
    at: datetime
    kind: str
    document_id: int | None
    url: str | None
    channel: str | None
    seq: int | None
    prev_seq: int | None
    version_id: int | None
    title: str | None
    summary: str
    significance: float | None
    data: dict[str, Any]

    @property
    def outlet(self) -> str:
        return outlet(self.url) if self.url else ""

    @property
    def previous_title(self) -> str | None:
        """The headline before a ``headline`` event (as the writer recorded it), else None."""
        for key in ("old_title", "previous_title", "from_title"):
            value = self.data.get(key)
            if isinstance(value, str):
                return value
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "at": _iso(self.at), "kind": self.kind, "document_id": self.document_id,
            "url": self.url, "outlet": self.outlet, "channel": self.channel, "seq": self.seq,
            "prev_seq": self.prev_seq, "version_id": self.version_id, "title": self.title,
            "summary": self.summary, "headline_changed": self.kind == "headline",
            "previous_title": self.previous_title, "revert_of": _int(self.data.get("revert_of")),
            "significance": self.significance, "details": self.data,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What a timeline page shows: kinds, a time window, a minimum significance, an order."""

    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    at: datetime | None = None  # as a reader saw it then: nothing after ``at``
    min_significance: float | None = None
    order: str = "asc"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(EVENT_KINDS))
        if unknown:
            raise UnknownKindError(f"unknown event kind {unknown[0]!r} (one of: {', '.join(EVENT_KINDS)})")
        if self.since and self.until and self.since > self.until:
            raise InvalidWindowError(f"since ({_iso(self.since)}) is later than until ({_iso(self.until)})")
        if self.order not in ORDERS:
            raise InvalidWindowError(f"order must be asc or desc (got {self.order!r})")

    @property
    def last(self) -> datetime | None:
        return _earliest(self.until, self.at)


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """One page of a story's timeline and the states (as of ``at``) of the documents it names."""

    story_id: int
    slug: str
    title: str
    filter: EventFilter
    events: Page[StoryEventRow]
    documents: tuple[DocumentState, ...]

    def to_json(self) -> dict[str, Any]:
        f = self.filter
        return {
            "story": {"id": self.story_id, "slug": self.slug, "title": self.title},
            "at": _iso(f.at), "since": _iso(f.since), "until": _iso(f.until), "order": f.order,
            "documents": [d.to_json() for d in self.documents],
            "events": [e.to_json() for e in self.events.items], "next_cursor": self.events.next_cursor,
        }  # fmt: skip


def story_events(
    session: Session,
    story_id: int,
    *,
    filter: EventFilter | None = None,
    limit: int = 200,
    cursor: str | None = None,
) -> Page[StoryEventRow]:
    """One page of the story's events by time (then id), oldest or newest first: one range read
    of ``ix_story_event_story_at`` however large the story."""  # fmt: skip
    f = filter or EventFilter()
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidWindowError(f"limit must be between 1 and {MAX_PAGE} (got {limit})")
    se, e = StoryEvent.__table__, Event.__table__  # type: ignore[attr-defined]
    v, d = Version.__table__, Document.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(e.c.id, e.c.at, e.c.kind, e.c.document_id, d.c.url, e.c.channel, e.c.seq, e.c.prev_seq,
                  e.c.version_id, v.c.title, e.c.summary, e.c.significance, e.c.data)
        .select_from(se.join(e, e.c.id == se.c.event_id).outerjoin(d, d.c.id == e.c.document_id)
                     .outerjoin(v, v.c.id == e.c.version_id))
        .where(se.c.story_id == story_id)
    )  # fmt: skip
    query = _event_filters(query, se, e, f)
    descending = f.order == "desc"
    if cursor is not None:
        at, last_id = decode_cursor(cursor, (datetime, int))
        key = sa.tuple_(se.c.at, se.c.event_id)
        after = sa.tuple_(sa.literal(at, UTCDateTime()), sa.literal(last_id, sa.Integer()))
        query = query.where(key < after if descending else key > after)
    if descending:
        query = query.order_by(se.c.at.desc(), se.c.event_id.desc())
    else:
        query = query.order_by(se.c.at, se.c.event_id)
    rows = [_event_row(r) for r in session.execute(query.limit(limit + 1))]
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor((rows[-1].at, rows[-1].id)))


def _event_filters(query: Any, se: Any, e: Any, f: EventFilter) -> Any:
    if f.kinds:
        query = query.where(se.c.kind.in_(f.kinds))
    if f.since is not None:
        query = query.where(se.c.at >= f.since)
    if f.last is not None:
        query = query.where(se.c.at <= f.last)
    if f.min_significance is not None:
        query = query.where(e.c.significance >= f.min_significance)
    return query


def _event_row(row: Any) -> StoryEventRow:
    (id_, at, kind, document_id, url, channel, seq, prev_seq, version_id, title, summary, sig, data) = row
    return StoryEventRow(
        id=id_, at=at, kind=kind, document_id=document_id, url=url, channel=channel, seq=seq,
        prev_seq=prev_seq, version_id=version_id, title=title or _str(data, "title"), summary=summary or kind,
        significance=float(sig) if sig is not None else None, data=dict(data or {}),
    )  # fmt: skip


def timeline_page(
    session: Session,
    story_id: int,
    *,
    filter: EventFilter | None = None,
    limit: int = 200,
    cursor: str | None = None,
) -> TimelinePage:
    """A page of :func:`story_events` with the states of the documents its events name."""  # fmt: skip
    story = session.get(Story, story_id)
    if story is None:
        raise NotFoundError(f"no story with id {story_id}")
    f = filter or EventFilter()
    events = story_events(session, story_id, filter=f, limit=limit, cursor=cursor)
    ids = sorted({e.document_id for e in events.items if e.document_id is not None})
    documents = story_document_states(session, story_id, document_ids=ids, at=f.at)
    return TimelinePage(story_id, story.slug, story.title, f, events, tuple(documents))


def story_document_states(
    session: Session,
    story_id: int,
    *,
    document_ids: Sequence[int] | None = None,
    at: datetime | None = None,
    limit: int = 100,
) -> list[DocumentState]:
    """The story's documents (those named, else the ``limit`` most recently found) as of ``at``,
    newest found first: two grouped reads of the version index, never a document's whole history."""
    query = (
        sa.select(StoryDocument, Document)
        .join(Document, col(Document.id) == col(StoryDocument.document_id))
        .where(col(StoryDocument.story_id) == story_id)
    )
    if document_ids is not None:
        if not document_ids:
            return []
        query = query.where(one_of(col(StoryDocument.document_id), document_ids))
    if at is not None:
        query = query.where(col(StoryDocument.discovered_at) <= at)
    query = query.order_by(col(StoryDocument.discovered_at).desc(), col(StoryDocument.id).desc())
    links = [(link, doc) for link, doc in session.execute(query.limit(limit))]
    stats = _channel_stats(session, [doc.id for _, doc in links if doc.id is not None], at)
    return [_state_of(link, doc, stats.get(doc.id or 0, {})) for link, doc in links]


@dataclass(frozen=True, slots=True)
class _ChannelStat:
    seq: int
    count: int
    last_change: datetime | None
    title: str | None = None
    kind: str = "normal"


def _channel_stats(
    session: Session, document_ids: list[int], at: datetime | None
) -> dict[int, dict[str, _ChannelStat]]:
    if not document_ids:
        return {}
    v = Version.__table__  # type: ignore[attr-defined]
    changed = sa.case((v.c.kind.in_(("tombstone", "reextracted")), None), else_=v.c.observed_at)
    grouped = (
        sa.select(v.c.document_id, v.c.channel, sa.func.max(v.c.seq).label("seq"),
                  sa.func.count().label("n"), sa.func.max(changed).label("changed"))
        .where(one_of(v.c.document_id, document_ids))
        .group_by(v.c.document_id, v.c.channel)
    )  # fmt: skip
    if at is not None:
        grouped = grouped.where(v.c.observed_at <= at)
    g = grouped.subquery()
    query = sa.select(g.c.document_id, g.c.channel, g.c.seq, g.c.n, g.c.changed, v.c.title, v.c.kind).join(
        v, sa.and_(v.c.document_id == g.c.document_id, v.c.channel == g.c.channel, v.c.seq == g.c.seq)
    )
    found: dict[int, dict[str, _ChannelStat]] = {}
    for doc_id, channel, seq, n, last, title, kind in session.execute(query):
        found.setdefault(doc_id, {})[channel] = _ChannelStat(seq, n, _aware(last), title, kind)
    return found


def _state_of(link: StoryDocument, doc: Document, stats: dict[str, _ChannelStat]) -> DocumentState:
    main = stats.get("page") or stats.get("api") or stats.get("feed")
    changes = [s.last_change for s in stats.values() if s.last_change is not None]
    assert doc.id is not None
    return DocumentState(
        document_id=doc.id, url=doc.url, outlet=outlet(doc.url), discovered_at=link.discovered_at,
        via=link.via, score=link.score, reason=link.reason, title=main.title if main else None,
        deleted=main is not None and main.kind == "tombstone",
        latest={c: s.seq for c, s in sorted(stats.items())},
        last_changed_at=max(changes) if changes else None, versions=sum(s.count for s in stats.values()),
    )  # fmt: skip


def _aware(value: Any) -> datetime | None:
    """Aggregates skip the column type: SQLite hands back a string or a naive datetime."""
    if value is None:
        return None
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _str(data: Any, key: str) -> str | None:
    value = (data or {}).get(key)
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
