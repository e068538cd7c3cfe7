"""The writer thread's batches (jobs.writer): checks waiting together are read in one session and
applied in one transaction, with the outcomes, events and next check times of one check at a time;
a check that fails in a batch is reported, and the others are still recorded. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import Session, select

from jobs import writer
from jobs.capture import record
from jobs.pipeline import check_url
from jobs.writer import WRITER
from scraper.core.normalize import normalize_content
from scraper.core.types import Channel, CheckOutcome
from scraper.core.versioning import Seen, Unchanged
from storage import documents as docs
from storage import versions
from storage.errors import NotFoundError
from storage.models import Check, Document, Event
from tests.test_pipeline import page


class Held:
    """The writer thread kept busy until :meth:`release`: what is submitted meanwhile waits together."""

    def __init__(self) -> None:
        self.gate, self.started = threading.Event(), threading.Event()
        self.task: asyncio.Future[Any] | None = None

    async def __aenter__(self) -> Held:
        def hold() -> None:
            self.started.set()
            self.gate.wait(30)

        self.task = asyncio.ensure_future(WRITER.run(hold))
        assert await asyncio.to_thread(self.started.wait, 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.gate.set()
        assert self.task is not None
        await self.task


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch of applied checks."""
    sizes: list[int] = []
    together = writer._apply_together

    def spy(jobs: list[Any]) -> None:
        sizes.append(len(jobs))
        together(jobs)

    monkeypatch.setattr(writer, "_apply_together", spy)
    return sizes


async def _enrol(services, server, n: int) -> list[int]:
    ids = []
    for i in range(n):
        server.route(f"/w{i}", page(n=90 + i))
        report = await check_url(services, server.url(f"/w{i}"))
        assert report.outcome == CheckOutcome.NEW_VERSION and report.document_id is not None
        ids.append(report.document_id)
    return ids


def _rows(engine, ids: list[int]) -> dict[int, tuple[Any, ...]]:
    with Session(engine) as s:
        out = {}
        for i in ids:
            doc = s.get(Document, i)
            assert doc is not None
            last = s.exec(select(Check).where(Check.document_id == i).order_by(Check.id.desc())).first()  # type: ignore[union-attr]
            assert last is not None
            kinds = [e.kind for e in s.exec(select(Event).where(Event.document_id == i).order_by(Event.id))]
            latest = docs.latest_version(s, document_id=i, channel="page")
            assert latest is not None
            out[i] = (
                doc.next_check, doc.check_interval_s, doc.unchanged_checks, doc.lease_owner,
                last.outcome, last.version_id == latest.id, latest.seq, latest.last_confirmed_at, kinds,
            )  # fmt: skip
        return out


async def test_checks_waiting_together_are_one_batch_with_the_outcomes_of_one_at_a_time(
    server, services, engine, clock, batches
):
    ids = await _enrol(services, server, 6)
    batched, alone = ids[:3], ids[3:]
    clock.advance(hours=1)
    before = docs.version_content(_latest(engine, batched[2]))
    changed = Seen(normalize_content(replace(before, title="Kremlin to revise its stance")))
    observations = (Unchanged(), Unchanged(CheckOutcome.NOT_MODIFIED), changed)
    async with Held():
        tasks = [
            asyncio.ensure_future(record(services, doc_id, Channel.PAGE, observation))
            for doc_id, observation in zip(batched, observations, strict=True)
        ]
        await asyncio.sleep(0.05)
    reports = await asyncio.gather(*tasks)
    assert batches == [3]
    for doc_id, observation in zip(alone, observations, strict=True):
        await record(services, doc_id, Channel.PAGE, observation)  # one at a time: no batch
    assert batches == [3]
    assert [r.outcome for r in reports] == [
        CheckOutcome.UNCHANGED,
        CheckOutcome.NOT_MODIFIED,
        CheckOutcome.NEW_VERSION,
    ]
    got, want = _rows(engine, batched), _rows(engine, alone)
    assert [got[i] for i in batched] == [want[i] for i in alone]
    assert got[batched[2]][-1] == ["first_version", "change", "headline"]


