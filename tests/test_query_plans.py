"""The read paths use their indexes: no full scan of version, event or story_event (SQLite EXPLAIN
QUERY PLAN; PostgreSQL EXPLAIN with sequential scans priced out, as on a table large enough)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from storage import documents, reading
from storage.models import Document, Event, Story, StoryDocument
from storage.search import search
from storage.timeline import EventFilter, story_document_states, story_events

T0 = datetime(2025, 12, 29, 19, 0, tzinfo=UTC)
TABLES = ("version", "event", "story_event", "story_document")


@pytest.fixture
def small_archive(engine):
    with Session(engine) as s:
        story = Story(slug="valdai", title="Valdai")
        s.add(story)
        s.flush()
        for n in range(3):
            doc = Document(url=f"https://news.example/{n}", first_seen=T0)
            s.add(doc)
            s.flush()
            s.add(StoryDocument(story_id=story.id, document_id=doc.id, discovered_at=T0))
            for seq in (1, 2):
                at = T0 + timedelta(hours=seq)
                v = documents.add_version(s, document_id=doc.id, seq=seq, observed_at=at,
                                          last_confirmed_at=at, content_hash=f"{n}{seq}",
                                          title="Kremlin residence", text="Drones near Valdai")  # fmt: skip
                s.add(Event(at=at, kind="change", document_id=doc.id, channel="page", seq=seq,
                            version_id=v.id))  # fmt: skip
        s.commit()
        assert story.id is not None
        return engine, story.id


@contextmanager
def captured(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def full_scans(engine: sa.Engine, statement: str, parameters: Any) -> list[str]:
    """Plan lines that read one of TABLES whole."""
    if engine.dialect.name == "sqlite":
        # "SCAN t USING INDEX i" reads in index order and stops at LIMIT: not a full scan
        pattern = re.compile(rf"^SCAN ({'|'.join(TABLES)})\b(?! USING (COVERING )?INDEX)")
    else:
        pattern = re.compile(rf"Seq Scan on ({'|'.join(TABLES)})\b")
    return [line for line in plan(engine, statement, parameters) if pattern.search(line.strip())]


READS: dict[str, Callable[[Session, int, int], object]] = {
    "timeline, first page": lambda s, story, doc: story_events(s, story, limit=2),
    "timeline, next page newest first": lambda s, story, doc: story_events(
        s,
        story,
        filter=EventFilter(order="desc"),
        limit=2,
        cursor=story_events(s, story, filter=EventFilter(order="desc"), limit=2).next_cursor,
    ),  # fmt: skip
    "timeline, kinds and window": lambda s, story, doc: story_events(
        s, story, filter=EventFilter(kinds=("change",), since=T0, until=T0 + timedelta(hours=5)), limit=2
    ),
    "coverage, newest found first": lambda s, story, doc: story_document_states(s, story, limit=2),
    "version list": lambda s, story, doc: reading.version_page(s, document_id=doc, limit=1),
    "version list, next page": lambda s, story, doc: reading.version_page(
        s, document_id=doc, limit=1, cursor=reading.version_page(s, document_id=doc, limit=1).next_cursor
    ),
    "as-of lookup": lambda s, story, doc: documents.version_at(
        s, document_id=doc, channel="page", at=T0 + timedelta(hours=1, minutes=30)
    ),
    "one version": lambda s, story, doc: reading.get_version(s, document_id=doc, channel="page", seq=2),
    "latest version": lambda s, story, doc: reading.latest_version(s, document_id=doc, channel="page"),
    "changes feed": lambda s, story, doc: reading.change_page(s, limit=2),
    "changes feed, next page": lambda s, story, doc: reading.change_page(
        s, limit=2, cursor=reading.change_page(s, limit=2).next_cursor
    ),
    "search, latest versions": lambda s, story, doc: search(s, "kremlin", limit=5),
    "search, all versions": lambda s, story, doc: search(s, "valdai", all_versions=True, limit=5),
}


@pytest.mark.parametrize("name", list(READS))
def test_read_uses_an_index(small_archive, name):
    engine, story_id = small_archive
    with Session(engine) as s:
        doc = s.exec(sa.select(Document.id).limit(1)).scalar_one()  # type: ignore[call-overload]
    with captured(engine) as statements, Session(engine) as s:
        READS[name](s, story_id, doc)
    assert statements
    scans = {sql: found for sql, params in statements if (found := full_scans(engine, sql, params))}
    assert not scans, f"{name}: full scans {scans}"
    if "next page" in name:  # the cursor is a range on the index, not a filter over earlier pages
        ranges = [line for statement, params in statements[-1:] for line in plan(engine, statement, params)]
        assert any(KEYSET.search(line) for line in ranges), f"{name}: cursor is no index range: {ranges}"


KEYSET = re.compile(r"(SEARCH .*[<>]|Index Cond: .*[<>])")


def plan(engine: sa.Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        conn.exec_driver_sql("SET enable_seqscan = off")
        return [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]


def test_story_counts_read_the_version_index_alone(small_archive):
    """A story's summary counts its versions from ix_version_document_kind_observed, never the
    version rows (the largest story of the 1M bench: 298 -> 67 ms)."""
    engine, story_id = small_archive
    with Session(engine) as s:
        story = s.get(Story, story_id)
        assert story is not None
    with captured(engine) as statements, Session(engine) as s:
        summary = reading.story_summaries(s, stories=[story])[0]
    assert (summary.documents, summary.versions) == (3, 6)
    counting = [(sql, p) for sql, p in statements if "max(version.observed_at)" in sql]
    assert counting, statements
    lines = [line for sql, p in counting for line in plan(engine, sql, p)]
    if engine.dialect.name == "sqlite":
        assert any("COVERING INDEX ix_version_document_kind_observed" in line for line in lines), lines
    else:
        assert any("Index Only Scan using ix_version_document_kind_observed" in line for line in lines), lines


@pytest.fixture
def wider_archive(engine):
    """4,000 versions (2,000 documents, two versions each), a rare word in 1% of them, analyzed:
    enough rows that the planner's choice is the one it makes at scale."""
    from storage import bulk

    if engine.dialect.name != "postgresql":
        pytest.skip("the partial GIN index is PostgreSQL's (SQLite searches through FTS5)")
    words = ["kremlin", "drones", "residence", "statement", "minister", "attack", "report"]
    documents_, versions = [], []
    for d in range(1, 2001):
        documents_.append({"id": d, "url": f"https://wide.example/{d}", "first_seen": T0, "settings": {}})
        for seq in (1, 2):
            n = 2 * d + seq
            text = " ".join(words[(n * k) % len(words)] for k in range(1, 30)) + (
                " valdai" if n % 100 == 0 else ""
            )
            at = T0 + timedelta(minutes=n)
            versions.append({"id": n, "document_id": d, "channel": "page", "seq": seq, "observed_at": at,
                             "last_confirmed_at": at, "content_hash": f"{n:064x}", "title": "Wide",
                             "text": text, "metadata": {}, "change_summary": {}})  # fmt: skip
    with bulk.bulk_load(engine) as writer:
        writer.write("document", documents_)
        writer.write("version", versions)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE version"))
        conn.execute(sa.text("ANALYZE document"))
    return engine


