"""APScheduler 3.x wiring: one job per enabled source, which only marks the source due.

APScheduler keeps its jobs in memory (``MemoryJobStore``) and never shares a job store between
processes: the database holds every piece of state (``Source.next_poll_at``, leases), so a
restart rebuilds the same jobs under the same ids (``source:<name>``) and nothing is lost.

A source's schedule is ``params["cron"]`` (a crontab line, in UTC) when set, else ``every`` (a
duration such as ``"10m"``, or a crontab line). Interval jobs get a jitter (a tenth of the
interval, at most a minute) so sources that share an interval do not all fire at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs.logs import get_logger
from scraper.core.recheck import DurationError, parse_duration
from storage.models import Source

log = get_logger(__name__)

SOURCE_JOB_PREFIX = "source:"
MAX_JITTER = timedelta(minutes=1)
CRON_MISFIRE_GRACE = timedelta(minutes=5)
MAX_MISFIRE_GRACE = timedelta(hours=1)
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class ScheduleError(ValueError):
    """A source whose schedule cannot be read; the message names the source and the text."""

    def __init__(self, source: str, text: str | None, reason: str) -> None:
        super().__init__(f"source {source!r}: schedule {text!r} {reason}")
        self.source, self.text = source, text


@dataclass(frozen=True)
class SourceSchedule:
    """How often one source is polled: an APScheduler trigger, and the text it was built from."""

    source_id: int
    name: str
    trigger: BaseTrigger
    spec: str  # "every 10m" / "cron 0 * * * *": a changed spec replaces the job
    interval: timedelta | None  # None for cron schedules
    misfire_grace: timedelta


def source_job_id(name: str) -> str:
    return SOURCE_JOB_PREFIX + name


def source_schedule(source: Source) -> SourceSchedule:
    """The schedule of ``source`` (raises ScheduleError for an unreadable or missing one)."""
    assert source.id is not None
    cron = (source.params or {}).get("cron")
    text = cron or source.every
    if not text:
        raise ScheduleError(source.name, text, "is empty: set `every` (e.g. 10m) or `cron`")
    if not cron:
        try:
            interval = parse_duration(text)
        except DurationError:
            interval = None
        if interval is not None:
            return _interval_schedule(source, text, interval)
    return _cron_schedule(source, text)


def _interval_schedule(source: Source, text: str, interval: timedelta) -> SourceSchedule:
    assert source.id is not None
    if interval <= timedelta():
        raise ScheduleError(source.name, text, "must be longer than zero")
    jitter = min(interval / 10, MAX_JITTER).total_seconds()
    trigger = IntervalTrigger(seconds=interval.total_seconds(), jitter=jitter or None, timezone=UTC)
    grace = min(max(interval, timedelta(seconds=1)), MAX_MISFIRE_GRACE)
    return SourceSchedule(source.id, source.name, trigger, f"every {text}", interval, grace)


def _cron_schedule(source: Source, text: str) -> SourceSchedule:
    assert source.id is not None
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            source.name,
            text,
            "is neither a duration (e.g. 10m) nor a crontab line of 5 fields (e.g. */15 * * * *)",
        )
    minute, hour, day, month, weekdays = fields
    try:
        trigger = CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=crontab_weekdays(weekdays),
            timezone=UTC,
        )
    except ValueError as exc:
        raise ScheduleError(source.name, text, f"is not a valid crontab line: {exc}") from None
    return SourceSchedule(source.id, source.name, trigger, f"cron {text}", None, CRON_MISFIRE_GRACE)


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 and 7 are Sunday) as day names for APScheduler 3.

    APScheduler 3 counts 0 as Monday, so numbers are translated: ``"1-5"`` -> ``"mon,...,fri"``.
    """
    if field == "*":
        return "*"
    days: set[int] = set()
    for item in field.lower().split(","):
        days |= _weekday_item(item)
    return ",".join(_CRON_DAYS[d] for d in sorted(days))