async def test_a_check_that_fails_in_a_batch_is_reported_and_the_others_are_recorded(
    server, services, engine, clock, batches
):
    ids = await _enrol(services, server, 3)
    clock.advance(hours=1)
    async with Held():
        tasks = [
            asyncio.ensure_future(record(services, ids[0], Channel.PAGE, Unchanged())),
            asyncio.ensure_future(
                record(services, 10_000_000, Channel.PAGE, Unchanged())
            ),  # no such document
            asyncio.ensure_future(record(services, ids[1], Channel.PAGE, Unchanged())),
            asyncio.ensure_future(record(services, ids[2], Channel.PAGE, Unchanged())),
        ]
        await asyncio.sleep(0.05)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert batches == [4]
    assert isinstance(results[1], NotFoundError)
    assert [r.outcome for i, r in enumerate(results) if i != 1] == [CheckOutcome.UNCHANGED] * 3
    with Session(engine) as s:
        outcomes = [c.outcome for c in s.exec(select(Check).order_by(Check.id))]
    assert outcomes == ["new_version"] * 3 + ["unchanged"] * 3  # each recorded once


async def test_states_of_many_documents_read_together_equal_each_read_alone(server, services, engine):
    ids = await _enrol(services, server, 3)
    async with Held():
        tasks = [asyncio.ensure_future(WRITER.read_state(services, i, "page")) for i in [*ids, 10_000_000]]
        await asyncio.sleep(0.05)
    *together, missing = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(missing, NotFoundError)
    with Session(engine) as s:
        for i, state in zip(ids, together, strict=True):
            assert state == versions.state(
                s, document_id=i, channel="page", with_rules=True, with_content=False
            )


def _latest(engine, doc_id: int):
    with Session(engine) as s:
        latest = docs.latest_version(s, document_id=doc_id, channel="page")
        assert latest is not None
        return latest


async def test_the_same_document_twice_in_a_batch_is_two_checks_one_after_the_other(
    server, services, engine, clock, batches
):
    """Held writes (storage.deferred) are sent before the second check reads the document."""
    ids = await _enrol(services, server, 2)
    clock.advance(hours=1)
    async with Held():
        tasks = [asyncio.ensure_future(record(services, ids[0], Channel.PAGE, Unchanged())) for _ in range(2)]
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    assert batches == [2]
    for _ in range(2):
        await record(services, ids[1], Channel.PAGE, Unchanged())
    got, want = _rows(engine, ids[:1]), _rows(engine, ids[1:])
    assert got[ids[0]] == want[ids[1]]
    assert got[ids[0]][2] == 2  # unchanged_checks counted twice
    with Session(engine) as s:
        counts = [len(s.exec(select(Check).where(Check.document_id == i)).all()) for i in ids]
    assert counts == [3, 3]


async def test_a_batch_sends_its_check_rows_confirmations_and_document_updates_together(
    server, services, engine, clock, batches
):
    import sqlalchemy as sa

    ids = await _enrol(services, server, 4)
    clock.advance(hours=1)
    sent: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()[:3]).replace('"', "").lower())

    sa.event.listen(engine, "before_cursor_execute", spy)
    try:
        async with Held():
            tasks = [asyncio.ensure_future(record(services, i, Channel.PAGE, Unchanged())) for i in ids]
            await asyncio.sleep(0.05)
        reports = await asyncio.gather(*tasks)
    finally:
        sa.event.remove(engine, "before_cursor_execute", spy)
    assert batches == [4]
    assert [r.outcome for r in reports] == [CheckOutcome.UNCHANGED] * 4
    assert sent.count("insert into check") == 1
    assert sent.count("update version set") == 1
    assert sent.count("update document set") == 1
    with Session(engine) as s:  # every confirmation landed on its own version, at its check's time
        for i in ids:
            latest = docs.latest_version(s, document_id=i, channel="page")
            last = s.exec(select(Check).where(Check.document_id == i).order_by(Check.id.desc())).first()  # type: ignore[union-attr]
            assert latest is not None and last is not None and last.version_id == latest.id
            assert latest.last_confirmed_at == last.at and latest.last_confirmed_at > latest.observed_at
