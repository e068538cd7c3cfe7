"""Matching in a story's languages, before and after: ``.venv/bin/python -m bench.bench_languages``.

Labelled sets:

- tests/fixtures/discovery/matching_multilingual.jsonl: 68 headlines written for the project in
  en, pl, de, ru, uk, fr, es (34 about the Valdai residence claim, 34 not: Putin news, drone
  attacks elsewhere, other residences, peace talks, the Valdai Club);
- every entry title of the shared corpus's real feeds (feeds/**, the last feed-versions-cacm
  capture): all negatives, when the corpus is present;
- tests/fixtures/discovery/matching_labelled.jsonl: the 132 English headlines of
  tests/test_matching.py, with the DESIGN.md query.

Each set is matched with the query compiled literally (``languages=None``: folded words only,
the "before") and with word forms (``languages`` = the story's, or ``()``: the detected language
of each entry). Prints precision, recall and the time per entry as a Markdown section.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from scraper.core.languages import detect
from scraper.core.query import compile_query

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "discovery"
STORY_LANGUAGES = ("en", "pl", "de", "ru", "uk", "fr", "es")
MULTILINGUAL_QUERY = (
    "(Putin OR Kremlin OR Kreml) AND (residence OR rezydencja OR Residenz OR résidence OR residencia"
    " OR резиденция OR Valdai OR Novgorod) AND (drone OR dron OR Drohne OR дрон OR беспилотник)"
)
WILDCARD_QUERY = (
    "(Putin OR Kremlin OR Kreml) AND (residen* OR rezydencj* OR Residenz OR резиденц* OR Valdai OR"
    " Novgorod) AND (drone* OR dron* OR Drohne* OR дрон* OR беспилотник*)"
)
VALDAI_QUERY = "(Putin OR Kremlin) AND (residence OR Valdai OR Novgorod) AND drone*"


@dataclass(frozen=True)
class Row:
    title: str
    summary: str
    story: bool


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int
    seconds: float
    entries: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


def load_rows(name: str) -> list[Row]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [_row(json.loads(line)) for line in lines if line.strip()]


def _row(data: dict[str, object]) -> Row:
    return Row(str(data["title"]), str(data.get("summary") or ""), bool(data["story"]))


def corpus_negatives(corpus: Path | None) -> list[Row]:
    """Titles (and summaries) of every entry of the corpus's real feeds: none is about the story."""
    if corpus is None or not corpus.is_dir():
        return []
    captures = sorted((corpus / "feed-versions-cacm").glob("*.xml"))
    files = sorted((corpus / "feeds").rglob("*.xml")) + captures[-1:]
    rows = []
    for path in files:
        for entry in feedparser.parse(path.read_bytes()).entries:
            rows.append(Row(str(entry.get("title", "")), str(entry.get("summary", ""))[:500], False))
    return rows


def measure(query: str, languages: tuple[str, ...] | None, rows: Iterable[Row]) -> Score:
    compiled = compile_query(query, languages)
    tp = fp = fn = entries = 0
    started = time.perf_counter()
    for row in rows:
        found = compiled.evaluate({"title": row.title, "summary": row.summary}).matched
        tp += found and row.story
        fp += found and not row.story
        fn += not found and row.story
        entries += 1
    return Score(tp, fp, fn, time.perf_counter() - started, entries)


def corpus_root() -> Path | None:
    env = os.environ.get("STORYTRAIL_CORPUS")
    path = Path(env) if env else ROOT.parent / "shared" / "corpus"
    return path if path.is_dir() else None


def run() -> str:
    """The Markdown body of the ``languages`` section of bench/RESULTS.md."""
    multilingual = load_rows("matching_multilingual.jsonl") + corpus_negatives(corpus_root())
    english = load_rows("matching_labelled.jsonl")
    runs = [
        ("multilingual", "plain words, literal (before)", MULTILINGUAL_QUERY, None, multilingual),
        ("multilingual", "wildcards written out, literal", WILDCARD_QUERY, None, multilingual),
        ("multilingual", "plain words, story languages", MULTILINGUAL_QUERY, STORY_LANGUAGES, multilingual),
        ("multilingual", "plain words, detected language", MULTILINGUAL_QUERY, (), multilingual),
        ("English", "DESIGN.md query, literal (before)", VALDAI_QUERY, None, english),
        ("English", "DESIGN.md query, languages = [en]", VALDAI_QUERY, ("en",), english),
        ("English", "DESIGN.md query, detected language", VALDAI_QUERY, (), english),
    ]
    detect("warm the language model up before timing")
    load = os.getloadavg()
    lines = [
        "### Matching in the story's languages\n",
        f"Labelled sets: tests/fixtures/discovery/matching_multilingual.jsonl (68 written headlines, "
        f"7 languages) + {len(multilingual) - 68} real feed titles of the shared corpus (negatives); "
        "tests/fixtures/discovery/matching_labelled.jsonl (132 English). Before: the query matched "
        "literally; after: word forms (stems, transliteration). "
        f"Load while measured: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.\n",
        f"Multilingual query: `{MULTILINGUAL_QUERY}`\n",
        "| set | how | precision | recall | TP/FP/FN | entries | ms per entry |",
        "|---|---|---|---|---|---|---|",
    ]
    for set_name, how, query, languages, rows in runs:
        s = measure(query, languages, rows)
        per = 1000 * s.seconds / s.entries
        lines.append(f"| {set_name} | {how} | {s.precision:.3f} | {s.recall:.3f} | {s.tp}/{s.fp}/{s.fn} | "
                     f"{s.entries} | {per:.3f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {os.cpu_count()} cores\n")
    print(run())


if __name__ == "__main__":
    main()
