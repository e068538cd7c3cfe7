"""The one capture function: fetch | extract | observe -> plan -> apply -> metrics.

Every channel and ``reextract`` go through :func:`record`::

    page       check_document: the state of the page channel (one read) -> conditional GET
               304 -> Unchanged(not_modified); 404/410 -> Gone; other errors -> FetchFailed
               identical raw bytes (same extractor) -> Unchanged; else decode once, extract
               (process pool), normalize once -> Seen (or ExtractionFailed)
    feed/api   record_observation: a feed entry or a social post, normalized -> Seen; gone -> Gone
    reextract  reextract_document: the latest stored raw body, extracted again -> Seen(reextracted)
    then       scraper.core.versioning.plan(history, observation, now)   (pure)
               storage.versions.apply(...) in one transaction            (the writer thread)
               metrics, and a CheckReport for the CLI, the daemon and enrolment

The database work runs in one writer thread (jobs.writer; never on the event loop), so fetching
goes on while a check is written; the writer reads the states of the checks waiting for it
together and applies their plans in one transaction. plan() is re-run on a fresh history if
another worker wrote first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from jobs.fetching import PagePlan, fetch_page, has_evidence, keep_capture, page_plan
from jobs.services import Services
from jobs.writer import WRITER
from scraper.core.charset import decode_html
from scraper.core.extract import (
    EXTRACTOR_NAME,
    EXTRACTOR_VERSION,
    ExtractionError,
    NoContentError,
    TooDeepError,
)
from scraper.core.fingerprint import body_sha256
from scraper.core.normalize import normalize_content
from scraper.core.types import Channel, CheckOutcome, Observation, VersionKind
from scraper.core.versioning import (
    ExtractionFailed,
    FetchFailed,
    Gone,
    ObservationValue,
    Seen,
    Unchanged,
    is_gone_status,
    plan,
)
from scraper.http import FetchError, FetchResult, RobotsDenied, Throttled
from storage import blobs, versions
from storage import documents as docs
from storage.versions import Applied, Capture, ChannelState, Reschedule

T = TypeVar("T")


@dataclass
class CheckReport:
    """What one check did, for the CLI and the daemon."""

    url: str
    outcome: CheckOutcome
    document_id: int | None = None
    channel: str = "page"
    seq: int | None = None
    kind: str | None = None
    revert_of: int | None = None
    http_status: int | None = None
    summary: str = ""
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {k: (v.value if isinstance(v, CheckOutcome) else v) for k, v in self.__dict__.items()}


async def in_writer(work: Callable[[], T]) -> T:
    """Run ``work`` (database work) in the writer thread."""
    return await WRITER.run(work)


def read_state(
    svc: Services,
    document_id: int,
    channel: Channel,
    *,
    with_rules: bool = False,
    with_content: bool = True,
) -> ChannelState:
    with svc.session() as session:
        return versions.state(
            session,
            document_id=document_id,
            channel=channel.value,
            with_rules=with_rules,
            with_content=with_content,
        )


# --- the one path ------------------------------------------------------------------------------


async def record(
    svc: Services,
    document_id: int,
    channel: Channel,
    observation: ObservationValue,
    *,
    check: dict[str, Any] | None = None,
    capture: Capture | None = None,
    reschedule: Reschedule = Reschedule.POLICY,
    state: ChannelState | None = None,
) -> CheckReport:
    """plan() the observation against the channel's history and apply it (module docstring)."""
    now = svc.clock()

    def write(session: Session, known: ChannelState | None) -> Applied:
        current = known
        if current is None or (not current.has_content and isinstance(observation, Seen)):
            current = versions.state(session, document_id=document_id, channel=channel.value)
        planned = plan(current.history, observation, now)
        return versions.apply(
            session,
            document_id=document_id,
            channel=channel,
            plan=planned,
            check=check or {},
            now=now,
            capture=capture,
            reschedule=reschedule,
            settings=known.settings if known is not None else None,
            latest=_latest(current),
        )

    def alone(known: ChannelState | None) -> Applied:
        with svc.session() as session:
            applied = write(session, known)
            session.commit()
            return applied

    def write_once_more() -> Applied:
        try:
            return alone(state)
        except IntegrityError:  # another worker wrote this seq first: plan again on what it wrote
            return alone(None)

    applied = await WRITER.apply(svc, document_id, lambda session: write(session, state), write_once_more)
    _count(svc, applied, channel)
    return _report(applied, document_id, channel, capture)


def _latest(state: ChannelState) -> tuple[int, int] | None:
    latest = state.history.latest
    return (latest.seq, state.latest_id) if latest is not None and state.latest_id is not None else None


