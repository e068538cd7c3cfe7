"""The only writer of Version, Check, Event and ``last_confirmed_at``: :func:`apply`.

A check is recorded in one transaction (the caller commits)::

    state(session, document_id, channel)      -> ChannelState: the history plan() needs, read once
    scraper.core.versioning.plan(...)         -> Confirm | NewVersion | Tombstone | Miss | Failure | Suspect
    apply(session, document_id, channel, plan, check=..., capture=..., now=...)
        the raw body (blob), the version (new versions, tombstones), the check row,
        last_confirmed_at (confirmations), document fields (last seen, validators, missing count,
        status, simhash, canonical alias), the next check (scraper.core.recheck through
        storage.schedule, which releases the lease), the event rows (docs/events.md), and a
        Wayback Machine submission for a new page version that opted in (storage.wayback)

Page, feed and api channels and ``reextract`` all come through here (jobs/capture.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from scraper.core.fingerprint import simhash
from scraper.core.normalize import NORMALIZER_VERSION
from scraper.core.types import Channel, CheckOutcome, Content, VersionKind
from scraper.core.urls import canonicalize
from scraper.core.versioning import (
    TOMBSTONE_HASH,
    Confirm,
    Failure,
    History,
    Miss,
    NewVersion,
    Plan,
    Prior,
    Suspect,
    Tombstone,
    plan_events,
)
from scraper.core.wayback import opted_in
from storage import blobs, deferred, events, wayback
from storage import documents as docs
from storage.documents import DocumentRow
from storage.models import Blob, Check, Document, Version
from storage.schedule import schedule_next


class Reschedule(StrEnum):
    """How a check moves the document's next check."""

    POLICY = "policy"  # page and post checks: the re-check policy (and the lease is released)
    FEED = "feed"  # a feed entry never pushes the page's check later; an edit makes it due now
    KEEP = "keep"  # leave the schedule as it is


@dataclass(frozen=True, slots=True)
class ChannelState:
    """What one read of the database knows about a document's channel before a check."""

    document_id: int
    url: str
    kind: str
    etag: str | None
    last_modified: str | None
    history: History
    latest_raw_sha256: str | None = None
    latest_extractor_version: str | None = None
    latest_id: int | None = None  # the row id of history.latest
    latest_meta: dict[str, Any] = field(default_factory=dict)
    latest_modified: datetime | None = None
    ignore: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    settings: Settings | None = None  # with_rules: the source's and stories' settings, read once
    has_content: bool = True  # False: history.compared was not read (state(with_content=False))


@dataclass(frozen=True, slots=True)
class Settings:
    """Where a check's settings come from, read once per check: the document's own, its source's
    (params, address and name: the request options) and its stories'; the re-check overrides of
    storage.schedule are ``overrides``."""

    document: dict[str, Any]
    source_params: dict[str, Any]
    source_url: str
    source_name: str
    stories: tuple[dict[str, Any], ...]

    @property
    def overrides(self) -> list[dict[str, Any]]:
        found = [self.document]
        if self.source_url:
            found.append(self.source_params)
        return [*found, *self.stories]


@dataclass(frozen=True, slots=True)
class Capture:
    """What a check carries beyond the plan: the raw body and how it was read."""

    raw: bytes | None = None
    packed: bytes | None = None  # ``scraper.core.packing.pack(raw)`` when a worker did it already
    raw_sha256: str | None = None
    http_status: int | None = None
    extractor: str | None = None
    extractor_version: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched: bool = False  # an HTTP answer came (validators are updated, a gone page is back)


@dataclass(frozen=True, slots=True)
class Applied:
    """What :func:`apply` wrote, for reports and metrics."""

    url: str
    outcome: CheckOutcome
    seq: int | None = None
    kind: str | None = None
    revert_of: int | None = None
    version_id: int | None = None
    summary: str = ""
    missing_count: int = 0
    warning: str | None = None
    event_ids: tuple[int, ...] = ()


# --- reading -------------------------------------------------------------------------------------


