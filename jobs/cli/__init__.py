"""The `storytrail` command line (DESIGN.md, interfaces).

Commands live in the modules of this package, one module per command group; every module with a
``register(app)`` function is found and registered (a new group is a new file). Command modules
import only typer and light helpers at the top and load what they use inside the command, so
``storytrail --help`` answers at once.

Errors, whatever the command (jobs.cli.errors): a usage error is one line naming the flag or value
and exits 2; a failure is one line and exits 1; never a traceback unless STORYTRAIL_DEBUG is set.
The global options ``--db``, ``--config`` and ``--json`` may come before the command too
(``storytrail --db URL versions URL``): they are moved to the command that takes them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any

import typer

from jobs.cli.common import out

app = typer.Typer(
    name="storytrail",
    help=(
        "Follow news stories as they evolve: every version of every article and post, diffed and "
        "exported.\n\nThe options --db URL, --config FILE and --json (where a command prints data) "
        "go before or after the command."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Command groups in the order --help lists them; modules not named here follow alphabetically.
ORDER = ("archive", "sources", "sourcelist", "stories", "discovery", "reading", "noise", "notify", "backup",
         "daemon", "web", "demo")  # fmt: skip
NOT_COMMANDS = {"common", "errors", "tables", "hoist"}


def _show_version(value: bool) -> None:
    if value:
        from jobs.constants import VERSION

        out.print(f"storytrail {VERSION}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_show_version, help="Print the version and exit."),
    ] = False,
) -> None:
    pass


_registered: list[str] = []


def command_modules() -> list[str]:
    """The modules of this package that define commands, in --help order."""
    import pkgutil

    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    names = [n for n in names if n not in NOT_COMMANDS]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _register() -> None:
    """Register every command group once (tests and docs call this too)."""
    import importlib

    if _registered:
        return
    for name in command_modules():
        module = importlib.import_module(f"jobs.cli.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
            _registered.append(name)


@cache
def root_command() -> Any:
    """The click command tree, built once, with help made for people (no type labels)."""
    from jobs.cli.helptext import tidy

    _register()
    command = typer.main.get_command(app)
    tidy(command)
    return command


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run one command line and return its exit status (errors are printed, never raised)."""
    from jobs.cli.errors import exit_status
    from jobs.cli.hoist import hoist

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["storytrail"]:  # `docker compose run --rm daemon storytrail ...` (entrypoint)
        del args[0]
    # storytrail uses no pydantic plugins; looking for them scans every installed package's
    # entry points (about 0.1 s) the first time a model is built
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if args[:1] == ["run"]:
        from jobs.signals import catch_early_signals

        catch_early_signals()  # a SIGTERM while the modules load still ends in a clean exit
    try:
        command = root_command()
        args = hoist(command, args)
        result = command.main(args=args, prog_name="storytrail", standalone_mode=False)
    except BaseException as exc:
        return exit_status(exc, args)
    return result if isinstance(result, int) else 0


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: ``storytrail ...``."""
    code = run_cli(argv)
    sys.stdout.flush()
    if code:
        sys.exit(code)
