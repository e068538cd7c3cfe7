"""version.latest (migration 0011): true for exactly the highest seq of every (document, channel)
after whatever the writer records (new versions, reverts, tombstones, restorations, re-extractions,
confirmations), a bulk load, a copy and a restore from a backup; SQLite and PostgreSQL. Search by
default reads the flag (tests/test_search.py for its results)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from scraper.core.normalize import normalize_content
from scraper.core.types import Channel, Content
from scraper.core.versioning import Gone, NewVersion, Seen, Tombstone, plan
from storage import documents as docs
from storage import versions
from storage.search import search
from storage.types import UTCDateTime
from tests.test_bulk import latest_flags
from tests.test_bulk import second as second  # the fixture: a second empty database

T0 = datetime(2025, 12, 29, 19, tzinfo=UTC)
BODY = "Russia said Ukraine fired 91 drones at the residence. Kyiv called it a fabrication. " * 4


def _content(title: str, text: str = BODY) -> Content:
    return normalize_content(Content(title=title, text=text))


def observe(engine: sa.Engine, document_id: int, channel: Channel, observation: Any, at: datetime) -> Any:
    """One check through the writer, as jobs.capture records it."""
    with Session(engine) as s:
        history = versions.state(s, document_id=document_id, channel=channel.value).history
        planned = plan(history, observation, at)
        versions.apply(s, document_id=document_id, channel=channel, plan=planned, check={}, now=at)
        s.commit()
    return planned


def flagged(engine: sa.Engine, document_id: int) -> dict[str, list[int]]:
    """channel -> the seqs flagged latest (checked against the highest seq of every channel)."""
    out: dict[str, list[int]] = {}
    for doc, channel, seq in latest_flags(engine):
        if doc == document_id:
            out.setdefault(channel, []).append(seq)
    return out


@pytest.fixture
def document(engine: sa.Engine) -> int:
    with Session(engine) as s:
        doc, _ = docs.get_or_create_document(s, url="https://news.example/valdai", now=T0)
        s.commit()
        assert doc.id is not None
        return doc.id


def test_the_flag_follows_every_kind_of_version(engine: sa.Engine, document: int) -> None:
    at = iter(T0 + timedelta(hours=n) for n in range(100))
    steps: list[tuple[Any, type, dict[str, list[int]]]] = [
        (Seen(_content("A"), raw_size=900), NewVersion, {"page": [1]}),
        (Seen(_content("A"), raw_size=900), object, {"page": [1]}),  # a confirmation moves nothing
        (Seen(_content("B"), raw_size=900), NewVersion, {"page": [2]}),
        (Seen(_content("A"), raw_size=900), NewVersion, {"page": [3]}),  # a revert
        (Gone(404), object, {"page": [3]}),  # the first miss
        (Gone(404), Tombstone, {"page": [4]}),  # a tombstone is the latest version
        (Seen(_content("A"), raw_size=900), NewVersion, {"page": [5]}),  # restored
        (Seen(_content("A"), raw_size=900, reextracted=True), object, {"page": [5]}),
    ]
    for observation, kind, expected in steps:
        planned = observe(engine, document, Channel.PAGE, observation, next(at))
        assert isinstance(planned, kind)
        assert flagged(engine, document) == expected
    # another channel has its own latest version
    observe(engine, document, Channel.FEED, Seen(_content("A", "Kyiv called it a fabrication.")), next(at))
    observe(engine, document, Channel.FEED, Seen(_content("C", "Kyiv called it a fabrication.")), next(at))
    assert flagged(engine, document) == {"feed": [2], "page": [5]}
    with Session(engine) as s:
        hits = search(s, "fabrication")
        assert sorted((h.channel, h.seq) for h in hits) == [("feed", 2), ("page", 5)]
        assert {(h.channel, h.seq) for h in search(s, "fabrication", all_versions=True)} >= {("page", 1)}


def test_the_flag_after_a_reextraction(engine: sa.Engine, document: int) -> None:
    observe(engine, document, Channel.PAGE, Seen(_content("A"), raw_size=900), T0)
    planned = observe(
        engine,
        document,
        Channel.PAGE,
        Seen(_content("A2"), raw_size=900, reextracted=True),
        T0 + timedelta(1),
    )
    assert isinstance(planned, NewVersion)
    assert flagged(engine, document) == {"page": [2]}


def test_two_latest_versions_of_a_channel_cannot_be_stored(engine: sa.Engine, document: int) -> None:
    fields = {"document_id": document, "channel": "page", "observed_at": T0, "last_confirmed_at": T0}
    with Session(engine) as s:
        docs.add_version(s, seq=2, content_hash="2" * 64, **fields)
        s.commit()
        with pytest.raises(IntegrityError):  # an older seq written after a newer one
            docs.add_version(s, seq=1, content_hash="1" * 64, **fields)
        s.rollback()
    assert flagged(engine, document) == {"page": [2]}


def _archive(engine: sa.Engine, document: int) -> None:
    for n, observation in enumerate(
        [Seen(_content("A"), raw_size=900), Seen(_content("B"), raw_size=900), Gone(410), Gone(410)]
    ):
        observe(engine, document, Channel.PAGE, observation, T0 + timedelta(hours=n))
    observe(engine, document, Channel.FEED, Seen(_content("F", "Kyiv called it a fabrication.")), T0)


def test_the_flag_survives_a_copy_and_a_restore(engine: sa.Engine, document: int, second: sa.Engine) -> None:
    from storage.backup import copy

    _archive(engine, document)
    want = latest_flags(engine)
    assert (document, "page", 3) in want
    copy(engine, second)
    assert latest_flags(second) == want


def test_the_flag_survives_a_backup_and_restore(
    engine: sa.Engine, document: int, second: sa.Engine, tmp_path: Path
) -> None:
    from storage.backup import backup, restore

    _archive(engine, document)
    want = latest_flags(engine)
    path = tmp_path / "archive.zip"
    backup(engine, path, portable=True)
    restore(path, second)
    assert latest_flags(second) == want


def test_a_bulk_load_repairs_wrong_flags(engine: sa.Engine, document: int) -> None:
    from storage import bulk

    _archive(engine, document)
    want = latest_flags(engine)
    with engine.begin() as conn:  # every flag wrong: the oldest versions flagged, the newest not
        conn.execute(sa.text("UPDATE version SET latest = false"))
        conn.execute(sa.text("UPDATE version SET latest = true WHERE seq = 1"))
    with bulk.bulk_load(engine):
        pass
    assert latest_flags(engine) == want


def test_migration_0011_back_fills_the_flag(db_url: str) -> None:
    """Versions stored before 0011 get the flag on their highest seq of each channel."""
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(db_url)
    try:
        upgrade(engine, "0010")
        with engine.begin() as conn:
            from storage import bulk  # the document model is as at 0010; the version model is not

            bulk.insert_rows(
                conn, "document", [{"id": 1, "url": "https://x.test/1", "first_seen": T0}], batch=1
            )
            for n, (channel, seq, kind) in enumerate(
                [
                    ("page", 1, "normal"),
                    ("page", 2, "normal"),
                    ("page", 3, "tombstone"),
                    ("feed", 1, "normal"),
                ]
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO version (id, document_id, channel, seq, kind, observed_at, "
                        "last_confirmed_at, content_hash, text, metadata, change_summary) "
                        "VALUES (:id, 1, :channel, :seq, :kind, :t, :t, :hash, 'x', '{}', '{}')"
                    ).bindparams(sa.bindparam("t", type_=UTCDateTime())),
                    {"id": n + 1, "channel": channel, "seq": seq, "kind": kind, "t": T0, "hash": str(n)},
                )
        upgrade(engine)
        assert latest_flags(engine) == [(1, "feed", 1), (1, "page", 3)]
    finally:
        engine.dispose()
