"""What every command shares: the --db / --config / --json options, context, output, errors.

This module is imported by every command module, so it imports nothing heavy at the top: the
settings, the config file, the ORM and the engine are loaded when a command asks for them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from jobs.cli.tables import print_table as print_table
from jobs.constants import DEFAULT_CONFIG, DEFAULT_DB

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from jobs.config import Config
    from jobs.settings import Settings

T = TypeVar("T")

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", metavar="URL", help=f"Database URL (env STORYTRAIL_DATABASE_URL; default {DEFAULT_DB})."
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config", metavar="FILE", help=f"Config file (env STORYTRAIL_CONFIG; default {DEFAULT_CONFIG})."
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
class RunState:
    """What the error handler may name: the database the command opened."""

    database_url: str | None = None


state = RunState()


@dataclass
class AppContext:
    settings: Settings
    config: Config

    def engine(self) -> Engine:
        from storage.db import make_engine

        return make_engine(self.settings.database_url)


def context(db: str | None, config: str | None, *, config_required: bool = False) -> AppContext:
    """Settings and config from flags, environment and file (flags win).

    A config file named with --config must exist; the default one (or STORYTRAIL_CONFIG's) may be
    absent, which is an empty config.
    """
    from jobs.config import ConfigError, load_config
    from jobs.settings import load_settings

    base = load_settings(database_url=db, config=config)
    state.database_url = base.database_url
    try:
        cfg = load_config(base.config, required=config_required or config is not None)
    except ConfigError as exc:
        if config is not None and exc.line is None:
            fail(f"--config {config}: {exc.message}")
        raise
    settings = load_settings(database_url=db, config=config, file_settings=cfg.settings)
    state.database_url = settings.database_url
    return AppContext(settings=settings, config=cfg)


# Environment variables that are not settings fields, or that light_database_url reads itself
_LIGHT_ENV = {"STORYTRAIL_DATABASE_URL", "STORYTRAIL_CONFIG", "STORYTRAIL_DEBUG"}


def light_database_url(db: str | None, config: str | None) -> str | None:
    """The database URL without loading the settings and config machinery (pydantic, the config
    validators: about 0.4 s of start-up), for read-only commands.

    Only when nothing would need checking: no config file (the default one absent, none named)
    and no STORYTRAIL_* setting in the environment besides the database URL and the config path.
    Otherwise None: the caller uses :func:`context`, which validates them all and says what is wrong.
    """
    import os

    if any(k.startswith("STORYTRAIL_") and k not in _LIGHT_ENV for k in os.environ):
        return None
    if config is not None:
        return None
    from pathlib import Path

    if Path(os.environ.get("STORYTRAIL_CONFIG") or DEFAULT_CONFIG).exists():
        return None
    url = db or os.environ.get("STORYTRAIL_DATABASE_URL") or DEFAULT_DB
    state.database_url = url
    return url


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

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
    from storage.schema_version import is_current

    engine = ctx.engine()
    if is_current(engine):
        return engine
    from storage.migrate import current_revision, head_revision, upgrade

    if current_revision(engine) != head_revision():
        upgrade(engine)
    return engine
