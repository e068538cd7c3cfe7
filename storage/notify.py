"""Notification targets and deliveries: the only code that reads or writes their tables.

A target (``notify_target``) follows one story. :func:`fan_out` turns the story's new events into
one ``delivery`` row per event and target (unique: the idempotency key). Delivery rows are claimed
like other work (storage.queue): ``SELECT ... FOR UPDATE SKIP LOCKED`` plus a guarded UPDATE that
writes a lease, so two nodes never hold the same row. Only a target's *oldest* pending delivery
can be claimed (the rest of its due rows come with it, in event order), so a story's events reach
a target in order; a failed row is retried after a back-off and holds back the ones behind it
until it is sent or given up (``dead``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select, update

from scraper.core.notify import EventView, Filter, first_attempt
from storage.documents import NotFoundError
from storage.models import Delivery, Document, Event, NotifyTarget, Story, StoryDocument, Version

FAN_OUT_LAG = timedelta(minutes=10)  # events younger than this are looked at again (commit order)
GROUP_LIMIT = 100


# --------------------------------------------------------------------------- targets


def add_target(
    session: Session,
    *,
    story_id: int,
    target: str,
    kind: str,
    now: datetime,
    events: Sequence[str] = (),
    min_significance: float | None = None,
    secret_env: str | None = None,
    quiet_hours: str | None = None,
    digest: str | None = None,
    origin: str = "cli",
    enabled: bool = True,
) -> tuple[NotifyTarget, bool]:
    """Create the target, or update the story's target with the same URL; (target, created)."""
    row = session.exec(
        select(NotifyTarget).where(NotifyTarget.story_id == story_id, NotifyTarget.target == target)
    ).first()
    created = row is None
    if row is None:
        row = NotifyTarget(story_id=story_id, target=target, created_at=now, cursor=last_event_id(session))
    row.kind, row.events, row.min_significance = kind, list(events), min_significance
    row.secret_env, row.quiet_hours, row.digest = secret_env, quiet_hours, digest
    row.origin, row.enabled = origin, enabled
    session.add(row)
    session.flush()
    return row, created


def last_event_id(session: Session) -> int:
    found = session.exec(select(func.max(Event.id))).one()
    return int(found or 0)


def list_targets(session: Session, *, story_id: int | None = None) -> list[tuple[NotifyTarget, Story]]:
    query = select(NotifyTarget, Story).join(Story, col(Story.id) == NotifyTarget.story_id)
    if story_id is not None:
        query = query.where(NotifyTarget.story_id == story_id)
    return list(session.exec(query.order_by(col(NotifyTarget.id))))


def get_target(session: Session, *, target_id: int) -> NotifyTarget:
    row = session.get(NotifyTarget, target_id)
    if row is None:
        raise NotFoundError(f"no notification target with id {target_id} (see `storytrail notify list`)")
    return row


def remove_target(session: Session, *, target_id: int) -> NotifyTarget:
    row = get_target(session, target_id=target_id)
    session.exec(sa.delete(Delivery).where(col(Delivery.target_id) == target_id))
    session.delete(row)
    session.flush()
    return row


def disable_config_targets(session: Session, *, keep: set[tuple[int, str]]) -> int:
    """Disable targets from the config file that are no longer in it."""
    count = 0
    for row in session.exec(select(NotifyTarget).where(NotifyTarget.origin == "config")):
        if (row.story_id, row.target) not in keep and row.enabled:
            row.enabled = False
            session.add(row)
            count += 1
    session.flush()
    return count


@dataclass(frozen=True)
class TargetStats:
    pending: int = 0
    sent: int = 0
    dead: int = 0
    last_error: str | None = None


def target_stats(session: Session, *, target_id: int) -> TargetStats:
    rows = session.exec(
        select(Delivery.status, func.count())
        .where(Delivery.target_id == target_id)
        .group_by(col(Delivery.status))
    )
    counts = {status: int(n) for status, n in rows}
    error = session.exec(
        select(Delivery.last_error)
        .where(Delivery.target_id == target_id, col(Delivery.last_error).is_not(None))
        .order_by(col(Delivery.id).desc())
    ).first()
    return TargetStats(counts.get("pending", 0), counts.get("sent", 0), counts.get("dead", 0), error)


