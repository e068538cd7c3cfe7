"""Bulk loading: many rows into the archive at once, with the derived tables rebuilt afterwards.

Row by row, every version insert fires the full-text trigger (SQLite: FTS5 tokenizes the text and
merges segments per row; PostgreSQL: the GIN index on ``version.search_tsv`` is updated per row)
and every event and story link fires the ``story_event`` triggers (migration 0008). For a large
load that work is done once instead:

1. ``suspend`` saves and switches off what derives from the loaded tables: on SQLite the
   ``version_fts_*`` and ``story_event_*`` triggers are dropped (their exact SQL is kept from
   ``sqlite_master``); on PostgreSQL the ``story_event`` triggers are disabled and the GIN index
   ``ix_version_search_tsv`` is dropped (its definition kept from ``pg_indexes``). The generated
   ``search_tsv`` column is still computed per row: PostgreSQL offers no way around it.
2. rows go in with SQLAlchemy Core ``executemany``, in batches (``BulkWriter.write``);
3. ``resume`` rebuilds: FTS5 ``'rebuild'`` (one pass over ``version``) or ``CREATE INDEX``;
   ``story_event`` emptied and filled by the two ``INSERT ... SELECT`` of migration 0008's
   back-fill (the triggers' rule: a ``new_coverage`` event belongs to its story, a document's
   event to every story linking the document); then the triggers are put back as they were.

The result is the same as inserting the rows one by one (tests/test_bulk.py compares search
results and ``story_event`` rows on both backends). ``resume`` always runs, also when the load
fails halfway, so the derived tables match whatever rows were committed.

Meant for a database nothing else writes to while the load runs (a copy or restore target, the
scale bench): a row written by someone else during the load gets its ``story_event`` rows from
the rebuild, but the rebuild itself is not guarded against concurrent writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
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
PG_SEARCH_INDEX = "ix_version_search_tsv"

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
    pg_index: str | None = None  # CREATE INDEX statement


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
        index = conn.execute(
            sa.text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = :name AND schemaname = current_schema()"
            ),
            {"name": PG_SEARCH_INDEX},
        ).scalar()
        if index is not None:
            saved.pg_index = str(index)
            conn.execute(sa.text(f"DROP INDEX {PG_SEARCH_INDEX}"))
    return saved


def resume(conn: Connection, saved: Suspended) -> None:
    """Rebuild the derived tables from the loaded rows and switch the per-row maintenance back on."""
    if saved.dialect == "sqlite":
        conn.execute(sa.text("INSERT INTO version_fts(version_fts) VALUES ('rebuild')"))
    elif saved.pg_index is not None:
        conn.execute(sa.text(saved.pg_index))
    for statement in STORY_EVENT_REBUILD:
        conn.execute(sa.text(statement))
    for sql in saved.sqlite_triggers:
        conn.execute(sa.text(sql))
    for table, names in saved.pg_triggers.items():
        for name in names:
            conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {name}"))


def table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


def _execute(conn: Connection, statement: Any, chunk: list[Mapping[str, Any]]) -> None:
    """executemany wants every row to name the same columns: a row leaving one out gets NULL."""
    keys = set(chunk[0])
    if any(len(r) != len(keys) or r.keys() != keys for r in chunk):
        every = set().union(*(r.keys() for r in chunk))
        chunk = [{**dict.fromkeys(every), **r} for r in chunk]
    conn.execute(statement, chunk)


def insert_rows(conn: Connection, name: str, rows: Iterable[Mapping[str, Any]], *, batch: int = BATCH) -> int:
    """Insert ``rows`` (column name -> Python value, as the models take them: aware datetimes,
    dicts and lists for JSON) into table ``name`` with Core executemany, ``batch`` rows a call."""
    statement = table(name).insert()
    count = 0
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            _execute(conn, statement, chunk)
            count, chunk = count + len(chunk), []
    if chunk:
        _execute(conn, statement, chunk)
        count += len(chunk)
    return count


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
    count = 0
    chunk: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        if row["sha256"] in seen:
            continue
        seen.add(row["sha256"])
        chunk.append(row)
        if len(chunk) >= BATCH // 10:  # blobs are large: smaller batches
            _execute(conn, statement, chunk)
            count, chunk = count + len(chunk), []
    if chunk:
        _execute(conn, statement, chunk)
        count += len(chunk)
    return count


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
