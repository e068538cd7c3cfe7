"""Column types: timezone-aware UTC datetimes on every backend; `one_of`, an IN list as one parameter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores UTC; always returns aware datetimes (SQLite keeps no zone, PostgreSQL timestamptz)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: storytrail stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def one_of(column: Any, values: Sequence[Any]) -> Any:
    """``column IN (values)`` as one expanding parameter: ``in_(list)`` coerces every element into
    its own expression first (100 calls of SQLAlchemy's ``coercions.expect`` per timeline page)."""
    return column.in_(sa.bindparam(None, value=list(values), expanding=True))
