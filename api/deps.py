"""What route handlers are given: the app's state, a database session, the write guard, times."""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from jinja2 import Environment
from sqlalchemy.engine import Engine
from sqlmodel import Session

from jobs.metrics import Metrics
from jobs.settings import Settings

ENABLE_WRITES = (
    "writes are disabled on this server: set an API token (STORYTRAIL_API_TOKEN, or api_token in the "
    "config file's [settings]), restart `storytrail serve`, and send it as `Authorization: Bearer <token>`"
)


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    templates: Environment
    metrics: Metrics
    clock: Callable[[], datetime]


class WriteForbiddenError(Exception):
    """Writes are off: no API token is configured (403)."""


class UnauthorizedError(Exception):
    """A write without the configured token (401)."""


class BadParameterError(ValueError):
    """A parameter that passed validation but cannot be used (422)."""


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.storytrail
    return state


State = Annotated[AppState, Depends(app_state)]


def db_session(state: State) -> Iterator[Session]:
    with Session(state.engine, expire_on_commit=False) as session:
        yield session


DB = Annotated[Session, Depends(db_session)]


def require_token(
    state: State,
    authorization: Annotated[
        str | None, Header(description="`Bearer <token>`: the server's API token (writes only).")
    ] = None,
) -> None:
    """Writes need a configured token, sent as a bearer token, compared in constant time."""
    token = state.settings.api_token
    if not token:
        raise WriteForbiddenError(ENABLE_WRITES)
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise UnauthorizedError("this write needs `Authorization: Bearer <token>` (the server's API token)")
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        raise UnauthorizedError("the bearer token does not match the server's API token")


WriteAllowed = Depends(require_token)


def no_nul(request: Request) -> None:
    """Refuse a path or query string holding NUL (%00): no database column can store or match it."""
    raw = (
        (request.scope.get("raw_path") or request.url.path.encode("utf-8", "replace"))
        + b"?"
        + request.scope.get("query_string", b"")
    )
    if b"\x00" in raw or b"%00" in raw.lower():
        raise BadParameterError("the URL holds a NUL character (%00), which no parameter may contain")


def utc(value: datetime | None, name: str = "time") -> datetime | None:
    """A query-parameter time as aware UTC (a time without a zone is read as UTC)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise BadParameterError(f"{name} {value.isoformat()} is out of range once moved to UTC") from None


def storable(text: str) -> bool:
    """False for text no database column can hold (NUL, lone surrogates)."""
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def check_storable(value: object, name: str = "request body") -> None:
    """Raise :class:`BadParameterError` for any value inside ``value`` a database cannot store: text
    with NUL or lone surrogates, a float that is not finite, an integer beyond 64 bits."""
    if isinstance(value, str) and not storable(value):
        raise BadParameterError(f"{name} holds a NUL character or a lone surrogate, which cannot be stored")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadParameterError(f"{name} holds {value}, which cannot be stored")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise BadParameterError(f"{name} holds an integer too large to store")
    if isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, f"{name}.{key}")
            check_storable(item, f"{name}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            check_storable(item, name)
