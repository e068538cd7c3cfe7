"""Diff speed on long articles: ``.venv/bin/python -m bench.bench_diff`` prints a Markdown section.

Articles of 1,000, 5,000 and 20,000 words are generated deterministically (seeded), then edited
at a realistic ~2% of their words: words replaced, numbers changed, sentences added and removed,
a paragraph moved. The storytrail engine (sentences aligned first, then words inside edited
sentences) is timed beside a flat SequenceMatcher over the whole article's word tokens, with
autojunk off and on, the alternative it was chosen over.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from difflib import SequenceMatcher
from functools import partial

from scraper.core.diff import diff_texts
from scraper.core.diff_render import render
from scraper.core.diff_text import words

SIZES = (1_000, 5_000, 20_000)
EDIT_RATE = 0.02
SEED = 20251229
_VOCABULARY = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but "
    "have an they you were her she there been one all we their has would when if so what no out up "
    "said officials president ministry drone attack residence claim talks peace statement military "
    "region government report according spokesman forces strike defence minister video evidence "
    "kremlin ukraine russia putin trump kyiv moscow valdai novgorod sources week monday tuesday"
)
_COMMON = _VOCABULARY.split()


def article(n_words: int, rng: random.Random) -> list[list[str]]:
    """Paragraphs of sentences totalling about ``n_words`` words."""
    paragraphs: list[list[str]] = []
    total = 0
    while total < n_words:
        paragraph = [_sentence(rng) for _ in range(rng.randint(1, 4))]
        total += sum(len(s.split()) for s in paragraph)
        paragraphs.append(paragraph)
    return paragraphs


def _sentence(rng: random.Random) -> str:
    tokens = [_word(rng) for _ in range(rng.randint(8, 30))]
    return " ".join(tokens).capitalize() + rng.choice([".", ".", ".", "?", "!"])


def _word(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return str(rng.randint(2, 999))
    if roll < 0.75:
        return _COMMON[min(int(rng.expovariate(0.08)), len(_COMMON) - 1)]
    return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))


def edit(paragraphs: list[list[str]], rng: random.Random, rate: float = EDIT_RATE) -> list[list[str]]:
    """A copy edited until about ``rate`` of its words changed."""
    out = [list(p) for p in paragraphs]
    budget = rate * sum(len(s.split()) for p in out for s in p)
    while budget > 0:
        budget -= rng.choices(_EDITS, weights=(45, 15, 15, 15, 10))[0](out, rng)
    return out


def _replace_word(doc: list[list[str]], rng: random.Random) -> int:
    p = rng.randrange(len(doc))
    s = rng.randrange(len(doc[p]))
    tokens = doc[p][s].split()
    tokens[rng.randrange(len(tokens))] = _word(rng)
    doc[p][s] = " ".join(tokens)
    return 1


def _change_number(doc: list[list[str]], rng: random.Random) -> int:
    p = rng.randrange(len(doc))
    doc[p].insert(rng.randint(0, len(doc[p])), f"The toll rose to {rng.randint(2, 999)} on {_word(rng)}.")
    return 6


def _add_sentence(doc: list[list[str]], rng: random.Random) -> int:
    sentence = _sentence(rng)
    p = rng.randrange(len(doc))
    doc[p].insert(rng.randint(0, len(doc[p])), sentence)
    return len(sentence.split())


def _remove_sentence(doc: list[list[str]], rng: random.Random) -> int:
    p = rng.randrange(len(doc))
    if len(doc[p]) < 2:
        return 0
    return len(doc[p].pop(rng.randrange(len(doc[p]))).split())


def _move_paragraph(doc: list[list[str]], rng: random.Random) -> int:
    paragraph = doc.pop(rng.randrange(len(doc)))
    doc.insert(rng.randrange(len(doc) + 1), paragraph)
    return 5


_EDITS: tuple[Callable[[list[list[str]], random.Random], int], ...] = (
    _replace_word,
    _change_number,
    _add_sentence,
    _remove_sentence,
    _move_paragraph,
)


def text(paragraphs: list[list[str]]) -> str:
    return "\n\n".join(" ".join(p) for p in paragraphs)


def pair(n_words: int) -> tuple[str, str]:
    rng = random.Random(SEED + n_words)
    before = article(n_words, rng)
    return text(before), text(edit(before, rng))


def flat_word_diff(old: str, new: str, *, autojunk: bool) -> int:
    """The alternative: one SequenceMatcher over every word token of the article."""
    matcher = SequenceMatcher(None, words(old), words(new), autojunk=autojunk)
    return len(matcher.get_opcodes())


def ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run() -> str:
    """The "### Diff" section of the benchmark report, in Markdown."""
    rows = []
    for n in SIZES:
        old, new = pair(n)
        repeat, flat_repeat = (9, 3) if n <= 5_000 else (5, 1)
        diff = diff_texts(old, new)
        timings = (
            ms(partial(diff_texts, old, new), repeat),
            ms(partial(render, diff, "html"), repeat),
            ms(partial(flat_word_diff, old, new, autojunk=False), flat_repeat),
            ms(partial(flat_word_diff, old, new, autojunk=True), flat_repeat),
        )
        changed = diff.stats["words_added"] + diff.stats["words_removed"]
        rows.append(
            f"| {len(old.split()):,} | {changed:,} | " + " | ".join(f"{t:.1f}" for t in timings) + " |"
        )
    return "\n".join(
        [
            "### Diff",
            "",
            f"Median milliseconds per diff of a generated article against a copy edited at ~{EDIT_RATE:.0%} "
            "of its words (seeded, so every run compares the same texts). *storytrail* is "
            "`diff_texts` (sentences aligned, then words inside edited sentences; SequenceMatcher, "
            "autojunk off); *flat* is one SequenceMatcher over every word token of the article.",
            "",
            "| words | words changed | ms per diff (storytrail) | ms html render | ms flat, autojunk off "
            "| ms flat, autojunk on |",
            "|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )


if __name__ == "__main__":
    print(run())
