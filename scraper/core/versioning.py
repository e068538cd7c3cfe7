"""The versioning rules of DESIGN.md as pure decisions over a channel's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from scraper.core.types import VersionKind

GONE_STATUSES = frozenset({404, 410})
TOMBSTONE_AFTER = 2  # consecutive 404/410 answers before a tombstone is written
TOMBSTONE_HASH = "tombstone"


@dataclass(frozen=True, slots=True)
class Prior:
    """What the decision needs to know of one stored version."""

    seq: int
    content_hash: str
    kind: VersionKind


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
