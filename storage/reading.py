"""Read-side queries for the web pages and the HTTP API: lists with keyset pagination.

Every list is ordered by a unique key and is read a page at a time with an opaque cursor that
names the last row seen (``WHERE key < :last ORDER BY key LIMIT n``), so the thousandth page costs
what the first does and rows written meanwhile never shift a page. Rows come back as small frozen
values (never a version's text unless asked for).

    ReadingError
     ├── InvalidCursorError      a cursor that this list did not hand out
     └── NothingToCompareError   a diff asked of a version with no earlier one
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from scraper.core.urls import canonicalize
from storage.documents import NotFoundError as NotFoundError  # re-exported: what every lookup raises
from storage.documents import find_document
from storage.models import Document, Source, Story, StoryDocument, Version
from storage.records import VersionInfo as VersionInfo  # re-exported: defined where storage.lite can use it

T = TypeVar("T")
CHANNEL_PREFERENCE = ("page", "api", "feed")  # the channel a reader means when none is named


class ReadingError(ValueError):
    """A read request that cannot be answered as asked."""


class InvalidCursorError(ReadingError):
    """A cursor that is not one this list handed out (edited, truncated, or from another list)."""


class NothingToCompareError(ReadingError):
    """A diff of a version that has no earlier version in its channel."""


# -- cursors and pages --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list; ``next_cursor`` is None on the last page."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(values: Sequence[str | int | datetime]) -> str:
    """An opaque, URL-safe cursor for the sort key of the last row of a page."""
    plain = [v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, shape: Sequence[type]) -> list[Any]:
    """The sort key in ``cursor``, checked against ``shape`` (one type per key part)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursorError(f"cursor {cursor[:40]!r} is not one this list handed out") from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise InvalidCursorError(f"cursor {cursor[:40]!r} does not belong to this list")
    return [_cursor_value(value, kind, cursor) for value, kind in zip(values, shape, strict=True)]


def _cursor_value(value: Any, kind: type, cursor: str) -> Any:
    if kind is datetime:
        parsed = _aware_time(value)
        ok = parsed is not None
        value = parsed
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63
    else:
        ok = isinstance(value, str) and _storable(value)
    if not ok:
        raise InvalidCursorError(f"cursor {cursor[:40]!r} does not belong to this list")
    return value


def _aware_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _storable(text: str) -> bool:
    """False for text no database column can hold (NUL, lone surrogates)."""
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def _page(rows: list[T], limit: int, key: Callable[[T], Sequence[str | int | datetime]]) -> Page[T]:
    """Rows fetched with ``limit + 1``: the extra row only says whether a next page exists."""
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(key(rows[-1])))


