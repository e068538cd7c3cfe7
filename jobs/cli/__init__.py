"""The `storytrail` command line (DESIGN.md, interfaces)."""

from __future__ import annotations

import os
import sys

import typer

from jobs.cli.common import CLIError, err

app = typer.Typer(
    name="storytrail",
    help="Follow news stories as they evolve: every version of every article and post, diffed and exported.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    from jobs.cli import archive, demo, sources

    archive.register(app)
    sources.register(app)
    demo.register(app)
    for name in (
        "stories",
        "discovery",
        "daemon",
        "reading",
        "web",
        "notify",
        "sourcelist",
        "backup",
        "noise",
    ):
        module = _optional(name)
        if module is not None:
            module.register(app)


def _optional(name: str):  # type: ignore[no-untyped-def]
    import importlib

    try:
        return importlib.import_module(f"jobs.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"jobs.cli.{name}":
            raise
        return None


def _user_errors() -> tuple[type[BaseException], ...]:
    from jobs.config import ConfigError
    from scraper.core.urls import InvalidURL
    from scraper.http import FetchError
    from storage.db import DatabaseURLError
    from storage.documents import NotFoundError

    return (ConfigError, InvalidURL, FetchError, DatabaseURLError, NotFoundError)


def main() -> None:
    if sys.argv[1:2] == ["storytrail"]:  # `docker compose run --rm daemon storytrail ...` (entrypoint)
        del sys.argv[1]
    if sys.argv[1:2] == ["run"]:
        from jobs.signals import catch_early_signals

        catch_early_signals()  # a SIGTERM while the modules load still ends in a clean exit
    _register()
    try:
        code = app(standalone_mode=False)
    except CLIError as exc:
        _die(str(exc), exc.code)
    except typer.Abort:
        _die("aborted", 1)
    except KeyboardInterrupt:
        _die("interrupted", 130)
    except Exception as exc:
        _handle(exc)
    else:
        if isinstance(code, int) and code:
            sys.exit(code)


def _handle(exc: Exception) -> None:
    import click
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, click.exceptions.Exit):
        sys.exit(exc.exit_code)
    if isinstance(exc, click.ClickException):
        exc.show()
        sys.exit(exc.exit_code)
    if isinstance(exc, _user_errors()):
        _die(str(exc), 1)
    if isinstance(exc, OperationalError):
        _die(f"database error: {str(exc.orig).strip().splitlines()[0]}", 1)
    if os.environ.get("STORYTRAIL_DEBUG"):
        raise exc
    _die(f"internal error ({type(exc).__name__}): {exc} — set STORYTRAIL_DEBUG=1 for a traceback", 70)


def _die(message: str, code: int) -> None:
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(code)
