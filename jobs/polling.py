"""Polling sources: the adapter for the source's kind reads it, enrolment stores what it found.

``poll_source(svc, source_id)`` is what the daemon and ``storytrail poll`` call for one source:

    story seeds fetched (first poll of a story) -> story rules compiled
    adapter_for(kind)(fetcher, spec, stories=...)  -> PollResult | SourceError
    error        -> a Check on the source (outcome error, the URL and the cause); nothing else
    HTTP 304     -> a Check (not_modified)
    otherwise    -> enrolment (jobs.enrol), validators saved, a Check (new_version when new
                    documents were found, else unchanged; warnings in its error text)

One source's failure never stops another's poll, and never loses what is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from jobs.discovery import StoryRule, load_rules
from jobs.enrol import Enroller, Found, MatchNote, Tally, fetch_seeds
from jobs.logs import get_logger
from jobs.services import Services
from jobs.social import PostEnroller
from scraper.core.types import CheckOutcome
from scraper.sources import PollResult, SourceError, SourceSpec, UnknownKindError, Validators, adapter_for
from storage import catalog
from storage import discovery as disc
from storage.models import Source

log = get_logger(__name__)
MAX_CHECK_TEXT = 4000
Progress = Callable[[str, "PollReport | None"], None]


@dataclass
class PollReport:
    """What polling one source did (``outcome``: ok, not_modified or error)."""

    source: str
    kind: str
    source_id: int | None = None
    outcome: str = "ok"
    entries: int = 0  # candidates the source listed
    new: int = 0  # documents seen for the first time
    matched: int = 0  # documents attached to a story
    fetched: int = 0  # first fetches made
    seen: int = 0  # new candidates kept as seen (not fetched)
    edited: int = 0  # feed entries with a changed feed version
    followed: int = 0  # outgoing links looked at
    duplicates: int = 0  # near copies marked
    errors: int = 0  # the source's own failure (1) plus first fetches that failed
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    matches: list[MatchNote] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    duration_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def absorb(self, tally: Tally) -> None:
        for name in ("new", "matched", "fetched", "seen", "edited", "followed", "duplicates"):
            setattr(self, name, getattr(self, name) + getattr(tally, name))
        self.errors += tally.errors
        self.matches += tally.matches
        self.failures += tally.failures


@dataclass
class Prepared:
    """The story rules of a poll, and what preparing them did (seeds fetched, bad queries)."""

    rules: list[StoryRule]
    report: PollReport


def source_spec(source: Source) -> SourceSpec:
    return SourceSpec(
        name=source.name,
        kind=source.kind,
        url=source.url,
        params=dict(source.params or {}),
        validators=Validators(source.etag, source.last_modified),
    )


async def prepare_rules(svc: Services, *, story_ids: Sequence[int] | None = None) -> Prepared:
    """Fetch the seeds of stories polled for the first time, then compile every active story."""
    started = time.perf_counter()
    report = PollReport(source="(story seeds)", kind="seeds")
    tally = Tally()
    seeds = await fetch_seeds(svc, story_ids=story_ids, tally=tally)
    with svc.session() as session:
        rules, report.warnings = load_rules(session, now=svc.clock())
    enroller = Enroller(svc, rules, tally)
    for doc_id, story_id in seeds:
        await enroller.settle(doc_id, Found("seed"), [story_id])
    report.absorb(tally)
    report.entries = len(seeds)
    report.duration_ms = _ms(started)
    for warning in report.warnings:
        log.warning("story not matched", extra={"warning": warning})
    return Prepared(rules, report)


async def poll_source(
    svc: Services, source_id: int, *, rules: Sequence[StoryRule] | None = None
) -> PollReport:
    """Poll one source now (module docstring). Never raises for a bad source or bad input."""
    started = time.perf_counter()
    if rules is None:
        rules = (await prepare_rules(svc)).rules
    with svc.session() as session:
        spec = source_spec(disc.get_source_by_id(session, source_id=source_id))
    report = PollReport(source=spec.name, kind=spec.kind, source_id=source_id)
    try:
        adapter = adapter_for(spec.kind)
        result = await adapter(svc.fetcher, spec, stories=[rule.spec for rule in rules])
    except SourceError as exc:
        return _failed(svc, report, spec, str(exc), started)
    except UnknownKindError as exc:
        return _failed(svc, report, spec, f"{spec.url}: {exc}", started)
    except Exception as exc:  # a parser bug on odd input must not stop other sources
        log.exception("source adapter failed", extra={"source": spec.name})
        return _failed(svc, report, spec, f"{spec.url}: unexpected {type(exc).__name__}: {exc}", started)
    report.entries, report.warnings = len(result.candidates), list(result.warnings)
    if not result.not_modified:
        tally = Tally()
        await PostEnroller(svc, rules, tally).take(
            result.candidates, result.observations, source_id=source_id, archive_all=spec.archive_all
        )
        report.absorb(tally)
    report.outcome = "not_modified" if result.not_modified else "ok"
    _record(svc, report, spec, result, started)
    return report


def _failed(svc: Services, report: PollReport, spec: SourceSpec, message: str, started: float) -> PollReport:
    report.outcome, report.error, report.errors = "error", message, report.errors + 1
    report.duration_ms = _ms(started)
    with svc.session() as session:
        disc.add_source_check(
            session,
            source_id=report.source_id or 0,
            at=svc.clock(),
            url=spec.url,
            outcome=CheckOutcome.ERROR.value,
            error=message[:MAX_CHECK_TEXT],
            duration_ms=report.duration_ms,
        )
        session.commit()
    svc.metrics.error("source")
    log.warning("source poll failed", extra={"source": spec.name, "error": message})
    return report


def _record(svc: Services, report: PollReport, spec: SourceSpec, result: PollResult, started: float) -> None:
    report.duration_ms = _ms(started)
    outcome = _outcome(report, result)
    validators = (result.validators.etag, result.validators.last_modified) if result.validators else None
    with svc.session() as session:
        source = disc.get_source_by_id(session, source_id=report.source_id or 0)
        disc.record_poll(session, source=source, now=svc.clock(), validators=validators)
        disc.add_source_check(
            session,
            source_id=report.source_id or 0,
            at=svc.clock(),
            url=spec.url,
            outcome=outcome,
            http_status=result.http_status,
            bytes=result.bytes,
            duration_ms=report.duration_ms,
            error="; ".join(report.warnings)[:MAX_CHECK_TEXT] or None,
            **_listing(result, report),
        )
        session.commit()
    for warning in report.warnings:
        log.warning("source warning", extra={"source": spec.name, "warning": warning})
    log.info(
        "polled source",
        extra={
            "source": spec.name,
            "entries": report.entries,
            "new": report.new,
            "matched": report.matched,
            "outcome": outcome,
        },
    )


def _listing(result: PollResult, report: PollReport) -> dict[str, Any]:
    """The listing's bytes, kept with the poll's check when the poll brought news (a new document
    or a changed feed entry): the evidence of what the feed said then, exported as a WARC
    resource record. Identical listings share one blob; polls that found nothing keep none."""
    capture = result.capture
    if capture is None or not (report.new or report.edited):
        return {}
    return {"raw": capture.body, "final_url": capture.final_url, "response_headers": capture.headers}


def _outcome(report: PollReport, result: PollResult) -> str:
    if result.not_modified:
        return CheckOutcome.NOT_MODIFIED.value
    return (CheckOutcome.NEW_VERSION if report.new else CheckOutcome.UNCHANGED).value


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def poll_all(
    svc: Services, names: Sequence[str] | None = None, progress: Progress | None = None
) -> list[PollReport]:
    """Poll the named sources (all enabled sources when ``names`` is None), one after another.

    The first report is the story-seeds report when seeds were fetched or a story's query is
    invalid. ``progress(name, None)`` is called before each source, ``progress(name, report)``
    after it. An unknown name raises :class:`storage.documents.NotFoundError` before any poll.
    """
    with svc.session() as session:
        if names:
            sources = [catalog.get_source(session, name=name) for name in names]
        else:
            sources = catalog.list_sources(session, enabled_only=True)
    prepared = await prepare_rules(svc)
    reports = [prepared.report] if prepared.report.entries or prepared.report.warnings else []
    for source in sources:
        assert source.id is not None
        if progress:
            progress(source.name, None)
        report = await poll_source(svc, source.id, rules=prepared.rules)
        if progress:
            progress(source.name, report)
        reports.append(report)
    return reports
