"""Backups, restores and copies of the archive between SQLite and PostgreSQL.

Two backup formats:

- SQLite: the database file itself, taken with SQLite's online backup API (a consistent snapshot
  while the daemon writes).
- PostgreSQL (and on request SQLite): a portable dump, a zip holding ``manifest.json`` (format,
  schema revision, row counts) and ``tables/<table>.jsonl``, one JSON object per row (times as
  ISO 8601, bytes as base64). The dump is read in one REPEATABLE READ transaction, so it is a
  consistent snapshot too.

Either restores into either backend: the target is migrated to the current schema and must hold
no rows of ours (a restore never overwrites an archive); rows are inserted table by table in
foreign-key order, self-references afterwards; PostgreSQL's id sequences are moved past the
restored ids. The rows go in through ``storage.bulk``: the per-row full-text and story_event
triggers are switched off for the load, the full-text index and story_event are rebuilt in one
pass each at the end, in the same transaction, and the triggers put back. Row counts
are compared table by table after every restore and copy.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (every table is registered on SQLModel.metadata)
from storage.bulk import insert_rows, suspended
from storage.migrate import current_revision, head_revision, upgrade

FORMAT = "storytrail-dump/1"
BATCH = 500
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup, restore or copy that cannot be done; the message says why."""


# Tables the database fills itself (triggers on the tables they derive from): never written by a
# restore or a copy, but their counts are still compared.
DERIVED = frozenset({"story_event"})


def tables() -> list[sa.Table]:
    """Our tables, parents before children."""
    return list(SQLModel.metadata.sorted_tables)


def stored_tables() -> list[sa.Table]:
    """The tables a backup holds and a restore writes (not the derived ones)."""
    return [t for t in tables() if t.name not in DERIVED]


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in tables()
        }


def require_empty(engine: Engine) -> None:
    """Refuse a target that holds any rows of ours (migrating it first)."""
    if current_revision(engine) != head_revision():
        upgrade(engine)
    full = {name: n for name, n in counts(engine).items() if n}
    if full:
        what = ", ".join(f"{n} {name}" for name, n in sorted(full.items())[:3])
        raise BackupError(f"the target database is not empty ({what}...): restore or copy into an empty one")


# --------------------------------------------------------------------------- values


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decoder(column: sa.Column[Any]) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, sa.LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    if isinstance(kind, sa.DateTime) or isinstance(getattr(kind, "impl", None), sa.DateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v)
    return lambda v: v


def _rows(conn: Connection, table: sa.Table) -> Iterator[dict[str, Any]]:
    order = list(table.primary_key.columns)
    result = conn.execution_options(yield_per=BATCH).execute(sa.select(table).order_by(*order))
    for row in result.mappings():
        yield dict(row)


# --------------------------------------------------------------------------- writing rows


def _self_refs(table: sa.Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _insert(conn: Connection, table: sa.Table, rows: Iterator[dict[str, Any]]) -> int:
    """Insert rows in batches (``storage.bulk``); self-referencing columns are set after every row is in."""
    refs = _self_refs(table)
    pk = [c.name for c in table.primary_key.columns]
    later: list[dict[str, Any]] = []

    def deferred() -> Iterator[dict[str, Any]]:
        for row in rows:
            if refs and any(row.get(r) is not None for r in refs):
                later.append({**{k: row[k] for k in pk}, **{r: row[r] for r in refs}})
                row = {**row, **dict.fromkeys(refs)}
            yield row

    count = insert_rows(conn, table.name, deferred(), batch=BATCH)
    for item in later:
        where = sa.and_(*(table.c[k] == item[k] for k in pk))
        conn.execute(table.update().where(where).values({r: item[r] for r in refs}))
    return count


def _fix_sequences(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        return
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) and pk[0].autoincrement in (True, "auto"):
            name, col = (conn.dialect.identifier_preparer.quote(n) for n in (table.name, pk[0].name))
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', '{pk[0].name}'), "
                    f"COALESCE((SELECT MAX({col}) FROM {name}), 0) + 1, false)"
                )
            )


def _check_counts(expected: dict[str, int], engine: Engine) -> dict[str, int]:
    got = counts(engine)
    wrong = {name: (n, got.get(name)) for name, n in expected.items() if got.get(name) != n}
    if wrong:
        name, (want, have) = next(iter(wrong.items()))
        raise BackupError(f"row counts differ after the restore: {name} has {have}, expected {want}")
    return got


# --------------------------------------------------------------------------- copy


