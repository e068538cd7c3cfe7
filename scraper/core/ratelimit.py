"""Rate limits as platforms announce them in response headers, and how long to wait because of them.

Understood headers (names case-insensitive):

- Mastodon: ``X-RateLimit-Remaining``, ``X-RateLimit-Limit``, ``X-RateLimit-Reset`` (ISO 8601 time)
- Bluesky: ``RateLimit-Remaining``, ``RateLimit-Limit``, ``RateLimit-Reset`` (epoch seconds)
- Reddit: ``x-ratelimit-remaining`` (a float), ``x-ratelimit-used``, ``x-ratelimit-reset`` (seconds
  from now)
- IETF draft: ``RateLimit: limit=100, remaining=50, reset=30`` (reset in seconds from now)
- any: ``Retry-After``, seconds or an HTTP date

A numeric reset is read as epoch seconds when it is at least 10^9, else as seconds from ``now``.
Nothing here raises on a malformed header: an unreadable value is simply unknown (None). Pure:
the current time is always passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

EPOCH_THRESHOLD = 1e9
DAY = 86_400.0

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """What the headers of one response said; ``observed_at`` is when that response came."""

    remaining: int | None = None
    reset_at: datetime | None = None
    retry_after: float | None = None
    limit: int | None = None
    observed_at: datetime | None = None


def parse_rate_limit(headers: Headers, now: datetime) -> RateLimit:
    """The rate limit announced by ``headers``, received at ``now`` (an aware datetime)."""
    fields = _lower(headers)
    draft = _draft_fields(fields.get("ratelimit", ""))
    remaining = _first(fields, "x-ratelimit-remaining", "ratelimit-remaining") or draft.get("remaining")
    limit = _first(fields, "x-ratelimit-limit", "ratelimit-limit") or draft.get("limit") or _used_plus(fields)
    reset = _first(fields, "x-ratelimit-reset", "ratelimit-reset") or draft.get("reset")
    return RateLimit(
        remaining=_count(remaining),
        reset_at=_moment(reset, now),
        retry_after=_retry_after(fields.get("retry-after"), now),
        limit=_count(limit),
        observed_at=now,
    )


def wait_before_next(
    rl: RateLimit, now: datetime, *, reserve: int = 0, fallback: float = 60.0, ceiling: float = DAY
) -> float:
    """Seconds to wait before the next request: 0 while more than ``reserve`` requests remain;
    until the reset (or ``fallback`` seconds when no reset was given) once they are used up;
    at least what ``Retry-After`` still asks for. Never negative, never above ``ceiling``."""
    waits = [0.0]
    if rl.retry_after is not None:
        elapsed = (now - rl.observed_at).total_seconds() if rl.observed_at else 0.0
        waits.append(rl.retry_after - elapsed)
    if rl.remaining is not None and rl.remaining <= reserve:
        waits.append(_seconds_until(rl.reset_at, now) if rl.reset_at else fallback)
    return min(max(waits), ceiling)


def _lower(headers: Headers) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(str(name).strip().lower(), str(value).strip())
    return fields


def _first(fields: dict[str, str], *names: str) -> str | None:
    for name in names:
        if fields.get(name):
            return fields[name]
    return None


def _used_plus(fields: dict[str, str]) -> str | None:
    """Reddit's limit: requests used plus requests remaining in the window."""
    used, remaining = _number(fields.get("x-ratelimit-used")), _number(fields.get("x-ratelimit-remaining"))
    return None if used is None or remaining is None else str(used + remaining)


def _draft_fields(value: str) -> dict[str, str]:
    """``limit=100, remaining=50, reset=30`` (IETF RateLimit header) as a dict."""
    return {key.lower(): number for key, number in re.findall(r"(\w+)\s*=\s*(-?\d+(?:\.\d+)?)", value)}


def _number(value: str | None) -> float | None:
    """The leading number of a header value ("598.0", "5, 5"); None when there is none."""
    match = re.match(r"\s*(-?\d+(?:\.\d+)?)\s*(?:,|;|$)", value or "")
    if match is None:
        return None
    number = float(match.group(1))
    return number if abs(number) < 1e15 else None


def _count(value: str | None) -> int | None:
    number = _number(value)
    return None if number is None else max(int(number), 0)


def _moment(value: str | None, now: datetime) -> datetime | None:
    """A reset time: ISO 8601, HTTP date, epoch seconds, or seconds from ``now``."""
    number = _number(value)
    try:
        if number is not None and number >= EPOCH_THRESHOLD:
            return datetime.fromtimestamp(number, tz=UTC)
        if number is not None:
            return now + timedelta(seconds=max(number, 0.0))
    except (OverflowError, OSError, ValueError):
        return None
    return _date(value)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment: datetime | None = datetime.fromisoformat(value)
    except ValueError:
        moment = _http_date(value)
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _http_date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After in seconds from ``now``: "120" or "Wed, 21 Oct 2015 07:28:00 GMT"."""
    number = _number(value)
    if number is not None:
        return max(number, 0.0)
    moment = _http_date(value) if value else None
    return None if moment is None else _seconds_until(moment, now)


def _seconds_until(moment: datetime, now: datetime) -> float:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    try:
        return max((aware - now).total_seconds(), 0.0)
    except OverflowError:
        return DAY
