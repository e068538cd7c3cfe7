"""The daemon: schedules, dispatcher, bounded workers, leader lease, shutdown, /healthz, /metrics,
and the real `storytrail run` process (SIGTERM, SIGKILL and restart, --once).

In-process tests inject the poll function (jobs.polling is another module's) and a FakeClock for
the database; APScheduler itself runs on real time with sub-second intervals. Waiting uses
generous timeouts; nothing asserts on speed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from jobs import health
from jobs.daemon import Daemon, DaemonOptions, PassSummary
from jobs.demo.content import KREMLIN, RESIDENCE, TRUMP
from jobs.demo.site import DemoSite
from jobs.pipeline import CheckReport, check_url
from jobs.scheduler import (
    ScheduleError,
    SourceJobs,
    crontab_weekdays,
    is_source_due,
    make_scheduler,
    next_due,
    source_schedule,
)
from jobs.services import Services
from scraper.core.types import CheckOutcome
from storage import documents as docs
from storage import queue
from storage.models import Check, Document, Source, Version
from tests.conftest import ROOT
from tests.localserver import Reply
from tests.test_pipeline import page

WAIT_S = 60.0


def pk(value: int | None) -> int:
    assert value is not None
    return value


def job_ids(daemon: Daemon) -> list[str]:
    assert daemon.source_jobs is not None
    return daemon.source_jobs.job_ids


HTML = {"Content-Type": "text/html; charset=utf-8"}


async def until(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def options(**overrides: Any) -> DaemonOptions:
    values = {
        "workers": 4,
        "dispatch_interval": 0.05,
        "shutdown_grace": 5.0,
        "health_port": None,
        "leader_ttl": timedelta(seconds=3),
        **overrides,
    }
    return DaemonOptions(**values)


def add_source(engine: Engine, name: str, every: str | None = "10m", **fields: Any) -> int:
    fields.setdefault("url", f"https://news.example/{name}.xml")
    with Session(engine) as s:
        src = Source(name=name, kind="feed", every=every, **fields)
        s.add(src)
        s.commit()
        return pk(src.id)


def source(engine: Engine, source_id: int) -> Source:
    with Session(engine) as s:
        found = s.get(Source, source_id)
        assert found is not None
        return found


class Polls:
    """An injected poll function that records which sources it was asked to poll."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: Counter[int] = Counter()
        self.fail = fail

    async def __call__(self, svc: Services, source_id: int) -> object:
        self.calls[source_id] += 1
        if self.fail:
            raise RuntimeError("feed parser exploded")
        return None


# -- schedules (no database) --------------------------------------------------------------------


def src(every: str | None = "10m", **fields: Any) -> Source:
    return Source(id=1, name="world", kind="feed", url="https://news.example/rss", every=every, **fields)


def test_interval_schedule_with_jitter():
    schedule = source_schedule(src("10m"))
    assert schedule.interval == timedelta(minutes=10) and schedule.spec == "every 10m"
    assert schedule.trigger.jitter == 60  # a tenth of the interval, at most a minute
    fast = source_schedule(src("200ms"))
    assert fast.interval == timedelta(milliseconds=200) and fast.trigger.jitter == pytest.approx(0.02)


def test_cron_schedule_from_params_or_every():
    by_param = source_schedule(src("10m", params={"cron": "*/15 6-22 * * 1-5"}))
    assert by_param.interval is None and by_param.spec == "cron */15 6-22 * * 1-5"
    start = datetime(2026, 1, 2, 22, 50, tzinfo=UTC)  # a Friday evening
    fire = by_param.trigger.get_next_fire_time(None, start)
    assert fire == datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # Monday 06:00, crontab's 1 = Monday
    in_every = source_schedule(src("0 9 * * 0"))
    assert in_every.trigger.get_next_fire_time(None, start) == datetime(
        2026, 1, 4, 9, 0, tzinfo=UTC
    )  # Sunday


