"""The wall clock, in one place so it can be passed in (tests and the demo use their own)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
