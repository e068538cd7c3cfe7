"""Crash safety: the daemon (``storytrail run``) on a local site whose pages keep changing,
SIGKILLed at random moments and restarted each time, on every backend.

After every kill: the database passes its integrity check, no (document, channel, seq) is
stored twice, no stored version is lost and no document's version count drops. After a final
clean run (SIGTERM): no lease is left behind.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import queue
from storage.models import Document
from tests.localserver import LocalServer, Reply, Request
from tests.test_daemon import HTML, free_port, page, start_daemon, stop, wait_for

KILLS = 4
PAGES = 6
ENV = {"STORYTRAIL_LEASE_SECONDS": "2", "STORYTRAIL_EXTRACT_WORKERS": "0", "STORYTRAIL_LOG_FORMAT": "json"}


class ChangingSite:
    """Pages whose text changes every second request (so versions keep coming)."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, req: Request) -> Reply:
        with self._lock:
            self.hits[req.path] += 1
            edition = self.hits[req.path] // 2
        title = f"Story {req.path.strip('/')} edition {edition}"
        return Reply(body=page(title=title).encode(), headers=HTML)


def busy(site: ChangingSite, before: int, proc: subprocess.Popen[bytes]) -> Callable[[], bool]:
    """True once the daemon fetched something since ``before`` (or died)."""
    return lambda: sum(site.hits.values()) > before or proc.poll() is not None


def enrol_fast(engine: Engine, urls: list[str]) -> None:
    now = datetime.now(UTC) - timedelta(seconds=1)
    with Session(engine) as s:
        s.add_all(
            Document(
                url=u, next_check=now, first_seen=now, settings={"recheck_min": "1s", "recheck_max": "1s"}
            )
            for u in urls
        )
        s.commit()


def version_counts(engine: Engine) -> Counter[int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT document_id, count(*) FROM version GROUP BY document_id")).all()
    return Counter({int(doc): int(n) for doc, n in rows})


def versions(engine: Engine) -> set[tuple[int, str, int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT document_id, channel, seq, content_hash FROM version")).all()
    return {(int(d), str(c), int(s), str(h)) for d, c, s, h in rows}


def assert_sound(engine: Engine) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        twice = conn.execute(
            sa.text(
                "SELECT document_id, channel, seq FROM version "
                "GROUP BY document_id, channel, seq HAVING count(*) > 1"
            )
        ).all()
        assert twice == [], f"stored twice: {twice}"
        orphans = conn.execute(
            sa.text(
                'SELECT count(*) FROM "check" c LEFT JOIN document d ON d.id = c.document_id '
                "WHERE c.document_id IS NOT NULL AND d.id IS NULL"
            )  # fmt: skip
        ).scalar()
        assert orphans == 0


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    server: LocalServer, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    site = ChangingSite()
    paths = [f"/p{i}" for i in range(PAGES)]
    for path in paths:
        server.route(path, handler=site)
    enrol_fast(engine, [server.url(p) for p in paths])
    rng = random.Random(11)
    seen: set[tuple[int, str, int, str]] = set()
    counts: Counter[int] = Counter()
    port = free_port()
    for kill in range(KILLS):
        proc = start_daemon(db_url, tmp_path, port, "--workers", "3", **ENV)
        try:
            wait_for(busy(site, sum(site.hits.values()), proc), "the daemon to fetch")
            time.sleep(rng.uniform(0.3, 2.5))  # a random moment: mid-fetch, mid-write, between checks
            assert proc.poll() is None, (
                f"the daemon exited early ({(tmp_path / f'daemon-{port}.log').read_text()})"
            )
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            proc.kill()
        assert_sound(engine)
        now_seen, now_counts = versions(engine), version_counts(engine)
        assert seen <= now_seen, f"kill {kill + 1}: stored versions were lost"
        assert all(now_counts[d] >= n for d, n in counts.items()), f"kill {kill + 1}: a version count dropped"
        seen, counts = now_seen, now_counts
    assert sum(counts.values()) >= 2 * PAGES, f"too few versions to have tested anything: {counts}"
    final = start_daemon(db_url, tmp_path, port, "--workers", "3", **ENV)
    try:
        fetched = sum(site.hits.values())
        wait_for(lambda: sum(site.hits.values()) >= fetched + PAGES, "the clean run to re-check the pages")
        assert stop(final) == 0
    finally:
        final.kill()
    assert_sound(engine)
    assert seen <= versions(engine)
    with Session(engine) as s:
        assert queue.leased(s) == [], "a lease outlived the clean run"
