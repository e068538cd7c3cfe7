"""`storytrail backup` / `restore` / `copy`: a snapshot restores to the same counts, on and across
both backends (PostgreSQL when STORYTRAIL_TEST_DATABASE_URL is set), and never overwrites data."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from jobs.pipeline import check_url
from storage import backup, catalog
from storage import notify as store
from storage.db import make_engine
from storage.models import Document
from storage.search import search
from tests.conftest import pg_schema_url
from tests.test_cli import assert_one_line_error, cli
from tests.test_pipeline import page


async def fill(services, server, clock) -> None:
    """A small real archive: a story, two versions of an article, checks, blobs, events, a target."""
    url = server.url("/valdai")
    server.route("/valdai", page())
    await check_url(services, url)
    clock.advance(minutes=10)
    server.route("/valdai", page(title="Kyiv calls the Valdai claim a fabrication", n=89))
    await check_url(services, url)
    with Session(services.engine) as s:
        story, _ = catalog.upsert_story(s, slug="valdai", now=clock(), title="Valdai", query="drone*")
        doc = s.exec(sa.select(Document)).scalars().first()  # type: ignore[call-overload]
        catalog.link_story_document(s, story_id=story.id, document_id=doc.id, now=clock())
        doc.duplicate_of = doc.id  # a self-reference, restored after its row
        s.add(doc)
        store.add_target(s, story_id=story.id, target="ntfy://valdai", kind="apprise", now=clock())
        store.record_event(s, at=clock(), kind="headline", document_id=doc.id, summary="x", data={"a": [1]})
        s.commit()
        store.fan_out(s, now=clock())


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = os.environ.get("STORYTRAIL_TEST_DATABASE_URL")
    if not base:
        pytest.skip("STORYTRAIL_TEST_DATABASE_URL is not set")
    from storage.db import sqlalchemy_url

    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(sqlalchemy_url(base))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield pg_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def fresh_sqlite(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


def searchable(engine) -> int:
    with Session(engine) as s:
        return len(search(s, "fabrication"))


@pytest.mark.parametrize("portable", [False, True])
async def test_backup_restores_to_the_same_counts(services, server, clock, tmp_path, portable):
    await fill(services, server, clock)
    before = backup.counts(services.engine)
    assert before["version"] == 2 and before["blob"] >= 2 and before["event"] >= 1
    path = tmp_path / ("archive.zip" if portable else "archive.bak")
    result = backup.backup(services.engine, path, portable=portable)
    expect_kind = "sqlite" if services.engine.dialect.name == "sqlite" and not portable else "dump"
    assert result.kind == expect_kind and result.counts == before
    target = make_engine(fresh_sqlite(tmp_path, "restored.db"))
    assert backup.restore(path, target) == before
    assert searchable(target) == 1  # the full-text index is rebuilt
    with Session(target) as s:  # new rows get new ids (sequences moved on)
        catalog.upsert_story(s, slug="other", now=clock(), title="Other")
        s.commit()
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(path, target)
    target.dispose()
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.backup(services.engine, path)


async def test_copy_sqlite_to_postgresql_and_back(services, server, clock, tmp_path, pg_url, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the SQLite -> PostgreSQL direction starts from SQLite")
    await fill(services, server, clock)
    before = backup.counts(services.engine)
    pg = make_engine(pg_url)
    assert backup.copy(services.engine, pg) == before
    assert searchable(pg) == 1
    with Session(pg) as s:
        catalog.upsert_story(s, slug="after-copy", now=clock(), title="x")
        s.commit()
    back = make_engine(fresh_sqlite(tmp_path, "back.db"))
    after = backup.copy(pg, back)
    assert after["story"] == before["story"] + 1 and after["version"] == before["version"]
    dump = tmp_path / "pg.zip"
    assert backup.backup(pg, dump).kind == "dump"
    again = make_engine(fresh_sqlite(tmp_path, "again.db"))
    assert backup.restore(dump, again) == after
    for engine in (pg, back, again):
        engine.dispose()


async def test_backup_cli_round_trip(services, server, clock, tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the library is tested on PostgreSQL above; the CLI once is enough")
    await fill(services, server, clock)
    path = tmp_path / "snap.zip"
    written = json.loads(
        cli("backup", str(path), "--portable", "--db", db_url, "--json", cwd=tmp_path).stdout
    )
    other = fresh_sqlite(tmp_path, "cli.db")
    restored = json.loads(cli("restore", str(path), "--db", other, "--json", cwd=tmp_path).stdout)
    assert restored["counts"] == written["counts"]
    again = cli("restore", str(path), "--db", other, cwd=tmp_path, check=False)
    assert_one_line_error(again, "not empty")
    copied = cli("copy", "--to", fresh_sqlite(tmp_path, "copy.db"), "--db", db_url, cwd=tmp_path).stdout
    assert "copied into" in copied and "2 version" in copied
    assert_one_line_error(
        cli("restore", str(tmp_path / "nope.zip"), "--db", other, cwd=tmp_path, check=False)
    )


def test_the_daemon_says_loudly_when_it_has_nothing_to_do(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    db = fresh_sqlite(tmp_path, "idle.db")
    proc = cli("run", "--once", "--db", db, "--config", str(config), cwd=tmp_path)
    assert "NOTHING TO DO: no enabled sources and no stories" in proc.stderr + proc.stdout