def state(
    session: Session,
    *,
    document_id: int,
    channel: str,
    with_rules: bool = False,
    with_content: bool = True,
) -> ChannelState:
    """The document's channel as :func:`scraper.core.versioning.plan` needs it.

    ``with_content=False`` (a page check before its fetch): the compared version's content is not
    read (``history.compared`` is None, ``has_content`` False); only a changed body needs it, and
    the writer reads it then (:func:`jobs.capture.record`)."""
    found = states(session, document_ids=[document_id], channel=channel, with_rules=with_rules)
    light = found.get(document_id)
    if light is None:
        raise missing(document_id)
    if not with_content:
        return light
    return _with_content(session, light, channel)


def states(
    session: Session, *, document_ids: Sequence[int], channel: str, with_rules: bool = False
) -> dict[int, ChannelState]:
    """:func:`state` (``with_content=False``) of many documents in a few queries (a batch of claimed
    checks): one read of the documents, one of their versions on ``channel``, and with ``with_rules``
    one of their sources and one of their stories. A missing document is absent from the answer."""
    ids = sorted(set(document_ids))
    deferred.sync(session, ids)  # a second check of a document in one batch reads the first's writes
    doc_query, version_query = _state_queries()
    doc_rows = session.execute(doc_query, {"ids": ids}).all()
    if not doc_rows:
        return {}
    priors: dict[int, list[Prior]] = {row.id: [] for row in doc_rows}
    latest: dict[int, tuple[str | None, str | None, int | None]] = {}
    version_rows = session.execute(version_query, {"ids": ids, "channel": channel}).all()
    for doc_id, seq, content_hash, kind, sha, extractor, version_id in version_rows:
        priors[doc_id].append(Prior(seq=seq, content_hash=content_hash, kind=VersionKind(kind)))
        latest[doc_id] = (sha, extractor, version_id)
    rules = _rules(session, doc_rows) if with_rules else {}
    out: dict[int, ChannelState] = {}
    for row in doc_rows:
        settings, ignore, remove = rules.get(row.id, (None, (), ()))
        sha, extractor, latest_id = latest.get(row.id, (None, None, None))
        out[row.id] = ChannelState(
            document_id=row.id,
            url=row.url,
            kind=row.kind,
            etag=row.etag,
            last_modified=row.last_modified,
            history=History(versions=tuple(priors[row.id]), missing_count=row.missing_count),
            latest_raw_sha256=sha,
            latest_extractor_version=extractor,
            latest_id=latest_id,
            ignore=ignore,
            remove=remove,
            settings=settings,
            has_content=False,
        )
    return out


