"""Notifications, the pure part: which events a target wants, the message a person reads, the
webhook body and its signature, when to try again, quiet hours and digests.

Nothing here sends anything (jobs.notify does) or reads a table (storage.notify does).

Webhook signature: ``HMAC-SHA256(secret, f"{timestamp}." + body)`` as lowercase hex, sent as
``X-Storytrail-Signature: sha256=<hex>`` with ``X-Storytrail-Timestamp: <unix seconds>``; a
receiver recomputes it over the raw body and drops requests whose timestamp is too old.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

EVENT_KINDS = (
    "new_coverage",
    "first_version",
    "change",
    "headline",
    "moved",
    "deleted",
    "restored",
    "reverted",
    "suspect",
    "reextracted",
)
# What a target gets when it names no kinds: what a person following a story cares about.
DEFAULT_EVENTS = ("new_coverage", "change", "headline", "deleted", "restored", "reverted", "moved")
SIGNATURE_HEADER = "X-Storytrail-Signature"
EVENT_HEADER = "X-Storytrail-Event"
TIMESTAMP_HEADER = "X-Storytrail-Timestamp"
DELIVERY_HEADER = "X-Storytrail-Delivery"
MAX_ATTEMPTS = 12
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_DURATION_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class TargetError(ValueError):
    """A notification target or option that cannot be used; the message says why."""


# --------------------------------------------------------------------------- targets


def target_kind(target: str) -> str:
    """``webhook`` for an http(s) URL, ``apprise`` for any other ``scheme://`` URL."""
    parts = urlsplit(target.strip())
    if not parts.scheme or "://" not in target:
        raise TargetError(
            f"{target!r} is not a URL (an http(s) webhook or an Apprise URL such as ntfy://topic)"
        )
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise TargetError(f"{target!r} has no host")
        return "webhook"
    return "apprise"


def check_events(kinds: Sequence[str]) -> list[str]:
    """The event kinds, validated; an empty list means the default set."""
    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if unknown:
        raise TargetError(f"unknown event kind {unknown[0]!r} (one of: {', '.join(EVENT_KINDS)})")
    return list(dict.fromkeys(kinds))


def parse_quiet_hours(spec: str) -> tuple[int, int]:
    """``"22:00-07:00"`` (UTC) -> (start, end) in minutes after midnight."""
    found = _QUIET.match(spec.strip())
    if not found:
        raise TargetError(f"quiet hours {spec!r} must look like 22:00-07:00 (UTC)")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if (h1, m1) == (h2, m2):
        raise TargetError(f"quiet hours {spec!r} start and end at the same time")
    return h1 * 60 + m1, h2 * 60 + m2


def parse_interval(spec: str) -> timedelta:
    """``"1h"``, ``"30m"``, ``"1d"`` -> a timedelta of at least a minute."""
    text = spec.strip().replace(" ", "")
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise TargetError(f"digest interval {spec!r} is not a duration (e.g. 30m, 1h, 1d)")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds < 60:
        raise TargetError(f"digest interval {spec!r} must be at least 1m")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Filter:
    """What a target wants: event kinds (empty: DEFAULT_EVENTS) and a minimum significance."""

    events: tuple[str, ...] = ()
    min_significance: float | None = None

    def wants(self, kind: str, significance: float | None) -> bool:
        """Kinds must match; the minimum applies to events that carry a significance."""
        if kind not in (self.events or DEFAULT_EVENTS):
            return False
        return self.min_significance is None or significance is None or significance >= self.min_significance


# --------------------------------------------------------------------------- timing


