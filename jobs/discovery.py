"""Story matching as the poller applies it: each active story compiled once per poll into a
:class:`StoryRule` (its query, its seed texts, its threshold and link-following settings).

A candidate is matched on its title and summary when it is found (a URL slug stands in for a
missing title), and a fetched document on its full text. A story without a query matches on
similarity to its seeds alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote, urlsplit

from sqlmodel import Session

from scraper.core.matching import (
    DEFAULT_THRESHOLD,
    CandidateText,
    Match,
    best_similarity,
    match_prepared,
    prepare_candidate,
)
from scraper.core.query import Query, QueryError, compile_query
from scraper.sources import StorySpec
from storage import discovery as disc
from storage.models import Story

DEFAULT_LINK_DEPTH = 1
DEFAULT_MAX_LINKS = 10  # outgoing links followed per document
MIN_THRESHOLD = 0.001
_SLUG_SPLIT = re.compile(r"[-_+.]+")
_SLUG_WORD = re.compile(r"^[^\W\d_]{2,}$")


@dataclass(frozen=True)
class StoryRule:
    """One active story, ready to match many candidates."""

    story_id: int
    slug: str
    query_text: str
    query: Query | None
    seeds: tuple[str, ...]
    threshold: float
    link_depth: int = DEFAULT_LINK_DEPTH
    max_links: int = DEFAULT_MAX_LINKS

    @property
    def spec(self) -> StorySpec:
        return StorySpec(slug=self.slug, query=self.query_text)

    def match(self, text: CandidateText, *, on: str) -> Match:
        """Match prepared text; ``on`` ("title and summary", "full text") goes into the reason."""
        if self.query is not None:
            found = match_prepared(self.query, text, self.seeds, threshold=self.threshold)
        else:
            found = _similarity_only(text, self.seeds, self.threshold)
        return _explained(found, on, bool(self.seeds))


def _similarity_only(text: CandidateText, seeds: Sequence[str], threshold: float) -> Match:
    score = best_similarity(text.features, seeds)
    if score >= threshold:
        return Match(True, score, f"similar to seed ({score:.2f})", (), score)
    return Match(False, score, f"seed similarity {score:.2f} < {threshold:.2f}", (), score)


def _explained(found: Match, on: str, has_seeds: bool) -> Match:
    reason = f"{on}: {found.reason}"
    if found.terms and has_seeds:
        reason += f" (seed similarity {found.similarity:.2f})"
    return Match(found.matched, found.score, reason, found.terms, found.similarity)


def threshold_of(story: Story) -> float:
    value = (story.settings or {}).get("threshold")
    return max(float(value), MIN_THRESHOLD) if value is not None else DEFAULT_THRESHOLD


def compile_rule(story: Story, seeds: Sequence[str]) -> StoryRule:
    """The rule for ``story``; :class:`QueryError` when its query does not compile."""
    assert story.id is not None
    settings = story.settings or {}
    languages = tuple(story.languages or ())  # none listed: each entry in its detected language
    query = compile_query(story.query, languages) if story.query.strip() else None
    return StoryRule(
        story_id=story.id,
        slug=story.slug,
        query_text=story.query,
        query=query,
        seeds=tuple(seeds),
        threshold=threshold_of(story),
        link_depth=int(settings.get("link_depth", DEFAULT_LINK_DEPTH)),
        max_links=int(settings.get("max_links", DEFAULT_MAX_LINKS)),
    )


def load_rules(session: Session, *, now: datetime) -> tuple[list[StoryRule], list[str]]:
    """Rules for every active story, with the texts of its fetched seeds; a story whose query
    does not compile is left out with a warning (it matches nothing until fixed)."""
    rules: list[StoryRule] = []
    warnings: list[str] = []
    for story in disc.active_stories(session, now=now):
        try:
            rules.append(compile_rule(story, seed_texts(session, story)))
        except QueryError as exc:
            warnings.append(f"story {story.slug}: {exc}")
    return rules, warnings


def seed_texts(session: Session, story: Story) -> list[str]:
    """The latest page text (title and body) of each fetched seed of ``story``."""
    texts = []
    for doc in disc.seed_documents(session, urls=seed_urls(story)):
        assert doc.id is not None
        found = disc.document_text(session, document_id=doc.id)
        if found is not None:
            texts.append("\n".join(part for part in (found[0], found[2]) if part))
    return texts


def seed_urls(story: Story) -> list[str]:
    from scraper.core.urls import InvalidURL, canonicalize

    urls = []
    for url in story.seeds:
        try:
            urls.append(canonicalize(url))
        except InvalidURL:
            continue
    return urls


def slug_words(url: str) -> str | None:
    """The words of a URL's last meaningful path segment: ``/2025/12/30/putin-residence-drone``
    -> ``putin residence drone``; None when the path holds no such words."""
    for segment in reversed([s for s in unquote(urlsplit(url).path).split("/") if s]):
        stem = re.sub(r"\.(s?html?|php|aspx?)$", "", segment, flags=re.IGNORECASE)
        words = [w for w in _SLUG_SPLIT.split(stem) if _SLUG_WORD.match(w)]
        if len(words) >= 2:
            return " ".join(words)
    return None


def candidate_text(title: str | None, summary: str | None, url: str) -> CandidateText:
    """What a candidate is matched on at discovery: title and summary, else its URL's words."""
    return prepare_candidate(title or slug_words(url), summary)


def document_match_text(session: Session, *, document_id: int) -> CandidateText | None:
    """A fetched document's full text (title, description, body), or None before any fetch."""
    found = disc.document_text(session, document_id=document_id)
    if found is None:
        return None
    title, description, text = found
    return prepare_candidate(title, description, text)
