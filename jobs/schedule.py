"""Applies the pure re-check policy to a document after each check."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from scraper.core.recheck import DEFAULT_POLICY, Policy, RecheckState, next_check, parse_duration, policy_with_overrides
from storage.models import Document


def document_policy(doc: Document, base: Policy = DEFAULT_POLICY) -> Policy:
    """The default policy narrowed by the overrides a story or source set on this document."""
    settings = doc.settings or {}
    low, high = settings.get("recheck_min"), settings.get("recheck_max")
    if not low and not high:
        return base
    return policy_with_overrides(
        base,
        recheck_min=parse_duration(low) if low else None,
        recheck_max=parse_duration(high) if high else None,
    )


def schedule_next(session: Session, doc: Document, *, now: datetime, changed: bool) -> None:
    """Count the check, then set ``next_check`` (or retire the document) per the policy."""
    if changed:
        doc.unchanged_checks = 0
        doc.last_changed_at = now
    else:
        doc.unchanged_checks += 1
    first_seen = doc.first_seen or now
    state = RecheckState(first_seen=first_seen, last_changed=doc.last_changed_at or first_seen,
                         unchanged_checks=doc.unchanged_checks)
    decision = next_check(document_policy(doc), state, now)
    doc.next_check = decision.next_check
    doc.check_interval_s = int(decision.interval.total_seconds()) if decision.interval else None
    if decision.retired and doc.status == "active":
        doc.status = "retired"
    doc.lease_owner, doc.lease_until = None, None
    session.add(doc)
