"""Every error of every command, as one line on stderr and an exit status.

2: a usage error (unknown command or flag, a bad or missing value, a bad ``STORYTRAIL_*`` value);
1: a failure (the URL was refused, the database cannot be opened, the config file is wrong);
130: interrupted. Nothing here prints a traceback unless ``STORYTRAIL_DEBUG`` is set.

typer ships its own copy of click, so its exceptions are typer's classes (``typer._click``), not
click's: they are looked up from typer here.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click import exceptions as click_errors

USAGE = 2
FAILURE = 1


def say(message: str) -> None:
    from rich.markup import escape

    from jobs.cli.common import err

    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def exit_status(exc: BaseException, args: Sequence[str]) -> int:
    """Print ``exc`` as one line (or help, for a bare group) and return the exit status."""
    from jobs.cli.common import CLIError

    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else FAILURE)
    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        say("interrupted")
        return 130
    if isinstance(exc, typer.Abort):
        say("aborted")
        return FAILURE
    if isinstance(exc, CLIError):
        say(str(exc))
        return exc.code
    if isinstance(exc, click_errors.NoArgsIsHelpError):
        return USAGE  # typer printed the group's help when it raised this
    if isinstance(exc, click_errors.UsageError):
        say(usage_line(exc, args))
        return USAGE
    if isinstance(exc, click_errors.ClickException):
        say(exc.format_message())
        return exc.exit_code
    return _failure(exc)


# --- usage errors ---------------------------------------------------------------------------------


def usage_line(exc: Any, args: Sequence[str]) -> str:
    """One line naming the command, the flag and the value."""
    where = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "storytrail"
    if isinstance(exc, click_errors.MissingParameter):
        return f"{where}: missing {_param_label(exc.param)} (see {where} --help)"
    if isinstance(exc, click_errors.BadParameter):
        return f"{where}: {_param_label(exc.param, args)}: {_reason(exc.message)}"
    if isinstance(exc, click_errors.NoSuchOption):
        if exc.option_name in ("--json",):
            return f"{where} has no {exc.option_name} output (see {where} --help)"
        if exc.option_name in ("--db", "--config") and where == "storytrail":
            name = exc.option_name
            return f"{name} needs a value and a command (storytrail {name} VALUE COMMAND ...)"
        hint = f" (did you mean {', '.join(sorted(exc.possibilities))}?)" if exc.possibilities else ""
        return f"{where}: no such option {exc.option_name}{hint}"
    found = re.match(r"No such command '([^']+)'", exc.message)
    if found:
        return f"{where}: no such command {found.group(1)!r}{_suggest(exc, found.group(1))}"
    return f"{where}: {exc.message.rstrip('.')}"


def _param_label(param: Any, args: Sequence[str] = ()) -> str:
    if param is None:
        return "a value"
    if getattr(param, "param_type_name", "") == "option":
        flag = max(param.opts, key=len)
        value = _value_of(param.opts, args)
        if value is not None:
            return f"{flag} {value!r}"
        meta = param.metavar or (param.name or "").upper()
        return f"option {flag} {meta}".rstrip()
    name = param.metavar or (param.name or "value").upper()
    return f"argument {name}"


def _value_of(opts: Sequence[str], args: Sequence[str]) -> str | None:
    """The value typed for an option (the last one, as click keeps the last)."""
    value = None
    for i, token in enumerate(args):
        for opt in opts:
            if token == opt and i + 1 < len(args):
                value = args[i + 1]
            elif token.startswith(opt + "="):
                value = token[len(opt) + 1 :]
    return value


def _reason(message: str) -> str:
    """Typer's value messages, made short: "should be a valid integer"."""
    text = message.split(", unable to")[0].strip().rstrip(".")
    if text.startswith("Input "):
        text = text[len("Input ") :]
    return text[:1].lower() + text[1:]


def _suggest(exc: Any, name: str) -> str:
    commands = sorted(getattr(exc.ctx.command, "commands", {}) or {}) if exc.ctx else []
    close = difflib.get_close_matches(name, commands, n=2)
    if close:
        return f" (did you mean {' or '.join(close)}?)"
    return f" (commands: {', '.join(commands)})" if commands else ""


# --- failures -------------------------------------------------------------------------------------


USER_ERRORS = (
    ("jobs.config", "ConfigError"),
    ("scraper.core.urls", "InvalidURL"),
    ("scraper.http", "FetchError"),
    ("storage.db", "DatabaseURLError"),
    ("storage.errors", "NotFoundError"),
)


def _user_errors() -> tuple[type[BaseException], ...]:
    """The typed errors the code base raises for things a user can fix; each message is one line.

    Only the modules already loaded are asked: an error of a module never imported was not raised
    (and importing it here would cost the start-up time the lazy imports saved).
    """
    found = (getattr(sys.modules[m], name, None) for m, name in USER_ERRORS if m in sys.modules)
    return tuple(e for e in found if isinstance(e, type) and issubclass(e, BaseException))


def _failure(exc: BaseException) -> int:
    settings = sys.modules.get("jobs.settings")
    if settings is not None and isinstance(exc, settings.SettingsError):
        say(str(exc))
        return USAGE
    if isinstance(exc, OSError) and not _is_sqlalchemy(exc):
        return _os_error(exc)
    if _is_sqlalchemy(exc):
        say(database_problem(exc))
        return FAILURE
    if isinstance(exc, _user_errors()):
        say(str(exc).strip().splitlines()[0])
        return FAILURE
    if os.environ.get("STORYTRAIL_DEBUG"):
        raise exc
    say(f"internal error ({type(exc).__name__}): {exc} — set STORYTRAIL_DEBUG=1 for a traceback")
    return FAILURE


def _os_error(exc: OSError) -> int:
    import errno

    if exc.errno == errno.EPIPE:  # `storytrail ... | head`: the reader has gone, nothing to say
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed pipe until exit
        return FAILURE
    name = f" {exc.filename}" if exc.filename else ""
    say(f"{exc.strerror or exc}:{name}" if name else str(exc.strerror or exc))
    return FAILURE


def _is_sqlalchemy(exc: BaseException) -> bool:
    """A database error: SQLAlchemy's, or the driver's own (storage.lite reads without SQLAlchemy)."""
    return type(exc).__module__.startswith(("sqlalchemy.", "sqlite3", "psycopg"))


def database_problem(exc: BaseException) -> str:
    """A database error as one line that names the database (its file, for SQLite)."""
    from jobs.cli.common import state

    orig = getattr(exc, "orig", None) or exc
    reason = (str(orig).strip().splitlines() or [type(exc).__name__])[0]
    url = state.database_url
    path = _sqlite_path(url) if url else None
    check = "check --db or STORYTRAIL_DATABASE_URL"
    if path is not None:
        if "file is not a database" in reason:
            return f"{path} is not an SQLite database (file is not a database): {check}"
        if "unable to open database file" in reason:
            return f"cannot open the SQLite database {path}: unable to open database file ({check})"
        return f"database error in {path}: {reason}"
    where = f" ({_redact(url)})" if url else ""
    return f"database error{where}: {reason}"


def _sqlite_path(url: str) -> str | None:
    if not url.startswith("sqlite:"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    return path.split("?", 1)[0] or ":memory:"


def _redact(url: str) -> str:
    from storage.db import redact

    return redact(url)
