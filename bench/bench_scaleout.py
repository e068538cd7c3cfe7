"""Scale out: 1, 2 and 3 daemons on one PostgreSQL database against a local site (per-host delay 0).

For each node count: a fresh schema (STORYTRAIL_BENCH_DATABASE_URL, else
STORYTRAIL_TEST_DATABASE_URL; skipped when neither is set) with DOCUMENTS enrolled documents all
due now, pages served by a local HTTP server (bench_daemon's pages), then N `storytrail run`
processes started together (one extraction worker each, so N nodes use N cores' worth of
extraction at most). Once every node answers /healthz, checks are counted in the database over
WORK_S seconds; each node's share comes from its own /metrics (``storytrail_fetches_total``).

    python -m bench.bench_scaleout
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.bench_daemon import _Pages, free_port, healthy

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = int(os.environ.get("STORYTRAIL_BENCH_SCALEOUT_DOCUMENTS", "20000"))
WORK_S = float(os.environ.get("STORYTRAIL_BENCH_SCALEOUT_SECONDS", "20"))
NODES = (1, 2, 3)
_FETCHES = re.compile(r"^storytrail_fetches_total\{[^}]*\} ([0-9.e+]+)$", re.M)


def _pg_base() -> str | None:
    return os.environ.get("STORYTRAIL_BENCH_DATABASE_URL") or os.environ.get("STORYTRAIL_TEST_DATABASE_URL")


def prepare(url: str, base: str) -> None:
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC) - timedelta(minutes=1)
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        columns = (
            "url, kind, status, first_seen, last_seen, next_check, unchanged_checks, missing_count, settings"
        )
        with cur.copy(f"COPY document ({columns}) FROM STDIN") as cp:
            for i in range(DOCUMENTS):
                cp.write_row((f"{base}/a/{i}", "article", "active", now, now, now, 0, 0, "{}"))
        cur.execute("ANALYZE document")
        raw.commit()
    finally:
        raw.close()
    engine.dispose()


def start(url: str, port: int, workdir: Path, n: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_") and k != "PORT"}
    env |= {
        "PYTHONPATH": str(ROOT),
        "STORYTRAIL_ALLOW_HOSTS": "127.0.0.1",
        "STORYTRAIL_PER_HOST_DELAY": "0",
        "STORYTRAIL_PER_HOST_CONCURRENCY": "16",
        "STORYTRAIL_RESPECT_ROBOTS": "false",
        "STORYTRAIL_EXTRACT_WORKERS": "1",
        "STORYTRAIL_CONFIG": str(workdir / "none.toml"),
        "STORYTRAIL_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-c", "from jobs.cli import main; main()", "run", "--db", url,
           "--health-port", str(port), "--dispatch-interval", "0.5"]  # fmt: skip
    log = (workdir / f"node{n}.log").open("ab")
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)


def fetches(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return 0.0
    return sum(float(v) for v in _FETCHES.findall(text))


def checks(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text('SELECT count(*) FROM "check"')).scalar() or 0)


def one(base_url: str, site: str, nodes: int, workdir: Path) -> dict[str, Any]:
    from storage.db import sqlalchemy_url

    schema = "scaleout_" + uuid.uuid4().hex[:8]
    admin = sa.create_engine(sqlalchemy_url(base_url))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base_url else "?"
    url = f"{base_url}{sep}options=-csearch_path%3D{schema}"
    procs: list[tuple[subprocess.Popen[bytes], int]] = []
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        prepare(url, site)
        procs = [
            (start(url, port, workdir, n), port) for n, port in enumerate(free_port() for _ in range(nodes))
        ]
        deadline = time.monotonic() + 180
        while not all(healthy(port) for _, port in procs):
            if time.monotonic() > deadline or any(p.poll() is not None for p, _ in procs):
                raise RuntimeError(f"a daemon did not come up: see {workdir}")
            time.sleep(0.3)
        time.sleep(2.0)
        before, per_node = checks(engine), [fetches(port) for _, port in procs]
        time.sleep(WORK_S)
        after, per_node_after = checks(engine), [fetches(port) for _, port in procs]
    finally:
        for proc, _ in procs:
            proc.send_signal(15)
        for proc, _ in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    shares = [b - a for a, b in zip(per_node, per_node_after, strict=True)]
    return {"nodes": nodes, "rate": (after - before) / WORK_S, "shares": shares}


def run() -> str:
    base_url = _pg_base()
    if not base_url:
        return "Skipped: set STORYTRAIL_BENCH_DATABASE_URL (or STORYTRAIL_TEST_DATABASE_URL) to PostgreSQL."
    sys.path.insert(0, str(ROOT))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp:
            for nodes in NODES:
                results.append(one(base_url, site, nodes, Path(tmp)))
    finally:
        server.shutdown()
        server.server_close()
    first = results[0]["rate"] or 1.0
    lines = [
        f"{DOCUMENTS:,} documents due at once on one PostgreSQL; N `storytrail run` nodes (one extraction "
        f"worker each, per-host delay 0, pages from a local server); checks counted in the database over "
        f"{WORK_S:.0f} s once every node was healthy; each node's share from its /metrics. "
        f"{os.cpu_count()} cores; load before: `{load}`.",
        "",
        "| nodes | checks/s | vs 1 node | checks per node in the window | largest share / smallest |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        shares = [int(s) for s in r["shares"]]
        even = f"{max(shares) / max(1, min(shares)):.2f}" if len(shares) > 1 else "-"
        spread = ", ".join(map(str, shares))
        lines.append(f"| {r['nodes']} | {r['rate']:.1f} | {r['rate'] / first:.2f}x | {spread} | {even} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
