"""The README keeps up with the code: every command is documented, the policy table is current."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from scraper.core.recheck import DEFAULT_POLICY, table_markdown

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def command_paths() -> list[str]:
    import jobs.cli

    jobs.cli._register()
    root = typer.main.get_command(jobs.cli.app)
    paths: list[str] = []

    def walk(cmd: Any, prefix: str) -> None:
        if hasattr(cmd, "commands"):  # a group (typer may ship its own click)
            for name, sub in cmd.commands.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            paths.append(prefix)

    walk(root, "")
    return sorted(paths)


def test_every_command_is_in_the_readme():
    missing = [p for p in command_paths() if f"storytrail {p}" not in README]
    assert missing == []


def test_readme_mentions_no_command_that_does_not_exist():
    known = set(command_paths())
    groups = {p.split()[0] for p in known}
    mentioned = set(re.findall(r"`storytrail ([a-z]+(?: [a-z]+)?)", README))
    unknown = {m for m in mentioned if m not in known and m.split()[0] not in known and m not in groups}
    assert unknown == set()


def test_readme_policy_table_is_the_code_table():
    block = README.split("<!-- recheck-table:start -->")[1].split("<!-- recheck-table:end -->")[0]
    assert block.strip() == table_markdown(DEFAULT_POLICY).strip()


def test_every_command_has_help():
    import jobs.cli

    jobs.cli._register()
    root = typer.main.get_command(jobs.cli.app)
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        assert (cmd.help or "").strip(), name