@pytest.mark.parametrize("text", ["", "soon", "1 2 3", "61 * * * *", "0 9 * * 8", "0s"])
def test_unreadable_schedules_name_the_source(text):
    with pytest.raises(ScheduleError, match="source 'world'"):
        source_schedule(src(text or None))


def test_crontab_weekdays_counts_sunday_as_zero():
    assert crontab_weekdays("*") == "*"
    assert crontab_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_weekdays("0,7") == "sun"
    assert crontab_weekdays("*/2") == "sun,tue,thu,sat"
    assert crontab_weekdays("sat,sun") == "sun,sat"
    assert crontab_weekdays("5-7") == "sun,fri,sat"


@given(st.sets(st.integers(min_value=0, max_value=7), min_size=1))
def test_crontab_weekdays_fires_on_exactly_the_named_days(days):
    trigger = source_schedule(src(f"0 12 * * {','.join(map(str, sorted(days)))}")).trigger
    fired, t = set(), datetime(2026, 1, 4, 0, 0, tzinfo=UTC)  # a Sunday
    for _ in range(14):
        t = trigger.get_next_fire_time(None, t)
        fired.add(t.isoweekday() % 7)  # crontab numbering: Sunday 0
        t += timedelta(minutes=1)
    assert fired == {d % 7 for d in days}


def test_next_due_and_is_source_due():
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    every = source_schedule(src("10m"))
    assert next_due(every, None, now) == now
    assert next_due(every, now - timedelta(minutes=3), now) == now + timedelta(minutes=7)
    hourly = source_schedule(src("0 * * * *"))
    assert next_due(hourly, now - timedelta(minutes=1), now) == now
    assert next_due(hourly, now, now) == now + timedelta(hours=1)
    assert is_source_due(src("10m"), now)  # never polled
    assert not is_source_due(src("10m", last_polled_at=now - timedelta(minutes=3)), now)
    assert is_source_due(src("10m", last_polled_at=now - timedelta(minutes=3), next_poll_at=now), now)
    assert not is_source_due(src("10m", enabled=False), now)


def test_daemon_options_are_checked():
    with pytest.raises(ValueError, match="workers must be at least 1"):
        DaemonOptions(workers=0)
    with pytest.raises(ValueError, match="lease"):
        DaemonOptions(lease=timedelta(0))


# -- the scheduler in a running daemon ------------------------------------------------------------


async def test_sources_are_polled_on_their_schedules(services, engine):
    fast = add_source(engine, "fast", every="300ms")
    slow = add_source(engine, "slow", every="1h", last_polled_at=datetime.now(UTC))
    cron = add_source(engine, "yearly", every="10m", params={"cron": "0 0 1 1 *"})  # never polled: due now
    off = add_source(engine, "off", every="300ms", enabled=False)
    polls = Polls()
    daemon = Daemon(services, options(), poll=polls)
    task = asyncio.create_task(daemon.run(handle_signals=False))
    await until(lambda: polls.calls[fast] >= 3 and polls.calls[cron] >= 1, "three polls of 'fast'")
    assert daemon.is_leader
    assert job_ids(daemon) == ["source:fast", "source:slow", "source:yearly"]
    assert daemon.scheduler is not None and daemon.scheduler.get_job("source:fast") is not None
    daemon.stop()
    summary = await asyncio.wait_for(task, WAIT_S)
    assert polls.calls[off] == 0 and polls.calls[slow] == 0 and polls.calls[cron] == 1
    assert summary.polled == sum(polls.calls.values()) and summary.failed == 0
    assert source(engine, fast).last_polled_at == services.clock()
    with Session(engine) as s:
        assert queue.leased(s) == []
        assert queue.leader(s, name="scheduler", now=services.clock()) is None  # given back on stop
    text = services.metrics.render()[0].decode()
    assert 'storytrail_polls_total{outcome="ok",source="fast"}' in text


