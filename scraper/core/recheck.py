"""The re-check policy: when to look at a document again, as a pure function of values.

Exceptions::

    RecheckError (ValueError)
     ├── DurationError   a duration such as "5m" could not be read or written
     ├── PolicyError     a Policy (or an override of one) contradicts itself
     └── StateError      a RecheckState or ``now`` is unusable (naive time, negative count)

The rule (docs/recheck-policy.md has the table and the reasoning):

- the *quiet time* is the time since the document last changed (since it was first seen if it
  never changed); it picks a tier, whose interval is the base interval (newsdiffs' rule: a
  change makes a document fresh again);
- the base interval is multiplied by ``backoff ** unchanged_checks``, capped at ``max_backoff``,
  so a change (which resets ``unchanged_checks`` to 0) resets it to the base interval;
- the result is clamped to ``[min_interval, max_interval]``;
- a document first seen more than ``horizon`` ago is retired: it is not checked again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

Tier = tuple[timedelta, timedelta]  # (max quiet time, base interval)


class RecheckError(ValueError):
    """Base class of the re-check policy's errors."""


class DurationError(RecheckError):
    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r} is not a duration: {reason}. {DURATION_FORMS}")
        self.text = text


class PolicyError(RecheckError):
    """A re-check policy that contradicts itself; the message is one sentence naming the values."""


class StateError(RecheckError):
    """A document state or a clock value the policy cannot use."""


# ---------------------------------------------------------------------------------------------
# durations

DURATION_FORMS = (
    "Write a whole number followed by a unit, units largest first, e.g. "
    '"90s", "5m", "1h30m", "1d", "2w" (units: w, d, h, m, s, ms, us).'
)
_UNITS: dict[str, timedelta] = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
    "us": timedelta(microseconds=1),
}
_UNIT_ORDER = tuple(_UNITS)
_PART = re.compile(r"\s*(\d+)\s*(ms|us|w|d|h|m|s)", re.IGNORECASE)
_FORMAT_UNITS = tuple(u for u in _UNIT_ORDER if u != "w")  # "30d" reads better than "4w2d"


def parse_duration(text: str) -> timedelta:
    """Read "5m", "1h30m", "1d", "90s", "2w"... into a timedelta (non-negative by construction)."""
    parts, pos = [], 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        parts.append((int(match.group(1)), match.group(2).lower()))
        pos = match.end()
    if not parts or text[pos:].strip():
        raise DurationError(text, "it does not read as amounts with units")
    units = [_UNIT_ORDER.index(unit) for _, unit in parts]
    if units != sorted(set(units)):
        raise DurationError(text, "each unit may appear once, largest first")
    try:
        return sum((amount * _UNITS[unit] for amount, unit in parts), timedelta())
    except OverflowError:
        raise DurationError(text, "it is too long to represent") from None


def format_duration(td: timedelta) -> str:
    """The shortest exact text :func:`parse_duration` reads back as ``td`` ("1h30m", "0s")."""
    if td < timedelta():
        raise DurationError(str(td), "a duration cannot be negative")
    rest, out = td, []
    for unit in _FORMAT_UNITS:
        amount, rest = divmod(rest, _UNITS[unit])
        if amount:
            out.append(f"{amount}{unit}")
    return "".join(out) or "0s"


# ---------------------------------------------------------------------------------------------
# the policy


@dataclass(frozen=True)
class Policy:
    """Tiers of (max quiet time, base interval), bounds, the horizon and the backoff."""

    tiers: tuple[Tier, ...]
    min_interval: timedelta
    max_interval: timedelta
    horizon: timedelta
    backoff: float
    max_backoff: float

    def __post_init__(self) -> None:
        _check_tiers(self.tiers)
        if self.min_interval <= timedelta():
            raise PolicyError(f"recheck_min must be positive, not {self.min_interval}.")
        if self.min_interval > self.max_interval:
            raise PolicyError(
                f"recheck_min ({format_duration(self.min_interval)}) cannot be larger than "
                f"recheck_max ({format_duration(self.max_interval)})."
            )
        if self.horizon <= timedelta():
            raise PolicyError(f"The horizon must be positive, not {self.horizon}.")
        if not (math.isfinite(self.backoff) and self.backoff >= 1):
            raise PolicyError(f"The backoff factor must be a number of at least 1, not {self.backoff}.")
        if not (math.isfinite(self.max_backoff) and self.max_backoff >= 1):
            raise PolicyError(f"The backoff cap must be a number of at least 1, not {self.max_backoff}.")


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise PolicyError("A policy needs at least one tier.")
    ages = [age for age, _ in tiers]
    intervals = [interval for _, interval in tiers]
    if ages[0] <= timedelta() or any(a >= b for a, b in zip(ages, ages[1:], strict=False)):
        raise PolicyError("Tier ages must be positive and strictly increasing.")
    if intervals[0] <= timedelta() or any(a > b for a, b in zip(intervals, intervals[1:], strict=False)):
        raise PolicyError("Tier intervals must be positive and must not shrink as the tiers age.")


DEFAULT_POLICY = Policy(
    tiers=(
        (timedelta(hours=3), timedelta(minutes=5)),
        (timedelta(days=1), timedelta(minutes=30)),
        (timedelta(days=3), timedelta(hours=2)),
        (timedelta(days=7), timedelta(hours=6)),
        (timedelta(days=30), timedelta(days=1)),
    ),
    min_interval=timedelta(minutes=5),
    max_interval=timedelta(days=2),
    horizon=timedelta(days=30),
    backoff=1.25,
    max_backoff=2.0,
)


