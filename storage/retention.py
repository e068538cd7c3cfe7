"""Retention: old checks that only confirmed what was already stored are pruned; versions never are.

A document re-checked every few minutes for a year writes ~100,000 ``unchanged`` / ``not_modified``
check rows for a handful of versions. Those rows say "still the same at T"; the version's
``last_confirmed_at`` keeps the latest such time, so pruning them loses only the older
confirmation times (and the WARC export's revisit records for them). Checks that made a version,
errors, gone answers and robots refusals are kept, and so is every version, event and blob.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from storage.models import Check

PRUNABLE = ("unchanged", "not_modified")


def prune_checks(session: Session, *, before: datetime, batch: int = 5_000, max_batches: int = 100) -> int:
    """Delete unchanged / not-modified checks older than ``before`` (that made no version), in
    batches of ``batch`` rows so no transaction holds the table long; returns how many went."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1 (got {batch})")
    table = Check.__table__  # type: ignore[attr-defined]
    old = (
        sa.select(table.c.id)
        .where(table.c.at < before, table.c.outcome.in_(PRUNABLE), table.c.version_id.is_(None))
        .order_by(table.c.at)
        .limit(batch)
    )
    removed = 0
    for _ in range(max_batches):
        ids = list(session.execute(old).scalars())
        if not ids:
            break
        result: sa.CursorResult[Any] = session.execute(sa.delete(table).where(table.c.id.in_(ids)))  # type: ignore[assignment]
        removed += result.rowcount or 0
        session.commit()
    return removed
