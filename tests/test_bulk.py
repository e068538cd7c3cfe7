"""storage.bulk: a bulk load leaves the derived tables (full-text index, story_event) exactly as
inserting the same rows one by one with the triggers firing does, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from storage import bulk
from storage.search import search

T0 = datetime(2025, 3, 1, tzinfo=UTC)
WORDS = ["alpha", "beta", "gamma", "delta", "Kyïv", "Kremlin", "harbour", "ledger", "minister", "vote"]
QUERIES = ["alpha", "Kremlin", "kyiv", '"harbour ledger"', "min*", "vote -alpha"]


def archive(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """A small archive: 3 stories, 12 documents (some in two stories, one linked late), versions
    on two channels with edits and a tombstone, the events the capture writer would write."""
    rng = random.Random(seed)
    stories = [{"id": i, "slug": f"s{i}", "title": f"S{i}", "created_at": T0} for i in (1, 2, 3)]
    docs, versions, events, links, late = [], [], [], [], []
    vid = eid = 0
    for d in range(1, 13):
        docs.append({"id": d, "url": f"https://ex.test/{d}", "first_seen": T0, "settings": {}})
        for s in sorted({1 + d % 3, *([3] if d % 4 == 0 else [])}):
            link = {"story_id": s, "document_id": d, "via": "source", "discovered_at": T0}
            (late if d == 5 and s == 3 else links).append(link)
        for channel, count in (("page", 1 + d % 4), ("feed", 1)):
            for seq in range(1, count + 1):
                vid += 1
                eid += 1
                kind = "tombstone" if (d == 7 and seq == 2) else "normal"
                text = "" if kind == "tombstone" else " ".join(rng.choices(WORDS, k=40))
                at = T0 + timedelta(hours=d, minutes=seq)
                versions.append(
                    {
                        "id": vid,
                        "document_id": d,
                        "channel": channel,
                        "seq": seq,
                        "kind": kind,
                        "observed_at": at,
                        "last_confirmed_at": at,
                        "content_hash": f"{vid:064x}",
                        "title": " ".join(rng.choices(WORDS, k=4)),
                        "byline": rng.choice(["Staff", "Ana Núñez", None]),
                        "text": text,
                        "meta": {},
                        "change_summary": {},
                        "latest": seq == count,  # what storage.documents.add_version keeps
                    }
                )
                events.append(
                    {
                        "id": eid,
                        "at": at,
                        "kind": "first_version" if seq == 1 else "change",
                        "document_id": d,
                        "channel": channel,
                        "version_id": vid,
                        "seq": seq,
                        "summary": "x",
                        "data": {},
                    }
                )
        eid += 1
        events.append(
            {
                "id": eid,
                "at": T0,
                "kind": "new_coverage",
                "document_id": d,
                "story_id": 1 + d % 3,
                "summary": "new",
                "data": {},
            }
        )
    return {
        "story": stories,
        "document": docs,
        "story_document": links,
        "version": versions,
        "event": events,
        "late_links": late,
    }


def _with_keys(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Core inserts take column names; the model attribute ``meta`` is the column ``metadata``."""
    if name != "version":
        return rows
    return [{("metadata" if k == "meta" else k): v for k, v in r.items()} for r in rows]


def _load(engine: sa.Engine, data: dict[str, list[dict[str, Any]]], *, fast: bool) -> None:
    order = ["story", "document", "story_document", "version", "event"]
    if fast:  # without version.latest: the load repairs it
        with bulk.bulk_load(engine) as writer:
            for name in order:
                rows = _with_keys(name, data[name])
                writer.write(name, [{k: v for k, v in r.items() if k != "latest"} for r in rows])
            writer.write("story_document", data["late_links"])
    else:  # one row per statement: every trigger fires as it does in the daemon
        with engine.begin() as conn:
            for name in order:
                bulk.insert_rows(conn, name, _with_keys(name, data[name]), batch=1)
            bulk.insert_rows(conn, "story_document", data["late_links"], batch=1)


def _derived(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        story_events = conn.execute(
            sa.text("SELECT story_id, event_id, at, kind FROM story_event ORDER BY story_id, event_id")
        ).all()
        if engine.dialect.name == "sqlite":
            index = conn.execute(
                sa.text(
                    "SELECT rowid FROM version_fts WHERE version_fts MATCH 'kremlin OR ledger' ORDER BY rowid"
                )
            ).all()
            conn.execute(sa.text("INSERT INTO version_fts(version_fts) VALUES ('integrity-check')"))
        else:
            index = conn.execute(sa.text("SELECT id, search_tsv::text FROM version ORDER BY id")).all()
            plan = conn.execute(
                sa.text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_version_search_tsv' "
                    "AND schemaname = current_schema()"
                )
            ).all()
            assert len(plan) == 1, "the GIN index is back"
    with Session(engine) as s:
        hits = {
            (q, every): [(h.version_id, round(h.rank, 6), h.parts) for h in search(s, q, all_versions=every)]
            for q in QUERIES
            for every in (False, True)
        }
    return {"story_event": story_events, "index": index, "search": hits, "latest": latest_flags(engine)}