# --------------------------------------------------------------------------- fan-out


def _story_events(target: NotifyTarget) -> Any:
    docs = select(StoryDocument.document_id).where(StoryDocument.story_id == target.story_id)
    mine = sa.or_(
        col(Event.story_id) == target.story_id,
        sa.and_(col(Event.story_id).is_(None), col(Event.document_id).in_(docs)),
    )
    return select(Event.id, Event.kind, Event.significance, Event.at).where(
        col(Event.id) > target.cursor, mine
    )


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Delivery).values(rows).on_conflict_do_nothing(index_elements=["event_id", "target_id"])
    return len(list(session.exec(stmt.returning(col(Delivery.id)))))


def fan_out(session: Session, *, now: datetime, lag: timedelta = FAN_OUT_LAG) -> int:
    """Create the deliveries for events since each enabled target's cursor; the number made.

    The cursor only moves past events older than ``lag``: an event whose transaction commits
    late (after a later id was seen) is still found. Duplicates are ignored (unique key).
    """
    made = 0
    for target in list(session.exec(select(NotifyTarget).where(col(NotifyTarget.enabled).is_(True)))):
        wants = Filter(tuple(target.events), target.min_significance)
        rows, settled, young = [], target.cursor, False
        for event_id, kind, significance, at in session.exec(_story_events(target).order_by(col(Event.id))):
            if wants.wants(kind, significance):
                due = first_attempt(now, quiet_hours=target.quiet_hours, digest=target.digest)
                rows.append(
                    {
                        "event_id": event_id,
                        "target_id": target.id,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": due,
                        "created_at": now,
                    }
                )
            young = young or at > now - lag
            if not young:
                settled = event_id
        if rows:
            made += _insert_ignoring_duplicates(session, rows)
        if settled > target.cursor:
            session.exec(
                update(NotifyTarget)
                .where(col(NotifyTarget.id) == target.id, col(NotifyTarget.cursor) < settled)
                .values(cursor=settled)
            )
    session.commit()
    return made


# --------------------------------------------------------------------------- claims


def _free(now: datetime) -> Any:
    return sa.or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now)


