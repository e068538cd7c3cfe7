"""Bulk loading: many rows into the archive at once, with the derived tables rebuilt afterwards.

Row by row, every version insert fires the full-text trigger (SQLite: FTS5 tokenizes the text and
merges segments per row; PostgreSQL: the GIN index on ``version.search_tsv`` is updated per row)
and every event and story link fires the ``story_event`` triggers (migration 0008). For a large
load that work is done once instead:

1. ``suspend`` saves and switches off what derives from the loaded tables: on SQLite the
   ``version_fts_*`` and ``story_event_*`` triggers are dropped (their exact SQL is kept from
   ``sqlite_master``); on PostgreSQL the ``story_event`` triggers are disabled. On both, the
   secondary (non-unique) indexes of document, story_document, version and event are dropped,
   their definitions kept (``sqlite_master`` / ``pg_indexes``; on PostgreSQL that includes the
   GIN indexes ``ix_version_search_tsv`` and ``ix_version_latest_search_tsv``): one sorted build
   at the end costs less than keeping them row by row. The generated ``search_tsv`` column is
   still computed per row: PostgreSQL offers no way around it, and it is most of what a
   PostgreSQL load costs (bench/RESULTS.md).
2. rows go in batches (``BulkWriter.write``, :func:`insert_rows`): PostgreSQL ``COPY FROM
   STDIN``, SQLite Core executemany; one batching loop for both, and for blobs;
3. ``resume`` rebuilds: ``version.latest`` where a loaded row left it wrong (a bulk writer need
   not set it; a copy or restore brings it along, and then nothing is written); the dropped
   indexes; FTS5 ``'rebuild'`` (one pass over ``version``,
   with a 64 MB term table instead of 1 MB: fewer segments to write and merge); ``story_event``
   emptied and filled by the two ``INSERT ... SELECT`` of migration 0008's back-fill (the
   triggers' rule: a ``new_coverage`` event belongs to its story, a document's event to every
   story linking the document); then the triggers are put back as they were.

The result is the same as inserting the rows one by one (tests/test_bulk.py compares search
results and ``story_event`` rows on both backends). ``resume`` always runs, also when the load
fails halfway, so the derived tables match whatever rows were committed.

Meant for a database nothing else writes to while the load runs (a copy or restore target, the
scale bench): a row written by someone else during the load gets its ``story_event`` rows from
the rebuild, but the rebuild itself is not guarded against concurrent writers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (every table is registered on SQLModel.metadata)

BATCH = 5000

SQLITE_TRIGGER_PREFIXES = ("version_fts_", "story_event_")
PG_TRIGGERS = {"event": ["story_event_after_event_insert"], "story_document": ["story_event_after_link"]}
# FTS5 flushes its in-memory term table to a new segment (to merge later) every ``hashsize``
# bytes, 1 MB by default: a 64 MB table for the one-pass rebuild writes far fewer segments
# (CPU of the rebuild 4.96 -> 2.86 s for 37k versions; bench/RESULTS.md), then back to the default.
FTS5_HASHSIZE, FTS5_DEFAULT_HASHSIZE = 64 * 1024 * 1024, 1024 * 1024
FTS5_REBUILD = [
    f"INSERT INTO version_fts(version_fts, rank) VALUES ('hashsize', {FTS5_HASHSIZE})",
    "INSERT INTO version_fts(version_fts) VALUES ('rebuild')",
    f"INSERT INTO version_fts(version_fts, rank) VALUES ('hashsize', {FTS5_DEFAULT_HASHSIZE})",
]
LOADED = ("document", "story_document", "version", "event")  # their secondary indexes wait
SECONDARY_INDEXES = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
    "AND tbl_name IN :tables AND upper(sql) NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
    "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
    "AND tablename IN :tables AND upper(indexdef) NOT LIKE 'CREATE UNIQUE%' ORDER BY indexname",
}

# version.latest (migration 0011) for rows loaded without it, or with it wrong: first the flags
# that a higher seq took over are cleared, then the newest version of each channel is flagged
# (in that order, so ux_version_latest never sees two). Rows already right are not written.
_LATER = (
    "EXISTS (SELECT 1 FROM version later WHERE later.document_id = version.document_id "
    "AND later.channel = version.channel AND later.seq > version.seq)"
)
LATEST_REPAIR = [
    f"UPDATE version SET latest = false WHERE latest AND {_LATER}",
    f"UPDATE version SET latest = true WHERE NOT latest AND NOT {_LATER}",
]

STORY_EVENT_REBUILD = [
    "DELETE FROM story_event",
    """INSERT INTO story_event (story_id, event_id, at, kind)
       SELECT e.story_id, e.id, e.at, e.kind FROM event e WHERE e.story_id IS NOT NULL""",
    """INSERT INTO story_event (story_id, event_id, at, kind)
       SELECT sd.story_id, e.id, e.at, e.kind FROM event e
       JOIN story_document sd ON sd.document_id = e.document_id
       WHERE e.story_id IS NULL""",
]


@dataclass
class Suspended:
    """What ``suspend`` switched off, so ``resume`` can put it back exactly."""

    dialect: str
    sqlite_triggers: list[str] = field(default_factory=list)  # CREATE TRIGGER statements
    pg_triggers: dict[str, list[str]] = field(default_factory=dict)  # table -> trigger names
    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE INDEX statement)


def suspend(conn: Connection) -> Suspended:
    """Switch off the per-row maintenance of the derived tables (full-text, story_event)."""
    dialect = conn.dialect.name
    saved = Suspended(dialect)
    if dialect == "sqlite":
        rows = conn.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        ).all()
        for name, sql in rows:
            if name.startswith(SQLITE_TRIGGER_PREFIXES):
                saved.sqlite_triggers.append(sql)
                conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
    elif dialect == "postgresql":
        present = {
            (table, name)
            for table, name in conn.execute(
                sa.text(
                    "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE c.oid IN (to_regclass('event'), to_regclass('story_document')) "
                    "AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
                )
            )
        }
        for table, names in PG_TRIGGERS.items():
            for name in names:
                if (table, name) in present:
                    conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {name}"))
                    saved.pg_triggers.setdefault(table, []).append(name)
    query = sa.text(SECONDARY_INDEXES[dialect]).bindparams(sa.bindparam("tables", expanding=True))
    for name, sql in (
        conn.execute(query, {"tables": list(LOADED)}).all() if dialect in SECONDARY_INDEXES else []
    ):
        saved.indexes.append((name, sql))
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    return saved


def resume(conn: Connection, saved: Suspended) -> None:
    """Rebuild the derived tables from the loaded rows and switch the per-row maintenance back on."""
    for statement in LATEST_REPAIR:  # before the indexes: the GIN index of latest versions is one of them
        conn.execute(sa.text(statement))
    for _, sql in saved.indexes:
        conn.execute(sa.text(sql))
    if saved.dialect == "sqlite":
        for statement in FTS5_REBUILD:
            conn.execute(sa.text(statement))
    for statement in STORY_EVENT_REBUILD:
        conn.execute(sa.text(statement))
    for sql in saved.sqlite_triggers:
        conn.execute(sa.text(sql))
    for table, names in saved.pg_triggers.items():
        for name in names:
            conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {name}"))


def table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


def insert_rows(conn: Connection, name: str, rows: Iterable[Mapping[str, Any]], *, batch: int = BATCH) -> int:
    """Insert ``rows`` (column name -> Python value, as the models take them: aware datetimes,
    dicts and lists for JSON) into table ``name``, ``batch`` rows at a time: PostgreSQL ``COPY``
    (``batch`` > 1), else Core executemany. A column a row leaves out gets its model default
    (``''``, ``{}``...), else NULL (or the database's default when no row names it)."""
    tbl = table(name)
    if conn.dialect.name == "postgresql" and batch > 1:
        return _insert_batched(conn, tbl, rows, batch=batch, write=_copy)
    return _insert_batched(conn, tbl, rows, batch=batch, write=_executemany(tbl.insert()))


def insert_blobs(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Blob rows (sha256, size, compression, data, created_at; ``data`` already packed) inserted
    in batches; a sha256 already stored is skipped (content addressing: stored once). Returns
    the rows offered (distinct sha256s), not only the new ones."""
    blob = table("blob")
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(blob).on_conflict_do_nothing(index_elements=["sha256"])
    else:
        statement = blob.insert().prefix_with("OR IGNORE")
    return _insert_batched(conn, blob, _distinct(rows), batch=BATCH // 10, write=_executemany(statement))


def _distinct(rows: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    seen: set[str] = set()
    for row in rows:
        if row["sha256"] not in seen:
            seen.add(row["sha256"])
            yield row


Write = Callable[[Connection, sa.Table, list[dict[str, Any]]], None]


def _insert_batched(
    conn: Connection, tbl: sa.Table, rows: Iterable[Mapping[str, Any]], *, batch: int, write: Write
) -> int:
    """``write`` the rows ``batch`` at a time, each chunk filled out to the same columns."""
    count = 0
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            write(conn, tbl, _filled(tbl, chunk))
            count, chunk = count + len(chunk), []
    if chunk:
        write(conn, tbl, _filled(tbl, chunk))
        count += len(chunk)
    return count


def _filled(tbl: sa.Table, chunk: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every row with the same keys (executemany and COPY want that): the union of the chunk's
    keys plus the columns with a model default; a missing value is that default, else None."""
    named = set().union(*(r.keys() for r in chunk))
    defaults = {c.name: c.default for c in tbl.columns if c.default is not None and not c.primary_key}
    keys = [c.name for c in tbl.columns if c.name in named or c.name in defaults]
    if all(len(r) == len(keys) for r in chunk):
        return [dict(r) for r in chunk]
    return [{k: r[k] if k in r else _default(defaults.get(k)) for k in keys} for r in chunk]


def _default(default: Any) -> Any:
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


def _executemany(statement: Any) -> Write:
    def write(conn: Connection, tbl: sa.Table, rows: list[dict[str, Any]]) -> None:
        conn.execute(statement, rows)

    return write


def _copy(conn: Connection, tbl: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL ``COPY ... FROM STDIN`` (text format) of rows with the same keys; values go
    through the columns' own bind processing (aware UTC times, JSON), then psycopg's dumpers."""
    keys = list(rows[0])
    processors = [_processor(conn, tbl.c[k]) for k in keys]
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(tbl.name)} ({', '.join(quote(k) for k in keys)}) FROM STDIN"
    raw: Any = conn.connection.driver_connection  # psycopg's Connection
    error = conn.dialect.loaded_dbapi.Error
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(
                    [
                        v if p is None else p(v)
                        for p, v in zip(processors, (row[k] for k in keys), strict=True)
                    ]
                )
    except error as exc:  # the same exception classes as executemany raises (IntegrityError...)
        raise sa.exc.DBAPIError.instance(sql, None, exc, error) from exc


def _processor(conn: Connection, column: sa.Column[Any]) -> Callable[[Any], Any] | None:
    dialect = conn.dialect
    processor: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor


class BulkWriter:
    """Writes batches of rows, one transaction per ``write`` call, while maintenance is suspended."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows = 0

    def write(self, name: str, rows: Iterable[Mapping[str, Any]]) -> int:
        with self.engine.begin() as conn:
            n = insert_blobs(conn, rows) if name == "blob" else insert_rows(conn, name, rows)
        self.rows += n
        return n


@contextmanager
def bulk_load(engine: Engine) -> Iterator[BulkWriter]:
    """Suspend the derived tables' upkeep, yield a writer, then rebuild them and resume (also when
    the load fails). ``with bulk_load(engine) as w: w.write("version", rows)``."""
    with engine.begin() as conn:
        saved = suspend(conn)
    try:
        yield BulkWriter(engine)
    finally:
        with engine.begin() as conn:
            resume(conn, saved)


@contextmanager
def suspended(conn: Connection) -> Iterator[None]:
    """The same inside a caller's transaction (a copy or a restore writes in one). On an error
    the caller's transaction rolls back, the dropped or disabled triggers with it (DDL is
    transactional on both backends)."""
    saved = suspend(conn)
    yield
    resume(conn, saved)
