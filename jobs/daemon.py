"""The daemon: schedules (on the leader), a dispatcher, bounded workers, /healthz, a clean stop.

Every node runs the same loop::

    leader job      every leader_ttl/3: take or renew the leader lease; the leader keeps one
                    APScheduler job per enabled source (jobs.scheduler.SourceJobs)
    source:<name>   (leader only) marks the source due: Source.next_poll_at = now
    dispatcher      every dispatch_interval: claims due sources and documents for the free
                    workers (storage.queue, under a lease), heartbeat, queue depth
    notify          every notify_interval: a notification delivery pass (jobs.notify)
    wayback         every wayback_interval: a Wayback Machine pass (jobs.wayback)

Workers share one Services (one Fetcher: its global, per-host and robots politeness holds
across all of them); at most ``workers`` polls and checks run at once. A worker that dies
leaves leases that expire and are claimed again; a re-check of unchanged content records a
confirmation, never a second version.

SIGTERM / SIGINT: stop claiming, let in-flight work finish within ``shutdown_grace`` seconds,
cancel the rest and give back its leases, release the leader lease, return (exit status 0).
A second signal skips the grace period.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from jobs import health
from jobs.logs import get_logger
from jobs.notify import Notifier
from jobs.scheduler import ScheduleError, SourceJobs, is_source_due, make_scheduler
from jobs.services import Services, open_services
from jobs.settings import Settings
from jobs.signals import EARLY_SIGNALS
from jobs.wayback import Preserver
from storage import catalog, queue, retention
from storage.models import Source

if TYPE_CHECKING:
    from jobs.pipeline import CheckReport

log = get_logger(__name__)
T = TypeVar("T")

LEADER_LEASE = "scheduler"
STATISTICS_EVERY = timedelta(hours=1)
FIGURES_EVERY_S = 10.0  # queue depth and enrolled count: ~25-55 ms at 100,000 documents (bench)
Kind = Literal["source", "document"]
WorkItem = tuple[Kind, int]
Poll = Callable[[Services, int], Awaitable[object]]
Check = Callable[[Services, int], Awaitable["CheckReport"]]


class ListenError(RuntimeError):
    """The /healthz server could not listen (address in use, no permission)."""


async def default_poll(svc: Services, source_id: int) -> object:
    """``jobs.polling.poll_source``, imported when first needed."""
    from jobs.polling import poll_source

    return await poll_source(svc, source_id)


async def default_check(svc: Services, document_id: int) -> CheckReport:
    """``jobs.pipeline.check_document``, imported when first needed."""
    from jobs.pipeline import check_document

    return await check_document(svc, document_id)


def node_name() -> str:
    """A name for this process that no other daemon has: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class DaemonOptions:
    """How the daemon runs; :meth:`from_settings` fills it from Settings."""

    workers: int = 16
    lease: timedelta = timedelta(minutes=5)
    dispatch_interval: float = 5.0
    leader_ttl: timedelta = timedelta(seconds=30)
    shutdown_grace: float = 20.0
    retry_after: timedelta = timedelta(minutes=5)  # a check that raised is tried again after this
    notify_interval: float = 10.0  # seconds between notification delivery passes
    wayback_interval: float = 5.0  # seconds between Wayback Machine passes (jobs.wayback)
    health_host: str = "127.0.0.1"
    health_port: int | None = None  # None: no /healthz server; 0: any free port
    node: str = field(default_factory=node_name)
    check_retention: timedelta | None = None  # the leader prunes unchanged checks older than this

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")
        if self.lease <= timedelta():
            raise ValueError(f"the lease must be longer than zero, not {self.lease}")
        if self.dispatch_interval <= 0:
            raise ValueError(f"the dispatch interval must be longer than zero, not {self.dispatch_interval}")
        if self.leader_ttl <= timedelta(seconds=0.3):
            raise ValueError(f"the leader lease must be longer than 0.3 s, not {self.leader_ttl}")
        if self.notify_interval <= 0:
            raise ValueError(f"the notify interval must be longer than zero, not {self.notify_interval}")
        if self.wayback_interval <= 0:
            raise ValueError(f"the wayback interval must be longer than zero, not {self.wayback_interval}")
        if self.shutdown_grace < 0:
            raise ValueError(f"the shutdown grace period cannot be negative, not {self.shutdown_grace}")
        if self.check_retention is not None and self.check_retention < timedelta(days=1):
            raise ValueError(f"check retention must be at least a day, not {self.check_retention}")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DaemonOptions:
        base = cls(
            workers=settings.global_concurrency,
            lease=timedelta(seconds=settings.lease_seconds),
            shutdown_grace=settings.shutdown_grace,
            health_host=settings.metrics_host,
            health_port=settings.metrics_port,
            check_retention=(
                timedelta(days=settings.check_retention_days) if settings.check_retention_days else None
            ),
        )
        return replace(base, **overrides)

    @property
    def max_heartbeat_age(self) -> float:
        """/healthz fails when the dispatcher has not run for three of its intervals."""
        return 3 * self.dispatch_interval