async def test_a_failing_poll_is_counted_and_its_lease_given_back(services, engine):
    feed = add_source(engine, "broken", every="1h")
    polls = Polls(fail=True)
    daemon = Daemon(services, options(), poll=polls)
    summary = await daemon.run_once(handle_signals=False)
    assert polls.calls[feed] == 1 and summary.failed == 1 and summary.polled == 1
    after = source(engine, feed)
    assert (
        after.lease_owner is None and after.next_poll_at is None and after.last_polled_at == services.clock()
    )
    assert (
        'storytrail_polls_total{outcome="error",source="broken"} 1.0' in services.metrics.render()[0].decode()
    )


async def test_only_the_leader_schedules_sources(services, engine, clock):
    add_source(engine, "feed", every="5m")

    def node(name: str) -> Daemon:
        daemon = Daemon(services, options(node=name))
        daemon.scheduler = make_scheduler()
        daemon.source_jobs = SourceJobs(daemon.scheduler, daemon.enqueue_source)
        return daemon

    a, b = node("a"), node("b")
    assert await a.leader_tick() and not await b.leader_tick()
    assert job_ids(a) == ["source:feed"] and job_ids(b) == []
    add_source(engine, "late", every="5m")
    assert await a.leader_tick()  # the leader picks up a source added while it runs
    assert job_ids(a) == ["source:feed", "source:late"]
    clock.advance(seconds=4)  # a stopped renewing: its lease (3 s) has expired
    assert await b.leader_tick() and job_ids(b) == ["source:feed", "source:late"]
    assert not await a.leader_tick() and job_ids(a) == []


# -- re-checks ------------------------------------------------------------------------------------


def versions_by_url(engine: Engine) -> dict[str, list[int]]:
    with Session(engine) as s:
        rows = s.exec(
            select(Document.url, Version.seq)
            .join(Version, col(Version.document_id) == col(Document.id))
            .where(Version.channel == "page")
            .order_by(col(Version.seq))
        )
        out: dict[str, list[int]] = {}
        for url, seq in rows:
            out.setdefault(url, []).append(seq)
        return out


def count_checks(engine: Engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Check.id)).all())


def all_rescheduled_after(engine: Engine, when: datetime) -> bool:
    with Session(engine) as s:
        rows = s.exec(select(Document).where(Document.status == "active")).all()
        return all(d.next_check is not None and d.next_check > when and d.lease_owner is None for d in rows)


async def test_changed_pages_are_rechecked_as_the_policy_says(services, engine, clock):
    with DemoSite() as site:
        urls = [site.url(a) for a in site.live()]
        for url in urls:
            assert (await check_url(services, url)).seq == 1
        daemon = Daemon(services, options(), poll=Polls())
        task = asyncio.create_task(daemon.run(handle_signals=False))
        await until(lambda: daemon.rounds >= 5, "five dispatcher rounds")
        assert count_checks(engine) == len(urls)  # nothing is due yet: no re-check
        site.round = 1  # headline rewritten, paragraph added, one article deleted
        clock.advance(minutes=6)  # past the first re-check interval (5 minutes)
        await until(
            lambda: count_checks(engine) == 2 * len(urls) and all_rescheduled_after(engine, clock()),
            "every document re-checked",
        )
        daemon.stop()
        summary = await asyncio.wait_for(task, WAIT_S)
    seqs = versions_by_url(engine)
    assert seqs[site.url(RESIDENCE)] == [1, 2] and seqs[site.url(KREMLIN)] == [1, 2]
    assert seqs[site.url(TRUMP)] == [1]  # unchanged in round 1: confirmed, not versioned
    assert summary.checked == len(urls)
    assert summary.outcomes[CheckOutcome.NEW_VERSION.value] == 2 and summary.outcomes["gone"] == 1


