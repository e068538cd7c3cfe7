"""The Wayback Machine queue (``wayback_capture``): the only code that reads or writes it.

A row is made by :func:`enqueue` in the transaction that writes a new page version (storage.versions
.apply), so a version that exists is never forgotten, and only once per version (unique key).
Rows are claimed like other work (storage.queue, storage.notify): ``SELECT ... FOR UPDATE SKIP
LOCKED`` and a guarded UPDATE that writes a lease, so two nodes never hold the same row.

Submissions are rate-limited for every node together: a claim takes at most one row to submit,
and only when the shared slot (the ``node_lease`` row :data:`SLOT`) is free; taking it moves the
slot ``interval`` ahead. Asking a submitted job's status is not limited (it is cheap for the archive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select, update

from storage.models import NodeLease, Version, WaybackCapture

SLOT = "wayback-submit"
PENDING, SUBMITTED, ARCHIVED, DEAD = "pending", "submitted", "archived", "dead"


def enqueue(session: Session, *, version_id: int, url: str, now: datetime) -> bool:
    """Queue ``version_id`` for preservation (in the caller's transaction); False if it already is."""
    row = {"version_id": version_id, "url": url, "status": PENDING, "attempts": 0,
           "next_attempt_at": now, "created_at": now}  # fmt: skip
    stmt = _insert(session, WaybackCapture).values(row).on_conflict_do_nothing(index_elements=["version_id"])
    return session.exec(stmt.returning(col(WaybackCapture.id))).first() is not None


# --------------------------------------------------------------------------- claims


def _free(now: datetime) -> Any:
    return sa.or_(col(WaybackCapture.lease_until).is_(None), col(WaybackCapture.lease_until) < now)


def _due(status: str, now: datetime) -> Any:
    return (
        select(WaybackCapture.id)
        .where(col(WaybackCapture.status) == status, col(WaybackCapture.next_attempt_at) <= now, _free(now))
        .order_by(col(WaybackCapture.next_attempt_at), col(WaybackCapture.id))
        .with_for_update(skip_locked=True)
    )


def claim(
    session: Session, *, owner: str, now: datetime, lease: timedelta, limit: int, interval: timedelta
) -> list[int]:
    """Lease up to ``limit`` due rows to ``owner``: submitted jobs to ask about, and at most one
    row to submit when the shared submission slot is free (module docstring)."""
    if limit <= 0:
        return []
    ids = [i for i in session.exec(_due(SUBMITTED, now).limit(limit)) if i is not None]
    if len(ids) < limit:
        first = session.exec(_due(PENDING, now).limit(1)).first()
        if first is not None and _take_slot(session, owner=owner, now=now, interval=interval):
            ids.append(first)
    if not ids:
        session.commit()
        return []
    stmt = (
        update(WaybackCapture)
        .where(col(WaybackCapture.id).in_(ids), _free(now))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(col(WaybackCapture.id))
    )
    got = set(session.exec(stmt).scalars())
    session.commit()
    return [i for i in ids if i in got]


def _take_slot(session: Session, *, owner: str, now: datetime, interval: timedelta) -> bool:
    """Move the shared submission slot to ``now + interval`` if it is free now."""
    taken = (
        update(NodeLease)
        .where(col(NodeLease.name) == SLOT, col(NodeLease.until) <= now)
        .values(owner=owner, until=now + interval)
    )
    if session.exec(taken).rowcount:
        return True
    made = _insert(session, NodeLease).values(name=SLOT, owner=owner, until=now + interval)
    made = made.on_conflict_do_nothing(index_elements=["name"]).returning(col(NodeLease.name))
    return session.exec(made).first() is not None  # (rowcount: -1 on PostgreSQL for this insert)


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# --------------------------------------------------------------------------- what to send


@dataclass(frozen=True)
class Item:
    """A claimed row with what is needed to submit it or ask about it."""

    id: int
    version_id: int
    url: str
    status: str
    job_id: str | None
    attempts: int
    submitted_at: datetime | None


def items(session: Session, *, ids: Sequence[int]) -> list[Item]:
    if not ids:
        return []
    rows = session.exec(select(WaybackCapture).where(col(WaybackCapture.id).in_(list(ids))))
    found = {
        r.id: Item(r.id or 0, r.version_id, r.url, r.status, r.job_id, r.attempts, r.submitted_at)
        for r in rows
    }
    session.rollback()
    return [found[i] for i in ids if i in found]


# --------------------------------------------------------------------------- results


def _held(ids: Sequence[int], owner: str) -> Any:
    return update(WaybackCapture).where(
        col(WaybackCapture.id).in_(list(ids)), col(WaybackCapture.lease_owner) == owner
    )


def _done(session: Session, stmt: Any) -> int:
    count = int(session.exec(stmt).rowcount)
    session.commit()
    return count


_UNLEASED: dict[str, Any] = {"lease_owner": None, "lease_until": None}


def mark_submitted(
    session: Session, *, id: int, owner: str, job_id: str, now: datetime, ask_at: datetime
) -> int:
    """The archive took the job: ask about it at ``ask_at``."""
    values = {"status": SUBMITTED, "job_id": job_id, "submitted_at": now, "next_attempt_at": ask_at}
    return _done(session, _held([id], owner).values(**values, **_UNLEASED))


def ask_later(session: Session, *, id: int, owner: str, at: datetime, error: str | None = None) -> int:
    """The job is still running (or its status could not be read now): ask again at ``at``."""
    values: dict[str, Any] = {"next_attempt_at": at, **_UNLEASED}
    if error is not None:
        values["last_error"] = error[:1000]
    return _done(session, _held([id], owner).values(**values))


def mark_archived(session: Session, *, id: int, owner: str, snapshot_url: str, now: datetime) -> int:
    """The snapshot exists: stored on the version, the row is done."""
    row = session.get(WaybackCapture, id)
    if row is None or row.lease_owner != owner:
        session.rollback()
        return 0
    session.exec(update(Version).where(col(Version.id) == row.version_id).values(wayback_url=snapshot_url))
    values = {"status": ARCHIVED, "archived_at": now, "attempts": col(WaybackCapture.attempts) + 1}
    return _done(session, _held([id], owner).values(**values, **_UNLEASED))


def mark_failed(session: Session, *, id: int, owner: str, error: str, retry_at: datetime | None) -> int:
    """A failed attempt: submitted again at ``retry_at`` (a new job), or given up (``dead``)."""
    values: dict[str, Any] = {
        "attempts": col(WaybackCapture.attempts) + 1,
        "last_error": error[:1000],
        "job_id": None,
        "submitted_at": None,
        **_UNLEASED,
    }
    values |= {"status": PENDING, "next_attempt_at": retry_at} if retry_at is not None else {"status": DEAD}
    return _done(session, _held([id], owner).values(**values))


def release_all(session: Session, *, owner: str) -> int:
    """Give back every lease ``owner`` holds (the rows stay as they are, due again at once)."""
    stmt = update(WaybackCapture).where(col(WaybackCapture.lease_owner) == owner).values(**_UNLEASED)
    return _done(session, stmt)


# --------------------------------------------------------------------------- reading


def next_start(session: Session) -> datetime | None:
    """When the next row can be handled: a submitted job's next question, or the next submission
    (its row due and the submission slot free); None when nothing is left to do."""
    due = dict(
        session.exec(
            select(WaybackCapture.status, func.min(WaybackCapture.next_attempt_at))
            .where(col(WaybackCapture.status).in_([PENDING, SUBMITTED]))
            .group_by(col(WaybackCapture.status))
        ).all()
    )
    slot = session.get(NodeLease, SLOT)
    session.rollback()
    starts = [due[SUBMITTED]] if SUBMITTED in due else []
    if PENDING in due:
        starts.append(max(due[PENDING], slot.until) if slot is not None else due[PENDING])
    return min(starts) if starts else None


def counts(session: Session) -> dict[str, int]:
    rows = session.exec(select(WaybackCapture.status, func.count()).group_by(col(WaybackCapture.status)))
    return {status: int(n) for status, n in rows}


@dataclass(frozen=True)
class Waiting:
    """A row not archived yet (or given up), for `storytrail wayback status`."""

    url: str
    seq: int
    status: str
    attempts: int
    next_attempt_at: datetime
    job_id: str | None
    last_error: str | None


def not_archived(session: Session, *, limit: int) -> list[Waiting]:
    """Rows still to do or given up, the given-up first, then the next due."""
    dead_first = sa.case((col(WaybackCapture.status) == DEAD, 0), else_=1)
    rows = session.exec(
        select(WaybackCapture, Version.seq)
        .join(Version, col(Version.id) == WaybackCapture.version_id)
        .where(col(WaybackCapture.status) != ARCHIVED)
        .order_by(dead_first, col(WaybackCapture.next_attempt_at), col(WaybackCapture.id))
        .limit(limit)
    )
    return [
        Waiting(r.url, seq, r.status, r.attempts, r.next_attempt_at, r.job_id, r.last_error)
        for r, seq in rows
    ]


def retry_dead(session: Session, *, now: datetime) -> int:
    """Give every given-up row a new start (attempts from zero, due now); the number requeued."""
    stmt = (
        update(WaybackCapture)
        .where(col(WaybackCapture.status) == DEAD)
        .values(status=PENDING, attempts=0, next_attempt_at=now, job_id=None, submitted_at=None, **_UNLEASED)
    )
    return _done(session, stmt)


def captures(session: Session, *, version_ids: Sequence[int] | None = None) -> list[WaybackCapture]:
    query = select(WaybackCapture).order_by(col(WaybackCapture.id))
    if version_ids is not None:
        query = query.where(col(WaybackCapture.version_id).in_(list(version_ids)))
    return list(session.exec(query))
