"""The writer thread: every database read and write of a check, off the event loop, in arrival order.

Work is queued and taken in arrival order; what is waiting when the thread comes round is taken
together, and runs of one kind are merged:

    solo      any callable (enrolment, a rendered page's evidence, social bookkeeping): run alone
    read      a check's state before its fetch: the waiting reads of one Services and channel are
              answered from one session (storage.versions.states: a few queries for all of them)
    apply     a check's plan and its application: the waiting ones of one Services in one
              transaction (their documents read in one query), one COMMIT. If any of them fails,
              the transaction is rolled back and each is applied again in its own transaction, as
              if it had come alone: the others are recorded, the failing one gets its exception.

So a busy writer does less per check (one session, one commit for many), an idle one answers
each request as it comes: a read never waits for a batch to fill, and an apply that finds nothing
else waiting waits at most LINGER (1 ms) for a second one to share its COMMIT (group commit). The
answers of a group go back to the event loop in one wake-up (one ``call_soon_threadsafe``).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session

from jobs.services import Services
from storage import versions
from storage.versions import ChannelState

T = TypeVar("T")
BATCH = 64  # at most this many checks per transaction (the write lock is held while it runs)
# an apply that comes alone waits this long for a second one to share its transaction and COMMIT
# (group commit: a transaction costs more than the apply in it); a read never waits
LINGER = 0.001

Apply = Callable[[Session], T]


@dataclass(eq=False)
class _Job:
    kind: str  # solo | read | apply
    future: asyncio.Future[Any]  # of the submitting loop; set there (_deliver), never in the thread
    work: Callable[[], Any] | None = None  # solo; apply: the same work alone, in its own session
    svc: Services | None = None
    batched: Callable[[Session], Any] | None = None  # apply: the work inside a shared transaction
    document_id: int = 0  # read, apply
    channel: str = ""  # read

    outcome: tuple[bool, Any] | None = None  # (ok, result or exception), filled in the thread

    def key(self) -> tuple[str, int, str] | None:
        if self.kind == "solo":
            return None
        return (self.kind, id(self.svc), self.channel)

    def set_result(self, result: Any) -> None:
        self.outcome = (True, result)

    def set_exception(self, exc: BaseException) -> None:
        self.outcome = (False, exc)


class Writer:
    """One thread; :meth:`run` (any work), :meth:`read_states` and :meth:`apply` (batched)."""

    def __init__(self, name: str = "storytrail-writer") -> None:
        self._name = name
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in the writer thread."""
        result: T = await self._submit(_Job("solo", _future(), work=work))
        return result

    async def read_state(self, svc: Services, document_id: int, channel: str) -> ChannelState:
        """The state of a page check before its fetch (``versions.state(with_rules=True,
        with_content=False)``), read together with the other checks' that are waiting."""
        state: ChannelState = await self._submit(
            _Job("read", _future(), svc=svc, document_id=document_id, channel=channel)
        )
        return state

    async def apply(self, svc: Services, document_id: int, batched: Apply[T], alone: Callable[[], T]) -> T:
        """``batched(session)`` inside a transaction shared with other checks (it must not commit);
        ``alone()`` is the same work in its own transaction, for when the shared one failed."""
        job = _Job("apply", _future(), work=alone, svc=svc, batched=batched, document_id=document_id)
        result: T = await self._submit(job)
        return result

    async def _submit(self, job: _Job) -> Any:
        self._ensure_thread()
        self._queue.put(job)
        return await job.future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    # --- the thread ------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            jobs = [self._queue.get()]
            linger = LINGER if jobs[0].kind == "apply" else 0.0
            while len(jobs) < BATCH:
                try:
                    jobs.append(self._queue.get(timeout=linger) if linger else self._queue.get_nowait())
                except queue.Empty:
                    break
                linger = 0.0
            for group in _runs(jobs):
                live = [job for job in group if not job.future.cancelled()]
                try:
                    self._do(live)
                except BaseException as exc:  # never leave a check waiting for an answer
                    for job in live:
                        if job.outcome is None:
                            job.set_exception(exc)
                _answer(live)

    def _do(self, live: list[_Job]) -> None:
        if not live:
            return
        head = live[0]
        if head.kind == "read":
            _read(live)
        elif head.kind == "apply" and len(live) > 1:
            _apply_together(live)
        else:
            for job in live:
                _settle(job, job.work)


def _runs(jobs: Sequence[_Job]) -> list[list[_Job]]:
    """Consecutive jobs with the same batch key, in order (solo jobs one by one)."""
    out: list[list[_Job]] = []
    for job in jobs:
        key = job.key()
        if key is not None and out and out[-1][0].key() == key:
            out[-1].append(job)
        else:
            out.append([job])
    return out


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


def _answer(jobs: list[_Job]) -> None:
    """Hand the outcomes of ``jobs`` to their loops: one wake-up per loop for the whole group."""
    loops: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in jobs:
        loops.setdefault(job.future.get_loop(), []).append(job)
    for loop, answered in loops.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(_deliver, answered)


def _deliver(jobs: list[_Job]) -> None:
    """In the loop: set each future (one the awaiting task cancelled meanwhile is left alone)."""
    for job in jobs:
        if job.future.done() or job.outcome is None:
            continue
        ok, value = job.outcome
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


def _settle(job: _Job, work: Callable[[], Any] | None) -> None:
    assert work is not None
    try:
        job.set_result(work())
    except BaseException as exc:  # handed to the awaiting check
        job.set_exception(exc)


def _read(jobs: list[_Job]) -> None:
    svc, channel = jobs[0].svc, jobs[0].channel
    assert svc is not None
    try:
        with svc.session() as session:
            found = versions.states(
                session, document_ids=[j.document_id for j in jobs], channel=channel, with_rules=True
            )
    except BaseException as exc:
        for job in jobs:
            job.set_exception(exc)
        return
    for job in jobs:
        state = found.get(job.document_id)
        if state is None:
            job.set_exception(versions.missing(job.document_id))
        else:
            job.set_result(state)


def _apply_together(jobs: list[_Job]) -> None:
    svc = jobs[0].svc
    assert svc is not None
    results: list[Any] = []
    try:
        with svc.session() as session:
            versions.preload(session, document_ids=[j.document_id for j in jobs])
            with versions.together(session):  # their rows written together at the end
                for job in jobs:
                    assert job.batched is not None
                    results.append(job.batched(session))
            session.commit()
    except Exception:  # one of them failed: each again in its own transaction (module docstring)
        for job in jobs:
            _settle(job, job.work)
        return
    for job, result in zip(jobs, results, strict=True):
        job.set_result(result)


WRITER = Writer()