def test_latest_version_search_reads_the_partial_gin_index(wider_archive):
    """PostgreSQL: the default search (latest versions) finds its older candidates in the GIN
    index of latest versions (migration 0011), never by walking version_pkey and testing every
    row's tsvector (2.2 s for a rarer word at 90,609 versions); all versions keep the full index."""
    engine = wider_archive
    for every, index in ((False, "ix_version_latest_search_tsv"), (True, "ix_version_search_tsv")):
        with captured(engine) as statements, Session(engine) as s:
            assert search(s, "valdai", all_versions=every, limit=5)
        (sql, params), *_ = [(q, p) for q, p in statements if "ts_rank_cd" in q]
        lines = plan(engine, sql, params)
        assert any(f"Bitmap Index Scan on {index} " in line for line in lines), lines
        if not every:
            older = _cte(lines, "older")
            assert any("ix_version_latest_search_tsv" in line for line in older), older
            assert not any("version_pkey" in line for line in older), older


def _cte(lines: list[str], name: str) -> list[str]:
    """The plan lines of CTE ``name`` (deeper indented than its heading)."""
    at = next(i for i, line in enumerate(lines) if line.strip() == f"CTE {name}")
    depth = len(lines[at]) - len(lines[at].lstrip())
    body = []
    for line in lines[at + 1 :]:
        if len(line) - len(line.lstrip()) <= depth:
            break
        body.append(line)
    return body
