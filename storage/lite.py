"""The light read path: a document's versions read through the database driver alone.

``storytrail versions URL`` must answer at once (issue 15: under 0.3 s of CPU for the whole
process), and importing SQLAlchemy costs about 0.25 s by itself, SQLModel and the table models
0.2 s more. So this module reads with the DB-API driver directly: the standard library's
``sqlite3`` for SQLite and ``psycopg`` (3) for PostgreSQL, one set of SQL statements for both. It
reads only; anything that is not a plain read of a current database (a missing SQLite file, a URL
form it does not know, a schema that needs migrating) is left to the caller's full path
(``storage.db``, ``storage.migrate``), which is also where every database URL error is raised.

The tables and columns named here are the ones of storage.models (tests/test_lite.py compares a
listing read here with the ORM's ``storage.documents.list_versions``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.errors import NotFoundError
from storage.records import VersionInfo

_VERSION_COLUMNS = (
    "id", "document_id", "channel", "seq", "kind", "revert_of", "observed_at", "last_confirmed_at",
    "http_status",
    "content_hash", "raw_sha256", "title", "byline", "published", "modified", "canonical_url",
    "language", "extractor", "extractor_version", "change_summary", "wayback_url",
)  # fmt: skip
_FIND = ("SELECT id FROM document WHERE url = ?", "SELECT document_id FROM document_alias WHERE url = ?")
_TIMES = {"observed_at", "last_confirmed_at", "published", "modified"}


class Reader:
    """A read-only connection; ``mark`` is the driver's placeholder (``?`` or ``%s``)."""

    def __init__(self, conn: Any, mark: str) -> None:
        self.conn, self.mark = conn, mark

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql.replace("?", self.mark), params)
            return list(cur.fetchall())
        finally:
            cur.close()


def sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL; None for any other form (memory, options)."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url[len("sqlite:///") :]
    return path if path and path != ":memory:" else None


def postgres_conninfo(url: str) -> str | None:
    """A libpq URI for a postgres:// / postgresql:// / postgresql+psycopg:// URL; else None."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return None


def can_read(url: str) -> bool:
    """Whether :func:`connect` can open ``url`` without the full path (an existing SQLite file, or
    PostgreSQL)."""
    path = sqlite_path(url)
    if path is not None:
        return Path(path).is_file()
    return postgres_conninfo(url) is not None


@contextmanager
def connect(url: str) -> Iterator[Reader]:
    """A read-only connection to a database :func:`can_read` accepted."""
    path = sqlite_path(url)
    if path is not None:
        import sqlite3

        # mode=rw: never create a file (a missing one is the full path's job)
        conn: Any = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            yield Reader(conn, "?")
        finally:
            conn.close()
        return
    conninfo = postgres_conninfo(url)
    if conninfo is None:
        raise ValueError(f"not a database URL the light path reads: {url!r}")
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as pg:
        yield Reader(pg, "%s")


def is_current(reader: Reader) -> bool:
    """True when the database's alembic_version is the head of the migration files (no Alembic)."""
    from storage.schema_version import head_from_files

    head = head_from_files()
    if head is None:
        return False
    try:
        found = [r[0] for r in reader.rows("SELECT version_num FROM alembic_version")]
    except Exception as exc:  # the driver's own error class: no table yet means "not migrated"
        text = str(exc)
        if "no such table" in text or "does not exist" in text:
            return False
        raise
    return found == [head]


def find_document_id(reader: Reader, urls: list[str]) -> int:
    """The document at the first of ``urls`` that is a document's URL or one of its aliases."""
    for url in urls:
        for sql in _FIND:
            found = reader.rows(sql, url)
            if found:
                return int(found[0][0])
    raise NotFoundError(f"no archived document for {urls[-1]} (run `storytrail check {urls[-1]}` first)")


def list_versions(reader: Reader, *, document_id: int, channel: str | None = None) -> list[VersionInfo]:
    """A document's versions ordered by channel then number (the ORM's documents.list_versions)."""
    sql = f"SELECT {', '.join(_VERSION_COLUMNS)} FROM version WHERE document_id = ?"
    params: list[Any] = [document_id]
    if channel:
        sql += " AND channel = ?"
        params.append(channel)
    rows = reader.rows(sql + " ORDER BY channel, seq", *params)
    return [VersionInfo(**_decode(dict(zip(_VERSION_COLUMNS, row, strict=True)))) for row in rows]


def _decode(values: dict[str, Any]) -> dict[str, Any]:
    for name in _TIMES:
        values[name] = _utc(values[name])
    summary = values["change_summary"]
    values["change_summary"] = (json.loads(summary) if isinstance(summary, str | bytes) else summary) or {}
    return values


def _utc(value: Any) -> datetime | None:
    """storage.types.UTCDateTime's reading: SQLite keeps naive UTC text, PostgreSQL timestamptz."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