async def test_workers_are_bounded_and_share_one_fetcher(services, engine, clock):
    running, peak, fetchers = 0, 0, set()
    release = asyncio.Event()

    async def check(svc: Services, document_id: int) -> CheckReport:
        nonlocal running, peak
        fetchers.add(id(svc.fetcher))
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        with svc.session() as s:
            doc = s.get(Document, document_id)
            assert doc is not None
            doc.next_check, doc.lease_owner, doc.lease_until = svc.clock() + timedelta(hours=1), None, None
            s.add(doc)
            s.commit()
        return CheckReport(url=doc.url, outcome=CheckOutcome.UNCHANGED, document_id=document_id)

    with Session(engine) as s:
        s.add_all(
            [
                Document(url=f"https://news.example/{i}", next_check=clock(), first_seen=clock())
                for i in range(10)
            ]
        )
        s.commit()
    daemon = Daemon(services, options(workers=3), check=check, poll=Polls())
    task = asyncio.create_task(daemon.run(handle_signals=False))
    await until(lambda: running == 3, "three checks in flight")
    await until(lambda: daemon.rounds >= 3, "more dispatcher rounds")
    assert running == 3 and len(daemon.inflight) == 3
    release.set()
    await until(lambda: daemon.summary.checked == 10, "all ten documents checked")
    daemon.stop()
    await asyncio.wait_for(task, WAIT_S)
    assert peak == 3 and fetchers == {id(services.fetcher)}


async def test_a_crashing_check_is_retried_later_not_at_once(services, engine, clock):
    calls: Counter[int] = Counter()

    async def check(svc: Services, document_id: int) -> CheckReport:
        calls[document_id] += 1
        raise RuntimeError("extractor bug")

    with Session(engine) as s:
        d = Document(url="https://news.example/x", next_check=clock(), first_seen=clock())
        s.add(d)
        s.commit()
        doc_id = pk(d.id)
    daemon = Daemon(services, options(retry_after=timedelta(minutes=7)), check=check, poll=Polls())
    summary = await daemon.run_once(handle_signals=False)
    assert calls[doc_id] == 1 and summary.failed == 1
    with Session(engine) as s:
        after = s.get(Document, doc_id)
        assert (
            after is not None
            and after.lease_owner is None
            and after.next_check == clock() + timedelta(minutes=7)
        )


# -- one pass (--once) ----------------------------------------------------------------------------


async def test_run_once_processes_everything_due_and_returns(services, engine, clock):
    with DemoSite() as site:
        urls = [site.url(a) for a in site.live()][:3]
        for url in urls:
            await check_url(services, url)
        clock.advance(minutes=6)
        with Session(engine) as s:  # one document is not due yet
            later = docs.get_document(s, url=urls[2])
            later.next_check = clock() + timedelta(hours=1)
            s.add(later)
            s.commit()
        new = add_source(engine, "new", every="10m")
        recent = add_source(engine, "recent", every="10m", last_polled_at=clock() - timedelta(minutes=2))
        stale = add_source(engine, "stale", every="10m", last_polled_at=clock() - timedelta(minutes=12))
        polls = Polls()
        summary = await Daemon(services, options(workers=2), poll=polls).run_once(handle_signals=False)
    assert dict(polls.calls) == {new: 1, stale: 1} and recent not in polls.calls
    assert summary.checked == 2 and summary.outcomes == Counter({"not_modified": 2})  # ETag: HTTP 304
    assert summary.line() == "polled 2 sources, checked 2 documents (2 not_modified)"
    with Session(engine) as s:
        assert queue.leased(s) == [] and queue.queue_depth(s, now=clock()) == 0


async def test_the_real_poll_function_enrols_a_feed_and_its_pages_are_checked(services, engine):
    pytest.importorskip("jobs.polling")
    with DemoSite() as site:
        feed = add_source(engine, "demo", url=f"{site.base}/rss.xml", params={"archive": "all"})
        summary = await Daemon(services, options()).run_once(handle_signals=False)
        live = [site.url(a) for a in site.live()]
    assert summary.polled == 1 and summary.failed == 0
    seqs = versions_by_url(engine)
    assert all(seqs.get(url) == [1] for url in live), seqs
    after = source(engine, feed)
    assert after.last_polled_at == services.clock() and after.lease_owner is None
    assert 'storytrail_polls_total{outcome="ok",source="demo"} 1.0' in services.metrics.render()[0].decode()