def claim(session: Session, *, owner: str, now: datetime, lease: timedelta, limit: int) -> list[int]:
    """Lease the due deliveries of up to ``limit`` targets to ``owner``: delivery ids, grouped by
    target and in event order. Only a target whose oldest pending delivery is due is taken."""
    if limit <= 0:
        return []
    earlier = aliased(Delivery)
    blocked = sa.exists().where(
        col(earlier.target_id) == col(Delivery.target_id),
        col(earlier.status) == "pending",
        col(earlier.event_id) < col(Delivery.event_id),
    )
    heads_q = (
        select(Delivery.id, Delivery.target_id, Delivery.event_id)
        .where(col(Delivery.status) == "pending", col(Delivery.next_attempt_at) <= now, _free(now), ~blocked)
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    heads = list(session.exec(heads_q))
    claimed: list[int] = []
    for head_id, target_id, event_id in heads:
        group_q = (
            select(Delivery.id)
            .where(
                col(Delivery.target_id) == target_id,
                col(Delivery.status) == "pending",
                col(Delivery.event_id) >= event_id,
                col(Delivery.next_attempt_at) <= now,
                _free(now),
            )
            .order_by(col(Delivery.event_id))
            .limit(GROUP_LIMIT)
        )
        ids = [i for i in session.exec(group_q) if i is not None]
        if head_id not in ids:
            continue
        stmt = (
            update(Delivery)
            .where(col(Delivery.id).in_(ids), _free(now))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(col(Delivery.id))
        )
        got = set(session.exec(stmt).scalars())
        if head_id in got:
            claimed += [i for i in ids if i in got]
    session.commit()
    return claimed


def release(session: Session, *, ids: Sequence[int], owner: str) -> int:
    """Give back leases (the rows stay pending and due)."""
    if not ids:
        return 0
    stmt = (
        update(Delivery)
        .where(col(Delivery.id).in_(list(ids)), col(Delivery.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
    )
    count = int(session.exec(stmt).rowcount)
    session.commit()
    return count


def release_all(session: Session, *, owner: str) -> int:
    stmt = (
        update(Delivery).where(col(Delivery.lease_owner) == owner).values(lease_owner=None, lease_until=None)
    )
    count = int(session.exec(stmt).rowcount)
    session.commit()
    return count


def mark_sent(session: Session, *, ids: Sequence[int], owner: str, now: datetime) -> int:
    """Record a successful delivery (only rows ``owner`` still holds)."""
    if not ids:
        return 0
    stmt = (
        update(Delivery)
        .where(col(Delivery.id).in_(list(ids)), col(Delivery.lease_owner) == owner)
        .values(
            status="sent",
            sent_at=now,
            attempts=col(Delivery.attempts) + 1,
            lease_owner=None,
            lease_until=None,
        )
    )
    count = int(session.exec(stmt).rowcount)
    session.commit()
    return count


def mark_failed(
    session: Session, *, ids: Sequence[int], owner: str, error: str, retry_at: datetime | None
) -> int:
    """Record a failed attempt: due again at ``retry_at``, or given up (``dead``) when None."""
    if not ids:
        return 0
    values: dict[str, Any] = {
        "attempts": col(Delivery.attempts) + 1,
        "last_error": error[:1000],
        "lease_owner": None,
        "lease_until": None,
    }
    values |= {"next_attempt_at": retry_at} if retry_at is not None else {"status": "dead"}
    stmt = update(Delivery).where(col(Delivery.id).in_(list(ids)), col(Delivery.lease_owner) == owner)
    count = int(session.exec(stmt.values(**values)).rowcount)
    session.commit()
    return count


def pending_count(session: Session) -> int:
    return int(
        session.exec(select(func.count()).select_from(Delivery).where(Delivery.status == "pending")).one()
    )


def deliveries(session: Session, *, target_id: int | None = None) -> list[Delivery]:
    query = select(Delivery).order_by(col(Delivery.id))
    if target_id is not None:
        query = query.where(Delivery.target_id == target_id)
    return list(session.exec(query))


# --------------------------------------------------------------------------- what to send


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery with everything needed to send it."""

    delivery_id: int
    attempts: int
    target: NotifyTarget
    view: EventView


def outgoing(session: Session, *, ids: Sequence[int]) -> list[Outgoing]:
    """The claimed deliveries ``ids``, in the order given."""
    if not ids:
        return []
    rows = session.exec(
        select(Delivery, NotifyTarget, Event, Story)
        .join(NotifyTarget, col(NotifyTarget.id) == Delivery.target_id)
        .join(Event, col(Event.id) == Delivery.event_id)
        .join(Story, col(Story.id) == NotifyTarget.story_id)
        .where(col(Delivery.id).in_(list(ids)))
    )
    found = {d.id: Outgoing(d.id or 0, d.attempts, t, event_view(session, e, s)) for d, t, e, s in rows}
    session.expunge_all()
    return [found[i] for i in ids if i in found]


def event_view(session: Session, event: Event, story: Story) -> EventView:
    doc = session.get(Document, event.document_id) if event.document_id is not None else None
    title = None
    if doc is not None:
        title = session.exec(
            select(Version.title)
            .where(Version.document_id == doc.id, col(Version.title).is_not(None))
            .order_by(col(Version.observed_at).desc(), col(Version.id).desc())
        ).first()
    return EventView(
        id=event.id or 0,
        kind=event.kind,
        at=event.at,
        summary=event.summary,
        story_slug=story.slug,
        story_title=story.title,
        significance=event.significance,
        channel=event.channel,
        seq=event.seq,
        prev_seq=event.prev_seq,
        document_id=event.document_id,
        document_url=doc.url if doc is not None else None,
        title=event.data.get("new_title") or title,
        data=dict(event.data),
    )


def record_event(session: Session, **fields: Any) -> Event:
    """Append one event row (for ``notify test`` and for tests; the capture path writes its own)."""
    event = Event(**fields)
    session.add(event)
    session.flush()
    return event