@functools.cache
def _state_queries() -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The reads of :func:`states`, built once (building them cost more than running them)."""
    d = Document.__table__  # type: ignore[attr-defined]
    v = Version.__table__  # type: ignore[attr-defined]
    ids: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
    documents = sa.select(
        d.c.id,
        d.c.url,
        d.c.kind,
        d.c.etag,
        d.c.last_modified,
        d.c.missing_count,
        d.c.settings,
        d.c.source_id,
    ).where(d.c.id.in_(ids))
    history = (
        sa.select(v.c.document_id, v.c.seq, v.c.content_hash, v.c.kind)
        .add_columns(v.c.raw_sha256, v.c.extractor_version, v.c.id)
        .where(v.c.document_id.in_(ids) & (v.c.channel == sa.bindparam("channel")))
        .order_by(v.c.document_id, v.c.seq)
    )
    return documents, history


@functools.cache
def _rules_queries() -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The reads of :func:`_rules`, built once."""
    from storage.models import Source, Story, StoryDocument

    src = Source.__table__  # type: ignore[attr-defined]
    story = Story.__table__  # type: ignore[attr-defined]
    link = StoryDocument.__table__  # type: ignore[attr-defined]
    sources = (
        sa.select(src.c.id, src.c.url, src.c.name, src.c.params)
        .add_columns(src.c.ignore_patterns, src.c.remove_selectors)
        .where(src.c.id.in_(sa.bindparam("ids", expanding=True)))
    )
    stories = (
        sa.select(link.c.document_id, story.c.settings)
        .join(link, link.c.story_id == story.c.id)
        .where(link.c.document_id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(link.c.document_id, link.c.story_id)
    )
    return sources, stories


def _with_content(session: Session, light: ChannelState, channel: str) -> ChannelState:
    """``light`` with the compared version's content (and the latest version's fields) read."""
    document_id, priors = light.document_id, light.history.versions
    compared_seq: int | None = None
    latest = _row(session, document_id, channel, priors[-1].seq) if priors else None
    if latest is not None:
        tombstone = latest.kind == VersionKind.TOMBSTONE.value
        compared_seq = (latest.change_summary or {}).get("last_seq") if tombstone else latest.seq
    compared = latest if latest is not None and compared_seq == latest.seq else None
    if compared is None and compared_seq:
        compared = _row(session, document_id, channel, int(compared_seq))
    raw_size = (
        _raw_size(session, compared.raw_sha256) if compared is not None and compared.raw_sha256 else None
    )
    history = History(
        versions=priors,
        compared=docs.version_content(compared) if compared is not None else None,
        compared_seq=compared.seq if compared is not None else None,
        compared_raw_size=raw_size,
        missing_count=light.history.missing_count,
    )
    return replace(
        light,
        history=history,
        latest_raw_sha256=latest.raw_sha256 if latest is not None else None,
        latest_extractor_version=latest.extractor_version if latest is not None else None,
        latest_meta=dict(latest.meta or {}) if latest is not None else {},
        latest_modified=latest.modified if latest is not None else None,
        has_content=True,
    )


def history(session: Session, *, document_id: int, channel: str) -> History:
    """The channel's history as plan() takes it."""
    return state(session, document_id=document_id, channel=channel).history


def latest(session: Session, *, document_id: int, channel: str) -> Version | None:
    return docs.latest_version(session, document_id=document_id, channel=channel)


def get(session: Session, *, document_id: int, channel: str, seq: int) -> Version:
    """One version; :class:`storage.documents.NotFoundError` when there is no such seq."""
    return docs.get_version(session, document_id=document_id, channel=channel, seq=seq)


def at(session: Session, *, document_id: int, channel: str, when: datetime) -> Version | None:
    """The version a reader saw at ``when``."""
    return docs.version_at(session, document_id=document_id, channel=channel, at=when)


def _row(session: Session, document_id: int, channel: str, seq: int) -> Version | None:
    return session.exec(
        select(Version).where(
            Version.document_id == document_id, Version.channel == channel, Version.seq == seq
        )
    ).first()


def _raw_size(session: Session, sha256: str) -> int | None:
    return session.exec(select(Blob.size).where(Blob.sha256 == sha256)).first()


def _rules(
    session: Session, doc_rows: Sequence[Any]
) -> dict[int, tuple[Settings, tuple[str, ...], tuple[str, ...]]]:
    """Per document: the check's settings (its own, its source's, its stories'), and the ignore
    rules (regexes) and remove selectors of the document and its source; one read of the sources
    and one of the stories for every document of ``doc_rows``."""
    source_query, story_query = _rules_queries()
    source_ids = sorted({row.source_id for row in doc_rows if row.source_id})
    sources = {s.id: s for s in session.execute(source_query, {"ids": source_ids})} if source_ids else {}
    stories: dict[int, list[dict[str, Any]]] = {row.id: [] for row in doc_rows}
    linked = session.execute(story_query, {"ids": list(stories)})
    for doc_id, story_settings in linked:
        stories[doc_id].append(dict(story_settings or {}))
    out: dict[int, tuple[Settings, tuple[str, ...], tuple[str, ...]]] = {}
    for row in doc_rows:
        own = dict(row.settings or {})
        ignore, remove = list(own.get("ignore", [])), list(own.get("remove", []))
        params: dict[str, Any] = {}
        source_url = source_name = ""
        source = sources.get(row.source_id) if row.source_id else None
        if source is not None:
            ignore += source.ignore_patterns or []
            remove += source.remove_selectors or []
            params, source_url, source_name = dict(source.params or {}), source.url, source.name
        settings = Settings(own, params, source_url, source_name, tuple(stories[row.id]))
        out[row.id] = (settings, tuple(ignore), tuple(remove))
    return out


def missing(document_id: int) -> docs.NotFoundError:
    return docs.NotFoundError(f"document {document_id} does not exist")


def preload(session: Session, *, document_ids: Sequence[int]) -> None:
    """Read the documents of a batch of checks in one query (each :func:`apply` in ``session``
    then finds its document without a query of its own)."""
    docs.read_rows(session, document_ids=document_ids)


def together(session: Session) -> AbstractContextManager[None]:
    """A block in which many checks are applied in ``session``'s transaction: their check rows,
    confirmations and document updates are sent together when it ends (storage.deferred)."""
    return deferred.deferred(session)


def _document(session: Session, document_id: int) -> DocumentRow:
    doc = docs.load_row(session, document_id=document_id)
    if doc is None:
        raise missing(document_id)
    return doc


# --- writing -------------------------------------------------------------------------------------


def apply(
    session: Session,
    *,
    document_id: int,
    channel: Channel,
    plan: Plan,
    check: dict[str, Any],
    now: datetime,
    capture: Capture | None = None,
    reschedule: Reschedule = Reschedule.POLICY,
    settings: Settings | None = None,
    latest: tuple[int, int] | None = None,
) -> Applied:
    """Record ``plan`` (module docstring) in ``session``'s transaction; the caller commits.

    ``settings``: the check's settings as :func:`state` read them (the re-check overrides are not
    queried again); ``latest``: (seq, row id) of the latest version as it read them (a
    confirmation of that seq then needs no read: its write can wait for the batch's end,
    storage.deferred)."""
    capture = capture or Capture()
    doc = _document(session, document_id)  # a plain row: Core statements, no ORM object
    raw_sha = capture.raw_sha256
    if capture.raw is not None:
        raw_sha = blobs.put_blob(session, data=capture.raw, now=now, sha256=raw_sha, packed=capture.packed)
    check = {"at": now, **check, "raw_sha256": raw_sha} if raw_sha else {"at": now, **check}
    applied = _apply(session, doc, channel, plan, check, now, capture, latest)
    changed = isinstance(plan, NewVersion) and plan.kind != VersionKind.REEXTRACTED
    overrides = settings.overrides if settings is not None else None
    if changed and channel == Channel.PAGE and applied.version_id is not None:
        _preserve(session, doc, applied.version_id, settings, now)
    _reschedule(session, doc, reschedule, now=now, changed=changed, overrides=overrides)
    if isinstance(plan, Failure) and plan.not_before and (doc.next_check or now) < plan.not_before:
        doc.next_check = plan.not_before  # the host asked for quiet until then
    drafts = plan_events(plan, channel)
    written = [
        events.add(
            session,
            draft=d,
            at=now,
            document_id=document_id,
            channel=channel.value,
            version_id=applied.version_id,
        )
        for d in drafts
    ]
    docs.save_row(session, doc)
    if not written:
        return applied
    return Applied(**{**_fields(applied), "event_ids": tuple(e.id for e in written if e.id is not None)})


def _preserve(
    session: Session, doc: DocumentRow, version_id: int, settings: Settings | None, now: datetime
) -> None:
    """A new page version of a document whose source or story opted in goes to the Wayback queue."""
    if settings is None:
        settings = _rules(session, [doc])[doc.id][0]
    if opted_in([settings.source_params, *settings.stories]):
        wayback.enqueue(session, version_id=version_id, url=doc.url, now=now)


def _fields(applied: Applied) -> dict[str, Any]:
    return {name: getattr(applied, name) for name in Applied.__slots__}


def _apply(
    session: Session,
    doc: DocumentRow,
    channel: Channel,
    plan: Plan,
    check: dict[str, Any],
    now: datetime,
    capture: Capture,
    latest: tuple[int, int] | None = None,
) -> Applied:
    assert doc.id is not None
    match plan:
        case Confirm():
            return _confirm(session, doc, channel, plan, check, now, capture, latest)
        case NewVersion():
            return _new_version(session, doc, channel, plan, check, now, capture)
        case Tombstone():
            return _tombstone(session, doc, channel, plan, check, now, capture)
        case Miss():
            return _miss(session, doc, channel, plan, check, capture)
        case Failure():
            _add_check(session, doc, channel, check, plan.outcome, error=plan.error)
            return Applied(doc.url, plan.outcome)
        case Suspect():
            latest_id = _latest_id(session, doc.id, channel)
            outcome = CheckOutcome.SUSPECT
            _checked(session, doc, channel, check, outcome, now, capture, latest_id, plan.warning)
            return Applied(doc.url, CheckOutcome.SUSPECT, seq=plan.seq, warning=plan.warning)
    raise TypeError(f"not a plan: {plan!r}")


def _checked(
    session: Session,
    doc: DocumentRow,
    channel: Channel,
    check: dict[str, Any],
    outcome: CheckOutcome,
    now: datetime,
    capture: Capture,
    version_id: int | None,
    error: str | None = None,
    *,
    seen: bool = True,
) -> None:
    """The prologue every recorded observation shares: the document seen (or not), the check row."""
    if seen:
        _seen(doc, capture, now)
    _add_check(session, doc, channel, check, outcome, error=error, version_id=version_id)


def _confirm(
    session: Session,
    doc: DocumentRow,
    channel: Channel,
    plan: Confirm,
    check: dict[str, Any],
    now: datetime,
    capture: Capture,
    latest: tuple[int, int] | None = None,
) -> Applied:
    """Core statements, no ORM object: the hot path of an unchanged re-check."""
    assert doc.id is not None
    version_id = None
    if plan.seq is not None and latest is not None and latest[0] == plan.seq:
        version_id = latest[1]
        deferred.write(session, "confirm", _confirmation, {"p_id": version_id, "p_at": now})
    elif plan.seq is not None:
        table = Version.__table__  # type: ignore[attr-defined]
        of_doc = (table.c.document_id == doc.id) & (table.c.channel == channel.value)
        where = of_doc & (table.c.seq == plan.seq)
        confirmed = sa.update(table).where(where).values(last_confirmed_at=now).returning(table.c.id)
        version_id = session.execute(confirmed).scalar()
    _checked(session, doc, channel, check, plan.outcome, now, capture, version_id)
    return Applied(doc.url, plan.outcome, seq=plan.seq if version_id is not None else None)


def _confirmation() -> Any:
    table = Version.__table__  # type: ignore[attr-defined]
    where = table.c.id == sa.bindparam("p_id")
    return sa.update(table).where(where).values(last_confirmed_at=sa.bindparam("p_at"))


def _new_version(
    session: Session,
    doc: DocumentRow,
    channel: Channel,
    plan: NewVersion,
    check: dict[str, Any],
    now: datetime,
    capture: Capture,
) -> Applied:
    assert doc.id is not None
    version = docs.add_version(
        session,
        document_id=doc.id,
        channel=channel.value,
        seq=plan.seq,
        kind=plan.kind.value,
        revert_of=plan.revert_of,
        observed_at=now,
        last_confirmed_at=now,
        http_status=capture.http_status,
        content_hash=plan.content_hash,
        raw_sha256=check.get("raw_sha256"),
        extractor=capture.extractor,
        extractor_version=capture.extractor_version,
        normalizer_version=NORMALIZER_VERSION,
        change_summary=plan.summary,
        **docs.content_fields(plan.content),
    )
    if channel == Channel.PAGE and plan.kind != VersionKind.REEXTRACTED:
        doc.last_changed_at = now
        doc.simhash = _signed(simhash(plan.content.text)) if plan.content.text else None
        _alias_canonical(session, doc, plan.content)
    _checked(session, doc, channel, check, CheckOutcome.NEW_VERSION, now, capture, version.id)
    return Applied(
        doc.url,
        CheckOutcome.NEW_VERSION,
        seq=version.seq,
        kind=version.kind,
        revert_of=version.revert_of,
        version_id=version.id,
        summary=plan.text,
    )


def _tombstone(
    session: Session,
    doc: DocumentRow,
    channel: Channel,
    plan: Tombstone,
    check: dict[str, Any],
    now: datetime,
    capture: Capture,
) -> Applied:
    assert doc.id is not None
    previous = _latest(session, doc.id, channel)
    version = docs.add_version(
        session,
        document_id=doc.id,
        channel=channel.value,
        seq=plan.seq,
        kind=VersionKind.TOMBSTONE.value,
        observed_at=now,
        last_confirmed_at=now,
        http_status=plan.status,
        content_hash=TOMBSTONE_HASH,
        title=previous.title if previous else None,
        text="",
        change_summary=plan.summary,
    )
    _gone(doc, channel, plan.missing_count, capture)
    doc.status = "gone"
    _checked(session, doc, channel, check, CheckOutcome.GONE, now, capture, version.id, seen=False)
    summary = "deleted (tombstone written)"
    return Applied(
        doc.url,
        CheckOutcome.GONE,
        seq=version.seq,
        kind=version.kind,
        version_id=version.id,
        summary=summary,
        missing_count=plan.missing_count,
    )


def _miss(
    session: Session, doc: DocumentRow, channel: Channel, plan: Miss, check: dict[str, Any], capture: Capture
) -> Applied:
    _gone(doc, channel, plan.missing_count, capture)
    _add_check(session, doc, channel, check, CheckOutcome.GONE)
    return Applied(doc.url, CheckOutcome.GONE, missing_count=plan.missing_count)


def _gone(doc: DocumentRow, channel: Channel, missing_count: int, capture: Capture) -> None:
    doc.missing_count = missing_count
    if channel == Channel.PAGE and capture.fetched:  # a page that comes back must be fetched in full
        doc.etag, doc.last_modified = None, None


def _seen(doc: DocumentRow, capture: Capture, now: datetime) -> None:
    doc.last_seen = now
    if not capture.fetched:
        return
    doc.missing_count = 0
    doc.etag = capture.etag or doc.etag
    doc.last_modified = capture.last_modified or doc.last_modified
    if doc.status == "gone":
        doc.status = "active"


def _latest(session: Session, document_id: int, channel: Channel) -> Version | None:
    return docs.latest_version(session, document_id=document_id, channel=channel.value)


def _latest_id(session: Session, document_id: int, channel: Channel) -> int | None:
    table = Version.__table__  # type: ignore[attr-defined]
    where = (table.c.document_id == document_id) & (table.c.channel == channel.value)
    return session.execute(sa.select(table.c.id).where(where).order_by(table.c.seq.desc()).limit(1)).scalar()


_CHECK_DEFAULTS: dict[str, Any] = {"request_headers": [], "response_headers": []}


def _add_check(
    session: Session,
    doc: DocumentRow,
    channel: Channel,
    check: dict[str, Any],
    outcome: CheckOutcome,
    *,
    error: str | None = None,
    version_id: int | None = None,
) -> None:
    """One check row, a Core insert (no ORM object: nothing reads it back in this transaction)."""
    row = {
        **_CHECK_DEFAULTS,
        **check,
        "document_id": doc.id,
        "channel": channel.value,
        "outcome": outcome.value,
        "error": error,
        "version_id": version_id,
    }
    deferred.write(session, ("check", *sorted(row)), _check_insert, row)


def _check_insert() -> Any:
    return sa.insert(Check.__table__)  # type: ignore[attr-defined]


def _reschedule(
    session: Session,
    doc: DocumentRow,
    how: Reschedule,
    *,
    now: datetime,
    changed: bool,
    overrides: list[dict[str, Any]] | None,
) -> None:
    if how == Reschedule.POLICY:
        schedule_next(session, doc, now=now, changed=changed, overrides=overrides)
    elif how == Reschedule.FEED and changed and doc.status == "active" and _later(doc.next_check, now):
        doc.next_check = now


def _later(when: datetime | None, now: datetime) -> bool:
    return when is None or when > now


def _signed(value: int) -> int:
    """Store a 64-bit unsigned fingerprint in a signed BIGINT column."""
    return value - (1 << 64) if value >= (1 << 63) else value


def _alias_canonical(session: Session, doc: DocumentRow, content: Content) -> None:
    if not content.canonical_url:
        return
    try:
        url = canonicalize(content.canonical_url)
    except ValueError:
        return
    docs.add_alias(session, document=doc, url=url)
