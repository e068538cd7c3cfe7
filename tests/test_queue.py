"""The work queue (storage.queue): leases on due documents and sources, the leader lease.

Every test runs on SQLite and, when STORYTRAIL_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from jobs.pipeline import check_document, check_url
from storage import documents as docs
from storage import queue
from storage.models import Document, NodeLease, Source, Version
from tests.test_pipeline import page

LEASE = timedelta(minutes=5)


def pk(value: int | None) -> int:
    assert value is not None
    return value


def add_documents(engine: Engine, now: datetime, offsets_s: list[float], **fields: Any) -> list[int]:
    """Documents due ``offset`` seconds from ``now`` (negative: overdue)."""
    with Session(engine) as s:
        rows = [
            Document(
                url=f"https://news.example/{i}-{len(offsets_s)}-{offset}",
                next_check=now + timedelta(seconds=offset),
                first_seen=now,
                **fields,
            )
            for i, offset in enumerate(offsets_s)
        ]
        s.add_all(rows)
        s.commit()
        return [pk(r.id) for r in rows]


def add_source(engine: Engine, name: str, **fields: Any) -> int:
    with Session(engine) as s:
        src = Source(name=name, kind="feed", url=f"https://news.example/{name}.xml", every="10m", **fields)
        s.add(src)
        s.commit()
        return pk(src.id)


def source(session: Session, source_id: int) -> Source:
    found = session.get(Source, source_id)
    assert found is not None
    return found


def claim(engine: Engine, owner: str, now: datetime, limit: int = 100, lease: timedelta = LEASE) -> list[int]:
    with Session(engine) as s:
        return queue.claim_documents(s, owner=owner, now=now, lease=lease, limit=limit)


def doc(engine: Engine, doc_id: int) -> Document:
    with Session(engine) as s:
        found = s.get(Document, doc_id)
        assert found is not None
        return found


def test_claims_due_documents_most_overdue_first(engine, clock):
    now = clock()
    late, later, soon = add_documents(engine, now, [-60, -300, -5])
    add_documents(engine, now, [60])  # not due yet
    add_documents(engine, now, [-600], status="retired")
    add_documents(engine, now, [-900], lease_owner="other", lease_until=now + timedelta(seconds=30))
    assert claim(engine, "a", now) == [later, late, soon]
    leased = doc(engine, later)
    assert leased.lease_owner == "a" and leased.lease_until == now + LEASE
    assert claim(engine, "b", now) == []  # everything due is held


def test_claim_respects_the_limit(engine, clock):
    ids = add_documents(engine, clock(), [-5, -4, -3, -2, -1])
    first = claim(engine, "a", clock(), limit=2)
    second = claim(engine, "b", clock(), limit=2)
    third = claim(engine, "c", clock(), limit=2)
    assert first == ids[:2] and second == ids[2:4] and third == ids[4:]
    assert claim(engine, "a", clock(), limit=0) == []


def test_an_expired_lease_is_claimed_again(engine, clock):
    (doc_id,) = add_documents(engine, clock(), [-1])
    assert claim(engine, "crashed", clock()) == [doc_id]
    assert claim(engine, "b", clock() + timedelta(seconds=30)) == []
    later = clock() + LEASE + timedelta(seconds=1)
    assert claim(engine, "b", later) == [doc_id]
    with Session(engine) as s:  # the dead owner's late release does not touch b's lease
        assert queue.release_documents(s, ids=[doc_id], owner="crashed") == 0
    assert doc(engine, doc_id).lease_owner == "b"


def test_release_gives_work_back_now_or_later(engine, clock):
    now = clock()
    a, b = add_documents(engine, now, [-2, -1])
    assert claim(engine, "w", now) == [a, b]
    retry = now + timedelta(minutes=10)
    with Session(engine) as s:
        assert queue.release_documents(s, ids=[a], owner="w") == 1
        assert queue.release_documents(s, ids=[b], owner="w", retry_at=retry) == 1
    assert claim(engine, "v", now, lease=timedelta(hours=1)) == [a]  # due at once again
    assert doc(engine, b).next_check == retry and doc(engine, b).lease_owner is None
    assert claim(engine, "v", retry) == [b]


def test_sources_become_due_are_claimed_and_finished(engine, clock):
    now = clock()
    feed = add_source(engine, "feed")
    off = add_source(engine, "off", enabled=False)
    with Session(engine) as s:
        assert queue.claim_sources(s, owner="w", now=now, lease=LEASE, limit=5) == []
        assert queue.mark_source_due(s, source_id=feed, now=now)
        later = now + timedelta(minutes=1)
        assert queue.mark_source_due(s, source_id=feed, now=later)  # keeps the earlier time
        assert not queue.mark_source_due(s, source_id=off, now=now)
        assert source(s, feed).next_poll_at == now
        assert queue.queue_depth(s, now=now) == 1
        assert queue.claim_sources(s, owner="w", now=now, lease=LEASE, limit=5) == [feed]
        assert queue.claim_sources(s, owner="x", now=now, lease=LEASE, limit=5) == []
        assert queue.queue_depth(s, now=now) == 0
        assert not queue.finish_source(s, source_id=feed, owner="x", now=now)
        assert queue.finish_source(s, source_id=feed, owner="w", now=now)
        s.expire_all()
        src = source(s, feed)
        assert src.last_polled_at == now and src.next_poll_at is None and src.lease_owner is None


def test_queue_depth_enrolled_and_release_all(engine, clock):
    now = clock()
    add_documents(engine, now, [-3, -2, -1, 60])
    add_documents(engine, now, [-1], status="gone")
    feed = add_source(engine, "feed", next_poll_at=now)
    with Session(engine) as s:
        assert queue.queue_depth(s, now=now) == 4
        assert queue.enrolled_documents(s) == 4
        assert len(queue.claim_documents(s, owner="w", now=now, lease=LEASE, limit=2)) == 2
        assert queue.claim_sources(s, owner="w", now=now, lease=LEASE, limit=2) == [feed]
        assert queue.queue_depth(s, now=now) == 1
        assert [k for k, _ in queue.leased(s, owner="w")] == ["document", "document", "source"]
        assert queue.release_all(s, owner="w") == 3
        assert queue.leased(s) == []
        assert queue.queue_depth(s, now=now) == 4


def claim_until_empty(
    engine: Engine, owner: str, now: datetime, start: threading.Barrier, out: list[int]
) -> None:
    start.wait()
    while batch := claim(engine, owner, now, limit=7):
        out.extend(batch)


def test_concurrent_claimers_never_get_the_same_document(engine, clock):
    now = clock()
    ids = add_documents(engine, now, [-float(i) for i in range(200)])
    results: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(len(results))
    threads = [
        threading.Thread(target=claim_until_empty, args=(engine, f"w{n}", now, start, out))
        for n, out in enumerate(results)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    claimed = [i for out in results for i in out]
    assert len(claimed) == len(set(claimed)), "a document was claimed twice"
    assert sorted(claimed) == sorted(ids)
    with Session(engine) as s:
        owners = {d.id: d.lease_owner for d in s.exec(select(Document))}
    for n, out in enumerate(results):
        assert all(owners[i] == f"w{n}" for i in out)


def test_claiming_skips_rows_another_transaction_has_locked(engine, clock):
    """PostgreSQL: a claim in progress (rows locked, not committed) does not block a second claimer."""
    if engine.dialect.name != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serialises writers instead")
    ids = add_documents(engine, clock(), [-4, -3, -2, -1])
    with engine.connect() as conn:
        locked = (
            conn.execute(
                sa.select(col(Document.id))
                .order_by(col(Document.next_check))
                .limit(2)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        assert locked == ids[:2]
        assert claim(engine, "other", clock()) == ids[2:]
        conn.rollback()
    assert claim(engine, "late", clock()) == ids[:2]


def test_leader_lease(engine, clock):
    ttl = timedelta(seconds=30)
    with Session(engine) as s:
        assert queue.acquire_leader(s, name="scheduler", owner="a", now=clock(), ttl=ttl)
        assert not queue.acquire_leader(s, name="scheduler", owner="b", now=clock(), ttl=ttl)
        assert queue.leader(s, name="scheduler", now=clock()) == "a"
        assert queue.renew_leader(
            s, name="scheduler", owner="a", now=clock() + timedelta(seconds=20), ttl=ttl
        )
        # a's renewal at +20 s holds the lease until +50 s
        assert not queue.acquire_leader(
            s, name="scheduler", owner="b", now=clock() + timedelta(seconds=40), ttl=ttl
        )
        later = clock() + timedelta(seconds=51)
        assert queue.acquire_leader(s, name="scheduler", owner="b", now=later, ttl=ttl)
        assert not queue.renew_leader(s, name="scheduler", owner="a", now=later, ttl=ttl)
        assert not queue.release_leader(s, name="scheduler", owner="a")
        assert queue.leader(s, name="scheduler", now=later) == "b"
        assert queue.release_leader(s, name="scheduler", owner="b")
        assert queue.leader(s, name="scheduler", now=later) is None
        assert queue.acquire_leader(s, name="scheduler", owner="a", now=later, ttl=ttl)


def test_leader_lease_race_has_one_winner(engine, clock):
    wins: list[bool] = []
    start = threading.Barrier(6)

    def contend(owner: str) -> None:
        start.wait()
        with Session(engine) as s:
            wins.append(
                queue.acquire_leader(s, name="race", owner=owner, now=clock(), ttl=timedelta(minutes=1))
            )

    threads = [threading.Thread(target=contend, args=(f"n{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(wins) == [False] * 5 + [True]
    with Session(engine) as s:
        assert len(s.exec(select(NodeLease).where(NodeLease.name == "race")).all()) == 1


def test_migration_lock_is_exclusive_on_postgresql(engine):
    with queue.migration_lock(engine):
        if engine.dialect.name == "postgresql":
            with engine.connect() as other:
                got = other.execute(
                    sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": queue.MIGRATION_LOCK_KEY}
                )
                assert got.scalar() is False
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:
            assert other.execute(
                sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": queue.MIGRATION_LOCK_KEY}
            ).scalar()
            other.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": queue.MIGRATION_LOCK_KEY})


# -- retries never duplicate a version ---------------------------------------------------------


def page_versions(engine: Engine, doc_id: int) -> list[Version]:
    with Session(engine) as s:
        return docs.list_versions(s, document_id=doc_id, channel="page")


async def test_a_retried_check_confirms_instead_of_duplicating(server, services, engine, clock):
    server.route("/a", page())
    first = await check_url(services, server.url("/a"))
    assert first.seq == 1
    doc_id = pk(first.document_id)
    clock.advance(hours=1)  # due again
    assert claim(engine, "crashed", clock(), lease=timedelta(seconds=30)) == [doc_id]
    # the crashed worker may even have fetched and stored before dying; a new worker takes over
    clock.advance(seconds=31)
    assert claim(engine, "rescuer", clock()) == [doc_id]
    again = await check_document(services, doc_id)
    assert again.outcome.value == "unchanged" and again.seq == 1
    assert [v.seq for v in page_versions(engine, doc_id)] == [1]
    after = doc(engine, doc_id)
    assert after.lease_owner is None and after.next_check > clock()


async def test_two_workers_checking_the_same_content_make_one_version(server, services, engine):
    server.route("/b", page(title="Kremlin says it will revise its stance"))
    with Session(engine) as s:
        d, _ = docs.get_or_create_document(s, url=server.url("/b"), now=services.clock())
        s.commit()
        doc_id = pk(d.id)
    reports = await asyncio.gather(check_document(services, doc_id), check_document(services, doc_id))
    assert sorted(r.outcome.value for r in reports) == ["new_version", "unchanged"]
    assert [v.seq for v in page_versions(engine, doc_id)] == [1]


def test_the_same_seq_cannot_be_stored_twice(engine, clock):
    (doc_id,) = add_documents(engine, clock(), [0])
    fields = {
        "document_id": doc_id,
        "channel": "page",
        "seq": 1,
        "observed_at": clock(),
        "last_confirmed_at": clock(),
        "content_hash": "0" * 64,
    }
    with Session(engine) as s:
        docs.add_version(s, **fields)
        s.commit()
        with pytest.raises(IntegrityError):
            docs.add_version(s, **{**fields, "content_hash": "1" * 64})
        s.rollback()
        docs.add_version(s, **{**fields, "channel": "feed"})  # another channel has its own sequence
        s.commit()
