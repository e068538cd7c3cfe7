"""The work queue in our own tables: due documents and sources claimed under a lease.

A document is due when it is ``active`` and its ``next_check`` has passed; a source is due when
it is enabled and ``next_poll_at`` has passed (the scheduler's per-source job sets it). A worker
*claims* due rows by writing its name and a lease expiry on them; a worker that dies leaves rows
that any worker claims again once the lease has expired. Claiming is one transaction::

    SELECT id ... FOR UPDATE SKIP LOCKED  (PostgreSQL; SQLite ignores the clause: its write lock
    UPDATE ... SET lease_owner, lease_until WHERE id IN (...) AND lease is free  RETURNING id
    COMMIT                                  serialises claimers, the guarded UPDATE keeps them apart)

so two claimers never hold the same row, on either backend.

The leader lease (``node_lease`` table) names the one daemon that runs the schedules when
several share a PostgreSQL database.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select, update

from storage.models import Document, NodeLease, Source

MIGRATION_LOCK_KEY = 0x5354_5259  # "STRY": the PostgreSQL advisory lock held while migrating


def _table(kind: str) -> sa.Table:
    table: sa.Table = (Document if kind == "document" else Source).__table__  # type: ignore[union-attr]
    return table


def _due(kind: str, now: Any) -> tuple[Any, Any, Any]:
    """For ``kind`` (document | source) at ``now`` (a time, or a bind parameter): the rows that are
    due, those under no live lease, and the order due work is taken in (most overdue first)."""
    c = _table(kind).c
    free = sa.or_(c.lease_until.is_(None), c.lease_until < now)
    if kind == "document":
        return sa.and_(c.status == "active", c.next_check <= now), free, c.next_check
    return sa.and_(c.enabled.is_(True), c.next_poll_at <= now), free, c.next_poll_at


@functools.cache
def _claim_statements(kind: str) -> tuple[Any, Any]:
    """The claim's SELECT and guarded UPDATE for ``kind`` (document | source), built once: building
    them cost more than running them. Parameters: now, limit; ids, owner, until."""
    table = _table(kind)
    c = table.c
    due, free, order = _due(kind, sa.bindparam("now", type_=c.lease_until.type))
    pick = (
        sa.select(c.id)
        .where(due, free)
        .order_by(order, c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer()))
        .with_for_update(skip_locked=True)
    )
    take = (
        sa.update(table)
        .where(c.id.in_(sa.bindparam("ids", expanding=True)), free)
        .values(
            lease_owner=sa.bindparam("p_owner", type_=c.lease_owner.type),
            lease_until=sa.bindparam("p_until", type_=c.lease_until.type),
        )
        .returning(c.id)
    )
    return pick, take


def _claim(
    session: Session, kind: str, *, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[int]:
    if limit <= 0:
        return []
    pick, take = _claim_statements(kind)
    ids = [i for i in session.execute(pick, {"now": now, "limit": limit}).scalars() if i is not None]
    if not ids:
        session.commit()
        return []
    params = {"ids": ids, "now": now, "p_owner": owner, "p_until": now + lease}
    claimed = set(session.execute(take, params).scalars())
    session.commit()
    return [i for i in ids if i in claimed]


def claim_documents(
    session: Session, *, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[int]:
    """Lease up to ``limit`` due documents to ``owner`` until ``now + lease``; ids, most overdue first."""
    return _claim(session, "document", owner=owner, now=now, lease=lease, limit=limit)


def claim_sources(session: Session, *, owner: str, now: datetime, lease: timedelta, limit: int) -> list[int]:
    """Lease up to ``limit`` due sources to ``owner``; their ids, longest waiting first."""
    return _claim(session, "source", owner=owner, now=now, lease=lease, limit=limit)


def release_documents(
    session: Session, *, ids: list[int], owner: str, retry_at: datetime | None = None
) -> int:
    """Give back leases ``owner`` holds; with ``retry_at``, the documents are due again only then."""
    if not ids:
        return 0
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
    if retry_at is not None:
        values["next_check"] = retry_at
    mine = sa.and_(col(Document.id).in_(ids), col(Document.lease_owner) == owner)
    stmt = update(Document).where(mine).values(**values)
    count = session.exec(stmt).rowcount
    session.commit()
    return int(count)


def release_sources(session: Session, *, ids: list[int], owner: str) -> int:
    """Give back source leases ``owner`` holds (the sources stay due)."""
    if not ids:
        return 0
    stmt = (
        update(Source)
        .where(col(Source.id).in_(ids), col(Source.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
    )
    count = session.exec(stmt).rowcount
    session.commit()
    return int(count)


def release_all(session: Session, *, owner: str) -> int:
    """Give back every document and source lease ``owner`` holds (a daemon shutting down)."""
    count = 0
    for model in (Document, Source):
        stmt = update(model).where(col(model.lease_owner) == owner).values(lease_owner=None, lease_until=None)
        count += int(session.exec(stmt).rowcount)
    session.commit()
    return count


def mark_source_due(session: Session, *, source_id: int, now: datetime) -> bool:
    """Make a source due at ``now`` (an earlier due time is kept); False if it is gone or disabled."""
    stmt = (
        update(Source)
        .where(col(Source.id) == source_id, col(Source.enabled).is_(True))
        .values(next_poll_at=sa.case((col(Source.next_poll_at) <= now, col(Source.next_poll_at)), else_=now))
    )
    count = session.exec(stmt).rowcount
    session.commit()
    return bool(count)


def finish_source(session: Session, *, source_id: int, owner: str, now: datetime) -> bool:
    """After a poll by ``owner``: record the poll time, clear the due mark and the lease."""
    stmt = (
        update(Source)
        .where(col(Source.id) == source_id, col(Source.lease_owner) == owner)
        .values(last_polled_at=now, next_poll_at=None, lease_owner=None, lease_until=None)
    )
    count = session.exec(stmt).rowcount
    session.commit()
    return bool(count)


def queue_depth(session: Session, *, now: datetime) -> int:
    """Documents and sources due at ``now`` and not held under a live lease."""
    total = 0
    for kind in ("document", "source"):
        due, free, _ = _due(kind, now)
        query = sa.select(sa.func.count()).select_from(_table(kind)).where(due, free)
        total += int(session.execute(query).scalar_one())
    return total


def enrolled_documents(session: Session) -> int:
    """Active documents with a re-check time (what the re-check policy still looks after)."""
    query = (
        select(func.count())
        .select_from(Document)
        .where(col(Document.status) == "active", col(Document.next_check).is_not(None))
    )
    return int(session.exec(query).one())


def leased(session: Session, *, owner: str | None = None) -> list[tuple[str, int]]:
    """(``"document"`` or ``"source"``, id) of the rows under a lease (of ``owner``, if given)."""
    out: list[tuple[str, int]] = []
    for kind, model in (("document", Document), ("source", Source)):
        query = select(model.id).where(col(model.lease_owner).is_not(None))
        if owner is not None:
            query = query.where(col(model.lease_owner) == owner)
        out += [(kind, i) for i in session.exec(query.order_by(col(model.id))) if i is not None]
    return out


# ---------------------------------------------------------------------------------------------
# the leader lease


def acquire_leader(session: Session, *, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or keep) the lease ``name`` until ``now + ttl``: True if ``owner`` holds it now."""
    taken = (
        update(NodeLease)
        .where(col(NodeLease.name) == name, sa.or_(col(NodeLease.owner) == owner, col(NodeLease.until) < now))
        .values(owner=owner, until=now + ttl)
    )
    if session.exec(taken).rowcount:
        session.commit()
        return True
    if session.get(NodeLease, name) is not None:
        session.rollback()
        return False
    session.add(NodeLease(name=name, owner=owner, until=now + ttl))
    try:
        session.commit()
    except IntegrityError:  # another node inserted it first
        session.rollback()
        return False
    return True


