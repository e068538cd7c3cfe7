"""Help for people: metavars instead of type labels (``<str>``, ``<bool>``, ``<list[str]>``).

typer 0.29 prints a parameter's Python type when it has no metavar, and writes a required
argument as ``{NAME}`` in the usage line. Every parameter of the tree gets a plain metavar
here (flags none), and arguments read ``NAME`` / ``[NAME]`` as in most command lines. A
docstring's first paragraph is the summary the command list shows: it is put on one line.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

HELP_NAMES = ["-h", "--help"]


def _metavar(param: Any) -> str:
    return (param.name or "value").upper().removeprefix("AS_")


def _tidy_argument(param: Any) -> None:
    name = param.metavar or _metavar(param)
    param.metavar = name
    more = "..." if param.nargs != 1 and not name.endswith("...") else ""
    usage = f"{name}{more}" if param.required or name.startswith("[") else f"[{name}]{more}"
    param.display_type_rich = lambda ctx: None  # the name says it; no type label
    param._usage_display_name = lambda: usage


def _tidy_option(param: Any) -> None:
    if getattr(param, "is_flag", False):
        param.metavar = ""
    elif param.metavar is None:
        param.metavar = _metavar(param)


def one_line_summary(text: str) -> str:
    """The first paragraph of a help text on one line (a docstring's line breaks are not meant)."""
    first, sep, rest = text.strip().partition("\n\n")
    return " ".join(first.split()) + sep + rest


def tidy(command: Any) -> None:
    """Plain metavars for every parameter of ``command`` and its subcommands, --help included;
    each command's summary on one line."""
    if getattr(command, "help", None):
        command.help = one_line_summary(command.help)
    params = list(getattr(command, "params", []))
    helper = command.get_help_option(SimpleNamespace(help_option_names=HELP_NAMES))
    if helper is not None:
        params.append(helper)
    for param in params:
        if getattr(param, "param_type_name", "") == "argument":
            _tidy_argument(param)
        else:
            _tidy_option(param)
    for sub in (getattr(command, "commands", None) or {}).values():
        tidy(sub)
