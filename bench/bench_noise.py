"""Noise learnt per site, on generated sites with known volatile blocks:
``.venv/bin/python -m bench.bench_noise``.

Each generated site (tests/fixtures/noise/site.py; 6 pages fetched 8 times an hour apart) has a
"Most read" line that changes on every fetch of every page, an "Updated N minutes ago" line on one
page, and real edits (a number revised, a sentence added) at random fetches. For 20 seeds: the
versions made without rules, the rules learnt (scraper.core.noise.propose), the versions left with
them, and the real edits lost (must be 0) or left unexplained.
"""

from __future__ import annotations

import time

from scraper.core.noise import changes, propose
from tests.fixtures.noise.site import site

SEEDS = range(20)


def run() -> str:
    made = kept = real = lost = extra = rules = 0
    started = time.perf_counter()
    for seed in SEEDS:
        generated = site(seed=seed)
        learnt = [p.rule for p in propose(generated.pages)]
        truth, left = changes(generated.clean, []), changes(generated.pages, learnt)
        made += len(changes(generated.pages, []))
        kept, real = kept + len(left), real + len(truth)
        lost, extra, rules = lost + len(truth - left), extra + len(left - truth), rules + len(learnt)
    seconds = time.perf_counter() - started
    return "\n".join([
        "### Noise learnt per site\n",
        f"{len(SEEDS)} generated sites (6 pages x 8 fetches; a site-wide \"Most read\" box, a per-page "
        "\"Updated N minutes ago\" line, real edits at random fetches); rules learnt from the stored "
        "texts.\n",
        "| measure | value |", "|---|---|",
        f"| versions made without rules | {made} |",
        f"| rules learnt (all sites) | {rules} |",
        f"| versions left with the rules | {kept} |",
        f"| false versions removed | {made - kept} ({(made - kept) / made:.0%}) |",
        f"| real edits | {real} |",
        f"| real edits lost | {lost} |",
        f"| versions left that are no real edit | {extra} |",
        f"| seconds (all {len(SEEDS)} sites) | {seconds:.2f} |",
    ]) + "\n"  # fmt: skip


if __name__ == "__main__":
    print(run())