@dataclass
class PassSummary:
    """What the daemon did: polls, checks by outcome, failures (unexpected errors)."""

    polled: int = 0
    checked: int = 0
    failed: int = 0
    notified: int = 0
    preserved: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes.items()))
        return (
            f"polled {self.polled} sources, checked {self.checked} documents"
            + (f" ({outcomes})" if outcomes else "")
            + (f", {self.failed} failed" if self.failed else "")
            + (f", {self.notified} notifications sent" if self.notified else "")
            + (f", {self.preserved} archived in the Wayback Machine" if self.preserved else "")
        )


class Daemon:
    """Runs until :meth:`stop` (or a signal): ``await Daemon(svc, options).run()``."""

    def __init__(
        self,
        svc: Services,
        options: DaemonOptions,
        *,
        poll: Poll = default_poll,
        check: Check = default_check,
    ) -> None:
        self.svc = svc
        self.options = options
        self.poll = poll
        self.check = check
        self.summary = PassSummary()
        self.is_leader = False
        self.scheduler: AsyncIOScheduler | None = None
        self.health_server: health.HealthServer | None = None
        self.source_jobs: SourceJobs | None = None
        self._inflight: dict[asyncio.Task[None], WorkItem] = {}
        self._helpers: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self._forced = False
        self._dispatch_lock = asyncio.Lock()
        self._again = False
        self._kicks = True
        self._beat: float | None = None
        self.rounds = 0  # dispatcher rounds completed so far
        self._round: asyncio.Task[Any] | None = None
        self._measured: float | None = None  # when the queue was last counted (monotonic)
        self.notifier = Notifier(svc, owner=options.node, lease=options.lease)
        self.preserver = Preserver(svc, owner=options.node, lease=options.lease)
        # while work runs, claim only when this many workers are free (half of them: a claim is a few
        # statements and two commits, so a claim of 8 costs each check half what 4 did)
        self._claim_at_least = max(1, options.workers // 2)

    @property
    def node(self) -> str:
        return self.options.node

    @property
    def inflight(self) -> list[WorkItem]:
        return sorted(self._inflight.values())

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self, *, handle_signals: bool = True) -> PassSummary:
        """Schedule, dispatch and work until stopped; then drain and give back every lease."""
        self._stopping = asyncio.Event()
        restore = self._install_signals() if handle_signals else []
        self.scheduler = make_scheduler()
        self.source_jobs = SourceJobs(self.scheduler, self.enqueue_source)
        self._beat = time.monotonic()
        try:
            await self._start_health()
            await self.refresh_statistics()
            await self.leader_tick()
            self._add_daemon_jobs(self.scheduler)
            self.scheduler.start()
            log.info("daemon started", extra=self._describe())
            await self._stopping.wait()
        finally:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
            await self._finish()
            self._restore_signals(restore)
        return self.summary

    async def run_once(self, *, handle_signals: bool = True) -> PassSummary:
        """One pass: poll every source that is due, check every document that is due, return."""
        self._stopping = asyncio.Event()
        restore = self._install_signals() if handle_signals else []
        self._kicks = False
        try:
            await self.refresh_statistics()
            marked = await self._db(_mark_due_sources, now=self.svc.clock())
            log.info(
                "one pass", extra={"node": self.node, "sources_due": marked, "workers": self.options.workers}
            )
            while not self._stopping.is_set():
                started = await self.dispatch_round()
                if not self._inflight:
                    if started == 0:
                        break
                    continue
                await asyncio.wait(set(self._inflight), return_when=asyncio.FIRST_COMPLETED)
            if not self._stopping.is_set():
                await self.deliver_notifications()
            if not self._stopping.is_set():
                await self.preserve(drain=True)
        finally:
            await self._finish()
            self._restore_signals(restore)
        return self.summary

    def stop(self) -> None:
        """Stop taking work; a second call also skips the grace period for in-flight work."""
        if self._stopping.is_set():
            self._forced = True
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _install_signals(self) -> list[signal.Signals]:
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
                continue
            installed.append(sig)
        while EARLY_SIGNALS:
            self._on_signal(EARLY_SIGNALS.pop(0))
        return installed

    def _restore_signals(self, installed: list[signal.Signals]) -> None:
        loop = asyncio.get_running_loop()
        for sig in installed:
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info(
            "signal received: stopping",
            extra={
                "signal": sig.name,
                "in_flight": len(self._inflight),
                "grace_s": self.options.shutdown_grace,
            },
        )
        self.stop()

    async def _start_health(self) -> None:
        if self.options.health_port is None:
            return
        routes: dict[str, health.Route] = {"/healthz": self.healthz, "/metrics": self.metrics}
        host, port = self.options.health_host, self.options.health_port
        try:
            self.health_server = await health.HealthServer(routes, host=host, port=port).start()
        except OSError as exc:
            raise ListenError(f"cannot serve /healthz on {host}:{port}: {exc.strerror or exc}") from exc

    def _add_daemon_jobs(self, scheduler: AsyncIOScheduler) -> None:
        now = datetime.now(UTC)
        every = IntervalTrigger(seconds=self.options.dispatch_interval, timezone=UTC)
        scheduler.add_job(
            self.tick,
            every,
            id="dispatcher",
            name="dispatcher",
            replace_existing=True,
            misfire_grace_time=None,
            next_run_time=now,
        )
        leader_every = IntervalTrigger(seconds=self.options.leader_ttl.total_seconds() / 3, timezone=UTC)
        scheduler.add_job(
            self.refresh_statistics,
            IntervalTrigger(seconds=STATISTICS_EVERY.total_seconds(), timezone=UTC),
            id="statistics",
            name="statistics",
            replace_existing=True,
        )
        scheduler.add_job(
            self.notify_tick,
            IntervalTrigger(seconds=self.options.notify_interval, timezone=UTC),
            id="notify",
            name="notify",
            replace_existing=True,
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self.wayback_tick,
            IntervalTrigger(seconds=self.options.wayback_interval, timezone=UTC),
            id="wayback",
            name="wayback",
            replace_existing=True,
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self.leader_tick,
            leader_every,
            id="leader",
            name="leader",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def _describe(self) -> dict[str, Any]:
        port = self.health_server.port if self.health_server else None
        return {
            "node": self.node,
            "workers": self.options.workers,
            "leader": self.is_leader,
            "health": f"{self.options.health_host}:{port}" if port else "off",
            "dispatch_interval_s": self.options.dispatch_interval,
            "lease_s": self.options.lease.total_seconds(),
        }

    async def _finish(self) -> None:
        """Stop claiming, drain in-flight work, give back leases, stop /healthz."""
        self._stopping.set()
        async with self._dispatch_lock:  # no round is claiming from here on
            pass
        await self._drain()
        for task in list(self._helpers):
            task.cancel()
        await asyncio.gather(*self._helpers, return_exceptions=True)
        await self._give_back()
        if self.health_server is not None:
            await self.health_server.stop()
        log.info("daemon stopped", extra={"node": self.node, "summary": self.summary.line()})
        for handler in logging.getLogger().handlers:
            handler.flush()

    async def _drain(self) -> None:
        deadline = time.monotonic() + self.options.shutdown_grace
        if self._inflight:
            log.info(
                "waiting for in-flight work",
                extra={"tasks": len(self._inflight), "grace_s": self.options.shutdown_grace},
            )
        while self._inflight and not self._forced and time.monotonic() < deadline:
            await asyncio.wait(set(self._inflight), timeout=min(0.2, max(deadline - time.monotonic(), 0)))
        late = list(self._inflight)
        if late:
            log.warning("cancelling work that did not finish in time", extra={"items": self.inflight})
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=5.0)

    async def _give_back(self) -> None:
        try:
            released = await self._db(queue.release_all, owner=self.node)
            released += await self.notifier.release()
            released += await self.preserver.release()
            if self.is_leader:
                await self._db(queue.release_leader, name=LEADER_LEASE, owner=self.node)
                self.is_leader = False
        except Exception as exc:
            log.warning("could not give back leases; they expire by themselves", extra={"error": str(exc)})
            return
        if released:
            log.info("leases given back", extra={"count": released})

    # -- scheduling -----------------------------------------------------------------------------

    async def leader_tick(self) -> bool:
        """Take or renew the leader lease; the leader keeps the source jobs in step with the database."""
        now = self.svc.clock()
        try:
            leading = await self._db(
                queue.acquire_leader, name=LEADER_LEASE, owner=self.node, now=now, ttl=self.options.leader_ttl
            )
        except Exception as exc:
            log.warning("leader lease check failed", extra={"error": str(exc)})
            leading = False
        if leading != self.is_leader:
            log.info("leader" if leading else "no longer leader", extra={"node": self.node})
        self.is_leader = leading
        if self.source_jobs is not None:
            await self._sync_source_jobs(leading)
        return leading

    async def _sync_source_jobs(self, leading: bool) -> None:
        assert self.source_jobs is not None
        if not leading:
            self.source_jobs.clear()
            return
        try:
            sources = await self._db(catalog.list_sources, enabled_only=True)
        except Exception as exc:
            log.warning("could not read the sources", extra={"error": str(exc)})
            return
        self.source_jobs.sync(sources, datetime.now(UTC))

    async def refresh_statistics(self) -> None:
        """Keep the database's planner statistics fresh (the queue's claims depend on them); the
        leader also prunes old unchanged checks when a retention is set."""
        try:
            await self._db(queue.refresh_statistics)
        except Exception as exc:
            log.warning("could not refresh planner statistics", extra={"error": str(exc)})
        if self.is_leader and self.options.check_retention is not None:
            await self.prune_checks()

    async def prune_checks(self) -> int:
        """Unchanged / not-modified checks older than the retention go (storage.retention)."""
        assert self.options.check_retention is not None
        before = self.svc.clock() - self.options.check_retention
        try:
            removed = await self._db(retention.prune_checks, before=before)
        except Exception as exc:
            log.warning("could not prune old checks", extra={"error": str(exc)})
            return 0
        if removed:
            log.info("pruned old checks", extra={"removed": removed, "before": before.isoformat()})
        return removed

    async def enqueue_source(self, source_id: int) -> None:
        """The per-source job: mark the source due; a worker polls it."""
        try:
            await self._db(queue.mark_source_due, source_id=source_id, now=self.svc.clock())
        except Exception as exc:
            log.warning("could not enqueue a source", extra={"source_id": source_id, "error": str(exc)})
            return
        self._kick()

    async def tick(self) -> None:
        """The dispatcher job: start a round unless the previous one is still running.

        The job itself returns at once, so APScheduler never sees it overlap; the heartbeat is
        written when a round completes, so a round stuck on the database makes /healthz fail.
        """
        if self._round is not None and not self._round.done():
            return
        self._round = self._spawn(self._dispatch_and_measure())

    async def _dispatch_and_measure(self) -> None:
        await self.dispatch_round()
        self._beat = time.monotonic()
        self.rounds += 1
        self.svc.metrics.heartbeat(datetime.now(UTC))
        if self._measured is not None and time.monotonic() - self._measured < FIGURES_EVERY_S:
            return
        self._measured = time.monotonic()
        try:
            depth, enrolled = await self._db(_queue_figures, now=self.svc.clock())
        except Exception as exc:
            log.warning("could not measure the queue", extra={"error": str(exc)})
            return
        self.svc.metrics.set_queue_depth(depth)
        self.svc.metrics.set_documents_enrolled(enrolled)

    async def dispatch_round(self) -> int:
        """Claim due work for the free workers and start it; the number of items started."""
        self._again = True
        if self._dispatch_lock.locked():
            return 0  # the round in progress goes round again
        started = 0
        async with self._dispatch_lock:
            while self._again and not self._stopping.is_set():
                self._again = False
                try:
                    started += await self._fill()
                except Exception as exc:
                    log.warning("dispatch failed", extra={"error": f"{type(exc).__name__}: {exc}"})
                    break
        return started

    async def _fill(self) -> int:
        free = self.options.workers - len(self._inflight)
        if free <= 0 or (self._inflight and free < self._claim_at_least):
            return 0  # claimed in batches: one claim, and the checks' states read together (jobs.writer)
        now, lease = self.svc.clock(), self.options.lease
        sources, documents = await self._db(_claim, owner=self.node, now=now, lease=lease, limit=free)
        items: list[WorkItem] = [("source", i) for i in sources] + [("document", i) for i in documents]
        if self._stopping.is_set():  # stopped while claiming: hand the work straight back
            await self._db(queue.release_all, owner=self.node)
            return 0
        for item in items:
            self._start(item)
        return len(items)

    def _kick(self) -> None:
        """Run a dispatch round soon (work finished, or a source became due)."""
        if not self._kicks or self._stopping.is_set():
            return
        self._spawn(self.dispatch_round())

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A helper task (dispatch rounds), cancelled on shutdown."""
        task = asyncio.get_running_loop().create_task(work)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)
        return task

    async def notify_tick(self) -> None:
        """The notify job: a delivery pass in a helper task (one at a time)."""
        if not self._stopping.is_set():
            self._spawn(self.deliver_notifications())

    async def deliver_notifications(self) -> None:
        try:
            report = await self.notifier.run_pass()
        except Exception as exc:
            log.warning("notification pass failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        self.summary.notified += report.sent

    async def wayback_tick(self) -> None:
        """The wayback job: a Wayback Machine pass in a helper task (one at a time)."""
        if not self._stopping.is_set():
            self._spawn(self.preserve())

    async def preserve(self, *, drain: bool = False) -> None:
        """Submit due versions to the Wayback Machine and ask about running jobs; ``drain``
        (``run --once``): also wait a while for the jobs to finish."""
        try:
            report = await (self.preserver.drain() if drain else self.preserver.run_pass())
        except Exception as exc:
            log.warning("wayback pass failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        self.summary.preserved += report.archived

    # -- work -----------------------------------------------------------------------------------

    def _start(self, item: WorkItem) -> None:
        kind, ident = item
        work = self._poll(ident) if kind == "source" else self._check(ident)
        task = asyncio.get_running_loop().create_task(work, name=f"{kind}:{ident}")
        self._inflight[task] = item
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("worker crashed", extra={"task": task.get_name(), "error": repr(task.exception())})
        self._kick()

    async def _check(self, document_id: int) -> None:
        try:
            report = await self.check(self.svc, document_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.summary.failed += 1
            self.svc.metrics.error("check_crashed")
            log.exception("check failed", extra={"document_id": document_id, "error": str(exc)})
            retry_at = self.svc.clock() + self.options.retry_after
            await self._db(queue.release_documents, ids=[document_id], owner=self.node, retry_at=retry_at)
            return
        self.summary.checked += 1
        self.summary.outcomes[report.outcome.value] += 1
        log.info(
            "checked",
            extra={
                "document_id": document_id,
                "url": report.url,
                "outcome": report.outcome.value,
                "seq": report.seq,
                "error": report.error,
            },
        )

    async def _poll(self, source_id: int) -> None:
        name = await self._db(_source_name, source_id=source_id)
        try:
            report = await self.poll(self.svc, source_id)
            outcome = str(getattr(report, "outcome", None) or "ok")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome = "error"
            self.svc.metrics.error("poll_crashed")
            log.exception("poll failed", extra={"source": name, "error": f"{type(exc).__name__}: {exc}"})
        self.summary.polled += 1
        self.summary.failed += outcome == "error"
        self.svc.metrics.poll(name, outcome)
        await self._db(queue.finish_source, source_id=source_id, owner=self.node, now=self.svc.clock())
        log.info("polled", extra={"source": name, "outcome": outcome})

    # -- observability --------------------------------------------------------------------------

    def heartbeat_age(self) -> float | None:
        """Seconds since the dispatcher last ran (None before it first ran)."""
        return None if self._beat is None else time.monotonic() - self._beat

    async def healthz(self) -> health.Response:
        return await health.health(self.svc.engine, self.heartbeat_age(), self.options.max_heartbeat_age)

    async def metrics(self) -> health.Response:
        body, content_type = self.svc.metrics.render()
        return health.Response(200, body, content_type)

    async def _db(self, fn: Callable[..., T], **kwargs: Any) -> T:
        """``fn(session, **kwargs)`` in a worker thread, so a busy database never blocks the loop."""

        def call() -> T:
            with self.svc.session() as session:
                return fn(session, **kwargs)

        return await asyncio.to_thread(call)


def _claim(
    session: Session, *, owner: str, now: datetime, lease: timedelta, limit: int
) -> tuple[list[int], list[int]]:
    """Due sources first, then due documents for the rest of ``limit`` (one session)."""
    sources = queue.claim_sources(session, owner=owner, now=now, lease=lease, limit=limit)
    documents = queue.claim_documents(session, owner=owner, now=now, lease=lease, limit=limit - len(sources))
    return sources, documents


def _mark_due_sources(session: Session, *, now: datetime) -> int:
    marked = 0
    for source in catalog.list_sources(session, enabled_only=True):
        try:
            due = is_source_due(source, now)
        except ScheduleError as exc:
            log.error("source not polled", extra={"source": source.name, "error": str(exc)})
            continue
        if due and source.id is not None:
            marked += queue.mark_source_due(session, source_id=source.id, now=now)
    return marked


def idle_warning(session: Session, *, config_path: str) -> str | None:
    """What to tell an operator whose daemon has nothing to do (no enabled source, no story)."""
    sources = len(catalog.list_sources(session, enabled_only=True))
    stories = len(catalog.list_stories(session))
    if sources and stories:
        return None
    missing = " and ".join(
        what for what, n in (("no enabled sources", sources), ("no stories", stories)) if not n
    )
    return (
        f"NOTHING TO DO: {missing}. Set `enabled = true` on a source in {config_path} or run "
        "`storytrail sources add NAME URL`, and add a story (`storytrail stories add SLUG --query ...`)"
    )


def _queue_figures(session: Session, *, now: datetime) -> tuple[int, int]:
    return queue.queue_depth(session, now=now), queue.enrolled_documents(session)


def _source_name(session: Session, *, source_id: int) -> str:
    source = session.get(Source, source_id)
    return source.name if source is not None else f"#{source_id}"


# -- entry points -------------------------------------------------------------------------------


def wait_for_database(engine: Engine, *, timeout: float = 60.0, every: float = 1.0) -> None:
    """Block until the database answers (a container may start before PostgreSQL does)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            health.ping_database(engine)
            return
        except OperationalError as exc:
            if time.monotonic() >= deadline or EARLY_SIGNALS:
                raise
            log.info("waiting for the database", extra={"error": str(exc.orig).strip().splitlines()[0]})
            time.sleep(every)


def prepare_database(engine: Engine) -> bool:
    """Bring the schema to the current revision (under a lock on PostgreSQL); True if it migrated."""
    from storage.migrate import current_revision, head_revision, upgrade

    with queue.migration_lock(engine):
        if current_revision(engine) == head_revision():
            return False
        upgrade(engine)
    log.info("database migrated", extra={"revision": head_revision()})
    return True


async def serve(
    settings: Settings,
    options: DaemonOptions,
    *,
    engine: Engine | None = None,
    once: bool = False,
    poll: Poll = default_poll,
    check: Check = default_check,
) -> PassSummary:
    """Open the services and run the daemon (``once``: one pass) until it stops."""
    async with open_services(settings, engine=engine) as svc:
        daemon = Daemon(svc, options, poll=poll, check=check)
        return await (daemon.run_once() if once else daemon.run())
