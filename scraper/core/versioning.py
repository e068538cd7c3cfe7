"""The versioning rules of DESIGN.md as one pure function: :func:`plan`.

``plan(history, observation, now)`` takes what one check observed and the document's history on
that channel, and returns exactly one value saying what to record::

    observation                         -> plan
    Unchanged (HTTP 304, same raw body,
      a platform that shows the post)   -> Confirm
    Seen (extracted page / feed entry /
      social post, normalized)
        no text, or almost all text lost
        while the raw body did not shrink,
        or decoded to mojibake (page)   -> Suspect (a check with a warning, never a version)
        same content hash as the latest -> Confirm
        no history                      -> NewVersion seq 1 (no diff: nothing to compare with)
        re-extraction of a stored body  -> NewVersion kind reextracted
        latest is a tombstone           -> NewVersion (restored; compared with the version
                                           before the deletion)
        equal to an earlier version     -> NewVersion kind revert (revert_of = that seq)
        otherwise                       -> NewVersion with the diff's summary and significance
    Gone (404/410, a post not found)    -> Miss, or Tombstone on the 2nd miss in a row
    ExtractionFailed with no content    -> Suspect
    FetchFailed / ExtractionFailed      -> Failure

:func:`plan_events` turns a plan into the events a person would care about (docs/events.md).
Nothing here touches a database, the network or a clock: ``now`` is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from scraper.core.diff import DIFF_VERSION, change_summary, diff_contents
from scraper.core.fingerprint import content_hash
from scraper.core.types import Channel, CheckOutcome, Content, VersionKind

GONE_STATUSES = frozenset({404, 410})
TOMBSTONE_AFTER = 2  # consecutive 404/410 answers before a tombstone is written
TOMBSTONE_HASH = "tombstone"

# Fidelity (DESIGN.md): an extraction that keeps less than LOST_TEXT_RATIO of the previous
# version's text (of at least MIN_TEXT_FOR_LOSS characters) while the raw body kept at least
# RAW_KEPT_RATIO of its size lost the article, not the publisher.
LOST_TEXT_RATIO = 0.1
MIN_TEXT_FOR_LOSS = 200
RAW_KEPT_RATIO = 0.5
# Mojibake: replacement characters, or UTF-8 read as a single-byte code page ("Ã©", "Ð¿").
MAX_REPLACEMENT_RATIO = 0.005
MIN_REPLACEMENTS = 3
_MOJIBAKE = re.compile("[ÃÂÐÑ][\u0080-\u00bf\u2018-\u203a\u0152-\u0178\u02c6\u02dc\u0160-\u0161]")
MIN_MOJIBAKE = 5
MOJIBAKE_RATIO = 0.01


# --- history -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prior:
    """What the decision needs to know of one stored version."""

    seq: int
    content_hash: str
    kind: VersionKind


@dataclass(frozen=True, slots=True)
class History:
    """A document's versions on one channel (ordered by seq) and what a new one is compared with.

    ``compared`` is the content of the latest version that is not a tombstone (for a tombstone:
    the version before the deletion), ``compared_raw_size`` the size of its raw body (page
    channel), ``missing_count`` how many gone answers came in a row before this check.
    """

    versions: tuple[Prior, ...] = ()
    compared: Content | None = None
    compared_seq: int | None = None
    compared_raw_size: int | None = None
    missing_count: int = 0

    @property
    def latest(self) -> Prior | None:
        return self.versions[-1] if self.versions else None


# --- observations --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """Content observed: an extracted page (``raw_size`` set), a feed entry or a social post.

    ``content`` is normalized already (ignore rules applied); ``reextracted``: derived again
    from a stored raw body by a newer extractor (never a publisher's edit).
    """

    content: Content
    raw_size: int | None = None
    reextracted: bool = False
    decoded_with: str | None = None  # the charset the body was decoded with (page)


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Nothing to compare: HTTP 304, identical raw bytes, or a platform that says "still there"."""

    outcome: CheckOutcome = CheckOutcome.UNCHANGED


@dataclass(frozen=True, slots=True)
class Gone:
    """HTTP 404/410, or a post its platform no longer shows."""

    status: int | None = None


@dataclass(frozen=True, slots=True)
class FetchFailed:
    error: str
    outcome: CheckOutcome = CheckOutcome.ERROR  # or ROBOTS_DENIED
    not_before: datetime | None = None  # the server asked for quiet until then (Retry-After)


@dataclass(frozen=True, slots=True)
class ExtractionFailed:
    """The extractor gave up; ``no_content``: it found no article text in an HTML page (a
    suspect extraction, not a failure of the page)."""

    error: str
    no_content: bool = False


ObservationValue = Seen | Unchanged | Gone | FetchFailed | ExtractionFailed


# --- plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Confirm:
    """The latest version (``seq``, None when there is none) is still what is there."""

    outcome: CheckOutcome
    seq: int | None


@dataclass(frozen=True, slots=True)
class NewVersion:
    seq: int
    kind: VersionKind
    content: Content
    content_hash: str
    summary: dict[str, Any]  # the change summary stored on the version (diff + flags)
    text: str  # its one-line text
    significance: float
    revert_of: int | None = None
    restored: bool = False
    first: bool = False
    compared_seq: int | None = None  # the seq this version was compared with
    old_title: str | None = None


@dataclass(frozen=True, slots=True)
class Tombstone:
    seq: int
    last_seq: int  # the last version before the deletion
    missing_count: int
    status: int | None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Miss:
    """A gone answer that does not (yet, or again) make a tombstone."""

    missing_count: int
    status: int | None


@dataclass(frozen=True, slots=True)
class Failure:
    outcome: CheckOutcome
    error: str
    not_before: datetime | None = None  # the next check waits at least until then


@dataclass(frozen=True, slots=True)
class Suspect:
    """The extraction is not to be trusted: a check with ``warning``, never a version."""

    warning: str
    reason: str  # no_text, lost_text, mojibake
    seq: int | None  # the latest version, unchanged


Plan = Confirm | NewVersion | Tombstone | Miss | Failure | Suspect


def plan(history: History, observation: ObservationValue, now: datetime) -> Plan:
    """What to record for ``observation`` given ``history`` (module docstring). Pure."""
    del now  # every plan is independent of the time; it is the writer's to stamp
    latest = history.latest
    match observation:
        case Unchanged(outcome=outcome):
            return Confirm(outcome, latest.seq if latest else None)
        case FetchFailed(error=error, outcome=outcome, not_before=not_before):
            return Failure(outcome, error, not_before)
        case ExtractionFailed(error=error, no_content=True):
            return Suspect(f"extraction yielded no text ({error})", "no_text", latest.seq if latest else None)
        case ExtractionFailed(error=error):
            return Failure(CheckOutcome.ERROR, error)
        case Gone(status=status):
            return _gone(history, status)
        case Seen():
            return _seen(history, observation)
    raise TypeError(f"not an observation: {observation!r}")


def _gone(history: History, status: int | None) -> Tombstone | Miss:
    missing = history.missing_count + 1
    latest = history.latest
    if latest is None or not should_tombstone(history.versions, missing):
        return Miss(missing, status)
    summary = {"summary": "deleted", "significance": 1.0, "deleted": True, "last_seq": latest.seq}
    return Tombstone(latest.seq + 1, latest.seq, missing, status, summary)


def _seen(history: History, seen: Seen) -> Plan:
    latest = history.latest
    suspicion = fidelity(history, seen)
    if suspicion is not None:
        reason, warning = suspicion
        return Suspect(warning, reason, latest.seq if latest else None)
    digest = content_hash(seen.content, normalized=True)  # Seen.content is normalized once, at the edge
    decision = decide(history.versions, digest, reextracted=seen.reextracted)
    if decision.action == Action.UNCHANGED:
        assert latest is not None
        return Confirm(CheckOutcome.UNCHANGED, latest.seq)
    assert decision.seq is not None
    return _new_version(history, seen.content, digest, decision)


def _new_version(history: History, content: Content, digest: str, decision: Decision) -> NewVersion:
    assert decision.seq is not None
    first = not history.versions
    previous = history.compared
    if first:
        summary: dict[str, Any] = {
            "diff_version": DIFF_VERSION,
            "summary": "first version",
            "significance": 1.0,
        }
    else:
        summary = change_summary(diff_contents(previous, content))
    if decision.action == Action.RESTORED:
        text = _restored_summary(summary, compared=previous is not None)
        summary = {**summary, "summary": text, "restored": True}
    elif decision.action == Action.REVERT:
        summary = {
            **summary,
            "summary": f"reverted to version {decision.revert_of}",
            "revert_of": decision.revert_of,
        }
    return NewVersion(
        seq=decision.seq,
        kind=decision.kind,
        content=content,
        content_hash=digest,
        summary=summary,
        text=str(summary.get("summary", "")),
        significance=float(summary.get("significance") or 0.0),
        revert_of=decision.revert_of,
        restored=decision.action == Action.RESTORED,
        first=first,
        compared_seq=None if first else history.compared_seq,
        old_title=previous.title if previous is not None else None,
    )


def _restored_summary(summary: dict[str, Any], *, compared: bool) -> str:
    change = str(summary.get("summary", ""))
    if not compared or change in ("", "no change", "first version"):
        return "restored after deletion"
    return f"restored after deletion; {change}"


# --- fidelity ------------------------------------------------------------------------------------


def fidelity(history: History, seen: Seen) -> tuple[str, str] | None:
    """(reason, warning) when an extracted page is not to be trusted; None for feed entries and
    posts (``raw_size`` unset), whose text is what the source says."""
    if seen.raw_size is None:
        return None
    text = seen.content.text
    if not text.strip():
        return "no_text", f"extraction yielded no text from a {seen.raw_size}-byte page"
    garbled = garbled_text(text)
    if garbled is not None:
        return "mojibake", garbled
    previous = history.compared
    if previous is None or len(previous.text) < MIN_TEXT_FOR_LOSS:
        return None
    kept, had = len(text), len(previous.text)
    raw_before = history.compared_raw_size
    shrank = raw_before is not None and seen.raw_size < RAW_KEPT_RATIO * raw_before
    if kept < LOST_TEXT_RATIO * had and not shrank:
        return "lost_text", (
            f"extraction kept {kept} of {had} characters while the page did not shrink "
            f"({seen.raw_size} bytes, was {raw_before})"
        )
    return None


def garbled_text(text: str) -> str | None:
    """A warning when ``text`` was decoded with the wrong charset (replacement characters, or
    UTF-8 read as a single-byte code page); else None."""
    size = max(len(text), 1)
    replaced = text.count("\ufffd")
    if replaced >= MIN_REPLACEMENTS and replaced / size >= MAX_REPLACEMENT_RATIO:
        return f"text decoded with {replaced} replacement characters (wrong charset?)"
    pairs = len(_MOJIBAKE.findall(text))
    if pairs >= MIN_MOJIBAKE and pairs / size >= MOJIBAKE_RATIO:
        return f"text looks like UTF-8 read as a single-byte charset ({pairs} mojibake pairs)"
    return None


# --- events --------------------------------------------------------------------------------------


class EventKind(StrEnum):
    """The kinds of the event table (docs/events.md)."""

    NEW_COVERAGE = "new_coverage"
    FIRST_VERSION = "first_version"
    CHANGE = "change"
    HEADLINE = "headline"
    MOVED = "moved"
    DELETED = "deleted"
    RESTORED = "restored"
    REVERTED = "reverted"
    SUSPECT = "suspect"
    REEXTRACTED = "reextracted"


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before it has an id, a time and a document (storage adds those)."""

    kind: EventKind
    summary: str
    significance: float | None = None
    seq: int | None = None
    prev_seq: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def plan_events(planned: Plan, channel: Channel) -> list[EventDraft]:
    """The events a plan reports (none for confirmations, misses and failures)."""
    where = "" if channel == Channel.PAGE else f" ({channel.value})"
    match planned:
        case NewVersion():
            return _version_events(planned, where)
        case Tombstone(seq=seq, last_seq=last_seq, status=status):
            return [
                EventDraft(EventKind.DELETED, f"deleted{where}", 1.0, seq, last_seq, {"http_status": status})
            ]
        case Suspect(warning=warning, reason=reason, seq=seq):
            return [
                EventDraft(
                    EventKind.SUSPECT, f"extraction suspect: {warning}", None, None, seq, {"reason": reason}
                )
            ]
    return []


def _version_events(new: NewVersion, where: str) -> list[EventDraft]:
    prev = new.compared_seq
    base: dict[str, Any] = {"kind": new.kind.value}
    if new.first:
        title = new.content.title
        return [
            EventDraft(
                EventKind.FIRST_VERSION, f"first version{where}", 1.0, new.seq, None, {**base, "title": title}
            )
        ]
    if new.kind == VersionKind.REEXTRACTED:
        draft = EventDraft(EventKind.REEXTRACTED, f"re-extracted{where}", 0.0, new.seq, prev, base)
        return [draft]
    if new.restored:
        kind = EventKind.RESTORED
    elif new.kind == VersionKind.REVERT:
        kind, base = EventKind.REVERTED, {**base, "revert_of": new.revert_of}
    else:
        kind = EventKind.CHANGE
    events = [EventDraft(kind, new.text + where, new.significance, new.seq, prev, base)]
    title = new.content.title
    if new.old_title is not None and title is not None and title != new.old_title:
        data = {"old_title": new.old_title, "new_title": title}
        events.append(
            EventDraft(EventKind.HEADLINE, f"headline: {title}{where}", new.significance, new.seq, prev, data)
        )
    return events


# --- the rule on hashes (kept for callers and tests) --------------------------------------------


class Action(StrEnum):
    UNCHANGED = "unchanged"
    NEW = "new"
    REVERT = "revert"
    RESTORED = "restored"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    seq: int | None = None  # the seq of the version to write (None when unchanged)
    kind: VersionKind = VersionKind.NORMAL
    revert_of: int | None = None  # earlier seq returned to (revert) or seq before the tombstone


def decide(history: Sequence[Prior], content_hash: str, *, reextracted: bool = False) -> Decision:
    """Classify a new observation against the channel's history (ordered by seq)."""
    if not history:
        return Decision(Action.NEW, seq=1)
    latest = history[-1]
    next_seq = latest.seq + 1
    if latest.content_hash == content_hash:
        return Decision(Action.UNCHANGED)
    if reextracted:
        return Decision(Action.NEW, seq=next_seq, kind=VersionKind.REEXTRACTED)
    if latest.kind == VersionKind.TOMBSTONE:
        return Decision(Action.RESTORED, seq=next_seq, revert_of=_last_with(history[:-1], content_hash))
    earlier = _last_with(history[:-1], content_hash)
    if earlier is not None:
        return Decision(Action.REVERT, seq=next_seq, kind=VersionKind.REVERT, revert_of=earlier)
    return Decision(Action.NEW, seq=next_seq)


def _last_with(history: Sequence[Prior], content_hash: str) -> int | None:
    for prior in reversed(history):
        if prior.content_hash == content_hash and prior.kind != VersionKind.TOMBSTONE:
            return prior.seq
    return None


def should_tombstone(history: Sequence[Prior], missing_count: int) -> bool:
    """True when a document confirmed gone ``missing_count`` times needs a tombstone now."""
    if missing_count < TOMBSTONE_AFTER or not history:
        return False
    return history[-1].kind != VersionKind.TOMBSTONE


def is_gone_status(status: int) -> bool:
    return status in GONE_STATUSES
