"""The daemon at 100,000 enrolled documents (SQLite): memory and the cost of a dispatch round.

1. bulk-inserts 100,000 documents into a fresh SQLite file (next check: tomorrow);
2. times dispatch rounds in this process: claiming a batch of due work (``claim_documents``,
   16 = the default worker count) and the queue figures each round also reads (due and enrolled
   counts), with nothing due and with all 100,000 due;
3. starts ``storytrail run`` as its own process and reads its resident memory (/proc) idle (nothing
   due), then while it works through due documents served by a local HTTP server (one host,
   politeness delay 0) — main process and its extraction workers separately.

    python -m bench.bench_daemon
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = 100_000
BATCH = 16
ROUNDS = 100
WARM_S = 5.0
WORK_S = 20.0

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Story {n}</title></head>
<body><article><h1>Drone claim, part {n}</h1><p class="byline">By A. Reporter</p>
<p>Russia said on Monday that Ukraine had launched 91 long-range drones at the state residence near
Valdai. Kyiv called the account a fabrication. This is article number {n} of the benchmark.</p>
<p>According to the defence ministry, all of the drones were intercepted and no one was hurt.</p>
</article></body></html>"""


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if not self.path.startswith("/a/"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = PAGE.format(n=self.path.rsplit("/", 1)[-1]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_database(path: Path, base: str, now: datetime) -> float:
    """Migrate a fresh SQLite file and insert DOCUMENTS documents; the seconds the insert took."""
    import sqlalchemy as sa

    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import Document

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    later = now + timedelta(days=1)
    rows = [
        {
            "url": f"{base}/a/{i}",
            "kind": "article",
            "status": "active",
            "first_seen": now,
            "last_seen": now,
            "next_check": later,
            "unchanged_checks": 0,
            "missing_count": 0,
            "settings": {},
        }
        for i in range(DOCUMENTS)
    ]
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.insert(Document.__table__), rows)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered) * 1000:.2f} ms (p95 {p95 * 1000:.2f})"


def _rounds(engine: Any, now: datetime, label: str) -> dict[str, str]:
    from sqlmodel import Session

    from storage import queue

    claims, figures = [], []
    with Session(engine) as session:
        for i in range(ROUNDS):
            started = time.perf_counter()
            queue.claim_documents(
                session, owner=f"bench-{i}", now=now, lease=timedelta(minutes=5), limit=BATCH
            )
            claims.append(time.perf_counter() - started)
            started = time.perf_counter()
            queue.queue_depth(session, now=now)
            queue.enrolled_documents(session)
            figures.append(time.perf_counter() - started)
    return {
        f"claim a batch of {BATCH}, every round ({label})": _ms(claims),
        f"queue depth + enrolled counts, at most every 10 s ({label})": _ms(figures),
        f"round with both ({label})": _ms([a + b for a, b in zip(claims, figures, strict=True)]),
    }


