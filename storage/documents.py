"""Repository functions for documents, versions, checks and measurements.

The only place (with the other storage modules) that queries. Keyword-only arguments.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from scraper.core.types import Content, VersionKind
from scraper.core.versioning import Prior
from storage import deferred
from storage.errors import NotFoundError as NotFoundError
from storage.models import Check, Document, DocumentAlias, Measurement, Version
from storage.rows import add_once


@dataclass(slots=True)
class DocumentRow:
    """The fields of a document that a check reads and writes, as plain values (Core statements:
    no ORM object, no identity map on the check path). :func:`load_row`, change it, :func:`save_row`."""

    id: int
    url: str
    kind: str
    status: str
    source_id: int | None
    first_seen: datetime | None
    last_seen: datetime | None
    last_changed_at: datetime | None
    next_check: datetime | None
    check_interval_s: int | None
    unchanged_checks: int
    missing_count: int
    etag: str | None
    last_modified: str | None
    simhash: int | None
    settings: dict[str, Any]
    lease_owner: str | None
    lease_until: datetime | None
    loaded: tuple[Any, ...] = ()  # the values as read, so save_row writes only what changed


ROW_FIELDS = tuple(f.name for f in fields(DocumentRow) if f.name != "loaded")
_ROWS_KEY = "storytrail.document_rows"  # session.info: rows read ahead for a batch of checks


def _table() -> sa.Table:
    table: sa.Table = Document.__table__  # type: ignore[attr-defined]
    return table


@functools.cache
def _rows_query(many: bool) -> sa.Select[Any]:
    """The row read, built once (building the statement cost more than running it)."""
    table = _table()
    query = sa.select(*(table.c[name] for name in ROW_FIELDS))
    if many:
        return query.where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
    return query.where(table.c.id == sa.bindparam("id"))


def read_rows(session: Session, *, document_ids: Sequence[int]) -> None:
    """Read the rows of a batch of checks' documents in one query; each :func:`load_row` in this
    session takes its own from them (once: a second load reads the row again)."""
    ahead = session.info.setdefault(_ROWS_KEY, {})
    for row in session.execute(_rows_query(True), {"ids": sorted(set(document_ids))}):
        ahead[row[0]] = tuple(row)


def load_row(session: Session, *, document_id: int) -> DocumentRow | None:
    values = session.info.get(_ROWS_KEY, {}).pop(document_id, None)
    if values is None:
        deferred.sync(session, (document_id,))  # a second check of it in a batch: its first's writes
        found = session.execute(_rows_query(False), {"id": document_id}).first()
        if found is None:
            return None
        values = tuple(found)
    row = DocumentRow(**dict(zip(ROW_FIELDS, values, strict=True)), loaded=values)
    row.settings = dict(row.settings or {})
    return row


def save_row(session: Session, row: DocumentRow) -> None:
    """One Core UPDATE of the fields that changed since :func:`load_row` (none: no statement); in a
    batch of checks it is sent with the others' at the batch's end (storage.deferred)."""
    changed = {
        name: getattr(row, name)
        for name, before in zip(ROW_FIELDS, row.loaded, strict=True)
        if getattr(row, name) != before
    }
    if not changed:
        return
    columns = tuple(sorted(changed))
    params = {"p_" + name: changed[name] for name in columns} | {"p_id": row.id}
    shape = ("document", *columns)
    deferred.write(session, shape, deferred.by_id(_table(), columns), params, document_id=row.id)
    row.loaded = tuple(getattr(row, name) for name in ROW_FIELDS)


def find_document(session: Session, *, url: str) -> Document | None:
    doc = session.exec(select(Document).where(Document.url == url)).first()
    if doc is not None:
        return doc
    alias = session.exec(select(DocumentAlias).where(DocumentAlias.url == url)).first()
    return session.get(Document, alias.document_id) if alias else None


def get_document(session: Session, *, url: str) -> Document:
    doc = find_document(session, url=url)
    if doc is None:
        raise NotFoundError(f"no archived document for {url} (run `storytrail check {url}` first)")
    return doc


def get_or_create_document(
    session: Session,
    *,
    url: str,
    now: datetime,
    kind: str = "article",
    platform: str | None = None,
    source_id: int | None = None,
    status: str = "active",
) -> tuple[Document, bool]:
    """The document for ``url`` (or an alias of it), created with ``status`` (and ``kind``) when new.

    Safe against a concurrent creator of the same URL (another process, worker or node): the
    insert runs in a savepoint, and on a unique-key conflict the other's row is returned.
    """
    doc = find_document(session, url=url)
    if doc is not None:
        return doc, False
    doc = Document(
        url=url,
        kind=kind,
        platform=platform,
        source_id=source_id,
        status=status,
        first_seen=now,
        last_seen=now,
    )
    return add_once(session, doc, lambda: find_document(session, url=url))


def add_alias(session: Session, *, document: Document | DocumentRow, url: str) -> bool:
    """Record ``url`` as another address of ``document``; False when it already names a document."""
    if url == document.url or find_document(session, url=url) is not None:
        return False
    assert document.id is not None
    session.add(DocumentAlias(url=url, document_id=document.id))
    session.flush()
    return True


GUID_PREFIX = "guid:"  # an alias row that holds a feed entry's stable id, not a URL


def guid_key(guid: str) -> str:
    """The alias row under which a feed entry's stable id (RSS guid, Atom id) names its document."""
    return GUID_PREFIX + guid


