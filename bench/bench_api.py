"""HTTP API speed over a 100,000-version archive: ``python -m bench.bench_api`` prints a Markdown section.

A fresh SQLite file is migrated (alembic head, full-text triggers included) and filled with
synthetic coverage in bulk: 10,000 documents of 10 page versions each, one sentence edited per
version; 91 stories: one large (1,000 documents, 10,000 versions) and 90 of 100 documents (1,000
versions) each. `storytrail serve` runs it in a subprocess (uvicorn, one process); a driver in
another process keeps ``CONCURRENCY`` requests in flight with httpx for ``SECONDS`` seconds per
endpoint, after a warm-up, then one request at a time for ``ALONE_SECONDS``, and records every
request's latency.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DOCUMENTS = 10_000
VERSIONS_PER_DOCUMENT = 10
LARGE_STORY_DOCUMENTS = 1_000
STORY_DOCUMENTS = 100
CONCURRENCY = 8
SECONDS = 10.0
WARMUP_SECONDS = 2.0
ALONE_SECONDS = 5.0
SEED = 20251229
ROOT = Path(__file__).resolve().parent.parent
START = datetime(2025, 12, 29, 19, 0, tzinfo=UTC)
# fmt: off
_WORDS = [
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "said", "officials", "president", "ministry",
    "drone", "attack", "residence", "claim", "talks", "peace", "statement", "military", "region",
    "government", "report", "according", "spokesman", "forces", "strike", "defence", "minister", "video",
    "evidence", "kremlin", "ukraine", "russia", "putin", "trump", "kyiv", "moscow", "valdai", "novgorod",
    "sources", "week", "monday",
]
# fmt: on


# -- the archive --------------------------------------------------------------------------------


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(10, 22))).capitalize() + "."


def _article(rng: random.Random) -> list[str]:
    return [_sentence(rng) for _ in range(8)]


def _version_rows(doc_id: int, rng: random.Random) -> list[dict[str, Any]]:
    sentences, rows = _article(rng), []
    title = _sentence(rng)[:70]
    for seq in range(1, VERSIONS_PER_DOCUMENT + 1):
        if seq > 1:
            at = rng.randrange(len(sentences))
            words = sentences[at].rstrip(".").split()
            words[rng.randrange(len(words))] = rng.choice(_WORDS)
            sentences[at] = " ".join(words) + "."
            if seq % 4 == 0:
                title = _sentence(rng)[:70]
        when = START + timedelta(minutes=doc_id % 600 + 37 * seq)
        text = "\n\n".join(" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2))
        summary = {"summary": "first version" if seq == 1 else "a sentence edited", "significance": 0.1}
        rows.append(
            {
                "document_id": doc_id,
                "channel": "page",
                "seq": seq,
                "kind": "normal",
                "observed_at": when,
                "last_confirmed_at": when,
                "http_status": 200,
                "content_hash": f"{doc_id:08d}{seq:04d}".ljust(64, "0"),
                "title": title,
                "byline": "Staff",
                "text": text,
                "language": "en",
                "meta": {},
                "change_summary": summary,
            }
        )
    return rows


def build_archive(path: Path) -> dict[str, Any]:
    """Migrate a fresh SQLite file at ``path`` and bulk-insert the synthetic archive."""
    import sqlalchemy as sa

    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import Document, Story, StoryDocument, Version

    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    rng = random.Random(SEED)
    with engine.begin() as conn:
        conn.execute(sa.insert(Story), _stories())
        docs = [
            {
                "id": i,
                "url": f"https://outlet{i % 40}.example/news/{i}",
                "kind": "article",
                "status": "active",
                "first_seen": START,
                "last_seen": START,
                "settings": {},
            }
            for i in range(1, DOCUMENTS + 1)
        ]
        conn.execute(sa.insert(Document), docs)
        conn.execute(sa.insert(StoryDocument), _links())
        for first in range(1, DOCUMENTS + 1, 500):
            rows = [r for d in range(first, min(first + 500, DOCUMENTS + 1)) for r in _version_rows(d, rng)]
            conn.execute(sa.insert(Version), rows)
        versions = conn.execute(sa.select(sa.func.count()).select_from(Version)).scalar_one()
    engine.dispose()
    return {"seconds": time.perf_counter() - started, "versions": versions, "bytes": path.stat().st_size}


def _stories() -> list[dict[str, Any]]:
    count = 1 + (DOCUMENTS - LARGE_STORY_DOCUMENTS) // STORY_DOCUMENTS
    return [
        {
            "id": i,
            "slug": f"story-{i}",
            "title": f"Story {i}",
            "query": "drone",
            "seeds": [],
            "languages": [],
            "settings": {},
            "created_at": START,
        }
        for i in range(1, count + 1)
    ]


def _links() -> list[dict[str, Any]]:
    """Story 1 holds the first LARGE_STORY_DOCUMENTS documents; the others STORY_DOCUMENTS each."""
    rows = []
    for doc in range(1, DOCUMENTS + 1):
        story = (
            1 if doc <= LARGE_STORY_DOCUMENTS else 2 + (doc - LARGE_STORY_DOCUMENTS - 1) // STORY_DOCUMENTS
        )
        rows.append(
            {
                "story_id": story,
                "document_id": doc,
                "score": 1.0,
                "reason": "bench",
                "via": "seed",
                "depth": 0,
                "discovered_at": START + timedelta(minutes=doc % 600),
            }
        )
    return rows


# -- the server and the driver ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_")} | {"PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-c",
        "from jobs.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        f"sqlite:///{db}",
    ]
    proc = subprocess.Popen(command, env=env, cwd=db.parent, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    _wait_ready(proc, base, log)
    return proc, base


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"storytrail serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("storytrail serve did not answer within 120 s")


def drive(base: str, paths: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    """Run the driver in another process; returns its measurements."""
    args = json.dumps({"base": base, "paths": paths, "seconds": seconds, "concurrency": concurrency})
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_api", "--drive", args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds * 4 + 120,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def _load(base: str, paths: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        stop = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            nonlocal errors
            i = n
            while time.perf_counter() < stop:
                began = time.perf_counter()
                response = await client.get(paths[i % len(paths)])
                latencies.append(time.perf_counter() - began)
                errors += response.status_code != 200
                i += concurrency

        began = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {"requests": len(latencies), "errors": errors, "elapsed": elapsed, "latencies": latencies}


# -- the measurements ---------------------------------------------------------------------------


def scenarios(rng: random.Random) -> dict[str, list[str]]:
    """Request paths for each measured endpoint (shuffled, so no single row stays cached). Story
    timelines read the event table, which this archive does not fill: bench_scale measures them."""
    diffs = [
        f"/api/documents/{rng.randint(1, DOCUMENTS)}/diff?to={rng.randint(2, VERSIONS_PER_DOCUMENT)}"
        for _ in range(2000)
    ]
    pages = [
        f"/documents/{rng.randint(1, DOCUMENTS)}/diff?to={rng.randint(2, VERSIONS_PER_DOCUMENT)}&view=side"
        for _ in range(2000)
    ]
    return {
        "diff between two versions (JSON)": diffs,
        "diff page, side by side (HTML)": pages,
    }


def _percentiles(r: dict[str, Any]) -> tuple[float, float]:
    lat = sorted(r["latencies"])
    return statistics.median(lat) * 1000, lat[min(len(lat) - 1, int(0.95 * len(lat)))] * 1000


def _row(name: str, loaded: dict[str, Any], alone: dict[str, Any]) -> str:
    p50, p95 = _percentiles(loaded)
    single50, single95 = _percentiles(alone)
    rps = loaded["requests"] / loaded["elapsed"]
    errors = loaded["errors"] + alone["errors"]
    return (
        f"| {name} | {loaded['requests']} | {errors} | {rps:.1f} | {p50:.1f} | {p95:.1f} "
        f"| {single50:.1f} | {single95:.1f} |"
    )


def run() -> str:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        built = build_archive(db)
        proc, base = start_server(db, Path(tmp) / "serve.log")
        try:
            rows = []
            for name, paths in scenarios(rng).items():
                drive(base, paths, WARMUP_SECONDS, CONCURRENCY)
                loaded = drive(base, paths, SECONDS, CONCURRENCY)
                rows.append(_row(name, loaded, drive(base, paths, ALONE_SECONDS, 1)))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    archive = (
        f"Archive: {built['versions']:,} versions of {DOCUMENTS:,} documents in 91 stories, bulk-inserted "
        f"into a fresh SQLite file ({built['bytes'] / 1e6:.0f} MB, full-text index included) "
        f"in {built['seconds']:.1f} s."
    )
    setup = (
        f"Server: `storytrail serve` (uvicorn, one process). Driver: httpx in another process, "
        f"{CONCURRENCY} requests in flight for {SECONDS:g} s per row after a {WARMUP_SECONDS:g} s warm-up, "
        f"then one request at a time for {ALONE_SECONDS:g} s."
    )
    head = [
        f"| endpoint | requests | errors | requests/s ({CONCURRENCY} in flight) | p50 ms | p95 ms "
        "| p50 ms, one at a time | p95 ms, one at a time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join([archive, setup, "", *head, *rows])


def _main(argv: list[str]) -> None:
    if argv[:1] == ["--drive"]:
        spec = json.loads(argv[1])
        print(
            json.dumps(asyncio.run(_load(spec["base"], spec["paths"], spec["seconds"], spec["concurrency"])))
        )
        return
    print(run())


if __name__ == "__main__":
    _main(sys.argv[1:])