def _count(svc: Services, applied: Applied, channel: Channel) -> None:
    if applied.kind is not None:
        svc.metrics.version_created(applied.kind, channel.value)
    if applied.outcome == CheckOutcome.SUSPECT:
        svc.metrics.error("suspect")


def _report(applied: Applied, document_id: int, channel: Channel, capture: Capture | None) -> CheckReport:
    report = CheckReport(
        url=applied.url,
        outcome=applied.outcome,
        document_id=document_id,
        channel=channel.value,
        seq=applied.seq,
        kind=applied.kind,
        revert_of=applied.revert_of,
        http_status=capture.http_status if capture else None,
        summary=applied.summary,
    )
    if applied.outcome == CheckOutcome.GONE and applied.kind is None:
        what = f"HTTP {capture.http_status}" if capture and capture.http_status else "not found"
        report.summary = f"{what} ({applied.missing_count} in a row)"
    if applied.warning:
        report.summary = f"suspect: {applied.warning}"
        report.details["warning"] = applied.warning
    return report


# --- the page channel --------------------------------------------------------------------------


async def check_document(svc: Services, document_id: int) -> CheckReport:
    """Fetch one document's page and record the outcome (a version, a confirmation or a failure).

    A social post (Document.kind "post") is re-checked through its platform instead (jobs.social).
    """
    # read with the other waiting checks' states; the content to compare with is read only if the
    # body changed
    state = await WRITER.read_state(svc, document_id, Channel.PAGE.value)
    if state.kind == "post":  # social posts: the platform's API, not the page
        from jobs.social import recheck_post

        return await recheck_post(svc, document_id)
    started = time.perf_counter()
    report = await _check_page(svc, state)
    svc.metrics.observe_fetch(report.outcome.value, time.perf_counter() - started)
    return report


async def _check_page(svc: Services, state: ChannelState) -> CheckReport:
    started = time.perf_counter()
    try:
        # the source's request settings; the browser when the source or a story asks (jobs.fetching)
        result = await fetch_page(
            svc,
            state.document_id,
            state.url,
            etag=state.etag,
            last_modified=state.last_modified,
            plan=_page_plan(svc, state),
        )
    except FetchError as exc:
        check = {
            "at": svc.clock(),
            "url": state.url,
            "duration_ms": int((time.perf_counter() - started) * 1000),
        }
        not_before = exc.retry_at if isinstance(exc, Throttled) else None
        failed = FetchFailed(str(exc), _failure_outcome(exc), not_before)
        return await _failed(svc, state, failed, check, None, metric=type(exc).__name__)
    if result.status == 304:
        return await _page(svc, state, Unchanged(CheckOutcome.NOT_MODIFIED), result)
    if is_gone_status(result.status):
        return await _page(svc, state, Gone(result.status), result)
    if result.status >= 400:
        failed = FetchFailed(f"HTTP {result.status} from {result.final_url}")
        return await _failed(svc, state, failed, _check_fields(result), _capture(result))
    report = await _content(svc, state, result)
    if not has_evidence(result):
        return report
    return await in_writer(lambda: keep_capture(svc, report, result))  # a rendered page's evidence


def _page_plan(svc: Services, state: ChannelState) -> PagePlan | None:
    """How to fetch, from the settings the state read (no database read on the event loop)."""
    s = state.settings
    if s is None:
        return None
    return page_plan(svc, state.url, s.source_params, s.source_url, s.source_name, s.stories)


def _failure_outcome(exc: FetchError) -> CheckOutcome:
    return CheckOutcome.ROBOTS_DENIED if isinstance(exc, RobotsDenied) else CheckOutcome.ERROR


async def _failed(
    svc: Services,
    state: ChannelState,
    failed: FetchFailed | ExtractionFailed,
    check: dict[str, Any],
    capture: Capture | None,
    *,
    metric: str = "str",
) -> CheckReport:
    """A check that recorded no content: the error on the report and in the metrics."""
    report = await record(
        svc, state.document_id, Channel.PAGE, failed, check=check, capture=capture, state=state
    )
    report.error = failed.error
    robots = isinstance(failed, FetchFailed) and failed.outcome == CheckOutcome.ROBOTS_DENIED
    svc.metrics.error(CheckOutcome.ROBOTS_DENIED.value if robots else metric)
    return report


async def _page(
    svc: Services, state: ChannelState, observation: ObservationValue, result: FetchResult, **capture: Any
) -> CheckReport:
    check = _check_fields(result, capture.get("raw_sha256"))
    return await record(
        svc,
        state.document_id,
        Channel.PAGE,
        observation,
        check=check,
        capture=_capture(result, **capture),
        state=state,
    )


