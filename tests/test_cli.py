"""The command line as a user runs it: a real process, real local server, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_pipeline import page


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "STORYTRAIL_ALLOW_HOSTS": "127.0.0.1",
        "STORYTRAIL_PER_HOST_DELAY": "0",
        "STORYTRAIL_RETRIES": "0",
        "STORYTRAIL_EXTRACT_WORKERS": "1",
        "NO_COLOR": "1",
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def work(tmp_path: Path, db_url: str) -> tuple[Path, str]:
    return tmp_path, db_url


def test_check_versions_show_diff(server, work):
    cwd, db = work
    url = server.url("/story")
    server.route("/story", page())
    out = cli("check", url, "--db", db, cwd=cwd).stdout
    assert "version 1" in out
    assert "unchanged" in cli("check", url, "--db", db, cwd=cwd).stdout
    server.route("/story", page(title="Russia claims 89 drones; Kyiv calls it a fabrication", n=89))
    report = json.loads(cli("check", url, "--db", db, "--json", cwd=cwd).stdout)
    assert report["outcome"] == "new_version" and report["seq"] == 2
    rows = json.loads(cli("versions", url, "--db", db, "--json", cwd=cwd).stdout)
    assert [r["seq"] for r in rows] == [1, 2]
    shown = json.loads(cli("show", url, "--version", "1", "--db", db, "--json", cwd=cwd).stdout)
    assert "91 long-range drones" in shown["text"]
    at = json.loads(cli("show", url, "--at", rows[0]["observed_at"], "--db", db, "--json", cwd=cwd).stdout)
    assert at["seq"] == 1
    unified = cli("diff", url, "--db", db, "--format", "unified", cwd=cwd).stdout
    assert "-" in unified and "+" in unified and "89" in unified
    data = json.loads(cli("diff", url, "--db", db, "--json", cwd=cwd).stdout)
    assert data


def test_errors_are_one_line(server, work):
    cwd, db = work
    assert_one_line_error(
        cli("check", "ftp://example.org/x", "--db", db, cwd=cwd, check=False), "ftp://example.org/x"
    )
    assert_one_line_error(
        cli("versions", "https://nowhere.example/a", "--db", db, cwd=cwd, check=False),
        "https://nowhere.example/a",
    )
    assert_one_line_error(
        cli("versions", "x", "--db", "mysql://u@h/db", cwd=cwd, check=False), "database URL"
    )
    assert_one_line_error(
        cli("diff", "https://nowhere.example/a", "--format", "pdf", "--db", db, cwd=cwd, check=False),
        "--format",
    )
    assert_one_line_error(
        cli("show", "https://nowhere.example/a", "--at", "yesterday", "--db", db, cwd=cwd, check=False),
        "--at",
    )


def test_private_address_refused_without_allow(server, work):
    cwd, db = work
    server.route("/p", page())
    proc = cli(
        "check", server.url("/p"), "--db", db, cwd=cwd, env={"STORYTRAIL_ALLOW_HOSTS": ""}, check=False
    )
    assert proc.returncode == 1
    assert "STORYTRAIL_ALLOW_HOSTS" in proc.stdout + proc.stderr
    assert server.hits("/p") == 0


def test_config_check_names_the_line(tmp_path: Path):
    good = tmp_path / "good.toml"
    good.write_text('[[source]]\nname = "w"\nkind = "feed"\nurl = "https://news.example/rss.xml"\n')
    assert "ok (1 sources" in cli("config", "check", "--config", str(good), cwd=tmp_path).stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[source]]\nname = "w"\nkind = "feed"\nurl = "https://news.example/rss.xml"\nevery = "ten minutes"\n'
    )
    assert_one_line_error(
        cli("config", "check", "--config", str(bad), cwd=tmp_path, check=False), "bad.toml:5", "every"
    )
    broken = tmp_path / "broken.toml"
    broken.write_text('[[story]]\nslug = "x"\nquery = "unterminated\n')
    assert_one_line_error(
        cli("config", "check", "--config", str(broken), cwd=tmp_path, check=False), "broken.toml:3"
    )
    missing = cli("config", "check", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path, check=False)
    assert_one_line_error(missing, "nope.toml")


def test_init_writes_sample_config_and_sources(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'st.db'}"
    cli("init", "--db", db, cwd=tmp_path)
    assert (tmp_path / "storytrail.toml").exists()
    assert "ok" in cli("config", "check", cwd=tmp_path).stdout
    cli("sources", "add", "world", "https://news.example/rss.xml", "--every", "5m", "--db", db, cwd=tmp_path)
    listed = json.loads(cli("sources", "list", "--db", db, "--json", cwd=tmp_path).stdout)
    assert [(s["name"], s["every"]) for s in listed if s["enabled"]] == [("world", "5m")]
    assert len(listed) > 1  # the sample's public feeds, switched off
    assert_one_line_error(
        cli(
            "sources",
            "add",
            "x",
            "https://a.example/",
            "--kind",
            "fax",
            "--db",
            db,
            cwd=tmp_path,
            check=False,
        ),
        "--kind",
    )
    cli("sources", "remove", "world", "--db", db, cwd=tmp_path)
    left = json.loads(cli("sources", "list", "--db", db, "--json", cwd=tmp_path).stdout)
    assert [s["name"] for s in left if s["name"] == "world" or s["enabled"]] == []
    assert_one_line_error(cli("sources", "remove", "world", "--db", db, cwd=tmp_path, check=False), "world")


# --- every usage error and failure: one line, the documented exit status (issue 11.1) -----------

A_URL = "https://news.example/2025/12/30/putin-residence-drone-claim"
STORYTRAIL = Path(sys.executable).parent / "storytrail"


def run_in_process(capsys, *args: str) -> tuple[int, str, str]:
    from jobs.cli import run_cli

    code = run_cli(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    return lines[0]


QUERIES = {
    "fuzzy.toml": ("Putin~2", ["fuzzy.toml:3", "column 1", "fuzzy"]),
    "paren.toml": ("title:(", ["paren.toml:3", "column 8", "unmatched parenthesis"]),
    "quote.toml": ('\\"unclosed', ["quote.toml:3", "column 1", "unterminated quoted phrase"]),
}

ERRORS = [
    # (args, environment, exit status, what the one line names)
    (["--bogus"], {}, 2, ["no such option --bogus"]),
    (["nosuch"], {}, 2, ["no such command 'nosuch'"]),
    (["shw", A_URL], {}, 2, ["no such command 'shw'", "did you mean show"]),
    (["show", A_URL, "--version", "abc"], {}, 2, ["storytrail show", "--version 'abc'", "integer"]),
    (["search", "drone", "--limit", "-3"], {}, 2, ["--limit '-3'", "greater than or equal to 1"]),
    (["serve", "--port=70000"], {}, 2, ["--port '70000'"]),
    (["export", "valdai"], {}, 2, ["storytrail export", "missing option --format"]),
    (["sources", "add"], {}, 2, ["missing argument NAME"]),
    (["init", "--json"], {}, 2, ["storytrail init has no --json output"]),
    (["check", A_URL, "extra"], {}, 2, ["unexpected extra argument"]),
    (["--db"], {}, 2, ["--db needs a value and a command"]),
    (["diff", A_URL, "--format", "pdf"], {}, 2, ["--format 'pdf'"]),
    (["versions", A_URL], {"STORYTRAIL_MAX_BODY_BYTES": "lots"}, 2,
     ["STORYTRAIL_MAX_BODY_BYTES='lots'", "valid integer"]),
    (["versions", A_URL], {"STORYTRAIL_READ_TIMEOUT": "-5"}, 2,
     ["STORYTRAIL_READ_TIMEOUT='-5'", "greater than 0"]),
    (["versions", A_URL], {"STORYTRAIL_ALLOW_HOSTS": "127.0.0.1,10.0.0.0/33"}, 2,
     ["STORYTRAIL_ALLOW_HOSTS", "'10.0.0.0/33' is not an IP address or CIDR network"]),
    (["versions", A_URL], {"STORYTRAIL_LOG_FORMAT": "xml"}, 2, ["STORYTRAIL_LOG_FORMAT='xml'", "'json'"]),
    (["versions", A_URL, "--db", "sqlite:///{tmp}/notdb.db"], {}, 1,
     ["notdb.db is not an SQLite database"]),
    (["versions", A_URL, "--db", "sqlite:////proc/x.db"], {}, 1, ["/proc/x.db", "cannot open"]),
    (["versions", A_URL, "--db", "mysql://u@h/db"], {}, 1, ["database URL", "sqlite and postgresql"]),
    (["versions", A_URL, "--config", "{tmp}/missing.toml"], {}, 1, ["--config", "missing.toml", "not found"]),
    (["versions", A_URL, "--db", "sqlite:///{tmp}/st.db"], {}, 1, ["no archived document", A_URL]),
    (["--db", "sqlite:///{tmp}/st.db", "versions", A_URL], {}, 1, ["no archived document"]),
    (["check", "ftp://example.org/x", "--db", "sqlite:///{tmp}/st.db"], {}, 1, ["ftp://example.org/x"]),
    *[(["config", "check", "--config", f"{{tmp}}/{name}"], {}, 1, needles)
      for name, (_, needles) in QUERIES.items()],
]  # fmt: skip


@pytest.mark.parametrize(("args", "env", "code", "needles"), ERRORS, ids=lambda v: None)
def test_every_error_is_one_line_with_its_exit_status(
    tmp_path, monkeypatch, capsys, args, env, code, needles
):
    (tmp_path / "notdb.db").write_text("this is not a database\n")
    for name, (query, _) in QUERIES.items():
        (tmp_path / name).write_text(f'[[story]]\nslug = "s"\nquery = "{query}"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    status, _, stderr = run_in_process(capsys, *argv)
    line = one_line(stderr)
    assert status == code, line
    assert line.startswith("error: ")
    for needle in needles:
        assert needle in line


def test_a_bare_command_prints_usage_and_exits_2(capsys):
    status, stdout, _ = run_in_process(capsys)
    assert status == 2 and "Usage: storytrail" in stdout
    status, stdout, _ = run_in_process(capsys, "sources")
    assert status == 2 and "Usage: storytrail sources" in stdout


def test_global_options_go_before_or_after_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'g.db'}"
    config = tmp_path / "c.toml"
    config.write_text('[[source]]\nname = "w"\nkind = "feed"\nurl = "https://news.example/rss.xml"\n')
    before = run_in_process(capsys, "--db", db, "--json", f"--config={config}", "sources", "list")
    after = run_in_process(capsys, "sources", "list", "--db", db, "--config", str(config), "--json")
    assert before[0] == after[0] == 0
    assert json.loads(before[1]) == json.loads(after[1])
    assert [s["name"] for s in json.loads(before[1])] == ["w"]
    assert run_in_process(capsys, "sources", "--db", db, "list")[0] == 0  # between group and command


def test_hoist_moves_only_what_comes_before_the_command():
    from jobs.cli import root_command
    from jobs.cli.hoist import hoist

    root = root_command()
    assert hoist(root, ["--db", "X", "check", "U"]) == ["check", "U", "--db", "X"]
    assert hoist(root, ["--json", "sources", "list", "--", "-x"]) == ["sources", "list", "--json", "--", "-x"]
    assert hoist(root, ["search", "--db", "--json"]) == ["search", "--db", "--json"]  # after: untouched
    assert hoist(root, ["--db", "X"]) == []  # no command: the usage is the answer
    assert hoist(root, ["--version"]) == ["--version"]


def test_the_console_script(tmp_path):
    """The real `storytrail` executable, as a user runs it: exit statuses and one-line errors."""
    env = {**os.environ, "NO_COLOR": "1"}

    def script(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(STORYTRAIL), *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)  # fmt: skip

    version = script("--version")
    assert version.returncode == 0 and version.stdout.startswith("storytrail ")
    bare = script()
    assert bare.returncode == 2 and "Usage: storytrail" in bare.stdout
    unknown = script("versions", A_URL, "--nope")
    assert unknown.returncode == 2 and one_line(unknown.stderr).startswith("error: storytrail versions:")
    missing = script("--db", f"sqlite:///{tmp_path / 'x.db'}", "versions", A_URL)
    assert missing.returncode == 1 and "no archived document" in one_line(missing.stderr)


def test_serve_on_a_busy_port_names_it(tmp_path, monkeypatch, capsys):
    import socket

    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status, _, stderr = run_in_process(
            capsys, "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path}/s.db"
        )
    assert status == 1
    assert f"127.0.0.1:{port}" in one_line(stderr) and "already in use" in stderr


# --- settings, tables, help --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "ok"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("10.0.0.0/8", True),
     ("fd00::/8", True), ("news.example.", True), ("10.0.0.0/33", False), ("300.1.1.1", False),
     ("bad host", False), ("a/b", False)],
)  # fmt: skip
def test_allow_hosts_entries_are_checked(entry, ok):
    from jobs.settings import allow_entry_problem

    assert (allow_entry_problem(entry) is None) is ok


def test_file_settings_and_flags_are_validated_too(tmp_path):
    from jobs.config import ConfigError, load_config

    bad = tmp_path / "bad.toml"
    bad.write_text("[settings]\nretries = -1\n")
    with pytest.raises(ConfigError, match=r"bad.toml:2: \[settings\] 'retries'"):
        load_config(str(bad))


def test_constants_match_the_modules_they_stand_for():
    from importlib.metadata import version

    from jobs import constants, settings
    from jobs.cli import stories
    from jobs.discovery import DEFAULT_LINK_DEPTH
    from scraper.core.diff_render import FORMATS

    assert constants.DIFF_FORMATS == FORMATS
    assert version("storytrail") == constants.VERSION
    assert stories.DEFAULT_LINK_DEPTH == DEFAULT_LINK_DEPTH
    assert settings.Settings.model_fields["database_url"].default == constants.DEFAULT_DB


def test_piped_tables_are_tsv_with_every_value_whole():
    from jobs.cli.tables import Col, tsv_lines

    url = "http://127.0.0.1:8765/2025/12/29/" + "a-very-long-slug-" * 6
    lines = tsv_lines([Col("name"), Col("url", "url")], [("w\tx", url)], title="t")
    assert lines == ["# t", "name\turl", f"w x\t{url}"]


def test_terminal_tables_fit_the_width_cut_titles_and_keep_urls_whole():
    from rich.console import Console

    from jobs.cli.tables import Col, print_table

    url = "http://127.0.0.1:8765/2025/12/29/russia-says-drones-targeted-putin-residence"
    title = "Russia says Ukraine fired 91 drones at Putin's residence; Kyiv calls it a fabrication"
    console = Console(width=60, force_terminal=True, record=True, color_system=None)
    print_table([Col("url", "url"), Col("title", "title")], [(url, title)], console=console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "…" in text and title not in text
    first_column = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert "".join(first_column) == url  # wrapped, never cut


def test_help_has_no_type_labels_and_one_line_summaries(capsys):
    from jobs.cli import root_command

    def paths(command, prefix):
        yield prefix
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from paths(sub, [*prefix, name])

    for path in paths(root_command(), []):
        status, stdout, _ = run_in_process(capsys, *path, "--help")
        assert status == 0, path
        for label in ("<str>", "<bool>", "<int>", "<list", "<float>", "{"):
            assert label not in stdout, (path, label)
        command = root_command()
        for name in path:
            command = command.commands[name]
        summary = (command.help or "").strip().split("\n\n")[0]
        assert "\n" not in summary, (path, summary)  # listed as one line: no stray break


HEAVY = ("sqlalchemy", "sqlmodel", "trafilatura", "fastapi", "uvicorn", "httpx", "lxml", "pydantic",
         "storage.export", "jobs.pipeline")  # fmt: skip
PROBE = """
import json, sys
from jobs.cli import run_cli
run_cli(sys.argv[1:])
heavy = json.loads(%r)
found = {h for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")}
print(json.dumps(sorted(found)), file=sys.stderr)
"""


def test_start_up_imports_only_what_the_command_uses(tmp_path):
    """--help loads neither the ORM nor the extractor nor the web stack; `versions` of an existing
    archive none of them either (storage.lite), and only the ORM when it must create the file."""

    def loaded(*args: str) -> set[str]:
        code = PROBE % json.dumps(HEAVY)
        proc = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        return set(json.loads(proc.stderr.strip().splitlines()[-1]))

    assert loaded("--help") == set()
    db = f"sqlite:///{tmp_path / 'v.db'}"
    creating = loaded("versions", A_URL, "--db", db)  # a new file: created and migrated (the ORM path)
    assert {"sqlalchemy", "sqlmodel"} <= creating
    assert creating.isdisjoint({"trafilatura", "fastapi", "uvicorn", "httpx", "lxml", "storage.export"})
    assert "jobs.pipeline" not in creating
    # an existing, current archive is read by storage.lite: no ORM, no SQLAlchemy (pydantic is
    # typer's own, for parsing any command's parameters)
    assert loaded("versions", A_URL, "--db", db) <= {"pydantic"}


def test_the_schema_check_without_alembic_agrees_with_alembic(db_url):
    from storage.db import make_engine
    from storage.migrate import head_revision, upgrade
    from storage.schema_version import head_from_files, is_current

    assert head_from_files() == head_revision()
    engine = make_engine(db_url)
    try:
        assert not is_current(engine)  # empty database
        upgrade(engine)
        assert is_current(engine)
    finally:
        engine.dispose()