def time_rounds(path: Path, now: datetime) -> dict[str, str]:
    """Median (p95) cost of claiming a batch and of the queue figures, before and after ANALYZE."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from storage import queue
    from storage.db import make_engine
    from storage.models import Document

    table = Document.__table__  # type: ignore[attr-defined]
    engine = make_engine(f"sqlite:///{path}")
    out = _rounds(engine, now, "nothing due, no planner statistics")
    started = time.perf_counter()
    with Session(engine) as session:
        queue.refresh_statistics(session)  # what the daemon does at start and hourly
    out["ANALYZE (daemon start, then hourly)"] = f"{(time.perf_counter() - started) * 1000:.0f} ms"
    out.update(_rounds(engine, now, "nothing due"))
    with engine.begin() as conn:
        conn.execute(sa.update(table).values(next_check=now - timedelta(minutes=1)))
    out.update(_rounds(engine, now, f"all {DOCUMENTS:,} due"))
    with engine.begin() as conn:  # leave the documents un-leased and not due for the process runs
        conn.execute(
            sa.update(table).values(next_check=now + timedelta(days=1), lease_owner=None, lease_until=None)
        )
    engine.dispose()
    return out


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_rss_kib(pid: int) -> tuple[int, int]:
    """(RSS of ``pid``, RSS of all its descendants) in KiB."""
    total, todo = 0, children(pid)
    while todo:
        child = todo.pop()
        try:
            total += rss_kib(child)
        except OSError:
            continue
        todo += children(child)
    return rss_kib(pid), total


def tree_pss_kib(pid: int) -> int:
    """PSS of ``pid`` and all its descendants in KiB (shared pages counted once across the tree)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += int(getattr(proc.memory_full_info(), "pss", 0))
        except psutil.Error:
            continue
    return total // 1024


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def start_daemon(path: Path, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_") and k != "PORT"}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "STORYTRAIL_ALLOW_HOSTS": "127.0.0.1",
            "STORYTRAIL_PER_HOST_DELAY": "0",
            "STORYTRAIL_PER_HOST_CONCURRENCY": str(BATCH),
            "STORYTRAIL_RESPECT_ROBOTS": "false",
            "STORYTRAIL_CONFIG": str(workdir / "none.toml"),
            "STORYTRAIL_LOG_LEVEL": "WARNING",
        }
    )
    cmd = [
        sys.executable,
        "-c",
        "from jobs.cli import main; main()",
        "run",
        "--db",
        f"sqlite:///{path}",
        "--health-port",
        str(port),
        "--dispatch-interval",
        "1",
    ]
    log = (workdir / "daemon.log").open("ab")
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)


def count_checks(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return int(conn.execute('SELECT count(*) FROM "check"').fetchone()[0])


def measure_process(path: Path, workdir: Path) -> dict[str, str]:
    import sqlite3

    port = free_port()
    proc = start_daemon(path, port, workdir)
    try:
        deadline = time.monotonic() + 120
        while not healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the daemon did not come up: see {workdir / 'daemon.log'}")
            time.sleep(0.2)
        time.sleep(WARM_S)
        idle_main, idle_children = tree_rss_kib(proc.pid)
        idle_pss = tree_pss_kib(proc.pid)
        with sqlite3.connect(path) as conn:
            conn.execute(
                "UPDATE document SET next_check = ?",
                ((datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f"),),
            )
        started, peak_main, peak_children = time.monotonic(), 0, 0
        while time.monotonic() - started < WORK_S:
            main, kids = tree_rss_kib(proc.pid)
            peak_main, peak_children = max(peak_main, main), max(peak_children, kids)
            time.sleep(0.5)
        checked = count_checks(path)
        proc.send_signal(15)
        code = proc.wait(timeout=120)
    finally:
        proc.kill()
    return {
        "idle RSS, daemon process": f"{idle_main / 1024:.0f} MiB",
        "idle RSS, extraction workers (all)": f"{idle_children / 1024:.0f} MiB",
        "idle RSS, whole tree (target 250 MB)": f"{(idle_main + idle_children) / 1024:.0f} MiB",
        "idle PSS, whole tree (target 250 MB)": f"{idle_pss / 1024:.0f} MiB",
        "working RSS, daemon process (peak)": f"{peak_main / 1024:.0f} MiB",
        "working RSS, extraction workers (peak, all)": f"{peak_children / 1024:.0f} MiB",
        f"checks completed in {WORK_S:.0f} s of work": f"{checked} ({checked / WORK_S:.1f}/s)",
        "exit status after SIGTERM": str(code),
    }


def run() -> str:
    sys.path.insert(0, str(ROOT))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
            workdir = Path(tmp)
            path = workdir / "bench.db"
            now = datetime.now(UTC)
            insert_s = build_database(path, base, now)
            rounds = time_rounds(path, now)
            process = measure_process(path, workdir)
    finally:
        server.shutdown()
        server.server_close()
    lines = [
        f"{DOCUMENTS:,} enrolled documents in a fresh SQLite file (bulk insert: {insert_s:.1f} s). "
        f"Dispatch rounds timed in-process over {ROUNDS} rounds (median, p95); the daemon process "
        f"(`storytrail run`, {os.cpu_count()} extraction workers by default, per-host delay 0, pages "
        f"from a local server) measured from /proc.",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in {**rounds, **process}.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