async def _content(svc: Services, state: ChannelState, result: FetchResult) -> CheckReport:
    raw_sha = body_sha256(result.body)
    if _same_raw(state, raw_sha):
        return await _page(svc, state, Unchanged(), result, raw_sha256=raw_sha)
    started = time.perf_counter()
    try:  # decoded, extracted and packed in a worker process: the event loop's process stays light
        page = await svc.extractor.extract_page(
            result.body, result.content_type, result.final_url, state.remove
        )
    except (NoContentError, TooDeepError) as exc:  # a page not read right: suspect, not an error
        reason = "too_deep" if isinstance(exc, TooDeepError) else "no_text"
        failed = ExtractionFailed(str(exc), suspect=reason)
        return await _page(svc, state, failed, result, raw=result.body, raw_sha256=raw_sha)
    except ExtractionError as exc:
        capture = _capture(result, raw=result.body, raw_sha256=raw_sha)
        return await _failed(svc, state, ExtractionFailed(str(exc)), _check_fields(result), capture)
    svc.metrics.observe_extract(time.perf_counter() - started)
    content = normalize_content(page.extracted.content, ignore_patterns=list(state.ignore))
    seen = Seen(content, raw_size=len(result.body))
    return await _page(
        svc,
        state,
        seen,
        result,
        raw=result.body,
        packed=page.packed,
        raw_sha256=raw_sha,
        extractor=EXTRACTOR_NAME,
        extractor_version=EXTRACTOR_VERSION,
    )


def _same_raw(state: ChannelState, raw_sha: str) -> bool:
    latest = state.history.latest
    return (
        latest is not None
        and state.latest_raw_sha256 == raw_sha
        and latest.kind != VersionKind.TOMBSTONE
        and state.latest_extractor_version == EXTRACTOR_VERSION
    )


def _capture(result: FetchResult, **fields: Any) -> Capture:
    return Capture(
        http_status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        fetched=True,
        **fields,
    )


def _check_fields(result: FetchResult, raw_sha256: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "at": result.fetched_at,
        "http_status": result.status,
        "bytes": len(result.body),
        "duration_ms": int(result.elapsed * 1000),
        "url": result.url,
        "final_url": result.final_url,
        "request_headers": [list(h) for h in result.request_headers],
        "response_headers": [list(h) for h in result.headers],
        "http_version": result.http_version,
    }
    if raw_sha256:
        fields["raw_sha256"] = raw_sha256
    return fields


# --- feed and api channels ---------------------------------------------------------------------


async def record_observation(svc: Services, observation: Observation, *, document_id: int) -> CheckReport:
    """Version what a feed entry or a social post shows (feed / api channels)."""
    channel = observation.channel
    if observation.gone:
        return await record(svc, document_id, channel, Gone(), reschedule=Reschedule.KEEP)
    if observation.measurements:
        await in_writer(lambda: _measure(svc, document_id, observation.measurements))
    seen = Seen(normalize_content(observation.content))
    how = Reschedule.FEED if channel == Channel.FEED else Reschedule.POLICY
    return await record(svc, document_id, channel, seen, reschedule=how)


def _measure(svc: Services, document_id: int, values: dict[str, float]) -> None:
    with svc.session() as session:
        docs.add_measurements(session, document_id=document_id, at=svc.clock(), values=values)
        session.commit()


# --- reextract ---------------------------------------------------------------------------------


async def reextract_document(svc: Services, document_id: int, *, force: bool = False) -> CheckReport | None:
    """Re-derive the page text from the latest stored raw body with the current extractor; ``force``:
    even when the extractor is the same (the document's ignore rules changed: ``noise accept``)."""

    def load() -> tuple[ChannelState, bytes] | None:
        state = read_state(svc, document_id, Channel.PAGE, with_rules=True)
        latest = state.history.latest
        if latest is None or state.latest_raw_sha256 is None or latest.kind == VersionKind.TOMBSTONE:
            return None
        if state.latest_extractor_version == EXTRACTOR_VERSION and not force:
            return None
        with svc.session() as session:
            return state, blobs.get_blob(session, sha256=state.latest_raw_sha256)

    loaded = await in_writer(load)
    if loaded is None:
        return None
    state, raw = loaded
    text, _ = decode_html(raw, None)
    extracted = await svc.extractor.extract(text, state.url, list(state.remove))
    content = normalize_content(extracted.content, ignore_patterns=list(state.ignore))
    seen = Seen(content, raw_size=len(raw), reextracted=True)
    capture = Capture(
        raw_sha256=state.latest_raw_sha256, extractor=EXTRACTOR_NAME, extractor_version=EXTRACTOR_VERSION
    )
    check = {"raw_sha256": state.latest_raw_sha256}
    return await record(svc, document_id, Channel.PAGE, seen, check=check, capture=capture, state=state)
