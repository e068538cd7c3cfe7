"""The Wayback Machine queue: what an idle pass costs every node every 5 s, and how fast queued
versions go through a local Save Page Now stand-in (no rate limit) — SQLite.

1. a fresh SQLite file with 10,000 versions already archived (the queue as it looks after a while);
2. median time of ``Preserver.run_pass`` with nothing due, beside ``Notifier.run_pass`` with
   nothing to deliver (the daemon's other periodic pass), interleaved, ROUNDS each;
3. QUEUED more versions queued, then ``Preserver.drain`` against the stand-in of tests/
   (``wayback_min_interval = 0``, ``wayback_poll_interval = 0``: submit, one "pending", success).

    python -m bench.bench_wayback
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ARCHIVED = 10_000
QUEUED = 300
ROUNDS = 200


def _load() -> str:
    try:
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load average unknown"


def _fill(engine: Engine, now: datetime) -> None:
    import sqlalchemy as sa
    from sqlmodel import Session, col

    from storage import documents as docs
    from storage.models import Version, WaybackCapture

    with Session(engine) as s:
        doc, _ = docs.get_or_create_document(s, url="https://news.example/a", now=now)
        rows: list[dict[str, Any]] = [
            {"document_id": doc.id, "channel": "page", "seq": n, "kind": "normal", "observed_at": now,
             "last_confirmed_at": now, "content_hash": f"h{n}", "text": "t", "meta": {}, "change_summary": {},
             "wayback_url": f"https://web.archive.org/web/20251229190000/https://news.example/a?{n}"}
            for n in range(1, ARCHIVED + QUEUED + 1)
        ]  # fmt: skip
        s.execute(sa.insert(Version), rows)
        ids = list(s.execute(sa.select(col(Version.id)).order_by(col(Version.id))).scalars())
        captures = [
            {"version_id": i, "url": f"https://news.example/a?{n}", "status": "archived", "attempts": 1,
             "next_attempt_at": now, "created_at": now, "archived_at": now}
            for n, i in enumerate(ids[:ARCHIVED])
        ]  # fmt: skip
        s.execute(sa.insert(WaybackCapture), captures)
        s.commit()


def _queue(engine: Engine, now: datetime) -> None:
    from sqlmodel import Session, col, select

    from storage import wayback as store
    from storage.models import Version

    with Session(engine) as s:
        ids = list(s.exec(select(Version.id).order_by(col(Version.id))))[ARCHIVED:]
        for i in ids:
            assert i is not None
            store.enqueue(s, version_id=i, url=f"https://news.example/a?{i}", now=now)
        s.commit()


async def _measure(db: Path) -> list[str]:
    from jobs.notify import Notifier
    from jobs.services import open_services
    from jobs.settings import Settings
    from jobs.wayback import Preserver
    from storage.db import make_engine
    from storage.migrate import upgrade
    from tests.wayback_standin import SavePageNow

    now = datetime.now(UTC)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    _fill(engine, now)
    spn = SavePageNow().start()
    spn.pending_polls = 1
    settings = Settings(
        database_url=f"sqlite:///{db}", allow_hosts=["127.0.0.1"], wayback_endpoint=spn.endpoint,
        wayback_min_interval=0.0, wayback_poll_interval=0.0, extract_workers=0,
    )  # fmt: skip
    try:
        async with open_services(settings, engine=engine, extract_workers=0) as svc:
            preserver, notifier = Preserver(svc, owner="bench"), Notifier(svc, owner="bench")
            idle: dict[str, list[float]] = {"wayback": [], "notify": []}
            for _ in range(ROUNDS):
                for name, run in (("wayback", preserver.run_pass), ("notify", notifier.run_pass)):
                    start = time.perf_counter()
                    await run()
                    idle[name].append(time.perf_counter() - start)
            _queue(engine, svc.clock())
            start = time.perf_counter()
            report = await preserver.drain(wait=600)
            spent = time.perf_counter() - start
    finally:
        spn.stop()
        engine.dispose()
    w, n = statistics.median(idle["wayback"]) * 1000, statistics.median(idle["notify"]) * 1000
    return [
        f"{ARCHIVED:,} versions already archived; {ROUNDS} idle passes each, interleaved; then "
        f"{QUEUED} versions queued and drained. {_load()} (before the drain).",
        "",
        "| measure | value | reference | ratio |",
        "|---|---|---|---|",
        f"| idle pass, median (`Preserver.run_pass`, nothing due) | {w:.2f} ms | "
        f"{n:.2f} ms (`Notifier.run_pass`, nothing to deliver) | {w / n:.2f}x |",
        f"| drain: {report.archived} archived of {QUEUED} ({len(spn.posts)} submissions, "
        f"{len(spn.status_requests)} status requests) | {spent:.2f} s | - | "
        f"{report.archived / spent:.0f} versions/s |",
        "",
        "The idle pass is what every daemon pays every 5 s when nothing is queued; submissions are "
        "limited to one per `wayback_min_interval` (10 s) in production, so the drain rate only "
        "shows the queue's own overhead (claim, lease, two HTTP round trips, result) per version.",
    ]


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return "\n".join(asyncio.run(_measure(Path(tmp) / "bench.db"))) + "\n"


if __name__ == "__main__":
    print(run())
