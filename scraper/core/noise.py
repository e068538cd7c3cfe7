"""Noise learnt from a site's own history: lines that change without being news.

A "most read" box, a live ticker, "updated 5 minutes ago": lines of a page's text that change
across many of a site's pages at the same time, or on nearly every fetch of one page, make
versions no reader cares about. :func:`propose` finds them in the stored versions' texts and
proposes each as an ignore rule (a regex, multi-line mode, as the source and document ignore rules
take them: :func:`scraper.core.normalize.remove_ignored`); :func:`false_versions` counts the
versions the rules would not have made.

How. Each version's text is cut into lines. For each pair of consecutive versions of a page, the
lines only one side has are the changed lines. Each changed line has *signatures*, candidate rules
that match it: its digits generalised (``^Updated \\d+ minutes ago$``) and its first words
(``^Most read:.*$``). A signature becomes a proposal when

- it explains changes on at least :attr:`Thresholds.min_pages` pages and at least
  :attr:`Thresholds.page_share` of the pages that changed at all, at the same time (changes within
  :attr:`Thresholds.window` of each other) in at least :attr:`Thresholds.min_rounds` rounds
  (site-wide noise: a real edit rarely hits many pages at once, twice), or on at least
  :attr:`Thresholds.fetch_share` of the changes of one page with :attr:`Thresholds.min_fetches`
  changes or more (one page's noise); and
- a line it matches is in nearly every version (:attr:`Thresholds.presence`): a box that is always
  there, only with other words; a real edit (a sentence added once) never is; and
- it matches few lines of any version (:attr:`Thresholds.max_lines`): it can never strip a body.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from scraper.core.normalize import compile_ignore_patterns, remove_ignored

_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_pages: int = 3
    page_share: float = 0.5
    min_rounds: int = 2
    window: timedelta = timedelta(minutes=15)
    min_fetches: int = 4
    fetch_share: float = 0.8
    presence: float = 0.9
    max_lines: int = 3
    prefix_words: int = 2
    min_prefix_chars: int = 8


@dataclass(frozen=True, slots=True)
class Proposal:
    """An ignore rule learnt from history, with what it explains."""

    rule: str  # a regex for the ignore rules (multi-line mode)
    scope: str  # "site" (many pages at once) | "page" (nearly every fetch of one page)
    pages: int  # pages whose changes it explains
    changes: int  # changes (pairs of consecutive versions) it explains
    false_versions: int  # versions that would not have been made with this rule alone
    examples: tuple[str, ...]
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "scope": self.scope, "pages": self.pages, "changes": self.changes,
                "false_versions": self.false_versions, "examples": list(self.examples),
                "reason": self.reason}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One version of a page: when it was observed and its body text."""

    at: datetime
    text: str


History = Mapping[str, Sequence[Snapshot]]  # page (URL, id...) -> its versions, oldest first


@dataclass
class _Hits:
    changes: set[tuple[str, int]] = field(default_factory=set)  # (page, index of the change)
    times: list[tuple[datetime, str]] = field(default_factory=list)  # (when, page) of each change
    examples: list[str] = field(default_factory=list)


def lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def signatures(line: str, limits: Thresholds = Thresholds()) -> list[str]:
    """Candidate rules matching ``line``: digits generalised, and its first words."""
    found = []
    if _DIGITS.search(line):
        parts = _DIGITS.split(line)
        found.append("^" + r"\d+".join(_loose(part) for part in parts) + "$")
    words = _WORD.findall(line)
    prefix = " ".join(words[: limits.prefix_words])
    if (
        len(words) > limits.prefix_words
        and len(prefix) >= limits.min_prefix_chars
        and not _DIGITS.search(prefix)
    ):
        found.append(
            "^" + _loose(prefix) + r"\b.*$" if prefix[-1].isalnum() else "^" + _loose(prefix) + ".*$"
        )
    return found


def _loose(literal: str) -> str:
    """``literal`` as a regex, any run of spaces matching any run of horizontal whitespace."""
    return r"[ \t]+".join(re.escape(part) for part in literal.split(" "))


def propose(histories: History, limits: Thresholds = Thresholds(), *, most: int = 10) -> list[Proposal]:
    """Ignore rules for the noise in ``histories`` (page -> its versions' texts, oldest first).

    Greedy: the rule explaining the most changes first, then again on the texts with the chosen
    rules applied, so a second volatile line hidden behind the first is found too."""
    chosen: list[Proposal] = []
    for _ in range(most):
        found = _best(_cleaned(histories, [p.rule for p in chosen]), limits)
        if found is None:
            break
        rule, scope, hit = found
        chosen.append(_proposal(rule, scope, hit, histories, [p.rule for p in chosen]))
    return chosen


_Pages = Mapping[str, list[tuple[datetime, list[str]]]]