def _weekday_item(item: str) -> set[int]:
    base, slash, step_text = item.partition("/")
    if slash and not step_text.isdigit():
        raise ValueError(f"day-of-week step {item!r} is not a number")
    step = int(step_text) if slash else 1
    if base == "*":
        low, high = 0, 6
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _weekday(first), _weekday(last)
    else:
        low = _weekday(base)
        high = 6 if slash else low
    if step < 1 or low > high:
        raise ValueError(f"day-of-week range {item!r} is empty")
    return {d % 7 for d in range(low, high + 1, step)}


def _weekday(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text[:3] in _CRON_DAYS:
        return _CRON_DAYS.index(text[:3])
    raise ValueError(f"{text!r} is not a day of the week (0-7 or sun..sat)")


def next_due(schedule: SourceSchedule, last_polled_at: datetime | None, now: datetime) -> datetime:
    """When a source polled at ``last_polled_at`` is due again (``now`` if never polled or overdue)."""
    if last_polled_at is None:
        return now
    if schedule.interval is not None:
        due = last_polled_at + schedule.interval
    else:
        due = schedule.trigger.get_next_fire_time(None, last_polled_at + timedelta(microseconds=1)) or now
    return due


def is_source_due(source: Source, now: datetime) -> bool:
    """Whether ``source`` should be polled in a pass made at ``now`` (``storytrail run --once``)."""
    if not source.enabled:
        return False
    if source.next_poll_at is not None and source.next_poll_at <= now:
        return True
    return next_due(source_schedule(source), source.last_polled_at, now) <= now


def make_scheduler() -> AsyncIOScheduler:
    """An AsyncIOScheduler in UTC with an in-memory job store; call ``start()`` inside the event loop."""
    return AsyncIOScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": AsyncIOExecutor()},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )


Enqueue = Callable[[int], Awaitable[None]]


class SourceJobs:
    """Keeps one APScheduler job per enabled source in step with the database."""

    def __init__(self, scheduler: AsyncIOScheduler, enqueue: Enqueue) -> None:
        self.scheduler = scheduler
        self.enqueue = enqueue
        self._specs: dict[str, tuple[int, str]] = {}  # job id -> (source id, spec)

    @property
    def job_ids(self) -> list[str]:
        return sorted(self._specs)

    def sync(self, sources: Sequence[Source], now: datetime) -> list[ScheduleError]:
        """Add, replace and remove jobs so there is one per enabled source; returns the bad schedules."""
        wanted: dict[str, SourceSchedule] = {}
        errors: list[ScheduleError] = []
        for source in sources:
            if not source.enabled:
                continue
            try:
                wanted[source_job_id(source.name)] = source_schedule(source)
            except ScheduleError as exc:
                errors.append(exc)
                log.error("source not scheduled", extra={"source": source.name, "error": str(exc)})
        for job_id in set(self._specs) - set(wanted):
            self._remove(job_id)
        last_polled = {s.name: s.last_polled_at for s in sources}
        for job_id, schedule in wanted.items():
            if self._specs.get(job_id) != (schedule.source_id, schedule.spec):
                self._add(job_id, schedule, last_polled.get(schedule.name), now)
        return errors

    def clear(self) -> None:
        for job_id in list(self._specs):
            self._remove(job_id)

    def _add(
        self, job_id: str, schedule: SourceSchedule, last_polled_at: datetime | None, now: datetime
    ) -> None:
        self.scheduler.add_job(
            self.enqueue,
            schedule.trigger,
            args=[schedule.source_id],
            id=job_id,
            name=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(schedule.misfire_grace.total_seconds()),
            next_run_time=max(next_due(schedule, last_polled_at, now), now),
        )
        self._specs[job_id] = (schedule.source_id, schedule.spec)
        log.info("source scheduled", extra={"source": schedule.name, "schedule": schedule.spec})

    def _remove(self, job_id: str) -> None:
        self._specs.pop(job_id, None)
        if self.scheduler.get_job(job_id) is not None:
            self.scheduler.remove_job(job_id)
