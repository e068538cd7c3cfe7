"""Story-matching throughput: ``.venv/bin/python -m bench.bench_matching`` prints a Markdown section.

50 stories (queries shaped like DESIGN.md's, with ORs, a prefix, sometimes a phrase, a NOT or a
field, and one seed text each) are matched against 10,000 candidates (headline + summary), all
generated deterministically (seeded) from a news vocabulary in which story words are common, so
that queries do real work and some candidates match.

Two ways are timed:

- pipeline: each candidate is tokenized once (``prepare_candidate``) and matched against every
  story (``StoryMatcher.match``): what a poller does with a batch of new candidates;
- per call: ``match_candidate`` for every (story, candidate) pair, which re-tokenizes the
  candidate each time; timed on the first 1,000 candidates to keep the run short.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from scraper.core.matching import (
    DEFAULT_THRESHOLD,
    StoryMatcher,
    match_candidate,
    prepare_candidate,
)
from scraper.core.query import compile_query

STORIES = 50
CANDIDATES = 10_000
PER_CALL_CANDIDATES = 1_000
SEED = 20251229

_TOPICAL_WORDS = (
    "putin kremlin valdai novgorod residence drone drones attack claim zelensky kyiv trump "
    "lavrov peskov talks peace ceasefire missile refinery moscow airport sanctions election court "
    "flood storm wildfire earthquake strike union budget inflation bank market oil gas pipeline "
    "hospital vaccine outbreak school protest police parliament minister resigns scandal"
)
_COMMON_WORDS = (
    "the of and to in a is that for on with as by at from says said after over new report "
    "officials government people week year first more than two three could would its their"
)
_TOPICAL, _COMMON = _TOPICAL_WORDS.split(), _COMMON_WORDS.split()


def _word(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.12:
        return rng.choice(_TOPICAL)
    if roll < 0.6:
        return rng.choice(_COMMON)
    return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))


def _text(rng: random.Random, low: int, high: int) -> str:
    words = [_word(rng) for _ in range(rng.randint(low, high))]
    if rng.random() < 0.2:
        words = [word.capitalize() for word in words]
    return " ".join(words)


def _query(rng: random.Random) -> str:
    a, b, c, d, e, f = rng.sample(_TOPICAL, 6)
    parts = [f"({a} OR {b})", f"({c} OR {d} OR {e})", f"{f[: max(3, len(f) - 2)]}*"]
    extra = rng.random()
    if extra < 0.25:
        parts.append(f'"{rng.choice(_COMMON)} {rng.choice(_TOPICAL)}"')
    elif extra < 0.5:
        parts.append(f"NOT {rng.choice(_TOPICAL)}")
    elif extra < 0.7:
        parts[0] = f"title:{parts[0]}"
    return " AND ".join(parts)


def stories(rng: random.Random) -> list[StoryMatcher]:
    return [
        StoryMatcher(compile_query(_query(rng)), (_text(rng, 120, 250),), DEFAULT_THRESHOLD)
        for _ in range(STORIES)
    ]


def candidates(rng: random.Random) -> list[tuple[str, str]]:
    return [(_text(rng, 6, 14), _text(rng, 15, 40)) for _ in range(CANDIDATES)]


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds on the clock
    cpu: float  # seconds of this process's CPU: the honest figure on a busy machine


def _timed(work: Callable[[], int]) -> tuple[Timing, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu), result


def _pipeline(matchers: list[StoryMatcher], items: list[tuple[str, str]]) -> int:
    matched = 0
    for title, summary in items:
        prepared = prepare_candidate(title, summary)
        matched += sum(story.match(prepared).matched for story in matchers)
    return matched


def _per_call(matchers: list[StoryMatcher], items: list[tuple[str, str]]) -> int:
    matched = 0
    for title, summary in items:
        for story in matchers:
            matched += match_candidate(
                story.query, title, summary, seeds=story.seeds, threshold=story.threshold
            ).matched
    return matched


def run() -> str:
    rng = random.Random(SEED)
    matchers, items = stories(rng), candidates(rng)
    pipeline, matched = _timed(lambda: _pipeline(matchers, items))
    per_call, _ = _timed(lambda: _per_call(matchers, items[:PER_CALL_CANDIDATES]))
    pairs = STORIES * CANDIDATES
    rows = [
        ("stories × candidates", f"{STORIES} × {CANDIDATES:,} = {pairs:,} pairs"),
        ("pipeline: total seconds, CPU (wall)", f"{pipeline.cpu:.2f} ({pipeline.wall:.2f})"),
        ("pipeline: candidates/s, each against all 50 stories (CPU)", f"{CANDIDATES / pipeline.cpu:,.0f}"),
        ("pipeline: story-candidate pairs/s (CPU)", f"{pairs / pipeline.cpu:,.0f}"),
        ("matched pairs (query or seed similarity)", f"{matched:,} ({matched / pairs:.2%})"),
        (
            f"per call (`match_candidate`, first {PER_CALL_CANDIDATES:,} candidates): seconds, CPU (wall)",
            f"{per_call.cpu:.2f} ({per_call.wall:.2f})",
        ),
        (
            "per call: candidates/s, each against all 50 stories (CPU)",
            f"{PER_CALL_CANDIDATES / per_call.cpu:,.0f}",
        ),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        "### Matching\n\n"
        "50 generated stories (query + one seed text each) against 10,000 generated candidates "
        "(headline + summary), one process, one thread. Rates use CPU seconds of the process, "
        "which a busy machine does not inflate; wall seconds are in parentheses.\n\n"
        "| measure | value |\n|---|---|\n" + table + "\n"
    )


if __name__ == "__main__":
    print(run())