# -- shutdown -------------------------------------------------------------------------------------


async def test_stop_lets_work_finish_within_the_grace_period(services, engine, clock):
    finish = asyncio.Event()
    done: list[int] = []

    async def check(svc: Services, document_id: int) -> CheckReport:
        await finish.wait()
        done.append(document_id)
        return CheckReport(url="x", outcome=CheckOutcome.UNCHANGED, document_id=document_id)

    with Session(engine) as s:
        s.add_all(
            [
                Document(url=f"https://news.example/{i}", next_check=clock(), first_seen=clock())
                for i in range(2)
            ]
        )
        s.commit()
    daemon = Daemon(services, options(shutdown_grace=30), check=check, poll=Polls())
    task = asyncio.create_task(daemon.run(handle_signals=False))
    await until(lambda: len(daemon.inflight) == 2, "two checks in flight")
    daemon.stop()
    await asyncio.sleep(0.2)  # the daemon is draining: no new work, the two checks still waiting
    assert daemon.stopping and len(daemon.inflight) == 2
    finish.set()
    summary = await asyncio.wait_for(task, WAIT_S)
    assert sorted(done) == [1, 2] and summary.checked == 2


async def test_work_past_the_grace_period_is_cancelled_and_its_lease_given_back(services, engine, clock):
    cancelled: list[int] = []

    async def check(svc: Services, document_id: int) -> CheckReport:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(document_id)
            raise
        raise AssertionError("unreachable")

    with Session(engine) as s:
        s.add_all(
            [
                Document(url=f"https://news.example/{i}", next_check=clock(), first_seen=clock())
                for i in range(3)
            ]
        )
        s.commit()
    daemon = Daemon(services, options(shutdown_grace=0.2), check=check, poll=Polls())
    task = asyncio.create_task(daemon.run(handle_signals=False))
    await until(lambda: len(daemon.inflight) == 3, "three checks in flight")
    with Session(engine) as s:
        assert len(queue.leased(s, owner=daemon.node)) == 3
    daemon.stop()
    summary = await asyncio.wait_for(task, WAIT_S)
    assert sorted(cancelled) == [1, 2, 3] and summary.checked == 0
    with Session(engine) as s:
        assert queue.leased(s) == []
        assert queue.queue_depth(s, now=clock()) == 3  # due again, for the next daemon


# -- /healthz and /metrics ------------------------------------------------------------------------


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


