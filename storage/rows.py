"""Inserting a row that another process may be inserting at the same moment."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


def add_once(session: Session, row: Row, find: Callable[[], Row | None]) -> tuple[Row, bool]:
    """Insert ``row`` in a savepoint; when a concurrent writer (another CLI process, worker or
    node) inserted the same unique key first, return theirs (``find``) instead: (row, created)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found, False
    return row, True
