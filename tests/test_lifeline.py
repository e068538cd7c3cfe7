"""Nothing outlives the daemon: after SIGKILL of `storytrail run`, its extraction forkserver,
workers and multiprocessing's resource tracker are gone within 5 s (Linux only)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from sqlalchemy.engine import Engine

from scraper.lifeline import alive, die_with_parent
from tests.conftest import ROOT
from tests.localserver import LocalServer
from tests.test_daemon import HTML, daemon_env, enrol, free_port, state, wait_for
from tests.test_pipeline import page

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")


def gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE  # dead, waiting for whoever reaps orphans
    except psutil.NoSuchProcess:
        return True


def storytrail() -> list[str]:
    script = Path(sys.executable).with_name("storytrail")
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from jobs.cli import main; main()"]


@linux_only
def test_die_with_parent_kills_a_child_whose_parent_was_sigkilled(tmp_path: Path) -> None:
    code = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'from scraper.lifeline import follow; import sys, time; follow(int(sys.argv[1])); time.sleep(60)', "
        "str(os.getpid())])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    time.sleep(0.5)  # the child has asked the kernel by now
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 5
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child)


def test_alive_and_die_with_parent_answer_without_raising() -> None:
    assert alive(os.getpid())
    assert isinstance(die_with_parent(0), bool)  # signal 0: clears the setting for this process


@linux_only
def test_sigkill_of_the_daemon_leaves_no_process_of_its_tree(
    server: LocalServer, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    for i in range(4):
        server.route(f"/a{i}", page(title=f"Story {i}"), headers=HTML)
    enrol(engine, [server.url(f"/a{i}") for i in range(4)], datetime.now(UTC) - timedelta(seconds=1))
    port = str(free_port())
    cmd = [*storytrail(), "run", "--db", db_url, "--health-port", port, "--dispatch-interval", "0.2"]
    env = daemon_env(tmp_path, STORYTRAIL_EXTRACT_WORKERS="2")
    daemon = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: state(engine)[0] == 4 or daemon.poll() is not None, "four pages extracted")
        tree = psutil.Process(daemon.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "multiprocessing.forkserver" in names and len(tree) >= 3, names  # forkserver, workers
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not all(gone(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [(p.pid, " ".join(p.cmdline())[:80]) for p in tree if not gone(p)]
        assert not left, f"still running 5 s after SIGKILL of the daemon: {left}"
    finally:
        daemon.kill()
