"""Does a candidate belong to a story? Its query, or its similarity to the story's seed texts.

A candidate matches when the story's query matches (on title and summary at discovery, on the
full text too after the fetch) or when its similarity to one of the seed documents reaches the
story's threshold. Similarity is a cosine on binary feature sets (content words, lightly
stemmed, plus adjacent word pairs): no corpus statistics, cheap enough to run on every candidate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from scraper.core.query import PreparedText, Query, fold, prepare_fields, tokenize

# Cosine values against a seed article are small (a headline shares few of the seed's many
# features): on tests/fixtures/discovery/matching_labelled.jsonl positives have a median of
# 0.16 and negatives 0.054; 0.15 (chosen on that set, so optimistic) gave precision 0.97 and
# recall 0.93 there with the query (tests/test_matching.py). Tune it per story.
DEFAULT_THRESHOLD = 0.15

# Function words of the languages the corpus and users write in most; enough to keep "the",
# "said" or "der" from making two unrelated texts look alike.
_STOPWORD_TEXT = """
    a about after again against all also am an and any are as at be because been before being
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no
    nor not now of off on once only or other our out over own same she should so some such than
    that the their them then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours said says say
    told new one two three first last year years day days week weeks according
    der die das und ist ein eine nicht mit von den dem des auf für im zu sich als auch
    le la les de des du un une et est en pour que qui dans sur au aux par pas plus
    el los las del y que en por con para una
"""
STOPWORDS = frozenset(fold(word) for word in _STOPWORD_TEXT.split())


@dataclass(frozen=True, slots=True)
class Match:
    """The decision for one candidate and one story, with a reason a person can read."""

    matched: bool
    score: float  # 1.0 for a query match, else the best seed similarity (0..1)
    reason: str
    terms: tuple[str, ...] = ()
    similarity: float = 0.0


@dataclass(frozen=True, slots=True)
class StoryMatcher:
    """A story's matching settings, compiled once and applied to many candidates."""

    query: Query
    seeds: tuple[str, ...] = ()
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        _check_threshold(self.threshold)

    def match(self, text: CandidateText) -> Match:
        return match_prepared(self.query, text, self.seeds, threshold=self.threshold)


@dataclass(frozen=True, slots=True)
class CandidateText:
    """A candidate's text prepared once: tokens for queries, features for similarity."""

    fields: PreparedText
    features: frozenset[str]


def prepare_candidate(title: str | None, summary: str | None, text: str | None = None) -> CandidateText:
    """Tokenize a candidate once so that it can be matched against many stories."""
    fields = prepare_fields({"title": title, "summary": summary, "text": text})
    return CandidateText(fields, features(" \n".join(part for part in (title, summary, text) if part)))


def match_candidate(
    story_query: Query,
    title: str | None,
    summary: str | None,
    text: str | None = None,
    seeds: Sequence[str] = (),
    *,
    threshold: float,
) -> Match:
    """Match one candidate against one story (query first, then similarity to the seeds)."""
    return match_prepared(story_query, prepare_candidate(title, summary, text), seeds, threshold=threshold)


def match_prepared(
    story_query: Query, candidate: CandidateText, seeds: Sequence[str] = (), *, threshold: float
) -> Match:
    """:func:`match_candidate` for a candidate already passed through :func:`prepare_candidate`."""
    _check_threshold(threshold)
    result = story_query.evaluate(candidate.fields)
    similarity = best_similarity(candidate.features, seeds)
    if result.matched:
        return Match(True, 1.0, f"query matched: {', '.join(result.terms)}", result.terms, similarity)
    if similarity >= threshold:
        return Match(True, similarity, f"similar to seed ({similarity:.2f})", (), similarity)
    reason = (
        f"no query match; seed similarity {similarity:.2f} < {threshold:.2f}" if seeds else "no query match"
    )
    return Match(False, similarity, reason, (), similarity)


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"similarity threshold must be in (0, 1], not {threshold!r}")


# --- similarity ---------------------------------------------------------------------------


def features(text: str) -> frozenset[str]:
    """Content words (lightly stemmed, stopwords dropped) and adjacent pairs of them."""
    words = [_stem(token) for token in tokenize(text) if len(token) > 2 and token not in STOPWORDS]
    pairs = (f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return frozenset(words).union(pairs)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Cosine of two binary feature sets: |a & b| / sqrt(|a| |b|), 0.0 when either is empty."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def best_similarity(candidate: frozenset[str], seeds: Sequence[str]) -> float:
    """The highest similarity between ``candidate`` and any seed text."""
    return max((similarity(candidate, seed_features(seed)) for seed in seeds), default=0.0)


@lru_cache(maxsize=512)
def seed_features(seed: str) -> frozenset[str]:
    """:func:`features` of a seed text, memoized: the same seeds meet every candidate."""
    return features(seed)


def _stem(token: str) -> str:
    """Plural and verb endings off, so "drones" meets "drone" and "attacked" meets "attack"."""
    if token.endswith(("ies", "ied")) and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("ing") and len(token) > 5:
        return token[:-3]
    if token.endswith("ed") and len(token) > 4:
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")) and len(token) > 3:
        return token[:-1]
    return token
