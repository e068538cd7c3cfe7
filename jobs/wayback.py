"""Preservation in the Wayback Machine: the async edge. New page versions of documents whose source
or story opted in (``wayback = true``) are queued with the version (storage.wayback); here due rows
are claimed under a lease, submitted to Save Page Now (one submission per
``wayback_min_interval`` across every daemon), their jobs asked about every
``wayback_poll_interval``, and the snapshot URL stored on the version. Refusals and failures are
retried with their own back-off (a 429's Retry-After is honoured; a daily limit waits hours) and
given up after scraper.core.wayback.MAX_ATTEMPTS with a warning and the error kept.

A daemon that stops mid-job keeps the job id in the row: the next pass asks about that job
instead of submitting the page again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import Session

from jobs.logs import get_logger
from jobs.services import Services
from scraper.core import wayback as core
from scraper.http import BadURL, BlockedAddress, FetchError, FetchResult, parse_retry_after
from storage import wayback as store

log = get_logger(__name__)
T = TypeVar("T")
ONCE_WAIT_S = 120.0  # `run --once` waits this long at most for jobs the archive is still running
ROUNDS = 50


@dataclass
class PreserveReport:
    submitted: int = 0
    archived: int = 0
    retrying: int = 0
    dead: int = 0
    handled: int = 0  # rows claimed and dealt with (submitted, asked about, failed)

    def line(self) -> str:
        return (
            f"wayback: {self.archived} archived, {self.submitted} submitted, "
            f"{self.retrying} to retry, {self.dead} given up"
        )

    def add(self, other: PreserveReport) -> None:
        for name in ("submitted", "archived", "retrying", "dead", "handled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Preserver:
    """One pass at a time: claim due rows, submit or ask, record the outcome."""

    def __init__(
        self,
        svc: Services,
        *,
        owner: str,
        lease: timedelta = timedelta(minutes=5),
        limit: int = 10,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.svc, self.owner, self.lease, self.limit, self._sleep = svc, owner, lease, limit, sleep
        s = svc.settings
        self.endpoint = s.wayback_endpoint
        self.access = s.wayback_access_key.get_secret_value() if s.wayback_access_key else None
        self.secret = s.wayback_secret_key.get_secret_value() if s.wayback_secret_key else None
        self.interval = timedelta(seconds=s.wayback_min_interval)
        self.poll_every = timedelta(seconds=s.wayback_poll_interval)
        self._lock = asyncio.Lock()

    async def run_pass(self) -> PreserveReport:
        """Claim and handle due rows until none is due (or ROUNDS claims)."""
        report = PreserveReport()
        if self._lock.locked():
            return report
        async with self._lock:
            for _ in range(ROUNDS):
                ids = await self._db(
                    store.claim,
                    owner=self.owner,
                    now=self.svc.clock(),
                    lease=self.lease,
                    limit=self.limit,
                    interval=self.interval,
                )
                if not ids:
                    break
                rows = await self._db(store.items, ids=ids)
                await asyncio.gather(*(self._handle(row, report) for row in rows))
        if report.handled:
            log.info(report.line(), extra={"node": self.owner})
        return report

    async def drain(self, *, wait: float = ONCE_WAIT_S) -> PreserveReport:
        """Passes until nothing is left to do now, waiting up to ``wait`` seconds for running jobs
        and for the submission slot (``run --once``); what is left stays queued for the next run."""
        total = PreserveReport()
        deadline = time.monotonic() + wait
        idle = 0
        while idle < 2:
            report = await self.run_pass()
            total.add(report)
            idle = 0 if report.handled else idle + 1
            start = await self._db(store.next_start)
            if start is None:
                break
            pause = max((start - self.svc.clock()).total_seconds(), 0.0)
            if time.monotonic() + pause > deadline:
                break
            await self._sleep(pause)
        return total

    async def release(self) -> int:
        return await self._db(store.release_all, owner=self.owner)

    # ---- one row

    async def _handle(self, row: store.Item, report: PreserveReport) -> None:
        report.handled += 1
        now = self.svc.clock()
        if row.job_id is not None and core.job_expired(row.submitted_at, now):
            await self._failed(
                row, core.Retry(f"job {row.job_id} still pending after {core.JOB_TIMEOUT}"), report
            )
        elif row.job_id is not None:
            await self._ask(row, row.job_id, report)
        else:
            await self._submit(row, report)

    async def _submit(self, row: store.Item, report: PreserveReport) -> None:
        headers = core.request_headers(access_key=self.access, secret_key=self.secret, form=True)
        body = core.submit_form(row.url)
        outcome = await self._request("POST", self.endpoint, body, headers, core.read_submit, resubmit=True)
        match outcome:
            case core.Submitted(job_id=job_id):
                now = self.svc.clock()
                await self._db(
                    store.mark_submitted, id=row.id, owner=self.owner, job_id=job_id, now=now,
                    ask_at=now + self.poll_every,
                )  # fmt: skip
                report.submitted += 1
                self.svc.metrics.preserved("submitted")
                log.info("submitted to the Wayback Machine", extra={"url": row.url, "job_id": job_id})
            case core.Archived():
                report.submitted += 1
                await self._archived(row, outcome, report)
            case _:
                await self._failed(row, outcome, report)

    async def _ask(self, row: store.Item, job_id: str, report: PreserveReport) -> None:
        headers = core.request_headers(access_key=self.access, secret_key=self.secret, form=False)
        url = core.status_url(self.endpoint, job_id)
        outcome = await self._request("GET", url, None, headers, core.read_status, resubmit=False)
        match outcome:
            case core.Pending():
                at = self.svc.clock() + self.poll_every
                await self._db(store.ask_later, id=row.id, owner=self.owner, at=at)
            case core.Archived():
                await self._archived(row, outcome, report)
            case core.Retry(reason=reason, wait=wait, resubmit=False):
                at = self.svc.clock() + (wait or self.poll_every)
                await self._db(store.ask_later, id=row.id, owner=self.owner, at=at, error=reason)
            case _:
                await self._failed(row, outcome, report)

    async def _request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        read: Callable[..., Any],
        *,
        resubmit: bool,
    ) -> Any:
        try:
            result = await self.svc.fetcher.request_once(method, url, body=body, headers=headers)
        except (BlockedAddress, BadURL) as exc:
            return core.Refused(str(exc))
        except FetchError as exc:
            return core.Retry(str(exc), resubmit=resubmit)
        return read(_reply(result, self.svc), endpoint=self.endpoint)

    async def _archived(self, row: store.Item, outcome: core.Archived, report: PreserveReport) -> None:
        await self._db(
            store.mark_archived, id=row.id, owner=self.owner, snapshot_url=outcome.snapshot_url,
            now=self.svc.clock(),
        )  # fmt: skip
        report.archived += 1
        self.svc.metrics.preserved("archived")
        log.info("archived in the Wayback Machine", extra={"url": row.url, "snapshot": outcome.snapshot_url})

    async def _failed(
        self, row: store.Item, outcome: core.Retry | core.Refused, report: PreserveReport
    ) -> None:
        attempts = row.attempts + 1
        now = self.svc.clock()
        wait = outcome.wait if isinstance(outcome, core.Retry) else None
        retry_at = core.retry_at(attempts, wait, now) if isinstance(outcome, core.Retry) else None
        await self._db(
            store.mark_failed, id=row.id, owner=self.owner, error=outcome.reason, retry_at=retry_at
        )
        if retry_at is None:
            report.dead += 1
            self.svc.metrics.preserved("dead")
            log.warning(
                "not archived in the Wayback Machine: given up",
                extra={"url": row.url, "error": outcome.reason, "attempts": attempts},
            )
        else:
            report.retrying += 1
            self.svc.metrics.preserved("retry")
            log.info(
                "Wayback Machine submission to retry",
                extra={"url": row.url, "error": outcome.reason, "retry_at": retry_at.isoformat()},
            )

    async def _db(self, fn: Callable[..., T], **kwargs: Any) -> T:
        def call() -> T:
            with Session(self.svc.engine, expire_on_commit=False) as session:
                return fn(session, **kwargs)

        return await asyncio.to_thread(call)


def _reply(result: FetchResult, svc: Services) -> core.Reply:
    headers = {k.lower(): v for k, v in result.headers}
    wait = parse_retry_after(headers.get("retry-after"), svc.clock())
    return core.Reply(status=result.status, body=result.body, headers=headers, retry_after=wait)
