"""The archive at scale: reads, search, the queue and the HTTP API over N versions, on SQLite and
PostgreSQL.

    python -m bench.bench_scale                         # 50,000 versions (the default bench)
    STORYTRAIL_BENCH_VERSIONS=1000000 python -m bench.run scale   # the issue's size

A fresh database per backend (SQLite file; PostgreSQL: a fresh schema in
STORYTRAIL_BENCH_DATABASE_URL, else STORYTRAIL_TEST_DATABASE_URL, dropped afterwards; skipped
when neither is set), migrated to head, then bulk-loaded through ``storage.bulk`` (what a copy
or a restore uses): batches (SQLite Core executemany, PostgreSQL COPY) with the secondary
indexes dropped and the per-row full-text and story_event upkeep suspended, then the indexes,
the FTS5 index (SQLite) or the GIN index (PostgreSQL; the generated tsvector is still computed
per row) and story_event rebuilt in one pass each, and the triggers put back
(tests/test_bulk.py: the same derived rows and indexes as a row-by-row load).

The archive: N versions of N/10 documents in N/1000 stories (at least 10). Story sizes follow
Zipf (story 1 is the largest, the last the smallest; 10% of documents are in two stories). Each
document has a ``page`` channel (articles of ~30 sentences, ~3.5 kB, lognormal) and, for 60% of
them, a ``feed`` channel (title and a two-sentence summary). Edit rates are skewed: most articles
have a few versions, live pages dozens (mean 10 per document, both channels); an edit replaces
one or two sentences, sometimes adds one, retitles 15% of the time; 1% of edits are deletions
(tombstones), followed by a restoration. Every version writes the events the capture writer
would (first_version, change, headline, deleted, restored), every story link a new_coverage event.
Words are drawn from a Zipf vocabulary with story words planted at known rates.

Each read runs in-process (a warm-up, then REPEAT times with different arguments: p50/p95), and
the API pages through `storytrail serve` (one request at a time, then 8 in flight).
"""

from __future__ import annotations

import itertools
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

VERSIONS = int(os.environ.get("STORYTRAIL_BENCH_VERSIONS", "50000"))
REPEAT = int(os.environ.get("STORYTRAIL_BENCH_REPEAT", "60"))
# `storytrail serve --workers N` for each N listed, one after the other on the same archive
SERVE_WORKERS = [int(n) for n in os.environ.get("STORYTRAIL_BENCH_SERVE_WORKERS", "1").split(",") if n]
SEED = 20251229
T0 = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=330)
CHUNK = 2000  # documents generated and written per batch
SENTENCES = 20_000
PLANTED = {
    "Kremlin": 0.004,
    "Valdai": 0.0006,
    "Kyïv": 0.002,
    "fabrication": 0.0002,
    "deliberate attack": 0.0001,
}
SEARCHES = [
    ("rare word", "fabrication", False),
    ("common word", "Kremlin", False),
    ("common word, all versions", "Kremlin", True),
    ("phrase", '"deliberate attack"', False),
    ("prefix", "fabric*", False),
    ("accent-insensitive", "kyiv", False),
    ("two words", "Kremlin Valdai", False),
    ("most frequent word, all versions", "{top}", True),
]
ROOT = Path(__file__).resolve().parent.parent
WRITES = {"sqlite": "Core executemany", "postgresql": "COPY FROM STDIN"}


# -- the archive --------------------------------------------------------------------------------


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    syllables = [
        "ka",
        "ro",
        "mi",
        "ten",
        "va",
        "lo",
        "dre",
        "su",
        "pin",
        "gor",
        "el",
        "na",
        "tri",
        "ost",
        "le",
    ]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


@dataclass
class Plan:
    """What is generated: the sentence pool, story membership, and ids as they are handed out."""

    rng: random.Random
    sentences: list[str]
    top_word: str
    documents: int
    stories: int
    membership: dict[int, list[int]]  # document id -> story ids
    next_version: int = 1
    next_event: int = 1
    totals: dict[str, int] = field(default_factory=lambda: {"versions": 0, "events": 0, "links": 0})