async def test_healthz_and_metrics_over_a_socket(services, engine, clock):
    with Session(engine) as s:
        s.add(
            Document(
                url="https://news.example/later", next_check=clock() + timedelta(hours=1), first_seen=clock()
            )
        )
        s.commit()
    daemon = Daemon(services, options(health_port=0), poll=Polls())
    task = asyncio.create_task(daemon.run(handle_signals=False))
    await until(lambda: daemon.health_server is not None and daemon.rounds >= 2, "the health server")
    assert daemon.health_server is not None
    base = f"http://127.0.0.1:{daemon.health_server.port}"
    status, ctype, body = await asyncio.to_thread(get, base + "/healthz")
    data = json.loads(body)
    assert status == 200 and ctype == "application/json"
    assert data["status"] == "ok" and data["database"] == "ok" and 0 <= data["heartbeat_age_s"] < 3 * 0.05 + 1
    status, ctype, body = await asyncio.to_thread(get, base + "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    assert "storytrail_queue_depth 0.0" in body and "storytrail_documents_enrolled 1.0" in body
    assert (
        "storytrail_scheduler_heartbeat_timestamp_seconds" in body and "process_resident_memory_bytes" in body
    )
    assert (await asyncio.to_thread(get, base + "/nope"))[0] == 404
    daemon.stop()
    await asyncio.wait_for(task, WAIT_S)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/healthz", timeout=5)


async def test_healthz_is_503_when_the_heartbeat_is_stale_or_the_database_gone(tmp_path, engine):
    stale = health.HealthServer({"/healthz": lambda: health.health(engine, 9.5, max_age=3.0)})
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    gone = health.HealthServer({"/healthz": lambda: health.health(broken, 0.1, max_age=3.0)})
    async with stale, gone:
        status, _, body = await asyncio.to_thread(get, f"http://127.0.0.1:{stale.port}/healthz")
        assert status == 503 and "heartbeat is 9.5 s old" in json.loads(body)["reason"]
        status, _, body = await asyncio.to_thread(get, f"http://127.0.0.1:{gone.port}/healthz")
        data = json.loads(body)
        assert (
            status == 503 and data["database"] == "unreachable" and "database unreachable" in data["reason"]
        )
    before_start = await health.health(engine, None, max_age=3.0)
    assert before_start.status == 503 and b"has not started" in before_start.body


# -- the real process -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daemon_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_") and k != "PORT"}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "STORYTRAIL_ALLOW_HOSTS": "127.0.0.1",
            "STORYTRAIL_CONFIG": str(tmp_path / "none.toml"),
            "STORYTRAIL_PER_HOST_DELAY": "0",
            "STORYTRAIL_PER_HOST_CONCURRENCY": "8",
            "STORYTRAIL_RETRIES": "0",
            "STORYTRAIL_EXTRACT_WORKERS": "1",
            "STORYTRAIL_LOG_FORMAT": "json",
            **extra,
        }
    )
    return env


def start_daemon(db_url: str, tmp_path: Path, port: int, *args: str, **env: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-c",
        "from jobs.cli import main; main()",
        "run",
        "--db",
        db_url,
        "--health-port",
        str(port),
        "--dispatch-interval",
        "0.2",
        *args,
    ]
    log = (tmp_path / f"daemon-{port}.log").open("ab")
    return subprocess.Popen(
        cmd, cwd=ROOT, env=daemon_env(tmp_path, **env), stdout=log, stderr=subprocess.STDOUT
    )


def healthy(port: int) -> bool:
    try:
        return get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    except OSError:
        return False


def enrol(engine: Engine, urls: list[str], due: datetime) -> list[int]:
    with Session(engine) as s:
        rows = [Document(url=u, next_check=due, first_seen=due) for u in urls]
        s.add_all(rows)
        s.commit()
        return [pk(r.id) for r in rows]


def snapshot(engine: Engine) -> set[tuple[int, int, int, str, str]]:
    with Session(engine) as s:
        return {(pk(v.id), v.document_id, v.seq, v.channel, v.content_hash) for v in s.exec(select(Version))}


def state(engine: Engine) -> tuple[int, int, int]:
    """(documents with a page version, documents under a lease, documents not yet re-scheduled)"""
    now = datetime.now(UTC)
    with Session(engine) as s:
        rows = s.exec(select(Document)).all()
        versioned = {v for v in s.exec(select(Version.document_id))}
    return (
        len(versioned),
        sum(d.lease_owner is not None for d in rows),
        sum(d.next_check is not None and d.next_check <= now for d in rows),
    )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=WAIT_S)


