"""`storytrail serve`: its options, and a real server in a subprocess that creates its database,
serves pages and the API, and takes its API token from STORYTRAIL_API_TOKEN."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from jobs.cli import web

ROOT = Path(__file__).resolve().parent.parent


def test_serve_help_names_host_and_port_defaults():
    app = typer.Typer()
    web.register(app)
    app.command("other")(lambda: None)  # a second command keeps "serve" a subcommand
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "--host" in result.output and "127.0.0.1" in result.output
    assert "--port" in result.output and "8080" in result.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host, loopback):
    assert web.is_loopback(host) is loopback


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_in_a_subprocess_with_a_token_from_the_environment(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_")}
    env |= {"PYTHONPATH": str(ROOT), "STORYTRAIL_API_TOKEN": "from-the-environment", "NO_COLOR": "1"}
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    command = [
        sys.executable,
        "-c",
        "from jobs.cli import main; main()",
        "serve",
        "--port",
        str(port),
        "--db",
        db,
    ]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.2)
        assert httpx.get(f"{base}/").status_code == 200
        assert httpx.get(f"{base}/api/stories").json() == {"items": [], "next_cursor": None}
        auth = {"Authorization": "Bearer from-the-environment"}
        created = httpx.post(f"{base}/api/stories", json={"slug": "valdai", "title": "Valdai"}, headers=auth)
        assert created.status_code == 201
        assert httpx.post(f"{base}/api/stories", json={"slug": "x"}).status_code == 401
        page = httpx.get(f"{base}/stories/valdai")
        assert page.status_code == 200 and "<h1>Valdai</h1>" in page.text
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    assert f"serving http://127.0.0.1:{port}/" in output and "writes enabled" in output
    assert (tmp_path / "fresh.db").exists()


def test_serve_help_names_workers():
    app = typer.Typer()
    web.register(app)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert "--workers" in result.output and "SIGKILL" in result.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_serve_with_two_workers_and_nothing_outlives_a_sigkill(tmp_path):
    import psutil

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_")}
    env |= {"PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    db = f"sqlite:///{tmp_path / 'workers.db'}"
    command = [sys.executable, "-c", "from jobs.cli import main; main()", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--workers", "2", "--db", db],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(proc.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        workers: list[psutil.Process] = []
        while len(workers) < 2 or not _answers(f"{base}/healthz"):
            assert proc.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "two workers did not answer"
            time.sleep(0.2)
            workers = [c for c in parent.children() if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 2
        with httpx.Client(base_url=base) as client:
            assert all(client.get("/api/stories").status_code == 200 for _ in range(20))
        descendants = parent.children(recursive=True)
        proc.kill()  # SIGKILL: no handler of ours runs
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(descendants, timeout=10)
        assert not alive, f"outlived storytrail serve: {[p.cmdline() for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
