"""What every command shares: the --db / --config / --json options, context, output, errors."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from jobs.config import Config, load_config
from jobs.settings import DEFAULT_CONFIG, DEFAULT_DB, Settings, load_settings
from storage.db import make_engine

T = TypeVar("T")

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", metavar="URL", help=f"Database URL (env STORYTRAIL_DATABASE_URL; default {DEFAULT_DB})"
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config", metavar="FILE", help=f"Config file (env STORYTRAIL_CONFIG; default {DEFAULT_CONFIG})"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class CLIError(Exception):
    """A one-line user-facing error; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class AppContext:
    settings: Settings
    config: Config

    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)


def context(db: str | None, config: str | None, *, config_required: bool = False) -> AppContext:
    """Settings and config from flags, environment and file (flags win)."""
    base = load_settings(database_url=db, config=config)
    cfg = load_config(base.config, required=config_required)
    settings = load_settings(database_url=db, config=config, file_settings=cfg.settings)
    return AppContext(settings=settings, config=cfg)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fail(message: str, code: int = 1) -> NoReturn:
    raise CLIError(message, code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"cannot serialise {type(value).__name__}")


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def short_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def parse_time(text: str, flag: str) -> datetime:
    """An ISO 8601 time for a flag; naive times are UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{flag} {text!r} is not an ISO 8601 time (e.g. 2025-12-30T12:00:00Z)", 2)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ready_engine(ctx: AppContext) -> Engine:
    """The database, migrated to the current schema (a new SQLite file is created on first use)."""
    from storage.migrate import current_revision, head_revision, upgrade

    engine = ctx.engine()
    if current_revision(engine) != head_revision():
        upgrade(engine)
    return engine
