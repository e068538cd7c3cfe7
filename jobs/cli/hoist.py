"""Global options before the command: ``storytrail --db URL sources list`` works as git's do.

The options are declared on the commands (``DbOpt``, ``ConfigOpt``, ``JsonOpt`` in
jobs.cli.common), so a new command gets them by declaring them; this moves the ones typed before
the command to after it.
"""

from __future__ import annotations

from typing import Any

WITH_VALUE = ("--db", "--config")
FLAGS = ("--json",)


def _subcommands(command: Any) -> dict[str, Any] | None:
    commands = getattr(command, "commands", None)
    return commands if isinstance(commands, dict) else None


def hoist(root: Any, args: list[str]) -> list[str]:
    """``args`` with global options found before the command name moved after it."""
    moved: list[str] = []
    path: list[str] = []
    group, i = root, 0
    while i < len(args):
        token = args[i]
        name = token.split("=", 1)[0]
        if name in WITH_VALUE:
            step = 1 if "=" in token else 2
            if i + step > len(args):
                break  # `--db` with no value: the command says so
            moved += args[i : i + step]
            i += step
            continue
        if token in FLAGS:
            moved.append(token)
            i += 1
            continue
        commands = _subcommands(group)
        if token.startswith("-") or commands is None or token not in commands:
            break
        path.append(token)
        group = commands[token]
        i += 1
        if _subcommands(group) is None:
            break
    if not moved:
        return args
    rest = args[i:]
    if _subcommands(group) is not None:  # no command named: its group's usage is the answer
        return path + rest
    if "--" in rest:
        cut = rest.index("--")
        return path + rest[:cut] + moved + rest[cut:]
    return path + rest + moved