def plan(versions: int) -> Plan:
    rng = random.Random(SEED)
    vocab = vocabulary(rng)
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(vocab) + 1)))
    pool = []
    for _ in range(SENTENCES):
        words = rng.choices(vocab, cum_weights=weights, k=rng.randint(12, 25))
        for planted, rate in PLANTED.items():
            if rng.random() < rate * 40:  # per sentence: ~30 sentences per article
                words.insert(rng.randrange(len(words)), planted)
        pool.append(" ".join(words).capitalize() + ".")
    documents = max(100, versions // 10)
    stories = max(10, versions // 1000)
    story_weights = list(itertools.accumulate(1 / rank for rank in range(1, stories + 1)))
    membership: dict[int, list[int]] = {}
    for doc in range(1, documents + 1):
        first = rng.choices(range(1, stories + 1), cum_weights=story_weights)[0]
        chosen = {first, stories} if doc == documents else {first}  # the smallest story is never empty
        if rng.random() < 0.1:
            chosen.add(rng.randint(1, stories))
        membership[doc] = sorted(chosen)
    return Plan(rng, pool, vocab[0], documents, stories, membership)


def _edit_count(rng: random.Random) -> int:
    """Versions of a page: mostly a few, live pages dozens (mean ~9)."""
    if rng.random() < 0.05:
        return rng.randint(30, 60)
    return 1 + min(40, int(rng.expovariate(1 / 5.5)))


def document_rows(p: Plan, doc: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """A document, its versions (both channels) and their events."""
    rng = p.rng
    first_seen = T0 + SPAN * (doc / p.documents)
    url = f"https://www.outlet{doc % 60}.example/{first_seen:%Y/%m/%d}/story-{doc}"
    document = {
        "id": doc,
        "url": url,
        "kind": "article",
        "status": "active",
        "first_seen": first_seen,
        "last_seen": first_seen,
        "next_check": first_seen + timedelta(days=400),
        "check_interval_s": 3600,
        "unchanged_checks": 0,
        "missing_count": 0,
        "settings": {},
    }
    versions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    size = max(4, int(rng.lognormvariate(math.log(28), 0.45)))
    body = [rng.randrange(SENTENCES) for _ in range(size)]
    title = p.sentences[rng.randrange(SENTENCES)][:80].rstrip(" .")
    channels = [("page", _edit_count(rng))]
    if rng.random() < 0.6:
        channels.append(("feed", 1 + min(6, int(rng.expovariate(1 / 1.2)))))
    for channel, count in channels:
        at, prev_title, prev_kind = first_seen + timedelta(minutes=rng.randint(0, 30)), None, None
        text_ids, headline = list(body), title
        for seq in range(1, count + 1):
            kind = "normal"
            if seq > 1:
                at += timedelta(minutes=rng.expovariate(1 / 240) + 1)
                if prev_kind != "tombstone" and rng.random() < 0.01:
                    kind = "tombstone"
                else:
                    for _ in range(rng.randint(1, 2)):
                        text_ids[rng.randrange(len(text_ids))] = rng.randrange(SENTENCES)
                    if rng.random() < 0.2:
                        text_ids.append(rng.randrange(SENTENCES))
                    if rng.random() < 0.15:
                        headline = p.sentences[rng.randrange(SENTENCES)][:80].rstrip(" .")
            row = _version_row(p, doc, channel, seq, kind, at, headline, text_ids)
            versions.append(row)
            events += _events(p, row, prev_title, prev_kind)
            prev_title, prev_kind = row["title"], kind
    for story in p.membership[doc]:
        events.append(
            _event(
                p,
                first_seen,
                "new_coverage",
                doc,
                None,
                None,
                None,
                story=story,
                summary=f"new coverage: {url}",
                data={"url": url, "via": "source"},
            )
        )
        p.totals["links"] += 1
    return document, versions, events


def _version_row(
    p: Plan, doc: int, channel: str, seq: int, kind: str, at: datetime, title: str, ids: list[int]
) -> dict[str, Any]:
    if kind == "tombstone":
        text = ""
    elif channel == "feed":
        text = " ".join(p.sentences[i] for i in ids[:2])
    else:
        text = "\n\n".join(" ".join(p.sentences[i] for i in ids[j : j + 2]) for j in range(0, len(ids), 2))
    row = {
        "id": p.next_version,
        "document_id": doc,
        "channel": channel,
        "seq": seq,
        "kind": kind,
        "observed_at": at,
        "last_confirmed_at": at,
        "http_status": 410 if kind == "tombstone" else 200,
        "content_hash": f"{p.next_version:064x}",
        "title": title,
        "byline": "Staff",
        "text": text,
        "language": "en",
        "metadata": {},
        "change_summary": {},
    }
    p.next_version += 1
    p.totals["versions"] += 1
    return row


def _events(
    p: Plan, v: dict[str, Any], prev_title: str | None, prev_kind: str | None
) -> list[dict[str, Any]]:
    doc, at, ch, seq = v["document_id"], v["observed_at"], v["channel"], v["seq"]
    if seq == 1:
        kinds = [("first_version", 1.0, "first version")]
    elif v["kind"] == "tombstone":
        kinds = [("deleted", 1.0, "deleted")]
    elif prev_kind == "tombstone":
        kinds = [("restored", 0.6, "restored")]
    else:
        kinds = [("change", round(p.rng.random() * 0.6, 2), "a sentence edited")]
    if seq > 1 and v["kind"] != "tombstone" and prev_title is not None and v["title"] != prev_title:
        kinds.append(("headline", 0.8, f"headline: {v['title'][:40]}"))
    return [
        _event(
            p,
            at,
            kind,
            doc,
            ch,
            v["id"],
            seq,
            significance=sig,
            summary=summary,
            data={"old_title": prev_title, "new_title": v["title"]} if kind == "headline" else {},
        )
        for kind, sig, summary in kinds
    ]


def _event(
    p: Plan,
    at: datetime,
    kind: str,
    doc: int,
    channel: str | None,
    version_id: int | None,
    seq: int | None,
    *,
    story: int | None = None,
    significance: float | None = None,
    summary: str = "",
    data: dict[str, Any],
) -> dict[str, Any]:
    row = {
        "id": p.next_event,
        "at": at,
        "kind": kind,
        "document_id": doc,
        "story_id": story,
        "channel": channel,
        "version_id": version_id,
        "seq": seq,
        "prev_seq": seq - 1 if seq and seq > 1 else None,
        "significance": significance,
        "summary": summary,
        "data": data,
    }
    p.next_event += 1
    p.totals["events"] += 1
    return row


def batches(p: Plan) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]:
    docs: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for doc in range(1, p.documents + 1):
        d, vs, es = document_rows(p, doc)
        docs.append(d)
        versions += vs
        events += es
        if len(docs) == CHUNK:
            yield docs, versions, events
            docs, versions, events = [], [], []
    if docs:
        yield docs, versions, events


def story_rows(p: Plan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    stories = [
        {
            "id": i,
            "slug": f"story-{i}",
            "title": f"Story {i}",
            "query": "",
            "seeds": [],
            "languages": [],
            "settings": {},
            "created_at": T0,
        }
        for i in range(1, p.stories + 1)
    ]
    links = [
        {
            "story_id": s,
            "document_id": d,
            "score": 1.0,
            "reason": "",
            "via": "source",
            "depth": 0,
            "discovered_at": T0 + SPAN * (d / p.documents),
        }
        for d, chosen in p.membership.items()
        for s in chosen
    ]
    return stories, links


# -- loading ------------------------------------------------------------------------------------


@dataclass
class Loaded:
    seconds: float  # the load, all in: generating the rows, writing them, rebuilding, ANALYZE
    write_seconds: float  # executemany / COPY of every table (derived upkeep suspended)
    rebuild_seconds: float  # full-text index and story_event rebuilt, triggers back
    totals: dict[str, int]
    top_word: str
    bytes: int = 0

    @property
    def version_rate(self) -> float:
        """Versions per second of database work: writing every table plus the rebuild."""
        busy = self.write_seconds + self.rebuild_seconds
        return self.totals["versions"] / busy if busy else 0.0


def load(engine: sa.Engine, p: Plan) -> Loaded:
    """Bulk-load the archive through ``storage.bulk``: secondary indexes, per-row full-text and
    story_event upkeep suspended, batches (one transaction per table and chunk), then all of it
    rebuilt in one pass each and the triggers put back."""
    from storage import bulk

    began = time.perf_counter()
    write_seconds = 0.0
    stories, links = story_rows(p)
    with bulk.bulk_load(engine) as writer:

        def write(table: str, rows: list[dict[str, Any]]) -> None:
            nonlocal write_seconds
            started = time.perf_counter()
            writer.write(table, rows)
            write_seconds += time.perf_counter() - started

        write("story", stories)
        for docs, versions, events in batches(p):
            write("document", docs)
            ids = {d["id"] for d in docs}
            write("story_document", [link for link in links if link["document_id"] in ids])
            write("version", versions)
            write("event", events)
        rebuild_began = time.perf_counter()
    rebuild_seconds = time.perf_counter() - rebuild_began
    _finish(engine)
    return Loaded(time.perf_counter() - began, write_seconds, rebuild_seconds, dict(p.totals), p.top_word)


def _finish(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("document", "version", "event", "story", "story_document"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
            for table in ("document", "version", "event", "story_event", "story_document"):
                conn.execute(sa.text(f"ANALYZE {table}"))
        else:
            conn.execute(sa.text("ANALYZE"))
            conn.execute(sa.text("INSERT INTO version_fts(version_fts) VALUES ('optimize')"))


# -- measuring ----------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def timed(call: Callable[[int], object], repeat: int = REPEAT) -> tuple[float, float]:
    call(0)  # warm-up
    samples = []
    for n in range(1, repeat + 1):
        began = time.perf_counter()
        call(n)
        samples.append(time.perf_counter() - began)
    return percentiles(samples)


@dataclass
class Subjects:
    """Arguments for the reads, chosen once from the loaded archive."""

    documents: list[tuple[int, str, int]]  # (document, channel, versions in that channel)
    times: list[datetime]
    largest: tuple[int, str, int]  # (story id, slug, events)
    smallest: tuple[int, str, int]
    deep_cursor: str
    changes_cursor: str


def subjects(engine: sa.Engine, p: Plan) -> Subjects:
    from sqlmodel import Session

    from storage.reading import encode_cursor
    from storage.types import UTCDateTime

    rng = random.Random(SEED + 1)
    with Session(engine) as s:
        docs = [rng.randint(1, p.documents) for _ in range(REPEAT + 1)]
        counts = s.execute(
            sa.text(
                "SELECT document_id, channel, max(seq) FROM version WHERE channel = 'page' "
                "AND document_id IN :ids GROUP BY document_id, channel"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": docs},
        ).all()
        sizes = s.execute(sa.text("SELECT story_id, count(*) FROM story_event GROUP BY story_id")).all()
        big = max(sizes, key=lambda r: r[1])
        small = min(sizes, key=lambda r: r[1])
        at_col = sa.column("at", UTCDateTime())
        middle = s.execute(
            sa.select(at_col, sa.column("event_id"))
            .select_from(sa.table("story_event"))
            .where(sa.column("story_id") == big[0])
            .order_by(at_col.desc(), sa.column("event_id").desc())
            .offset(big[1] // 2)
            .limit(1)
        ).one()
        observed = sa.column("observed_at", UTCDateTime())
        change = s.execute(
            sa.select(observed, sa.column("id"))
            .select_from(sa.table("version"))
            .order_by(observed.desc(), sa.column("id").desc())
            .offset(p.totals["versions"] // 2)
            .limit(1)
        ).one()
    times = [T0 + SPAN * rng.random() for _ in range(REPEAT + 1)]
    return Subjects(
        documents=[(d, c, n) for d, c, n in counts],
        times=times,
        largest=(big[0], f"story-{big[0]}", big[1]),
        smallest=(small[0], f"story-{small[0]}", small[1]),
        deep_cursor=encode_cursor((middle[0], middle[1])),
        changes_cursor=encode_cursor((change[0], change[1])),
    )


def reads(engine: sa.Engine, sub: Subjects, top_word: str) -> list[tuple[str, tuple[float, float]]]:
    from sqlmodel import Session

    from api.diffs import version_diff
    from storage import documents, queue, reading
    from storage.timeline import EventFilter, story_events

    docs = sub.documents
    newest = EventFilter(order="desc")

    edited = [d for d in docs if d[2] >= 2] or docs

    def pick(n: int) -> tuple[int, str, int]:
        return docs[n % len(docs)]

    def pick_edited(n: int) -> int:
        return edited[n % len(edited)][0]

    with Session(engine) as s:
        rows: list[tuple[str, tuple[float, float]]] = [
            (
                "version list of a document (first 50)",
                timed(lambda n: reading.version_page(s, document_id=pick(n)[0], limit=50)),
            ),
            (
                "as-of lookup (the version current at a time)",
                timed(
                    lambda n: documents.version_at(s, document_id=pick(n)[0], channel="page", at=sub.times[n])
                ),
            ),
            (
                "one version, with its text",
                timed(
                    lambda n: reading.get_version(
                        s, document_id=pick(n)[0], channel="page", seq=1 + n % pick(n)[2]
                    )
                ),
            ),
            (
                "a diff (JSON), latest against the one before",
                timed(
                    lambda n: version_diff(
                        s, document_id=pick_edited(n), channel="page", from_seq=None, to_seq=None
                    ).render("json")
                ),
            ),
            (
                f"timeline, first page of 50, largest story ({sub.largest[2]:,} events)",
                timed(lambda n: story_events(s, sub.largest[0], filter=newest, limit=50)),
            ),
            (
                "timeline, a page of 50 in the middle of the largest story",
                timed(
                    lambda n: story_events(s, sub.largest[0], filter=newest, limit=50, cursor=sub.deep_cursor)
                ),
            ),
            (
                f"timeline, first page of 50, smallest story ({sub.smallest[2]:,} events)",
                timed(lambda n: story_events(s, sub.smallest[0], filter=newest, limit=50)),
            ),
            (
                "timeline, headlines only, largest story",
                timed(
                    lambda n: story_events(
                        s, sub.largest[0], filter=EventFilter(kinds=("headline",), order="desc"), limit=50
                    )
                ),
            ),
            ("changes feed, first page of 50", timed(lambda n: reading.change_page(s, limit=50))),
            (
                "changes feed, a page of 50 in the middle",
                timed(lambda n: reading.change_page(s, limit=50, cursor=sub.changes_cursor)),
            ),
        ]
        for name, text, every in SEARCHES:
            query = text.replace("{top}", top_word)
            label = f"search, {name} (`{query}`, 20 hits with snippets)"
            rows.append((label, timed(_searcher(s, query, every))))
        now = T0 + timedelta(days=420)
        rows.append(
            ("queue depth (due documents and sources)", timed(lambda n: queue.queue_depth(s, now=now)))
        )

        def claim(n: int) -> None:
            ids = queue.claim_documents(s, owner=f"bench-{n}", now=now, lease=timedelta(minutes=5), limit=20)
            queue.release_documents(s, ids=ids, owner=f"bench-{n}")

        rows.append(
            ("dispatcher claim of 20 due documents (and release)", timed(claim, repeat=min(REPEAT, 30)))
        )
    return rows


def _searcher(session: Any, query: str, every: bool) -> Callable[[int], object]:
    from storage.search import search

    return lambda n: search(session, query, all_versions=every, limit=20)


# -- the API through `storytrail serve` -------------------------------------------------------


def api_paths(sub: Subjects, top_word: str) -> dict[str, list[str]]:
    from urllib.parse import quote

    cursor = quote(sub.deep_cursor)
    docs = sub.documents
    big, small = f"/api/stories/{sub.largest[1]}/timeline", f"/api/stories/{sub.smallest[1]}/timeline"
    return {
        "timeline, largest story, first page (JSON, 50)": [f"{big}?limit=50&order=desc"],
        "timeline, largest story, middle page (JSON, 50)": [f"{big}?limit=50&order=desc&cursor={cursor}"],
        "timeline, smallest story (JSON, 50)": [f"{small}?limit=50&order=desc"],
        "versions of a document (JSON)": [f"/api/documents/{d}/versions" for d, _, _ in docs],
        "one version (JSON)": [f"/api/documents/{d}/versions/{n}?channel=page" for d, _, n in docs],
        "changes feed (JSON, 50)": ["/api/changes?limit=50"],
        "search, common word (JSON, 20)": ["/api/search?q=Kremlin&limit=20"],
        "story page (HTML, newest first)": [f"/stories/{sub.largest[1]}"],
    }


def api_rows(url: str, sub: Subjects, top_word: str, tmp: Path, workers: int = 1) -> list[str]:
    from bench.bench_api import _free_port, _wait_ready, drive

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_")} | {"PYTHONPATH": str(ROOT)}
    log = tmp / "serve.log"
    config = tmp / "empty.toml"  # no config of the operator's (a named file must exist)
    config.write_text("")
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
        url,
        "--config",
        str(config),
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(command, env=env, cwd=tmp, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        _wait_ready(proc, base, log)
        for name, paths in api_paths(sub, top_word).items():
            drive(base, paths, 1.0, 2)
            alone = drive(base, paths, 3.0, 1)
            loaded = drive(base, paths, 5.0, 8)
            a50, a95 = percentiles(alone["latencies"])
            l50, l95 = percentiles(loaded["latencies"])
            errors = alone["errors"] + loaded["errors"]
            rps = loaded["requests"] / loaded["elapsed"]
            label = name if workers == 1 else f"{name}, --workers {workers}"
            rows.append(f"| {label} | {a50:.1f} | {a95:.1f} | {l50:.1f} | {l95:.1f} | {rps:.0f} | {errors} |")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


# -- one backend, and the report ----------------------------------------------------------------


def _pg_base() -> str | None:
    return os.environ.get("STORYTRAIL_BENCH_DATABASE_URL") or os.environ.get("STORYTRAIL_TEST_DATABASE_URL")


def backend(name: str, tmp: Path, *, api: bool = True) -> str:
    from storage.db import make_engine, sqlalchemy_url
    from storage.migrate import upgrade

    schema = None
    if name == "sqlite":
        path = tmp / "scale.db"
        url = f"sqlite:///{path}"
    else:
        base = _pg_base()
        assert base
        schema = "bench_" + uuid.uuid4().hex[:10]
        admin = sa.create_engine(sqlalchemy_url(base))
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        p = plan(VERSIONS)
        loaded = load(engine, p)
        print(
            f"{name}: loaded {loaded.totals['versions']:,} versions in {loaded.seconds:.0f} s (writing "
            f"{loaded.write_seconds:.1f} s, rebuilding {loaded.rebuild_seconds:.1f} s: "
            f"{loaded.version_rate:,.0f} versions/s)",
            file=sys.stderr,
            flush=True,
        )
        if name == "sqlite":
            loaded.bytes = sum(f.stat().st_size for f in tmp.glob("scale.db*"))
        else:
            with engine.connect() as conn:
                size = sa.text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relkind = 'r'"
                )
                loaded.bytes = int(conn.execute(size, {"s": schema}).scalar() or 0)
        sub = subjects(engine, p)
        rows = reads(engine, sub, loaded.top_word)
        print(f"{name}: reads measured", file=sys.stderr, flush=True)
        try:
            workers = SERVE_WORKERS if api else []
            served = [row for n in workers for row in api_rows(url, sub, loaded.top_word, tmp, n)]
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            served = [f"| the API bench failed: {str(exc)[:200]} | | | | | | |"]
    finally:
        engine.dispose()
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return report(name, loaded, sub, rows, served)


def report(
    name: str, loaded: Loaded, sub: Subjects, rows: list[tuple[str, tuple[float, float]]], served: list[str]
) -> str:
    t = loaded.totals
    lines = [
        f"### {name}",
        "",
        f"Archive: {t['versions']:,} versions, {t['events']:,} events, {t['links']:,} story links; "
        f"{loaded.bytes / 1e6:,.0f} MB. Bulk load (`storage.bulk`: {WRITES[name]} with the secondary "
        f"indexes, full-text and story_event upkeep suspended, then rebuilt): "
        f"writing {loaded.write_seconds:.1f} s + rebuilding {loaded.rebuild_seconds:.1f} s = "
        f"**{loaded.version_rate:,.0f} versions/s**; "
        f"{loaded.seconds:.0f} s in all with generating the rows and ANALYZE "
        f"({t['versions'] / loaded.seconds:,.0f} versions/s).",
        "",
        "| read, in-process | p50 ms | p95 ms |",
        "|---|---|---|",
        *(f"| {label} | {p50:.2f} | {p95:.2f} |" for label, (p50, p95) in rows),
    ]
    timeline = {label: p95 for label, (_, p95) in rows if label.startswith("timeline, first page")}
    if len(timeline) == 2:
        big, small = timeline.values()
        lines += [
            "",
            f"Timeline first page p95, largest story / smallest story: {big / small:.2f}x "
            f"({sub.largest[2]:,} vs {sub.smallest[2]:,} events).",
        ]
    if served:
        lines += [
            "",
            "| through `storytrail serve` | p50 ms, 1 at a time | p95 ms, 1 at a time | p50 ms, 8 in flight "
            "| p95 ms, 8 in flight | requests/s, 8 in flight | errors |",
            "|---|---|---|---|---|---|---|",
            *served,
        ]
    return "\n".join(lines)


def load_average() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uptime unavailable"


def run() -> str:
    backends = ["sqlite"] + (["postgresql"] if _pg_base() else [])
    only = os.environ.get("STORYTRAIL_BENCH_BACKENDS")
    if only:
        backends = [b for b in backends if b in only.split(",")]
    api = os.environ.get("STORYTRAIL_BENCH_API", "1") != "0"
    parts = [
        f"Size: STORYTRAIL_BENCH_VERSIONS={VERSIONS:,} (default 50,000; the issue's target is "
        f"1,000,000). Load before: `{load_average()}`."
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in backends:
            parts.append(backend(name, Path(tmp), api=api))
            print(parts[-1], file=sys.stderr, flush=True)  # each backend's figures as soon as they exist
    parts.append(f"Load after: `{load_average()}`.")
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(run())
