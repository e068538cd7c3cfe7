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