def _cleaned(histories: History, rules: list[str]) -> dict[str, list[tuple[datetime, list[str]]]]:
    patterns = compile_ignore_patterns(rules)
    return {page: [(v.at, lines(remove_ignored(v.text, patterns) if rules else v.text)) for v in versions]
            for page, versions in histories.items()}  # fmt: skip


def _best(pages: _Pages, limits: Thresholds) -> tuple[str, str, _Hits] | None:
    hits, changes_per_page = _collect(pages, limits)
    changing = sum(1 for n in changes_per_page.values() if n)
    ranked = sorted(hits.items(), key=lambda item: (-len(item[1].changes), -len(item[0]), item[0]))
    for rule, hit in ranked:
        scope = _scope(hit, changes_per_page, changing, limits)
        if scope is not None and _safe(rule, pages, hit, limits):
            return rule, scope, hit
    return None


def _collect(pages: _Pages, limits: Thresholds) -> tuple[dict[str, _Hits], dict[str, int]]:
    hits: dict[str, _Hits] = defaultdict(_Hits)
    changes_per_page: dict[str, int] = {}
    for page, versions in pages.items():
        changes_per_page[page] = 0
        for index, ((_, old), (at, new)) in enumerate(zip(versions, versions[1:], strict=False)):
            changed = set(old) ^ set(new)
            if not changed:
                continue
            changes_per_page[page] += 1
            for line in sorted(changed):
                for rule in signatures(line, limits):
                    if (page, index) not in hits[rule].changes:
                        hits[rule].times.append((at, page))
                    hits[rule].changes.add((page, index))
                    if len(hits[rule].examples) < 3 and line not in hits[rule].examples:
                        hits[rule].examples.append(line)
    return hits, changes_per_page


def _scope(hit: _Hits, changes_per_page: Mapping[str, int], changing: int, limits: Thresholds) -> str | None:
    per_page: dict[str, int] = defaultdict(int)
    for page, _ in hit.changes:
        per_page[page] += 1
    wide = len(per_page) >= limits.min_pages and len(per_page) >= limits.page_share * changing
    if wide and _rounds(hit, limits) >= limits.min_rounds:
        return "site"
    for page, n in per_page.items():
        total = changes_per_page[page]
        if total >= limits.min_fetches and n >= limits.fetch_share * total:
            return "page"
    return None


def _rounds(hit: _Hits, limits: Thresholds) -> int:
    """Moments (changes within ``window`` of the first of them) at which the rule explains changes
    on at least ``min_pages`` pages."""
    rounds, start, seen = 0, None, set[str]()
    for at, page in sorted(hit.times):
        if start is None or at - start > limits.window:
            rounds += len(seen) >= limits.min_pages
            start, seen = at, set()
        seen.add(page)
    return rounds + (len(seen) >= limits.min_pages)


def _safe(rule: str, pages: _Pages, hit: _Hits, limits: Thresholds) -> bool:
    """Present in nearly every version of the pages it explains, and never in many lines."""
    pattern = _compiled(rule)
    touched = {page for page, _ in hit.changes}
    versions = [v for page in touched for _, v in pages[page]]
    counts = [sum(1 for line in version if pattern.search(line)) for version in versions]
    present = sum(1 for n in counts if n) / len(counts) if counts else 0.0
    return present >= limits.presence and max(counts, default=0) <= limits.max_lines


@lru_cache(maxsize=4096)
def _compiled(rule: str) -> re.Pattern[str]:
    return compile_ignore_patterns([rule])[0]


def _proposal(rule: str, scope: str, hit: _Hits, histories: History, before: list[str]) -> Proposal:
    touched = {page for page, _ in hit.changes}
    subset = {p: histories[p] for p in touched}
    saved = false_versions(subset, [*before, rule]) - false_versions(subset, before)
    where = f"{len(touched)} pages at the same time" if scope == "site" else "nearly every fetch of one page"
    reason = f"changed on {where} ({len(hit.changes)} changes), present in nearly every version"
    return Proposal(rule, scope, len(touched), len(hit.changes), saved, tuple(hit.examples), reason)


def false_versions(histories: History, rules: Iterable[str]) -> int:
    """Versions whose text would have been the same as the one before with ``rules`` applied, and
    was not without them: the versions the rules remove (texts only; a title change still counts)."""
    return len(changes(histories, [])) - len(changes(histories, list(rules)))


def changes(histories: History, rules: Iterable[str]) -> set[tuple[str, int]]:
    """(page, n) of every version n (from 1) whose text differs from version n - 1 once ``rules``
    are applied: what would still be a version."""
    patterns = compile_ignore_patterns(list(rules))
    found = set()
    for page, versions in histories.items():
        cleaned = [tuple(lines(remove_ignored(v.text, patterns))) for v in versions]
        found |= {(page, n) for n in range(1, len(cleaned)) if cleaned[n] != cleaned[n - 1]}
    return found