def page_in_memory(
    items: Sequence[T],
    *,
    key: Callable[[T], tuple[Any, ...]],
    shape: Sequence[type],
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> Page[T]:
    """Keyset pagination over an already computed, sorted list (a story's timeline events)."""
    ordered = list(reversed(items)) if descending else list(items)
    if cursor is not None:
        last = tuple(decode_cursor(cursor, shape))
        ordered = [i for i in ordered if (key(i) < last if descending else key(i) > last)]
    return _page(ordered[: limit + 1], limit, key)


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ReadingError(f"limit must be at least 1 (got {limit})")


# -- values -------------------------------------------------------------------------------------

VERSION_INFO_COLUMNS = (
    "id",
    "document_id",
    "channel",
    "seq",
    "kind",
    "revert_of",
    "observed_at",
    "last_confirmed_at",
    "http_status",
    "content_hash",
    "raw_sha256",
    "title",
    "byline",
    "published",
    "modified",
    "canonical_url",
    "language",
    "extractor",
    "extractor_version",
    "change_summary",
    "wayback_url",
)


@dataclass(frozen=True, slots=True)
class Change:
    """A version anywhere in the archive, with the address of its document."""

    version: VersionInfo
    url: str


@dataclass(frozen=True, slots=True)
class StorySummary:
    story: Story
    documents: int
    versions: int
    last_change_at: datetime | None


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    document: Document
    title: str | None  # the latest title of its main channel (page, else api, else feed)
    versions: int
    channels: dict[str, int]  # channel -> latest seq
    last_observed_at: datetime | None


def _version_columns() -> list[Any]:
    return [col(getattr(Version, name)) for name in VERSION_INFO_COLUMNS]


def _info(row: Sequence[Any]) -> VersionInfo:
    return VersionInfo(*row)


# -- stories ------------------------------------------------------------------------------------


def story_page(session: Session, *, limit: int = 50, cursor: str | None = None) -> Page[StorySummary]:
    """Stories by slug, each with its number of documents and versions and its last change."""
    _check_limit(limit)
    query = select(Story).order_by(col(Story.slug)).limit(limit + 1)
    if cursor is not None:
        (after,) = decode_cursor(cursor, (str,))
        query = query.where(col(Story.slug) > after)
    stories = list(session.exec(query))
    page = _page(stories, limit, lambda s: (s.slug,))
    return Page(story_summaries(session, stories=page.items), page.next_cursor)


def story_summaries(session: Session, *, stories: Sequence[Story]) -> list[StorySummary]:
    ids = [s.id for s in stories if s.id is not None]
    if not ids:
        return []
    links = session.exec(
        select(StoryDocument.story_id, func.count())
        .where(col(StoryDocument.story_id).in_(ids))
        .group_by(col(StoryDocument.story_id))
    )
    documents = dict(links.all())
    versions = session.exec(
        select(StoryDocument.story_id, func.count(), func.max(col(Version.observed_at)))
        .join(Version, col(Version.document_id) == col(StoryDocument.document_id))
        .where(col(StoryDocument.story_id).in_(ids), col(Version.kind) != "reextracted")
        .group_by(col(StoryDocument.story_id))
    )
    counts: dict[int, tuple[int, datetime | None]] = {sid: (n, last) for sid, n, last in versions}
    return [
        StorySummary(s, documents.get(s.id or 0, 0), *_counted(counts.get(s.id or 0, (0, None))))
        for s in stories
    ]


def _counted(pair: tuple[int, datetime | None]) -> tuple[int, datetime | None]:
    return pair[0], _aware(pair[1])


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates (max) skip the column type: SQLite hands back a naive datetime (or a string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def find_story_id(session: Session, *, slug: str) -> int:
    story_id = session.exec(select(Story.id).where(Story.slug == slug)).first()
    if story_id is None:
        raise NotFoundError(f"no story with slug {slug!r} (see /api/stories)")
    return story_id


def find_source_id(session: Session, *, name: str) -> int:
    source_id = session.exec(select(Source.id).where(Source.name == name)).first()
    if source_id is None:
        raise NotFoundError(f"no source named {name!r} (see /api/sources)")
    return source_id


def document_stories(session: Session, *, document_id: int) -> list[Story]:
    """The stories a document belongs to, by slug."""
    query = (
        select(Story)
        .join(StoryDocument, col(StoryDocument.story_id) == col(Story.id))
        .where(StoryDocument.document_id == document_id)
        .order_by(col(Story.slug))
    )
    return list(session.exec(query))


# -- documents ----------------------------------------------------------------------------------


def lookup_document(session: Session, *, url: str) -> Document:
    """The document archived at ``url`` (its canonical URL, an alias, or ``url`` canonicalized)."""
    doc = find_document(session, url=url)
    if doc is None:
        try:
            doc = find_document(session, url=canonicalize(url))
        except ValueError:
            doc = None
    if doc is None:
        raise NotFoundError(f"no archived document for {url} (check it with `storytrail check URL`)")
    return doc


def get_document(session: Session, *, document_id: int) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFoundError(f"no document with id {document_id}")
    return doc


def document_page(
    session: Session,
    *,
    story_id: int | None = None,
    source_id: int | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DocumentSummary]:
    """Documents, newest first (by id); ``since``/``until`` bound when storytrail first saw them."""
    _check_limit(limit)
    query = select(Document).order_by(col(Document.id).desc()).limit(limit + 1)
    if story_id is not None:
        linked = select(StoryDocument.document_id).where(StoryDocument.story_id == story_id)
        query = query.where(col(Document.id).in_(linked))
    if source_id is not None:
        query = query.where(Document.source_id == source_id)
    if kind is not None:
        query = query.where(Document.kind == kind)
    if since is not None:
        query = query.where(col(Document.first_seen) >= since)
    if until is not None:
        query = query.where(col(Document.first_seen) <= until)
    if cursor is not None:
        (after,) = decode_cursor(cursor, (int,))
        query = query.where(col(Document.id) < after)
    page = _page(list(session.exec(query)), limit, lambda d: (d.id or 0,))
    return Page(document_summaries(session, documents=page.items), page.next_cursor)


def document_summaries(session: Session, *, documents: Sequence[Document]) -> list[DocumentSummary]:
    """Each document with its latest title, version count and latest seq per channel."""
    latest = latest_versions(session, document_ids=[d.id for d in documents if d.id is not None])
    counts = (
        dict(
            session.exec(
                select(Version.document_id, func.count())
                .where(col(Version.document_id).in_([d.id for d in documents]))
                .group_by(col(Version.document_id))
            ).all()
        )
        if documents
        else {}
    )
    return [_summary(doc, latest.get(doc.id or 0, {}), counts.get(doc.id or 0, 0)) for doc in documents]


def _summary(doc: Document, latest: dict[str, VersionInfo], count: int) -> DocumentSummary:
    main = next((latest[c] for c in CHANNEL_PREFERENCE if c in latest), None)
    last = max((v.observed_at for v in latest.values()), default=None)
    channels = {c: v.seq for c, v in sorted(latest.items())}
    return DocumentSummary(doc, main.title if main else None, count, channels, last)


def latest_versions(session: Session, *, document_ids: Sequence[int]) -> dict[int, dict[str, VersionInfo]]:
    """document id -> channel -> its latest version."""
    if not document_ids:
        return {}
    newest = (
        select(Version.document_id, Version.channel, func.max(col(Version.seq)).label("seq"))
        .where(col(Version.document_id).in_(document_ids))
        .group_by(col(Version.document_id), col(Version.channel))
        .subquery()
    )
    query = sa.select(*_version_columns()).join(
        newest,
        sa.and_(
            col(Version.document_id) == newest.c.document_id,
            col(Version.channel) == newest.c.channel,
            col(Version.seq) == newest.c.seq,
        ),
    )
    found: dict[int, dict[str, VersionInfo]] = {}
    for row in session.execute(query):
        info = _info(row)
        found.setdefault(info.document_id, {})[info.channel] = info
    return found


def main_channel(session: Session, *, document_id: int) -> str | None:
    """The channel a reader means when none is named: page, else api, else feed (None: no versions)."""
    rows = session.exec(select(Version.channel).where(Version.document_id == document_id).distinct())
    found = set(rows)
    return next((c for c in CHANNEL_PREFERENCE if c in found), min(found) if found else None)


# -- versions -----------------------------------------------------------------------------------


def version_page(
    session: Session,
    *,
    document_id: int,
    channel: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[VersionInfo]:
    """A document's versions by channel, then seq; ``since``/``until`` bound ``observed_at``."""
    _check_limit(limit)
    query = sa.select(*_version_columns()).where(col(Version.document_id) == document_id)
    query = _version_filters(query, channel=channel, kind=kind, since=since, until=until)
    if cursor is not None:
        after_channel, after_seq = decode_cursor(cursor, (str, int))
        query = query.where(
            col(Version.channel) >= after_channel,
            sa.or_(col(Version.channel) > after_channel, col(Version.seq) > after_seq),
        )
    query = query.order_by(col(Version.channel), col(Version.seq)).limit(limit + 1)
    rows = [_info(r) for r in session.execute(query)]
    return _page(rows, limit, lambda v: (v.channel, v.seq))


def _version_filters(
    query: Any, *, channel: str | None, kind: str | None, since: datetime | None, until: datetime | None
) -> Any:
    if channel is not None:
        query = query.where(col(Version.channel) == channel)
    if kind is not None:
        query = query.where(col(Version.kind) == kind)
    if since is not None:
        query = query.where(col(Version.observed_at) >= since)
    if until is not None:
        query = query.where(col(Version.observed_at) <= until)
    return query


def get_version(session: Session, *, document_id: int, channel: str, seq: int) -> Version:
    """One version with its text."""
    version = session.exec(
        select(Version).where(
            Version.document_id == document_id, Version.channel == channel, Version.seq == seq
        )
    ).first()
    if version is None:
        raise NotFoundError(f"document {document_id} has no {channel} version {seq}")
    return version


def version_on_main_channel(session: Session, *, document_id: int, seq: int) -> Version:
    """Version ``seq`` on the channel a reader means when none is named (:func:`main_channel`). The
    first choice is tried first: when it has that seq it is the main channel, so one query answers."""
    first = session.exec(
        select(Version).where(
            Version.document_id == document_id, Version.channel == CHANNEL_PREFERENCE[0], Version.seq == seq
        )
    ).first()
    if first is not None:
        return first
    get_document(session, document_id=document_id)
    channel = main_channel(session, document_id=document_id)
    if channel is None:
        raise NotFoundError(f"document {document_id} has no versions yet")
    return get_version(session, document_id=document_id, channel=channel, seq=seq)


def latest_version(session: Session, *, document_id: int, channel: str) -> Version:
    version = session.exec(
        select(Version)
        .where(Version.document_id == document_id, Version.channel == channel)
        .order_by(col(Version.seq).desc())
        .limit(1)
    ).first()
    if version is None:
        raise NotFoundError(f"document {document_id} has no {channel} versions")
    return version


def diff_base(session: Session, *, document_id: int, channel: str, version: Version) -> Version:
    """What ``version`` is compared to by default: the latest earlier version that is not a tombstone
    (a restored page is compared with what it said before it went away); for a tombstone, the
    version it replaced."""
    query = select(Version).where(
        Version.document_id == document_id, Version.channel == channel, col(Version.seq) < version.seq
    )
    if version.kind != "tombstone":
        query = query.where(col(Version.kind) != "tombstone")
    base = session.exec(query.order_by(col(Version.seq).desc()).limit(1)).first()
    if base is None:
        raise NothingToCompareError(
            f"{channel} version {version.seq} of document {document_id} is its first: nothing to compare"
        )
    return base


def neighbours(
    session: Session, *, document_id: int, channel: str, seq: int
) -> tuple[int | None, int | None]:
    """The seqs before and after ``seq`` in its channel (None at either end)."""
    base = select(func.max(col(Version.seq))).where(
        Version.document_id == document_id, Version.channel == channel, col(Version.seq) < seq
    )
    after = select(func.min(col(Version.seq))).where(
        Version.document_id == document_id, Version.channel == channel, col(Version.seq) > seq
    )
    return session.exec(base).one(), session.exec(after).one()


def channel_seqs(session: Session, *, document_id: int, channel: str) -> list[tuple[int, str, datetime]]:
    """(seq, kind, observed_at) of every version of one channel, for version pickers."""
    rows = session.exec(
        select(Version.seq, Version.kind, Version.observed_at)
        .where(Version.document_id == document_id, Version.channel == channel)
        .order_by(col(Version.seq))
    )
    return [(seq, kind, observed) for seq, kind, observed in rows]


# -- changes across the archive ----------------------------------------------------------------


def change_page(
    session: Session,
    *,
    story_id: int | None = None,
    source_id: int | None = None,
    document_kind: str | None = None,
    kind: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Change]:
    """Versions anywhere in the archive, newest first (observed_at, then id)."""
    _check_limit(limit)
    query = sa.select(*_version_columns(), col(Document.url)).join(
        Document, col(Document.id) == col(Version.document_id)
    )
    query = _version_filters(query, channel=channel, kind=kind, since=since, until=until)
    if story_id is not None:
        linked = select(StoryDocument.document_id).where(StoryDocument.story_id == story_id)
        query = query.where(col(Version.document_id).in_(linked))
    if source_id is not None:
        query = query.where(col(Document.source_id) == source_id)
    if document_kind is not None:
        query = query.where(col(Document.kind) == document_kind)
    if cursor is not None:
        at, last_id = decode_cursor(cursor, (datetime, int))
        # a range on the index (observed_at <= at), then ties by id: deep pages cost what the first does
        query = query.where(
            col(Version.observed_at) <= at,
            sa.or_(col(Version.observed_at) < at, col(Version.id) < last_id),
        )
    query = query.order_by(col(Version.observed_at).desc(), col(Version.id).desc()).limit(limit + 1)
    rows = [Change(_info(r[:-1]), r[-1]) for r in session.execute(query)]
    return _page(rows, limit, lambda c: (c.version.observed_at, c.version.id))