def latest_flags(engine: sa.Engine) -> list[Any]:
    """(document, channel, seq) of every flagged version; asserts that it is exactly the highest
    seq of every channel that has versions."""
    with engine.connect() as conn:
        flagged = conn.execute(
            sa.text("SELECT document_id, channel, seq FROM version WHERE latest ORDER BY 1, 2")
        ).all()
        newest = conn.execute(
            sa.text("SELECT document_id, channel, max(seq) FROM version GROUP BY 1, 2 ORDER BY 1, 2")
        ).all()
    assert [tuple(r) for r in flagged] == [tuple(r) for r in newest]
    return [tuple(r) for r in flagged]


def _triggers(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            ).all()
        return conn.execute(
            sa.text(
                "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c "
                "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relname IN ('event', 'story_document') "
                "AND c.relnamespace = to_regnamespace(current_schema()) ORDER BY 1, 2"
            )
        ).all()


def _indexes(engine: sa.Engine) -> list[Any]:
    """Every index of the loaded tables, as the database states it (the bulk load drops the
    secondary ones and builds them again at the end)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
            ).all()
        return conn.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"
            )
        ).all()


@pytest.fixture
def second(engine: sa.Engine, tmp_path: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A second migrated database of the same backend (a fresh schema / file)."""
    import shutil
    import uuid

    from storage.db import make_engine
    from tests.conftest import _TEMPLATE, _pg_base, pg_schema_url

    if engine.dialect.name == "sqlite":
        path = tmp_path / "second.db"
        shutil.copyfile(_TEMPLATE.sqlite(tmp_path_factory.getbasetemp()), path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
        return
    base = _pg_base()
    assert base
    schema = "t_" + uuid.uuid4().hex[:12]
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    eng = make_engine(pg_schema_url(base, schema))
    with eng.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            for statement, parameters in _TEMPLATE.postgresql(base):
                cursor.execute(statement, parameters or None)
    yield eng
    eng.dispose()
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


def test_bulk_load_matches_row_by_row(engine: sa.Engine, second: sa.Engine) -> None:
    data = archive()
    before, indexes = _triggers(engine), _indexes(second)
    _load(engine, data, fast=False)
    _load(second, data, fast=True)
    slow, fast = _derived(engine), _derived(second)
    assert slow["story_event"], "the archive has timeline rows"
    assert any(slow["search"].values()), "the queries find something"
    assert fast["story_event"] == slow["story_event"]
    assert fast["index"] == slow["index"]
    assert fast["search"] == slow["search"]
    assert _triggers(second) == before, "every trigger is back as it was"
    assert _indexes(second) == indexes, "every index is back as it was"
    # and the triggers work again after the load: one more event reaches both stories of doc 4
    with second.begin() as conn:
        conn.execute(
            bulk.table("event").insert(),
            {"id": 10_000, "at": T0, "kind": "change", "document_id": 4, "summary": "", "data": {}},
        )
        got = conn.execute(sa.text("SELECT story_id FROM story_event WHERE event_id = 10000 ORDER BY 1"))
        assert [r[0] for r in got] == [2, 3]


def test_a_failed_load_still_rebuilds_and_resumes(engine: sa.Engine) -> None:
    data = archive()
    before, indexes = _triggers(engine), _indexes(engine)
    with pytest.raises(sa.exc.IntegrityError), bulk.bulk_load(engine) as writer:
        for name in ("story", "document", "story_document", "version"):
            writer.write(name, _with_keys(name, data[name]))
        writer.write("event", data["event"][:5])
        writer.write("event", data["event"][:5])  # the same ids again
    assert _triggers(engine) == before
    assert _indexes(engine) == indexes
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM story_event")).scalar()
    # events 1-4 are document 1's (in story 2; event 4 its new_coverage of story 2), event 5 the
    # first of document 2 (in story 3): one timeline row each
    assert n == 5


def test_copy_goes_through_the_bulk_path_and_keeps_the_derived_tables(
    engine: sa.Engine, second: sa.Engine
) -> None:
    from storage.backup import copy

    _load(engine, archive(), fast=False)
    before = _triggers(second)
    copy(engine, second)
    assert _derived(second) == _derived(engine)
    assert _triggers(second) == before


def test_blobs_in_batches_are_stored_once(engine: sa.Engine) -> None:
    import hashlib

    from scraper.core.packing import COMPRESSION, pack
    from storage.blobs import get_blob, put_blob

    bodies = [f"<html>{i % 7} {'x' * i}</html>".encode() for i in range(40)]
    with Session(engine) as s:  # one already there, through the row-by-row path
        put_blob(s, data=bodies[3], now=T0)
        s.commit()
    rows = [
        {
            "sha256": hashlib.sha256(b).hexdigest(),
            "size": len(b),
            "compression": COMPRESSION,
            "data": pack(b),
            "created_at": T0,
        }
        for b in bodies + bodies[:5]  # repeats in the same load
    ]
    with bulk.bulk_load(engine) as writer:
        writer.write("blob", rows)
    with Session(engine) as s:
        assert s.execute(sa.text("SELECT count(*) FROM blob")).scalar() == len(set(bodies))
        assert all(get_blob(s, sha256=r["sha256"]) == b for r, b in zip(rows, bodies, strict=False))