def aliases(session: Session, *, document_id: int) -> list[str]:
    """The other URLs of a document (its feed entry ids left out)."""
    rows = session.exec(select(DocumentAlias.url).where(DocumentAlias.document_id == document_id))
    return sorted(url for url in rows if not url.startswith(GUID_PREFIX))


def history(session: Session, *, document_id: int, channel: str) -> list[Prior]:
    rows = session.exec(
        select(Version.seq, Version.content_hash, Version.kind)
        .where(Version.document_id == document_id, Version.channel == channel)
        .order_by(col(Version.seq))
    )
    return [Prior(seq=s, content_hash=h, kind=VersionKind(k)) for s, h, k in rows]


def latest_version(session: Session, *, document_id: int, channel: str) -> Version | None:
    return session.exec(
        select(Version)
        .where(Version.document_id == document_id, Version.channel == channel)
        .order_by(col(Version.seq).desc())
    ).first()


def list_versions(session: Session, *, document_id: int, channel: str | None = None) -> list[Version]:
    query = select(Version).where(Version.document_id == document_id)
    if channel:
        query = query.where(Version.channel == channel)
    return list(session.exec(query.order_by(col(Version.channel), col(Version.seq))))


def get_version(session: Session, *, document_id: int, channel: str, seq: int) -> Version:
    version = session.exec(
        select(Version).where(
            Version.document_id == document_id, Version.channel == channel, Version.seq == seq
        )
    ).first()
    if version is None:
        raise NotFoundError(f"no {channel} version {seq} of this document")
    return version


def version_at(session: Session, *, document_id: int, channel: str, at: datetime) -> Version | None:
    """The version a reader saw at ``at``: the latest one observed at or before it."""
    return session.exec(
        select(Version)
        .where(Version.document_id == document_id, Version.channel == channel, Version.observed_at <= at)
        .order_by(col(Version.seq).desc())
    ).first()


def add_version(session: Session, **fields: Any) -> Version:
    """A new version, the latest of its document and channel: the one before it loses the flag
    (``version.latest``, migration 0011). Versions are written in seq order (the plan's next seq);
    a seq below the latest one fails on ``ux_version_latest`` rather than leaving two flags."""
    channel = fields.setdefault("channel", "page")
    table = Version.__table__  # type: ignore[attr-defined]
    previous = (
        (table.c.document_id == fields["document_id"])
        & (table.c.channel == channel)
        & table.c.latest
        & (table.c.seq < fields["seq"])
    )
    # Core, no ORM synchronisation: a Version of this channel already loaded in the session keeps
    # latest=True in memory until it is refreshed (nothing reads it there)
    session.execute(sa.update(table).where(previous).values(latest=False))
    version = Version(**fields, latest=True)
    session.add(version)
    session.flush()
    return version


def add_check(session: Session, **fields: Any) -> Check:
    check = Check(**fields)
    session.add(check)
    session.flush()
    return check


def recent_checks(session: Session, *, document_id: int, limit: int = 50) -> list[Check]:
    return list(
        session.exec(
            select(Check).where(Check.document_id == document_id).order_by(col(Check.at).desc()).limit(limit)
        )
    )


def add_measurements(session: Session, *, document_id: int, at: datetime, values: dict[str, float]) -> None:
    for name, value in values.items():
        session.add(Measurement(document_id=document_id, at=at, name=name, value=float(value)))
    session.flush()


def count_versions(session: Session, *, document_ids: Sequence[int]) -> dict[int, int]:
    if not document_ids:
        return {}
    rows = session.exec(
        select(Version.document_id, func.count())
        .where(col(Version.document_id).in_(document_ids))
        .group_by(col(Version.document_id))
    )
    return {doc_id: n for doc_id, n in rows}


def version_content(version: Version) -> Content:
    """The stored fields of a version as a Content value (for diffs and exports)."""
    return Content(
        title=version.title,
        byline=version.byline,
        text=version.text,
        published=version.published,
        modified=version.modified,
        canonical_url=version.canonical_url,
        language=version.language,
        description=version.description,
        metadata=dict(version.meta or {}),
    )


def content_fields(content: Content) -> dict[str, Any]:
    """Version column values for a Content value."""
    return {
        "title": content.title,
        "byline": content.byline,
        "text": content.text,
        "published": content.published,
        "modified": content.modified,
        "canonical_url": content.canonical_url,
        "language": content.language,
        "description": content.description,
        "meta": dict(content.metadata),
    }


def documents_with_pages(session: Session) -> list[int]:
    rows = session.exec(select(Version.document_id).where(Version.channel == "page").distinct())
    return sorted(rows)
