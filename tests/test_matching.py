"""Story matching: query plus similarity to the seeds, and its quality on a labelled set.

Labelled set: tests/fixtures/discovery/matching_labelled.jsonl, 132 headline + summary pairs
written for this project (60 about the Valdai residence claim, 72 not: Putin news without the
drone claim, drone attacks elsewhere, Valdai tourism and the Valdai Club, peace-talk news, and
plain negatives), matched at discovery time (title and summary only) against the DESIGN.md query
and the seed text tests/fixtures/discovery/valdai_seed.txt.

Measured (this file, DEFAULT_THRESHOLD = 0.15):

- query only:                 precision 0.981 (52/53), recall 0.867 (52/60)
- query + seed similarity:    precision 0.966 (56/58), recall 0.933 (56/60)

The threshold was chosen on this same set, so these figures are optimistic. The floors below
sit a little under them. Misses: a German headline ("Putins Residenz ... Drohnen"), "UAV" and
"unmanned aerial vehicles" wordings, a paraphrase without drone words. False positives: the 2023
Kremlin drone incident (the query matches it) and a New Year at the Valdai residence story (close
to the seed by words).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.core.matching import (
    DEFAULT_THRESHOLD,
    CandidateText,
    StoryMatcher,
    best_similarity,
    features,
    match_candidate,
    match_prepared,
    prepare_candidate,
    seed_features,
    similarity,
)
from scraper.core.query import compile_query

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
VALDAI = compile_query("(Putin OR Kremlin) AND (residence OR Valdai OR Novgorod) AND drone*")
SEED = (FIXTURES / "valdai_seed.txt").read_text(encoding="utf-8")

QUERY_ONLY_FLOOR = {"precision": 0.95, "recall": 0.83}
WITH_SEEDS_FLOOR = {"precision": 0.93, "recall": 0.90}


def labelled() -> list[dict[str, object]]:
    lines = (FIXTURES / "matching_labelled.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def precision_recall(seeds: tuple[str, ...]) -> dict[str, float]:
    tp = fp = fn = 0
    for row in labelled():
        found = match_candidate(
            VALDAI, str(row["title"]), str(row["summary"]), seeds=seeds, threshold=DEFAULT_THRESHOLD
        ).matched
        tp += found and bool(row["story"])
        fp += found and not row["story"]
        fn += not found and bool(row["story"])
    return {"precision": tp / (tp + fp), "recall": tp / (tp + fn)}


# --- the labelled set ---------------------------------------------------------------------


def test_labelled_set_is_big_enough_and_has_hard_negatives():
    rows = labelled()
    kinds = {str(row["kind"]) for row in rows}
    assert len(rows) >= 120
    assert sum(bool(row["story"]) for row in rows) >= 50
    assert {"neg_putin", "neg_drones", "neg_valdai", "neg_talks"} <= kinds
    assert len({row["id"] for row in rows}) == len(rows)


def test_query_alone_meets_its_floor():
    measured = precision_recall(())
    assert measured["precision"] >= QUERY_ONLY_FLOOR["precision"], measured
    assert measured["recall"] >= QUERY_ONLY_FLOOR["recall"], measured


def test_query_with_seed_similarity_meets_its_floor():
    measured = precision_recall((SEED,))
    assert measured["precision"] >= WITH_SEEDS_FLOOR["precision"], measured
    assert measured["recall"] >= WITH_SEEDS_FLOOR["recall"], measured


def test_seed_similarity_raises_recall():
    assert precision_recall((SEED,))["recall"] > precision_recall(())["recall"]


# --- decisions and reasons ----------------------------------------------------------------


def test_query_match_scores_one_and_names_the_terms():
    match = match_candidate(
        VALDAI, "Kremlin: drones attacked Putin's Valdai residence", None, threshold=DEFAULT_THRESHOLD
    )
    assert match.matched
    assert match.score == 1.0
    assert match.reason == "query matched: Putin, Kremlin, residence, Valdai, drone*"
    assert match.terms == ("Putin", "Kremlin", "residence", "Valdai", "drone*")


def test_similarity_match_names_the_score():
    title = "Russia will revise its negotiating position after alleged attack on Putin's residence"
    summary = "Lavrov spoke of 91 long-range drones; Zelensky called it a fabrication"
    without_drones = title.replace("drones", "aircraft")
    match = match_candidate(compile_query("Valdai"), without_drones, summary, seeds=[SEED], threshold=0.15)
    assert match.matched
    assert match.reason == f"similar to seed ({match.score:.2f})"
    assert 0.15 <= match.score < 1.0
    assert match.terms == ()


def test_no_match_explains_itself():
    match = match_candidate(
        VALDAI, "Stock markets close higher", "Tech shares led", seeds=[SEED], threshold=0.2
    )
    assert not match.matched
    assert match.reason.startswith("no query match; seed similarity 0.")
    assert match.reason.endswith("< 0.20")
    assert match_candidate(VALDAI, "Stock markets", None, threshold=0.2).reason == "no query match"


def test_full_text_is_matched_after_the_fetch():
    title, summary = "Overnight attack claim", "Moscow makes an allegation"
    text = "Russia said drones targeted Putin's residence in the Novgorod region."
    assert not match_candidate(VALDAI, title, summary, threshold=0.5).matched
    assert match_candidate(VALDAI, title, summary, text, threshold=0.5).matched


def test_threshold_decides_similarity_matches():
    title = "Lavrov says Moscow will revise its position in peace talks"
    summary = "Zelensky called the claim a fabrication"
    low = match_candidate(compile_query("nothing"), title, summary, seeds=[SEED], threshold=0.05)
    high = match_candidate(compile_query("nothing"), title, summary, seeds=[SEED], threshold=0.9)
    assert low.matched and not high.matched
    assert low.similarity == high.similarity


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_threshold_out_of_range_is_refused(threshold):
    with pytest.raises(ValueError, match="threshold"):
        match_candidate(VALDAI, "x", "y", threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        StoryMatcher(VALDAI, (SEED,), threshold)


def test_story_matcher_equals_match_candidate():
    story = StoryMatcher(VALDAI, (SEED,), 0.15)
    for row in labelled()[:40]:
        prepared = prepare_candidate(str(row["title"]), str(row["summary"]))
        assert isinstance(prepared, CandidateText)
        direct = match_candidate(VALDAI, str(row["title"]), str(row["summary"]), seeds=[SEED], threshold=0.15)
        assert story.match(prepared) == direct
        assert match_prepared(VALDAI, prepared, [SEED], threshold=0.15) == direct


def test_best_similarity_is_over_all_seeds():
    candidate = features("Kremlin drone attack on Putin residence near Valdai")
    unrelated = "Football results from the weekend"
    assert best_similarity(candidate, [unrelated, SEED]) == best_similarity(candidate, [SEED])
    assert best_similarity(candidate, []) == 0.0


# --- similarity properties ----------------------------------------------------------------

texts = st.lists(
    st.sampled_from(["putin", "residence", "drones", "valdai", "talks", "kremlin", "said", "the", "attack"]),
    max_size=15,
).map(" ".join)


def test_features_drop_stopwords_and_stem_lightly():
    found = features("The drones attacked the residences")
    assert {"drone", "attack", "residence", "drone attack"} <= found
    assert "the" not in found


def test_features_fold_case_and_accents():
    assert features("PUTIN Résidence Valdaï") == features("putin residence valdai")


@given(texts, texts)
def test_similarity_is_symmetric_and_bounded(a, b):
    fa, fb = features(a), features(b)
    assert similarity(fa, fb) == similarity(fb, fa)
    assert 0.0 <= similarity(fa, fb) <= 1.0 + 1e-9


@given(texts)
def test_a_text_is_fully_similar_to_itself(text):
    found = features(text)
    assert similarity(found, found) == (1.0 if found else 0.0)


def test_seed_features_are_memoized():
    assert seed_features(SEED) is seed_features(SEED)
