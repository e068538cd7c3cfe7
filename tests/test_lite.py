"""storage.lite, the driver-only read path of `storytrail versions`: the same rows as the ORM's
documents.list_versions, on each backend, and the same answer to "is the schema current?"."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from storage import documents as docs
from storage import lite
from storage.errors import NotFoundError
from storage.records import VersionInfo

T0 = datetime(2025, 12, 29, 19, 0, tzinfo=UTC)


def _archive(engine) -> int:
    with Session(engine) as s:
        doc, _ = docs.get_or_create_document(s, url="https://news.example/a", now=T0)
        assert doc.id is not None
        for channel, seq, hours in (("page", 1, 0), ("page", 2, 5), ("feed", 1, 1)):
            docs.add_version(
                s, document_id=doc.id, channel=channel, seq=seq, observed_at=T0 + timedelta(hours=hours),
                last_confirmed_at=T0 + timedelta(hours=hours, minutes=30), content_hash=f"{seq:064d}",
                title=f"Title {channel} {seq}", published=T0 if seq == 1 else None,
                change_summary={"summary": "first version" if seq == 1 else "edited", "n": seq},
            )  # fmt: skip
        s.commit()
        return doc.id


def test_lite_reads_what_the_orm_reads(engine, db_url):
    doc_id = _archive(engine)
    assert lite.can_read(db_url)
    with Session(engine) as s:
        orm = docs.list_versions(s, document_id=doc_id)
        orm_feed = docs.list_versions(s, document_id=doc_id, channel="feed")
    fields = [f.name for f in dataclasses.fields(VersionInfo)]
    with lite.connect(db_url) as reader:
        assert lite.is_current(reader)
        assert lite.find_document_id(reader, ["https://nowhere.example/", "https://news.example/a"]) == doc_id
        rows = lite.list_versions(reader, document_id=doc_id)
        feed = lite.list_versions(reader, document_id=doc_id, channel="feed")
        with pytest.raises(NotFoundError, match="no archived document for https://nowhere.example/"):
            lite.find_document_id(reader, ["https://nowhere.example/"])
    assert [[getattr(v, f) for f in fields] for v in orm] == [[getattr(r, f) for f in fields] for r in rows]
    assert [(r.channel, r.seq) for r in rows] == [("feed", 1), ("page", 1), ("page", 2)]
    assert [r.seq for r in feed] == [v.seq for v in orm_feed] == [1]
    assert rows[0].observed_at.tzinfo is not None
    assert rows[0].change_summary == {"summary": "first version", "n": 1}


def test_an_unmigrated_database_is_not_current(db_url, tmp_path):
    if db_url.startswith("sqlite"):
        import sqlite3

        sqlite3.connect(tmp_path / "test.db").close()  # an empty file: no alembic_version table
    with lite.connect(db_url) as reader:
        assert not lite.is_current(reader)


def test_which_urls_the_light_path_reads(tmp_path):
    (tmp_path / "there.db").write_bytes(b"")
    assert lite.can_read(f"sqlite:///{tmp_path / 'there.db'}")
    assert not lite.can_read(f"sqlite:///{tmp_path / 'missing.db'}")  # created by the full path
    assert not lite.can_read("sqlite:///:memory:")
    assert not lite.can_read(f"sqlite:///{tmp_path / 'there.db'}?timeout=5")
    assert not lite.can_read("mysql://u@h/db")  # the full path says why
    assert lite.postgres_conninfo("postgres://u@h/db") == "postgresql://u@h/db"
    assert lite.postgres_conninfo("postgresql+psycopg://u@h/db?options=x") == "postgresql://u@h/db?options=x"


def test_version_on_main_channel_is_the_channel_a_reader_means(engine):
    """One query when the page has that seq; otherwise the main channel as main_channel() names it
    (a feed seq the page lacks is not answered from the feed), and the same errors as before."""
    from storage import reading

    doc_id = _archive(engine)
    with Session(engine) as s:
        first = reading.version_on_main_channel(s, document_id=doc_id, seq=1)
        assert (first.channel, first.seq, first.title) == ("page", 1, "Title page 1")
        assert reading.version_on_main_channel(s, document_id=doc_id, seq=2).channel == "page"
        with pytest.raises(NotFoundError, match=f"document {doc_id} has no page version 3"):
            reading.version_on_main_channel(s, document_id=doc_id, seq=3)
        with pytest.raises(NotFoundError, match="no document with id 999999"):
            reading.version_on_main_channel(s, document_id=999_999, seq=1)
        feed_only, _ = docs.get_or_create_document(s, url="https://news.example/feed-only", now=T0)
        assert feed_only.id is not None
        with pytest.raises(NotFoundError, match="has no versions yet"):
            reading.version_on_main_channel(s, document_id=feed_only.id, seq=1)
        docs.add_version(
            s, document_id=feed_only.id, channel="feed", seq=1, observed_at=T0, last_confirmed_at=T0,
            content_hash="f" * 64,
            title="From the feed",
        )  # fmt: skip
        s.commit()
        assert reading.version_on_main_channel(s, document_id=feed_only.id, seq=1).title == "From the feed"
