"""The capture pipeline: fetch -> raw blob -> extract (process pool) -> normalize -> hash -> version.

I/O lives here; every decision is a pure function from scraper.core (versioning, diff, recheck).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from jobs.fetching import fetch_page, keep_capture
from jobs.schedule import schedule_next
from jobs.services import Services
from scraper.core.diff import change_summary, diff_contents
from scraper.core.extract import EXTRACTOR_NAME, EXTRACTOR_VERSION, ExtractionError
from scraper.core.fingerprint import content_hash, simhash
from scraper.core.normalize import NORMALIZER_VERSION, normalize_content
from scraper.core.types import Channel, CheckOutcome, Content, Observation, VersionKind
from scraper.core.urls import canonicalize
from scraper.core.versioning import TOMBSTONE_HASH, Action, decide, is_gone_status, should_tombstone
from scraper.http import FetchError, FetchResult, RobotsDenied
from storage import blobs, catalog
from storage import documents as docs
from storage.models import Document, Source, Version


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


async def check_url(
    svc: Services,
    url: str,
    *,
    story_slug: str | None = None,
    via: str = "manual",
    source_id: int | None = None,
) -> CheckReport:
    """Enrol ``url`` (creating its document) and check it now."""
    canonical = canonicalize(url)
    now = svc.clock()
    with svc.session() as session:
        doc, _ = docs.get_or_create_document(session, url=canonical, now=now, source_id=source_id)
        if doc.status in ("seen", "retired"):
            doc.status = "active"
        if story_slug:
            story = catalog.get_story(session, slug=story_slug)
            assert story.id is not None and doc.id is not None
            catalog.link_story_document(
                session,
                story_id=story.id,
                document_id=doc.id,
                now=now,
                via=via,
                reason=f"added by {via}",
                source_id=source_id,
            )
        session.add(doc)
        session.commit()
        assert doc.id is not None
        return await check_document(svc, doc.id)


async def check_document(svc: Services, document_id: int) -> CheckReport:
    """Fetch one document's page and record the outcome (a version, a confirmation or a failure).

    A social post (Document.kind "post") is re-checked through its platform instead (jobs.social).
    """
    with svc.session() as session:
        doc = _document(session, document_id)
        url, etag, last_modified = doc.url, doc.etag, doc.last_modified
        is_post = doc.kind == "post"
    if is_post:  # social posts: the platform's API, not the page (jobs.social imports this module)
        from jobs.social import recheck_post

        return await recheck_post(svc, document_id)
    started = time.perf_counter()
    report = await _fetch_and_record(svc, document_id, url, etag, last_modified)
    svc.metrics.observe_fetch(report.outcome.value, time.perf_counter() - started)
    return report


async def _fetch_and_record(
    svc: Services, document_id: int, url: str, etag: str | None, last_modified: str | None
) -> CheckReport:
    started = time.perf_counter()
    try:
        # the source's request settings; the browser when the source or a story asks for it
        result = await fetch_page(svc, document_id, url, etag=etag, last_modified=last_modified)
    except FetchError as exc:
        return _record_failure(svc, document_id, url, exc, time.perf_counter() - started)
    if result.status == 304:
        return _record_confirmation(svc, document_id, result, CheckOutcome.NOT_MODIFIED)
    if is_gone_status(result.status):
        return _record_gone(svc, document_id, result)
    if result.status >= 400:
        error = f"HTTP {result.status} from {result.final_url}"
        return _record_failure(svc, document_id, url, error, result.elapsed, result=result)
    return keep_capture(svc, await _record_page(svc, document_id, result), result)


def _document(session: Session, document_id: int) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise docs.NotFoundError(f"document {document_id} does not exist")
    return doc


def _check_fields(result: FetchResult, raw_sha256: str | None = None) -> dict[str, Any]:
    return {
        "at": result.fetched_at,
        "http_status": result.status,
        "bytes": len(result.body),
        "duration_ms": int(result.elapsed * 1000),
        "url": result.url,
        "final_url": result.final_url,
        "raw_sha256": raw_sha256,
        "request_headers": [list(h) for h in result.request_headers],
        "response_headers": [list(h) for h in result.headers],
        "http_version": result.http_version,
    }


def _record_failure(
    svc: Services,
    document_id: int,
    url: str,
    exc: FetchError | str,
    elapsed: float,
    *,
    result: FetchResult | None = None,
) -> CheckReport:
    outcome = CheckOutcome.ROBOTS_DENIED if isinstance(exc, RobotsDenied) else CheckOutcome.ERROR
    message = str(exc)
    now = svc.clock()
    with svc.session() as session:
        doc = _document(session, document_id)
        extra = (
            _check_fields(result) if result else {"at": now, "url": url, "duration_ms": int(elapsed * 1000)}
        )
        docs.add_check(session, document_id=document_id, outcome=outcome.value, error=message, **extra)
        schedule_next(session, doc, now=now, changed=False)
        session.commit()
    svc.metrics.error(outcome.value if outcome == CheckOutcome.ROBOTS_DENIED else type(exc).__name__)
    return CheckReport(
        url=url,
        outcome=outcome,
        document_id=document_id,
        error=message,
        http_status=result.status if result else None,
    )


def _record_confirmation(
    svc: Services, document_id: int, result: FetchResult, outcome: CheckOutcome, raw_sha256: str | None = None
) -> CheckReport:
    now = result.fetched_at
    with svc.session() as session:
        doc = _document(session, document_id)
        latest = docs.latest_version(session, document_id=document_id, channel=Channel.PAGE.value)
        _confirm(
            session,
            doc,
            latest,
            Channel.PAGE,
            outcome,
            now=now,
            result=result,
            check_extra=_check_fields(result, raw_sha256),
        )
        session.commit()
        seq = latest.seq if latest else None
    return CheckReport(
        url=result.url, outcome=outcome, document_id=document_id, seq=seq, http_status=result.status
    )


def _confirm(
    session: Session,
    doc: Document,
    latest: Version | None,
    channel: Channel,
    outcome: CheckOutcome,
    *,
    now: datetime,
    result: FetchResult | None,
    check_extra: dict[str, Any],
) -> None:
    """Nothing changed: the latest version is confirmed, the attempt is a Check, the next check set."""
    if latest is not None:
        latest.last_confirmed_at = now
        session.add(latest)
    _touch(doc, result, now)
    docs.add_check(
        session,
        document_id=doc.id,
        channel=channel.value,
        outcome=outcome.value,
        version_id=latest.id if latest else None,
        **check_extra,
    )
    _reschedule(session, doc, channel, now=now, changed=False)


def _note_seen(doc: Document, result: FetchResult, now: datetime) -> None:
    doc.last_seen = now
    doc.missing_count = 0
    doc.etag = result.etag or doc.etag
    doc.last_modified = result.last_modified or doc.last_modified
    if doc.status == "gone":
        doc.status = "active"


def _record_gone(svc: Services, document_id: int, result: FetchResult) -> CheckReport:
    now = result.fetched_at
    with svc.session() as session:
        doc = _document(session, document_id)
        doc.missing_count += 1
        doc.etag, doc.last_modified = None, None  # a page that comes back must be fetched in full
        history = docs.history(session, document_id=document_id, channel=Channel.PAGE.value)
        version = None
        if should_tombstone(history, doc.missing_count):
            version = _write_tombstone(session, doc, history[-1].seq + 1, now, result.status)
            doc.status = "gone"
            svc.metrics.version_created(VersionKind.TOMBSTONE.value, Channel.PAGE.value)
        docs.add_check(
            session,
            document_id=document_id,
            outcome=CheckOutcome.GONE.value,
            version_id=version.id if version else None,
            **_check_fields(result),
        )
        schedule_next(session, doc, now=now, changed=False)
        session.commit()
        missing = doc.missing_count
    return CheckReport(
        url=result.url,
        outcome=CheckOutcome.GONE,
        document_id=document_id,
        http_status=result.status,
        seq=version.seq if version else None,
        kind=version.kind if version else None,
        summary="deleted (tombstone written)" if version else f"HTTP {result.status} ({missing} in a row)",
    )


def _write_tombstone(
    session: Session,
    doc: Document,
    seq: int,
    now: datetime,
    status: int | None,
    channel: str = Channel.PAGE.value,
) -> Version:
    assert doc.id is not None
    previous = docs.latest_version(session, document_id=doc.id, channel=channel)
    return docs.add_version(
        session,
        document_id=doc.id,
        channel=channel,
        seq=seq,
        kind=VersionKind.TOMBSTONE.value,
        observed_at=now,
        last_confirmed_at=now,
        http_status=status,
        content_hash=TOMBSTONE_HASH,
        title=previous.title if previous else None,
        text="",
        change_summary={
            "summary": "deleted",
            "significance": 1.0,
            "deleted": True,
            "last_seq": previous.seq if previous else None,
        },
    )


async def _record_page(svc: Services, document_id: int, result: FetchResult) -> CheckReport:
    with svc.session() as session:
        doc = _document(session, document_id)
        latest = docs.latest_version(session, document_id=document_id, channel=Channel.PAGE.value)
        raw_sha = blobs.put_blob(session, data=result.body, now=result.fetched_at)
        session.commit()
        ignore, remove = _ignore_rules(session, doc)
    if _same_raw(latest, raw_sha):
        return _record_confirmation(svc, document_id, result, CheckOutcome.UNCHANGED, raw_sha)
    started = time.perf_counter()
    try:
        extracted = await svc.extractor.extract(result.text, result.final_url, remove)
    except ExtractionError as exc:
        return _record_failure(svc, document_id, result.url, str(exc), result.elapsed, result=result)
    svc.metrics.observe_extract(time.perf_counter() - started)
    content = normalize_content(extracted.content, ignore_patterns=ignore)
    return _store_content(
        svc,
        document_id,
        Channel.PAGE,
        content,
        now=result.fetched_at,
        result=result,
        raw_sha256=raw_sha,
        extractor=(EXTRACTOR_NAME, EXTRACTOR_VERSION),
    )


def _same_raw(latest: Version | None, raw_sha: str) -> bool:
    return (
        latest is not None
        and latest.raw_sha256 == raw_sha
        and latest.kind != VersionKind.TOMBSTONE.value
        and latest.extractor_version == EXTRACTOR_VERSION
    )


def _ignore_rules(session: Session, doc: Document) -> tuple[list[str], list[str]]:
    settings = doc.settings or {}
    ignore, remove = list(settings.get("ignore", [])), list(settings.get("remove", []))
    if doc.source_id:
        source = session.get(Source, doc.source_id)
        if source is not None:
            ignore += source.ignore_patterns
            remove += source.remove_selectors
    return ignore, remove


def _store_content(
    svc: Services,
    document_id: int,
    channel: Channel,
    content: Content,
    *,
    now: datetime,
    result: FetchResult | None = None,
    raw_sha256: str | None = None,
    extractor: tuple[str, str] | None = None,
    reextracted: bool = False,
) -> CheckReport:
    digest = content_hash(content)
    for attempt in range(2):
        try:
            return _write_content(
                svc,
                document_id,
                channel,
                content,
                digest,
                now=now,
                result=result,
                raw_sha256=raw_sha256,
                extractor=extractor,
                reextracted=reextracted,
            )
        except IntegrityError:
            if attempt:  # another worker wrote the same seq twice in a row: give up loudly
                raise
    raise AssertionError("unreachable")


def _write_content(
    svc: Services,
    document_id: int,
    channel: Channel,
    content: Content,
    digest: str,
    *,
    now: datetime,
    result: FetchResult | None,
    raw_sha256: str | None,
    extractor: tuple[str, str] | None,
    reextracted: bool,
) -> CheckReport:
    with svc.session() as session:
        doc = _document(session, document_id)
        history = docs.history(session, document_id=document_id, channel=channel.value)
        decision = decide(history, digest, reextracted=reextracted)
        latest = docs.latest_version(session, document_id=document_id, channel=channel.value)
        check_extra = _check_fields(result, raw_sha256) if result else {"at": now}
        if decision.action == Action.UNCHANGED:
            assert latest is not None
            _confirm(
                session,
                doc,
                latest,
                channel,
                CheckOutcome.UNCHANGED,
                now=now,
                result=result,
                check_extra=check_extra,
            )
            session.commit()
            return CheckReport(
                url=doc.url,
                outcome=CheckOutcome.UNCHANGED,
                document_id=document_id,
                channel=channel.value,
                seq=latest.seq,
                http_status=result.status if result else None,
            )
        previous = _comparable(session, latest)
        summary = change_summary(diff_contents(previous, content))
        if decision.action == Action.RESTORED:
            summary = {
                **summary,
                "summary": _restored_summary(summary, compared=previous is not None),
                "restored": True,
            }
        if decision.action == Action.REVERT:
            summary = {
                **summary,
                "summary": f"reverted to version {decision.revert_of}",
                "revert_of": decision.revert_of,
            }
        assert decision.seq is not None
        version = docs.add_version(
            session,
            document_id=document_id,
            channel=channel.value,
            seq=decision.seq,
            kind=decision.kind.value,
            revert_of=decision.revert_of,
            observed_at=now,
            last_confirmed_at=now,
            http_status=result.status if result else None,
            content_hash=digest,
            raw_sha256=raw_sha256,
            extractor=extractor[0] if extractor else None,
            extractor_version=extractor[1] if extractor else None,
            normalizer_version=NORMALIZER_VERSION,
            change_summary=summary,
            **docs.content_fields(content),
        )
        _touch(doc, result, now)
        if channel == Channel.PAGE and not reextracted:
            doc.last_changed_at = now
            doc.simhash = _signed(simhash(content.text)) if content.text else None
            if content.canonical_url:
                _alias_canonical(session, doc, content.canonical_url)
        docs.add_check(
            session,
            document_id=document_id,
            channel=channel.value,
            version_id=version.id,
            outcome=CheckOutcome.NEW_VERSION.value,
            **check_extra,
        )
        _reschedule(session, doc, channel, now=now, changed=not reextracted)
        session.commit()
    svc.metrics.version_created(decision.kind.value, channel.value)
    return CheckReport(
        url=doc.url,
        outcome=CheckOutcome.NEW_VERSION,
        document_id=document_id,
        channel=channel.value,
        seq=version.seq,
        kind=version.kind,
        revert_of=version.revert_of,
        http_status=result.status if result else None,
        summary=str(summary.get("summary", "")),
    )


def _restored_summary(summary: dict[str, Any], *, compared: bool) -> str:
    change = str(summary.get("summary", ""))
    if not compared or change in ("", "no change", "first version"):
        return "restored after deletion"
    return f"restored after deletion; {change}"


def _comparable(session: Session, latest: Version | None) -> Content | None:
    """What a new version is compared with: the latest one, or the one before a tombstone."""
    if latest is None:
        return None
    if latest.kind != VersionKind.TOMBSTONE.value:
        return docs.version_content(latest)
    before = (latest.change_summary or {}).get("last_seq")
    if not before:
        return None
    found = docs.get_version(session, document_id=latest.document_id, channel=latest.channel, seq=int(before))
    return docs.version_content(found)


def _reschedule(session: Session, doc: Document, channel: Channel, *, now: datetime, changed: bool) -> None:
    """Page and post checks follow the re-check policy; a feed entry never pushes the page's
    check later, and an edited feed entry makes the page due at once."""
    if channel != Channel.FEED:
        schedule_next(session, doc, now=now, changed=changed)
    elif changed and doc.status == "active" and (doc.next_check is None or doc.next_check > now):
        doc.next_check = now
        session.add(doc)


def _touch(doc: Document, result: FetchResult | None, now: datetime) -> None:
    if result is not None:
        _note_seen(doc, result, now)
    else:
        doc.last_seen = now


def _signed(value: int) -> int:
    """Store a 64-bit unsigned fingerprint in a signed BIGINT column."""
    return value - (1 << 64) if value >= (1 << 63) else value


def _alias_canonical(session: Session, doc: Document, canonical_url: str) -> None:
    try:
        url = canonicalize(canonical_url)
    except ValueError:
        return
    docs.add_alias(session, document=doc, url=url)


def record_observation(svc: Services, observation: Observation, *, document_id: int) -> CheckReport:
    """Version what a feed entry or a social post shows (feed / api channels)."""
    if observation.gone:
        return record_channel_gone(svc, document_id, observation.channel, now=svc.clock())
    content = normalize_content(observation.content)
    now = svc.clock()
    if observation.measurements:
        with svc.session() as session:
            docs.add_measurements(session, document_id=document_id, at=now, values=observation.measurements)
            session.commit()
    return _store_content(svc, document_id, observation.channel, content, now=now)


def record_channel_gone(svc: Services, document_id: int, channel: Channel, *, now: datetime) -> CheckReport:
    """A post missing from its source: confirmed on the second miss, then tombstoned."""
    with svc.session() as session:
        doc = _document(session, document_id)
        doc.missing_count += 1
        history = docs.history(session, document_id=document_id, channel=channel.value)
        version = None
        if should_tombstone(history, doc.missing_count):
            version = _write_tombstone(session, doc, history[-1].seq + 1, now, None, channel=channel.value)
            doc.status = "gone"
        docs.add_check(
            session,
            document_id=document_id,
            channel=channel.value,
            at=now,
            outcome=CheckOutcome.GONE.value,
            version_id=version.id if version else None,
        )
        session.commit()
    return CheckReport(
        url=doc.url,
        outcome=CheckOutcome.GONE,
        document_id=document_id,
        channel=channel.value,
        seq=version.seq if version else None,
        kind=version.kind if version else None,
    )


async def reextract_document(svc: Services, document_id: int) -> CheckReport | None:
    """Re-derive the page text from the latest stored raw body with the current extractor."""
    with svc.session() as session:
        latest = docs.latest_version(session, document_id=document_id, channel=Channel.PAGE.value)
        if latest is None or latest.raw_sha256 is None or latest.kind == VersionKind.TOMBSTONE.value:
            return None
        if latest.extractor_version == EXTRACTOR_VERSION:
            return None
        doc = _document(session, document_id)
        raw = blobs.get_blob(session, sha256=latest.raw_sha256)
        ignore, remove = _ignore_rules(session, doc)
        url, raw_sha = doc.url, latest.raw_sha256
    from scraper.core.charset import decode_html

    text, _ = decode_html(raw, None)
    extracted = await svc.extractor.extract(text, url, remove)
    content = normalize_content(extracted.content, ignore_patterns=ignore)
    return _store_content(
        svc,
        document_id,
        Channel.PAGE,
        content,
        now=svc.clock(),
        raw_sha256=raw_sha,
        extractor=(EXTRACTOR_NAME, EXTRACTOR_VERSION),
        reextracted=True,
    )
