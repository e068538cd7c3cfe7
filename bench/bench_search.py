"""Full-text search latency over 100,000 synthetic versions: SQLite FTS5 and PostgreSQL tsvector.

    python -m bench.bench_search          # prints the Markdown section
    python -m bench.run search            # and writes it into bench/RESULTS.md

Each database is created fresh and migrated (alembic upgrade head, so the FTS5 triggers or the
generated tsvector column and its GIN index do the indexing), then filled in bulk: executemany
on SQLite, COPY on PostgreSQL (STORYTRAIL_BENCH_DATABASE_URL, else STORYTRAIL_TEST_DATABASE_URL;
a fresh schema, dropped afterwards). 20,000 documents with 5 versions each; bodies of ~120 words
drawn from a Zipf-distributed vocabulary, with a few story words planted at known rates.
Every query runs once to warm up, then REPEAT times, latest-versions-only and all-versions.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

DOCUMENTS = 20_000
VERSIONS_PER_DOCUMENT = 5
WORDS_PER_TEXT = 120
REPEAT = 7
SEED = 20251229
T0 = datetime(2025, 12, 29, 19, tzinfo=UTC)
PLANTED = {"Kremlin": 0.10, "Valdai": 0.02, "fabrication": 0.01, "deliberate attack": 0.005}
QUERIES = [
    ("common word", "Kremlin"),
    ("rarer word", "Valdai"),
    ("phrase", '"deliberate attack"'),
    ("prefix", "fabric*"),
    ("two words", "Kremlin Valdai"),
    ("exclusion", "Kremlin -Valdai"),
    ("most frequent word", "{top}"),
    ("no match", "zzzqxabsent"),
]


@dataclass
class Corpus:
    documents: list[tuple[int, str]]
    versions: list[dict[str, Any]]
    top_word: str


def vocabulary(rng: random.Random, size: int = 8000) -> list[str]:
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


def corpus() -> Corpus:
    rng = random.Random(SEED)
    vocab = vocabulary(rng)
    cumulative = list(itertools.accumulate(1 / rank for rank in range(1, len(vocab) + 1)))
    documents = [(i + 1, f"https://news{i % 50}.example/{i}") for i in range(DOCUMENTS)]
    versions: list[dict[str, Any]] = []
    for doc_id, _ in documents:
        base = rng.choices(vocab, cum_weights=cumulative, k=WORDS_PER_TEXT)
        for seq in range(1, VERSIONS_PER_DOCUMENT + 1):
            words = list(base)
            edits = rng.choices(vocab, cum_weights=cumulative, k=6)
            for at, word in zip(rng.sample(range(len(words)), 6), edits, strict=True):  # a few words edited
                words[at] = word
            for planted, rate in PLANTED.items():
                if rng.random() < rate:
                    words.insert(rng.randrange(len(words)), planted)
            versions.append(_version(doc_id, seq, " ".join(words), rng.choice(vocab)))
    return Corpus(documents, versions, vocab[0])


def _version(doc_id: int, seq: int, text: str, title_word: str) -> dict[str, Any]:
    at = T0 + timedelta(minutes=10 * seq + doc_id % 600)
    return {
        "document_id": doc_id, "channel": "page", "seq": seq, "kind": "normal", "observed_at": at,
        "last_confirmed_at": at, "content_hash": f"{doc_id}-{seq}", "title": f"{title_word} report {doc_id}",
        "text": text, "meta": {}, "change_summary": {},
    }  # fmt: skip


def load_sqlite(engine: sa.Engine, data: Corpus) -> None:
    from storage.models import Document, Version

    with engine.begin() as conn:
        conn.execute(sa.insert(Document), [_document_row(i, u) for i, u in data.documents])
        for chunk in _chunks(data.versions, 10_000):
            conn.execute(sa.insert(Version), [_sql_row(v) for v in chunk])


def load_postgres(engine: sa.Engine, data: Corpus) -> None:
    columns = ("document_id", "channel", "seq", "kind", "observed_at", "last_confirmed_at", "content_hash",
               "title", "text", "metadata", "change_summary")  # fmt: skip
    doc_columns = "id, url, kind, status, unchanged_checks, missing_count, settings"
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        with cur.copy(f"COPY document ({doc_columns}) FROM STDIN") as cp:
            for doc_id, url in data.documents:
                cp.write_row((doc_id, url, "article", "active", 0, 0, "{}"))
        with cur.copy(f"COPY version ({', '.join(columns)}) FROM STDIN") as cp:
            for v in data.versions:
                row = _sql_row(v) | {"metadata": "{}", "change_summary": "{}"}
                cp.write_row([row[c] for c in columns])
        cur.execute("SELECT setval('document_id_seq', (SELECT max(id) FROM document))")
        cur.execute("ANALYZE document")
        cur.execute("ANALYZE version")
        raw.commit()
    finally:
        raw.close()


def _document_row(doc_id: int, url: str) -> dict[str, Any]:
    return {"id": doc_id, "url": url, "kind": "article", "status": "active", "unchanged_checks": 0,
            "missing_count": 0, "settings": {}}  # fmt: skip


def _sql_row(v: dict[str, Any]) -> dict[str, Any]:
    row = dict(v)
    row["metadata"] = row.pop("meta")
    return row


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for at in range(0, len(rows), size):
        yield rows[at : at + size]


def measure(engine: sa.Engine, top_word: str) -> list[dict[str, Any]]:
    from storage.search import search

    results = []
    with Session(engine) as session:
        for label, template in QUERIES:
            query = template.format(top=top_word)
            for all_versions in (False, True):
                timings, hits = _time(partial(search, session, query, all_versions=all_versions))
                results.append(
                    {"query": label, "text": query, "all": all_versions, "ms": timings, "hits": hits}
                )
    return results


def _time(call: Callable[[], list[Any]]) -> tuple[list[float], int]:
    hits = len(call())  # warm-up
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings, hits


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def sqlite_run(data: Corpus) -> tuple[list[dict[str, Any]], float]:
    from storage.db import make_engine
    from storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        started = time.perf_counter()
        load_sqlite(engine, data)
        load_s = time.perf_counter() - started
        try:
            return measure(engine, data.top_word), load_s
        finally:
            engine.dispose()


def postgres_run(base: str, data: Corpus) -> tuple[list[dict[str, Any]], float]:
    from storage.db import make_engine, sqlalchemy_url
    from storage.migrate import upgrade

    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(sqlalchemy_url(base))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        sep = "&" if "?" in base else "?"
        engine = make_engine(f"{base}{sep}options=-csearch_path%3D{schema}")
        try:
            upgrade(engine)
            started = time.perf_counter()
            load_postgres(engine, data)
            load_s = time.perf_counter() - started
            return measure(engine, data.top_word), load_s
        finally:
            engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def run() -> str:
    started = time.perf_counter()
    data = corpus()
    made = time.perf_counter() - started
    runs = {"SQLite (FTS5)": sqlite_run(data)}
    base = os.environ.get("STORYTRAIL_BENCH_DATABASE_URL") or os.environ.get("STORYTRAIL_TEST_DATABASE_URL")
    if base:
        runs["PostgreSQL (tsvector + GIN)"] = postgres_run(base, data)
    return report(data, made, runs, bool(base))


def report(data: Corpus, made: float, runs: dict[str, tuple[list[dict[str, Any]], float]], pg: bool) -> str:
    total = len(data.versions)
    lines = [
        f"{total:,} versions ({DOCUMENTS:,} documents x {VERSIONS_PER_DOCUMENT}, "
        f"~{WORDS_PER_TEXT} words each; generated in {made:.1f} s). {len(QUERIES)} queries, "
        f"each warmed up then run {REPEAT} times; "
        "`latest` searches the latest version of each document, `all` every version; limit 50.",
        "",
        "| backend | versions searched | median ms | p95 ms | bulk load |",
        "|---|---|---:|---:|---|",
    ]
    for name, (results, load_s) in runs.items():
        for mode in (False, True):
            ms = [t for r in results if r["all"] is mode for t in r["ms"]]
            load = f"{total / load_s:,.0f} rows/s ({load_s:.1f} s)"
            which = "all" if mode else "latest"
            lines.append(f"| {name} | {which} | {statistics.median(ms):.1f} | {p95(ms):.1f} | {load} |")
    lines += ["", "Per query (median ms latest / all; hits latest / all, capped at 50):", "",
              "| query | " + " | ".join(runs) + " |", "|---|" + "---|" * len(runs)]  # fmt: skip
    for label, template in QUERIES:
        cells = []
        for results, _ in runs.values():
            latest, every = (
                next(r for r in results if r["query"] == label and r["all"] is m) for m in (False, True)
            )
            cells.append(f"{statistics.median(latest['ms']):.1f} / {statistics.median(every['ms']):.1f} "
                         f"({latest['hits']} / {every['hits']})")  # fmt: skip
        shown = (
            template.replace("{top}", f"most frequent word ({data.top_word})")
            if "{top}" in template
            else template
        )
        lines.append(f"| {label}: `{shown}` | " + " | ".join(cells) + " |")
    if not pg:
        lines += [
            "",
            "_PostgreSQL not measured: set STORYTRAIL_BENCH_DATABASE_URL (or STORYTRAIL_TEST_DATABASE_URL)._",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