def backoff(attempts: int, *, base: timedelta = BACKOFF_BASE, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """The wait after failed attempt number ``attempts`` (1-based): base * 2^(n-1), capped."""
    wait: timedelta = base * (2 ** max(attempts - 1, 0))
    return min(wait, cap)


def quiet_until(now: datetime, spec: str | None) -> datetime | None:
    """The end of the quiet window ``now`` falls in (UTC), or None if it is not quiet."""
    if not spec:
        return None
    start, end = parse_quiet_hours(spec)
    now = now.astimezone(UTC)
    minute = now.hour * 60 + now.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    until = midnight + timedelta(minutes=end)
    return until if until > now else until + timedelta(days=1)


def digest_at(now: datetime, spec: str | None) -> datetime | None:
    """The next digest boundary after ``now`` (multiples of the interval since the epoch)."""
    if not spec:
        return None
    step = int(parse_interval(spec).total_seconds())
    ts = int(now.timestamp())
    return datetime.fromtimestamp((ts // step + 1) * step, UTC)


def first_attempt(now: datetime, *, quiet_hours: str | None, digest: str | None) -> datetime:
    """When a new delivery may first be tried: a digest boundary, after quiet hours."""
    at = digest_at(now, digest) or now
    return quiet_until(at, quiet_hours) or at


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class EventView:
    """An event with what a message needs about its story, document and versions."""

    id: int
    kind: str
    at: datetime
    summary: str
    story_slug: str
    story_title: str
    significance: float | None = None
    channel: str | None = None
    seq: int | None = None
    prev_seq: int | None = None
    document_id: int | None = None
    document_url: str | None = None
    title: str | None = None  # the document's latest title
    data: dict[str, Any] = field(default_factory=dict)


def _label(view: EventView) -> str:
    return view.title or view.document_url or f"document {view.document_id}"


def message(view: EventView) -> tuple[str, str]:
    """(title, body): the short text a chat or mail service shows for one event."""
    old, new = view.data.get("old_title"), view.data.get("new_title")
    label = _label(view)
    url = view.document_url or ""
    templates: dict[str, tuple[str, str]] = {
        "headline": ("Headline changed", f"{old or '?'} -> {new or '?'}\n{url}"),
        "deleted": ("Article deleted", f"{label} is gone\n{url}"),
        "restored": ("Article restored", f"{label} is back\n{url}"),
        "new_coverage": ("New coverage", f"{label}\n{url}"),
        "reverted": (
            "Article reverted",
            f"{label} went back to version {view.data.get('revert_of', '?')}\n{url}",
        ),
        "moved": ("Article moved", f"{label} moved to {view.data.get('to_url') or url}"),
    }
    title, body = templates.get(view.kind, (view.kind.replace("_", " ").capitalize(), f"{label}\n{url}"))
    if view.summary and view.kind not in ("headline",):
        body = f"{view.summary}\n{body}"
    return f"[{view.story_slug}] {title}", body.strip()


def digest_message(views: Sequence[EventView]) -> tuple[str, str]:
    """One message for several events of one story."""
    slug = views[0].story_slug if views else "?"
    lines = []
    for view in views:
        title, body = message(view)
        lines.append(f"- {title.split('] ', 1)[-1]}: {body.splitlines()[0]}")
    return f"[{slug}] {len(views)} changes", "\n".join(lines)


def links(view: EventView, public_url: str) -> dict[str, str]:
    """Links to the diff page, the document and the API on the storytrail server."""
    base = public_url.rstrip("/")
    out = {"story": f"{base}/stories/{quote(view.story_slug, safe='')}"}
    if view.document_id is None:
        return out
    doc = f"/documents/{view.document_id}"
    out |= {"document": base + doc, "api": f"{base}/api{doc}"}
    if view.seq is not None and view.channel:
        out["version_api"] = f"{base}/api{doc}/versions/{view.seq}?channel={view.channel}"
        if view.prev_seq is not None:
            query = f"?channel={view.channel}&from={view.prev_seq}&to={view.seq}"
            out["diff"] = f"{base}{doc}/diff{query}"
            out["diff_api"] = f"{base}/api{doc}/diff{query}"
    return out


def payload(view: EventView, *, public_url: str, delivery_id: int | None = None) -> dict[str, Any]:
    """The JSON body of a webhook request."""
    title, text = message(view)
    return {
        "event": {"id": view.id, "kind": view.kind, "at": _iso(view.at), "delivery": delivery_id},
        "story": {"slug": view.story_slug, "title": view.story_title},
        "document": None
        if view.document_id is None
        else {"id": view.document_id, "url": view.document_url, "title": view.title},
        "versions": {"channel": view.channel, "from": view.prev_seq, "to": view.seq},
        "summary": view.summary,
        "significance": view.significance,
        "data": view.data,
        "message": {"title": title, "body": text},
        "links": links(view, public_url),
    }


def digest_payload(views: Sequence[EventView], *, public_url: str) -> dict[str, Any]:
    title, text = digest_message(views)
    return {
        "digest": True,
        "story": {"slug": views[0].story_slug, "title": views[0].story_title} if views else None,
        "events": [payload(v, public_url=public_url) for v in views],
        "message": {"title": title, "body": text},
    }


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- signatures


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over ``"<timestamp>." + body``, lowercase hex."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether an ``X-Storytrail-Signature`` header value is right for this body and time."""
    expected = "sha256=" + signature(secret, timestamp, body)
    return hmac.compare_digest(expected, header.strip())


def webhook_headers(
    *, event_id: int, delivery_id: int | None, timestamp: int, body: bytes, secret: str | None
) -> dict[str, str]:
    """The headers of a webhook request (signed only when the target has a secret)."""
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: str(event_id),
        TIMESTAMP_HEADER: str(timestamp),
    }
    if delivery_id is not None:
        headers[DELIVERY_HEADER] = str(delivery_id)
    if secret:
        headers[SIGNATURE_HEADER] = "sha256=" + signature(secret, timestamp, body)
    return headers
