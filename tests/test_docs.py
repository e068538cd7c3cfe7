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


def quick_start_block() -> list[str]:
    """The first shell block under "## Quick start", one command a line."""
    section = README.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_the_quick_start_runs_as_written_against_the_demo(tmp_path, monkeypatch, capsys):
    """Every command of the Quick start, in a fresh folder, exits 0 and shows what it says."""
    import json
    import re
    import shlex

    from jobs.cli import run_cli

    lines = quick_start_block()
    assert lines[0].startswith("make setup && . .venv/bin/activate")  # this test runs in that venv
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("STORYTRAIL_EXTRACT_WORKERS", "0")  # extraction inline: no process pool here
    monkeypatch.delenv("STORYTRAIL_DATABASE_URL", raising=False)
    monkeypatch.delenv("STORYTRAIL_CONFIG", raising=False)
    site, outputs = "127.0.0.1:8765", {}
    for line in lines[1:]:
        words = shlex.split(line, comments=True)
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            monkeypatch.setenv(name, value)
            continue
        if words[0] == "unset":
            monkeypatch.delenv(words[1])
            continue
        assert words[0] == "storytrail", line
        args = [w.replace("127.0.0.1:8765", site) for w in words[1:]]
        code = run_cli(args)
        captured = capsys.readouterr()
        assert code == 0, (line, captured.err)
        outputs[args[0]] = captured.out
        moved = re.search(r"the demo site is on http://(127\.0\.0\.1:\d+)", captured.out)
        if args[0] == "demo" and moved:  # port 8765 was taken (another run): the demo said where
            site = moved.group(1)
    assert "./storytrail-demo.db" in outputs["demo"].splitlines()[0]
    assert (tmp_path / "storytrail-demo.db").exists() and not (tmp_path / "storytrail.db").exists()
    assert "page\t2\tnormal" in outputs["versions"]
    assert "+ European officials said" in outputs["diff"]
    assert "Tver" in outputs["search"]
    assert "events" in outputs["timeline"]

    # a second run refreshes the demo's own file: one copy of the story, not two
    assert run_cli(["demo"]) == 0
    assert "refreshing it" in capsys.readouterr().out.splitlines()[0]
    assert (
        run_cli(
            ["stories", "show", "valdai-residence-claim", "--json", "--db", "sqlite:///./storytrail-demo.db"]
        )
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["counts"]["documents"] == 5
