"""Applies the pure re-check policy (scraper.core.recheck) to a document after each check;
releases its lease."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from scraper.core.recheck import (
    DEFAULT_POLICY,
    Policy,
    RecheckState,
    next_check,
    parse_duration,
    policy_with_overrides,
)
from storage.documents import DocumentRow
from storage.models import Document, Source, Story, StoryDocument


def _durations(settings: Iterable[dict[str, Any]], key: str) -> list[timedelta]:
    return [parse_duration(s[key]) for s in settings if s.get(key)]


def override_settings(session: Session, doc: Document | DocumentRow) -> list[dict[str, Any]]:
    """Where re-check overrides can come from: the document, its source, its stories."""
    found: list[dict[str, Any]] = [doc.settings or {}]
    if doc.source_id is not None:
        source = session.get(Source, doc.source_id)
        if source is not None:
            found.append(source.params or {})
    if doc.id is not None:
        stories = session.exec(
            select(Story.settings)
            .join(StoryDocument, col(StoryDocument.story_id) == Story.id)
            .where(StoryDocument.document_id == doc.id)
        )
        found.extend(dict(s or {}) for s in stories)
    return found


def document_policy(settings: list[dict[str, Any]], base: Policy = DEFAULT_POLICY) -> Policy:
    """The default policy with the most eager overrides any of ``settings`` asks for."""
    lows, highs = _durations(settings, "recheck_min"), _durations(settings, "recheck_max")
    if not lows and not highs:
        return base
    low, high = (min(lows) if lows else None), (min(highs) if highs else None)
    if low is not None and high is not None and low > high:
        high = low
    return policy_with_overrides(base, recheck_min=low, recheck_max=high)


def schedule_next(
    session: Session,
    doc: DocumentRow,
    *,
    now: datetime,
    changed: bool,
    overrides: list[dict[str, Any]] | None = None,
) -> None:
    """Count the check, then set ``next_check`` (or retire the document) per the policy, and
    release the lease (on ``doc``: the caller saves it, storage.documents.save_row).

    ``overrides``: :func:`override_settings` as the caller read them already this check."""
    if changed:
        doc.unchanged_checks = 0
        doc.last_changed_at = now
    else:
        doc.unchanged_checks += 1
    first_seen = doc.first_seen or now
    state = RecheckState(
        first_seen=first_seen,
        last_changed=doc.last_changed_at or first_seen,
        unchanged_checks=doc.unchanged_checks,
    )
    found = overrides if overrides is not None else override_settings(session, doc)
    decision = next_check(document_policy(found), state, now)
    doc.next_check = decision.next_check
    doc.check_interval_s = int(decision.interval.total_seconds()) if decision.interval else None
    if decision.retired and doc.status == "active":
        doc.status = "retired"
    doc.lease_owner, doc.lease_until = None, None