def test_sigterm_lets_the_check_in_flight_finish_and_exits_0(server, engine, db_url, tmp_path):
    server.route(
        "/slow",
        handler=lambda req: Reply(
            body=page().encode(), delay=2.0, headers={"Content-Type": "text/html; charset=utf-8"}
        ),
    )
    (doc_id,) = enrol(engine, [server.url("/slow")], datetime.now(UTC) - timedelta(seconds=1))
    port = free_port()
    proc = start_daemon(db_url, tmp_path, port)
    try:
        wait_for(lambda: healthy(port) or proc.poll() is not None, "/healthz")
        wait_for(lambda: state(engine)[1] == 1, "the slow check to be in flight")
        assert stop(proc) == 0
    finally:
        proc.kill()
    with Session(engine) as s:
        d = s.get(Document, doc_id)
        assert d is not None and d.lease_owner is None
        assert [c.outcome for c in s.exec(select(Check).where(Check.document_id == doc_id))] == [
            "new_version"
        ]
    lines = [
        json.loads(line)
        for line in (tmp_path / f"daemon-{port}.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(r["message"] == "signal received: stopping" and r["signal"] == "SIGTERM" for r in lines)


def test_sigkill_mid_run_then_restart_loses_nothing_and_duplicates_nothing(server, engine, db_url, tmp_path):
    gate = threading.Event()  # /slow* pages answer only once the first daemon is dead

    def slow(req):
        gate.wait(timeout=WAIT_S)
        return Reply(body=page(title=f"Slow story {req.path}").encode(), headers=HTML)

    fast = [f"/fast{i}" for i in range(3)]
    for path in fast:
        server.route(path, page(title=f"Fast story {path}"), headers=HTML)
    for i in range(5):
        server.route(f"/slow{i}", handler=slow)
    urls = [server.url(p) for p in fast] + [server.url(f"/slow{i}") for i in range(5)]
    ids = enrol(engine, urls, datetime.now(UTC) - timedelta(seconds=1))
    port = free_port()
    first = start_daemon(db_url, tmp_path, port, "--workers", "3", STORYTRAIL_LEASE_SECONDS="2")
    try:
        wait_for(
            lambda: state(engine)[:2] == (3, 3) or first.poll() is not None,
            "three stored versions and three checks in flight",
        )
        first.kill()  # SIGKILL: no cleanup at all
        first.wait(timeout=WAIT_S)
    finally:
        first.kill()
    before = snapshot(engine)
    assert len(before) == 3 and state(engine)[1] == 3  # the dead daemon still holds three leases
    gate.set()
    second = start_daemon(db_url, tmp_path, port, "--workers", "3", STORYTRAIL_LEASE_SECONDS="2")
    try:
        wait_for(lambda: state(engine) == (8, 0, 0) or second.poll() is not None, "every document checked")
        assert stop(second) == 0
    finally:
        second.kill()
    after = snapshot(engine)
    assert before <= after, "a stored version was lost"
    per_doc = Counter(doc_id for _, doc_id, _, channel, _ in after if channel == "page")
    assert per_doc == Counter(dict.fromkeys(ids, 1)), "a document got a second version of the same content"
    with Session(engine) as s:
        assert queue.leased(s) == []


def test_run_once_cli_checks_what_is_due_and_exits_0(server, engine, db_url, tmp_path):
    for i in range(3):
        server.route(f"/o{i}", page(title=f"Once {i}"), headers={"Content-Type": "text/html; charset=utf-8"})
    ids = enrol(engine, [server.url(f"/o{i}") for i in range(3)], datetime.now(UTC) - timedelta(seconds=1))
    cmd = [sys.executable, "-c", "from jobs.cli import main; main()", "run", "--once", "--db", db_url]
    done = subprocess.run(
        cmd, cwd=ROOT, env=daemon_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "checked 3 documents (3 new_version)" in done.stdout
    with Session(engine) as s:
        assert {v.document_id for v in s.exec(select(Version))} == set(ids)
        assert queue.leased(s) == []


def test_run_migrates_an_empty_sqlite_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    cmd = [sys.executable, "-c", "from jobs.cli import main; main()", "run", "--once", "--db", url]
    done = subprocess.run(
        cmd, cwd=ROOT, env=daemon_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "polled 0 sources, checked 0 documents" in done.stdout
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert "document" in sa.inspect(conn).get_table_names()
    engine.dispose()


def test_pass_summary_line():
    summary = PassSummary(polled=1, checked=3, failed=1, outcomes=Counter({"unchanged": 2, "new_version": 1}))
    assert summary.line() == "polled 1 sources, checked 3 documents (1 new_version, 2 unchanged), 1 failed"
