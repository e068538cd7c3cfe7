"""Extraction quality gate over the shared corpus (skips where the corpus is absent).

Two gold standards, both scored over every page they hold (no subset), extracted through
``ExtractorPool(workers=2)``:

- ``extraction-trafilatura``: trafilatura's own method. Per page, each "with" segment found in our
  text (whitespace-normalized substring) is a true positive, each one missing a false negative;
  each "without" segment found is a false positive, each one missing a true negative.
- ``extraction-readability``: Readability's expected article HTML, as text. Bag-of-words overlap:
  precision = shared tokens / our tokens, recall = shared tokens / expected tokens (micro-averaged).

Metadata accuracy is counted only where the gold has a value: title (normalized, case-folded,
equal), author (same set of name words, "by"/"und"/"and"... ignored), published date (same day,
each in its own stated offset: ``metadata["published_local"]``), language (same primary subtag).

Every metric must stay at or above its floor in ``tests/extraction_baseline.json``; the file also
records what was measured, when, and with which extractor version.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from scraper.core.extract import ExtractionError
from scraper.core.normalize import normalize_line, normalize_text
from scraper.core.types import Content
from scraper.extractpool import ExtractorPool

BASELINE = Path(__file__).with_name("extraction_baseline.json")
WORKERS = 2
_WORD = re.compile(r"\w+")
_NAME_NOISE = frozenset({"by", "von", "und", "and", "par", "et", "y", "with", "mit", "de", "i", "a"})


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, tp: int, fp: int, fn: int, tn: int = 0) -> None:
        self.tp, self.fp, self.fn, self.tn = self.tp + tp, self.fp + fp, self.fn + fn, self.tn + tn

    def scores(self) -> dict[str, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1}


@dataclass
class Accuracy:
    results: dict[str, list[bool]] = field(default_factory=dict)

    def add(self, metric: str, gold: Any, ours: Any, same: Callable[[Any, Any], bool]) -> None:
        """Count ``metric`` only where the gold states a value."""
        if gold:
            self.results.setdefault(metric, []).append(same(gold, ours))

    def scores(self) -> dict[str, float]:
        return {f"{name}_accuracy": sum(oks) / len(oks) for name, oks in self.results.items()}

    def counts(self) -> dict[str, str]:
        return {name: f"{sum(oks)}/{len(oks)}" for name, oks in self.results.items()}


# --- scoring rules ------------------------------------------------------------------------------


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def segment_counts(item: dict[str, Any], text: str) -> tuple[int, int, int, int]:
    """trafilatura's eval: (tp, fp, fn, tn) for one page's "with"/"without" segments."""
    found = _ws(text)
    tp = sum(1 for segment in item["with"] if _ws(segment) in found)
    fp = sum(1 for segment in item["without"] if _ws(segment) in found)
    return tp, fp, len(item["with"]) - tp, len(item["without"]) - fp


def tokens(text: str) -> Counter[str]:
    return Counter(_WORD.findall(normalize_text(text).casefold()))


def token_counts(expected: str, text: str) -> tuple[int, int, int]:
    """(shared, ours only, expected only) token counts."""
    gold, ours = tokens(expected), tokens(text)
    shared = sum((gold & ours).values())
    return shared, sum(ours.values()) - shared, sum(gold.values()) - shared


def same_title(gold: str, ours: str | None) -> bool:
    return (normalize_line(gold) or "").casefold() == (normalize_line(ours) or "").casefold()


def name_words(byline: str | None) -> frozenset[str]:
    return frozenset(_WORD.findall(normalize_text(byline or "").casefold())) - _NAME_NOISE


def same_author(gold: str, ours: str | None) -> bool:
    return name_words(gold) == name_words(ours)


def local_published(content: Content) -> str | None:
    """The publication time in the page's own offset (the gold gives the publisher's local day)."""
    stated: str | None = content.metadata.get("published_local")
    return stated or (content.published.isoformat() if content.published else None)


def same_day(gold: str, ours: str | None) -> bool:
    return (
        ours is not None
        and datetime.fromisoformat(gold.strip()).date() == datetime.fromisoformat(ours).date()
    )


def same_language(gold: str, ours: str | None) -> bool:
    return gold.split("-")[0].lower() == (ours or "").split("-")[0].lower()


# --- running ------------------------------------------------------------------------------------


def extract_all(pages: Iterable[tuple[bytes, str | None]]) -> list[Content | None]:
    """Extract every page through the process pool; an ExtractionError counts as nothing found."""

    async def run() -> list[Content | None]:
        async with ExtractorPool(WORKERS) as pool:
            results = await asyncio.gather(
                *(pool.extract(raw, url) for raw, url in pages), return_exceptions=True
            )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, ExtractionError):
                raise result
        return [None if isinstance(r, BaseException) else r.content for r in results]

    return asyncio.run(run())


def baseline(name: str) -> dict[str, Any]:
    corpora: dict[str, dict[str, Any]] = json.loads(BASELINE.read_text())["corpora"]
    return corpora[name]


def check_floors(name: str, measured: dict[str, float], counts: dict[str, str]) -> None:
    floors = baseline(name)["floor"]
    print(f"\nextraction quality, {name} (pages: {counts.pop('pages')})")
    for metric, value in measured.items():
        floor = floors.get(metric)
        shown = "-" if floor is None else f"{floor:.4f}"
        print(f"  {metric:<20} {value:.4f}   floor {shown:<6} {counts.get(metric, '')}")
    assert set(floors) <= set(measured), f"baseline names metrics not measured: {set(floors) - set(measured)}"
    below = {m: (round(measured[m], 4), f) for m, f in floors.items() if measured[m] < f}
    assert not below, f"{name}: metrics below their floor (measured, floor): {below}"


def _readable(counts: dict[str, str], accuracy: Accuracy) -> dict[str, str]:
    return counts | {f"{k}_accuracy": v for k, v in accuracy.counts().items()}


# --- the gates ----------------------------------------------------------------------------------


def test_trafilatura_corpus_quality(corpus: Path) -> None:
    root = corpus / "extraction-trafilatura"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    gold: dict[str, dict[str, Any]] = json.loads((root / "evaldata-subset.json").read_text())
    pages = [((root / "html" / item["file"]).read_bytes(), url) for url, item in gold.items()]
    contents = extract_all(pages)

    confusion, accuracy = Confusion(), Accuracy()
    for item, content in zip(gold.values(), contents, strict=True):
        confusion.add(*segment_counts(item, content.text if content else ""))
        found = content or Content()
        accuracy.add("title", item["title"], found.title, same_title)
        accuracy.add("author", item["author"], found.byline, same_author)
        accuracy.add("date", item["date"], local_published(found), same_day)
    measured = confusion.scores() | accuracy.scores()
    counts = {"pages": str(len(pages)), "f1": f"tp={confusion.tp} fp={confusion.fp} fn={confusion.fn}"}
    check_floors("extraction-trafilatura", measured, _readable(counts, accuracy))


def expected_text(page: Path) -> str:
    soup = BeautifulSoup((page / "expected.html").read_text(encoding="utf-8"), "lxml")
    return soup.get_text("\n")


def test_readability_corpus_quality(corpus: Path) -> None:
    root = corpus / "extraction-readability"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    pages = sorted(p for p in root.iterdir() if (p / "source.html").is_file())
    contents = extract_all([((page / "source.html").read_bytes(), None) for page in pages])

    overlap, accuracy = Confusion(), Accuracy()
    for page, content in zip(pages, contents, strict=True):
        meta: dict[str, Any] = json.loads((page / "expected-metadata.json").read_text(encoding="utf-8"))
        found = content or Content()
        overlap.add(*token_counts(expected_text(page), found.text))
        accuracy.add("title", meta.get("title"), found.title, same_title)
        accuracy.add("author", meta.get("byline"), found.byline, same_author)
        accuracy.add("date", meta.get("publishedTime"), local_published(found), same_day)
        accuracy.add("language", meta.get("lang"), found.language, same_language)
    measured = overlap.scores() | accuracy.scores()
    counts = {
        "pages": str(len(pages)),
        "f1": f"tokens shared={overlap.tp} extra={overlap.fp} missed={overlap.fn}",
    }
    check_floors("extraction-readability", measured, _readable(counts, accuracy))
