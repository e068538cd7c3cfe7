"""Row writes that a batch of checks holds to its end, then sends as one executemany per shape.

Inside ``with deferred(session):`` (the writer thread's shared transaction, jobs/writer.py) the
check rows, confirmations and document updates of every check in the batch are collected and
sent when the block ends: one ``executemany`` per statement shape instead of one statement per
check. Nothing in the transaction reads those rows back, except a later check of the same
document in the same batch: :func:`sync` sends what is held first (storage.documents does so
before it reads a document row). Outside the block every write is sent at once.

A shape is a hashable key and the function that builds its statement (built once, then reused:
no statement construction on the hot path); the parameters of one write are a dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

_KEY = "storytrail.deferred"
_STATEMENTS: dict[Any, Any] = {}  # shape -> its statement, built on first use


@dataclass
class _Held:
    writes: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)  # shape -> parameters
    documents: set[int] = field(default_factory=set)  # documents with a write held


def statement(shape: Any, build: Callable[[], Any]) -> Any:
    """The statement of ``shape`` (``build()`` on first use)."""
    found = _STATEMENTS.get(shape)
    if found is None:
        found = _STATEMENTS[shape] = build()
    return found


def write(
    session: Session,
    shape: Any,
    build: Callable[[], Any],
    params: dict[str, Any],
    *,
    document_id: int | None = None,
) -> None:
    """Send ``statement(shape, build)`` with ``params`` now, or at the end of the batch."""
    held: _Held | None = session.info.get(_KEY)
    if held is None:
        session.execute(statement(shape, build), params)
        return
    held.writes.setdefault(shape, []).append(params)
    if document_id is not None:
        held.documents.add(document_id)


def sync(session: Session, document_ids: Iterable[int]) -> None:
    """Before reading documents in a batch: send what is held, if it touches one of them."""
    held: _Held | None = session.info.get(_KEY)
    if held is not None and not held.documents.isdisjoint(document_ids):
        _send(session, held)


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Hold the writes of :func:`write` in ``session`` until the block ends without an error (an
    error leaves them unsent: the caller rolls the transaction back)."""
    if _KEY in session.info:  # already holding: the outer block sends
        yield
        return
    held = session.info[_KEY] = _Held()
    try:
        yield
        _send(session, held)
    finally:
        session.info.pop(_KEY, None)


def _send(session: Session, held: _Held) -> None:
    writes, held.writes, held.documents = held.writes, {}, set()
    for shape, params in writes.items():
        session.execute(_STATEMENTS[shape], params)


def by_id(table: sa.Table, columns: tuple[str, ...]) -> Callable[[], Any]:
    """``UPDATE table SET column = :p_column ... WHERE id = :p_id`` (bound names apart from the
    columns': SQLAlchemy reserves those for its own SET parameters)."""

    def build() -> Any:
        values: dict[str, Any] = {name: sa.bindparam("p_" + name) for name in columns}
        return sa.update(table).where(table.c.id == sa.bindparam("p_id")).values(values)

    return build