def copy(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every row of ours from ``source`` into the empty ``target``; the row counts."""
    require_empty(target)
    expected = {}
    with _snapshot(source) as src, target.begin() as dst, suspended(dst):
        for table in stored_tables():
            expected[table.name] = _insert(dst, table, _rows(src, table))
        expected |= {t.name: _count(src, t) for t in tables() if t.name in DERIVED}
        _fix_sequences(dst)
    return _check_counts(expected, target)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that reads one consistent state: PostgreSQL in a REPEATABLE READ transaction;
    SQLite from an online-backup copy in a temporary folder (the daemon may go on writing)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            yield conn
            conn.rollback()
        return
    from storage.db import make_engine

    with tempfile.TemporaryDirectory(prefix="storytrail-snapshot-") as tmp:
        frozen = Path(tmp) / "snapshot.db"
        _sqlite_backup(engine, frozen)
        copy_engine = make_engine(f"sqlite:///{frozen}")
        try:
            with copy_engine.connect() as conn:
                yield conn
        finally:
            copy_engine.dispose()


# --------------------------------------------------------------------------- dumps


@dataclass(frozen=True)
class BackupResult:
    path: Path
    kind: str  # sqlite | dump
    counts: dict[str, int]


def backup(engine: Engine, path: Path, *, portable: bool = False) -> BackupResult:
    """A consistent snapshot at ``path``: a SQLite file (SQLite, unless ``portable``) or a dump."""
    if path.exists():
        raise BackupError(f"{path} already exists: choose a new file (a backup never overwrites one)")
    if engine.dialect.name == "sqlite" and not portable:
        _sqlite_backup(engine, path)
        return BackupResult(path, "sqlite", counts(engine))
    return BackupResult(path, "dump", _dump(engine, path))


def _sqlite_file(engine: Engine) -> str:
    name = engine.url.database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return name


def _sqlite_backup(engine: Engine, path: Path) -> None:
    src = sqlite3.connect(_sqlite_file(engine))
    dst = sqlite3.connect(str(path))
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _dump(engine: Engine, path: Path) -> dict[str, int]:
    written: dict[str, int] = {}
    tmp = path.with_name(path.name + ".partial")
    with _snapshot(engine) as conn, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        written |= {t.name: _count(conn, t) for t in tables() if t.name in DERIVED}
        for table in stored_tables():
            with zf.open(f"tables/{table.name}.jsonl", "w") as out:
                written[table.name] = _write_jsonl(out, _rows(conn, table))
        manifest = {"format": FORMAT, "revision": current_revision(engine), "counts": written}
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
    tmp.replace(path)
    return written


def _write_jsonl(out: IO[bytes], rows: Iterator[dict[str, Any]]) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False).encode() + b"\n")
        n += 1
    return n


# --------------------------------------------------------------------------- restore


def restore(path: Path, target: Engine) -> dict[str, int]:
    """Restore a backup (SQLite file or dump) into the empty ``target``; the row counts."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as fh:
        head = fh.read(16)
    if head == SQLITE_MAGIC:
        from storage.db import make_engine

        source = make_engine(f"sqlite:///{path.resolve()}")
        try:
            if current_revision(source) != head_revision():
                raise BackupError(
                    f"{path} is at schema {current_revision(source)}; open it once with this version"
                )
            return copy(source, target)
        finally:
            source.dispose()
    if zipfile.is_zipfile(path):
        return _load_dump(path, target)
    raise BackupError(f"{path} is neither a SQLite database nor a storytrail dump")


def _load_dump(path: Path, target: Engine) -> dict[str, int]:
    with zipfile.ZipFile(path) as zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except KeyError:
            raise BackupError(f"{path} has no manifest.json: not a storytrail dump") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{path}: unknown dump format {manifest.get('format')!r}")
        if manifest.get("revision") != head_revision():
            raise BackupError(
                f"{path} holds schema {manifest.get('revision')}, this version writes {head_revision()}"
            )
        require_empty(target)
        with target.begin() as conn, suspended(conn):
            for table in stored_tables():
                if f"tables/{table.name}.jsonl" in zf.namelist():
                    _insert(conn, table, _read_jsonl(zf, table))
            _fix_sequences(conn)
    expected = {name: n for name, n in manifest["counts"].items() if name in {t.name for t in tables()}}
    return _check_counts(expected, target)


def _read_jsonl(zf: zipfile.ZipFile, table: sa.Table) -> Iterator[dict[str, Any]]:
    decoders = {c.name: _decoder(c) for c in table.columns}
    with zf.open(f"tables/{table.name}.jsonl") as fh:
        for line in fh:
            if line.strip():
                raw = json.loads(line)
                yield {k: decoders[k](v) for k, v in raw.items() if k in decoders}