def renew_leader(session: Session, *, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Extend a lease ``owner`` still holds; False if another node has taken it."""
    stmt = (
        update(NodeLease)
        .where(col(NodeLease.name) == name, col(NodeLease.owner) == owner)
        .values(until=now + ttl)
    )
    renewed = bool(session.exec(stmt).rowcount)
    session.commit()
    return renewed


def release_leader(session: Session, *, name: str, owner: str) -> bool:
    """Drop the lease if ``owner`` holds it, so another node can lead at once."""
    count = session.exec(
        delete(NodeLease).where(col(NodeLease.name) == name, col(NodeLease.owner) == owner)
    ).rowcount
    session.commit()
    return bool(count)


def leader(session: Session, *, name: str, now: datetime) -> str | None:
    """The node holding the live lease ``name``, if any."""
    lease = session.get(NodeLease, name)
    session.rollback()
    return lease.owner if lease is not None and lease.until >= now else None


def refresh_statistics(session: Session) -> None:
    """SQLite: ``ANALYZE``, so the planner picks the ``next_check`` index over ``status`` (without
    statistics it scans every active document to claim a batch). PostgreSQL's autovacuum does this."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("ANALYZE")
        session.commit()


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock while migrating, so daemons starting together migrate once.

    SQLite needs none: the migration's write transaction already excludes other writers.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