def policy_with_overrides(
    base: Policy,
    *,
    recheck_min: timedelta | None = None,
    recheck_max: timedelta | None = None,
    horizon: timedelta | None = None,
) -> Policy:
    """``base`` with a source's or a story's overrides.

    A bound given alone moves the other bound of ``base`` out of its way (``recheck_min = "3d"``
    on a policy whose maximum is 2d gives [3d, 3d]); two bounds given together must agree.
    """
    low = recheck_min if recheck_min is not None else base.min_interval
    high = recheck_max if recheck_max is not None else base.max_interval
    if recheck_min is None and recheck_max is not None:
        low = min(low, high)
    if recheck_max is None and recheck_min is not None:
        high = max(low, high)
    new_horizon = horizon if horizon is not None else base.horizon
    return replace(base, min_interval=low, max_interval=high, horizon=new_horizon)


# ---------------------------------------------------------------------------------------------
# the decision


@dataclass(frozen=True)
class RecheckState:
    """What the policy needs to know about a document (timezone-aware UTC times)."""

    first_seen: datetime
    last_changed: datetime
    unchanged_checks: int

    def __post_init__(self) -> None:
        _require_aware("first_seen", self.first_seen)
        _require_aware("last_changed", self.last_changed)
        if self.unchanged_checks < 0:
            raise StateError(f"unchanged_checks cannot be negative, not {self.unchanged_checks}.")


@dataclass(frozen=True)
class Decision:
    next_check: datetime | None  # None: retired
    interval: timedelta | None
    retired: bool
    reason: str


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StateError(f"{name} ({value.isoformat()}) must be timezone-aware (UTC).")


def next_check(policy: Policy, state: RecheckState, now: datetime) -> Decision:
    """When to check a document again, given its state after the check made at ``now``."""
    _require_aware("now", now)
    age = now - state.first_seen
    if age > policy.horizon:
        reason = f"first seen {format_duration(age)} ago, past the {format_duration(policy.horizon)} horizon"
        return Decision(next_check=None, interval=None, retired=True, reason=reason)
    quiet = max(now - state.last_changed, timedelta())
    base = tier_interval(policy, quiet)
    factor = backoff_factor(policy, state.unchanged_checks)
    interval = scaled(policy, base, factor)
    reason = (
        f"quiet for {format_duration(quiet)}: base {format_duration(base)}, "
        f"{state.unchanged_checks} unchanged checks: x{factor:.2f}, every {format_duration(interval)}"
    )
    return Decision(next_check=now + interval, interval=interval, retired=False, reason=reason)


def tier_interval(policy: Policy, quiet: timedelta) -> timedelta:
    """The base interval of the youngest tier whose age limit ``quiet`` is under (else the last)."""
    for max_age, interval in policy.tiers:
        if quiet < max_age:
            return interval
    return policy.tiers[-1][1]


def backoff_factor(policy: Policy, unchanged_checks: int) -> float:
    """``backoff ** unchanged_checks`` capped at ``max_backoff`` (computed without overflow)."""
    if unchanged_checks * math.log(policy.backoff) >= math.log(policy.max_backoff):
        return policy.max_backoff
    return min(float(policy.backoff**unchanged_checks), policy.max_backoff)


def scaled(policy: Policy, base: timedelta, factor: float) -> timedelta:
    """``base * factor`` in whole seconds, within the policy's bounds (never overflowing)."""
    seconds = min(base.total_seconds() * factor, policy.max_interval.total_seconds())
    return clamp(policy, timedelta(seconds=round(seconds)))


def clamp(policy: Policy, interval: timedelta) -> timedelta:
    return min(max(interval, policy.min_interval), policy.max_interval)


# ---------------------------------------------------------------------------------------------
# the table in the docs


def default_table(policy: Policy) -> list[tuple[str, str]]:
    """Rows of (time since the last change, interval) for the docs, ending with the horizon."""
    rows: list[tuple[str, str]] = []
    lower = timedelta()
    live = [tier for i, tier in enumerate(policy.tiers) if i == 0 or policy.tiers[i - 1][0] < policy.horizon]
    for i, (max_age, interval) in enumerate(live):
        upper = policy.horizon if i == len(live) - 1 else min(max_age, policy.horizon)
        rows.append((_age_label(lower, upper), _interval_label(policy, interval)))
        lower = upper
    rows.append((f"first seen over {format_duration(policy.horizon)} ago", "retired"))
    return rows


def _age_label(lower: timedelta, upper: timedelta) -> str:
    if lower == timedelta():
        return f"under {format_duration(upper)}"
    return f"{format_duration(lower)} to {format_duration(upper)}"


def _interval_label(policy: Policy, base: timedelta) -> str:
    low, high = clamp(policy, base), clamp(policy, base * policy.max_backoff)
    return format_duration(low) if low == high else f"{format_duration(low)} to {format_duration(high)}"


def table_markdown(policy: Policy) -> str:
    """``default_table(policy)`` as a Markdown table (for the README and docs/recheck-policy.md)."""
    lines = ["| time since the last change | re-checked every |", "|---|---|"]
    lines += [f"| {age} | {interval} |" for age, interval in default_table(policy)]
    return "\n".join(lines) + "\n"
