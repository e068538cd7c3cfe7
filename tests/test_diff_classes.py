"""Edit classes and the significance model (scraper/core/diff_classes.py, docs/significance.md):
written pairs (tests/fixtures/diff and below, in several languages) and real page pairs from the
shared corpus (page-versions/web-monitoring-diff)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.core.diff import Diff, change_summary, diff_contents, diff_texts
from scraper.core.diff_classes import CLASSES, WEIGHTS, score, top_class
from scraper.core.hedging import hedge_changes
from scraper.core.types import Content
from tests.test_diff import diff_case, load_version
from tests.test_diff_pages import extract_pair


def names(diff: Diff) -> list[str]:
    return [c.name for c in diff.classes]


def reasons(diff: Diff) -> list[str]:
    return [c.reason for c in diff.classes]


def with_title(title: str, text: str | None = None) -> Content:
    base = load_version("base")
    return Content(title=title, byline=base.byline, text=base.text if text is None else text,
                   published=base.published, modified=base.modified)  # fmt: skip


# -- one class per kind of edit ---------------------------------------------------------------


def test_number_changed_is_the_number_class() -> None:
    diff = diff_case("number_changed")
    assert names(diff) == ["number"]
    assert reasons(diff) == ["number changed: 91 -> 89"]
    assert diff.significance == WEIGHTS["number"]


def test_headline_rewritten() -> None:
    diff = diff_case("headline_rewritten")
    assert names(diff)[0] == "headline"
    assert diff.classes[0].reason.startswith("headline rewritten: Russia says Ukraine fired 91 drones")


def test_alleged_dropped_from_headline_is_hedging() -> None:
    old = with_title("Alleged drone attack on Putin's residence in Valdai")
    new = with_title("Drone attack on Putin's residence in Valdai")
    diff = diff_contents(old, new)
    assert names(diff) == ["headline", "hedging"] or names(diff) == ["hedging", "headline"]
    assert 'hedge "alleged" removed from the headline' in reasons(diff)
    assert diff.significance == score(diff.classes) >= 0.6


def test_attribution_removed_from_a_sentence() -> None:
    old = "Ukraine fired 91 drones at the lakeside residence, according to Moscow. Nobody was hurt."
    new = "Ukraine fired 91 drones at the lakeside residence. Nobody was hurt."
    diff = diff_texts(old, new)
    assert "hedging" in names(diff)
    assert 'attribution "according to" removed from a sentence' in reasons(diff)


def test_said_to_says_is_no_attribution_change() -> None:
    assert hedge_changes("Russia says drones were fired", "Russia said drones were fired") == []
    [change] = hedge_changes("Russia said drones were fired", "Drones were fired")
    assert (change.word, change.kind, change.change) == ("said", "attribution", "removed")


@pytest.mark.parametrize(
    ("old", "new", "word"),
    [
        ("Rzekomy atak dronów na rezydencję Putina", "Atak dronów na rezydencję Putina", "rzekomy"),
        ("Якобы атака дронов на резиденцию Путина", "Атака дронов на резиденцию Путина", "якобы"),
        ("Нібито атака дронів на резиденцію Путіна", "Атака дронів на резиденцію Путіна", "нібито"),
        ("Angeblicher Drohnenangriff auf Putins Haus", "Drohnenangriff auf Putins Haus", "angeblicher"),
        ("Attaque présumée de drones sur la résidence", "Attaque de drones sur la résidence", "presumee"),
        ("Presunto ataque con drones a la residencia", "Ataque con drones a la residencia", "presunto"),
        ("Drones reportedly hit the residence", "Drones hit the residence", "reportedly"),
    ],
)
def test_hedges_in_every_language(old: str, new: str, word: str) -> None:
    [change] = hedge_changes(old, new)
    assert (change.word, change.kind, change.change) == (word, "hedge", "removed")
    diff = diff_contents(with_title(old), with_title(new))
    assert "hedging" in names(diff)


def test_quotation_added_removed_altered() -> None:
    assert reasons(diff_case("quotation_changed")) == [
        'quotation altered: "revise its stance" -> "review its negotiating position"'
    ]
    added = diff_texts("The Kremlin spoke.", 'The Kremlin spoke. Peskov said: "We will respond."')
    assert 'quotation added: "We will respond."' in reasons(added)
    removed = diff_texts('The Kremlin spoke. Peskov said: "We will respond."', "The Kremlin spoke.")
    assert 'quotation removed: "We will respond."' in reasons(removed)


def test_correction_note() -> None:
    diff = diff_case("correction_appended")
    assert names(diff) == ["note"]
    assert diff.classes[0].reason.startswith("correction note appended: Correction:")
    assert diff.significance == WEIGHTS["note_correction"]


def test_paragraph_removed_and_sentence_added() -> None:
    assert names(diff_case("paragraph_removed")) == ["paragraph"]
    assert reasons(diff_case("paragraph_removed"))[0].startswith("1 paragraph removed (21 words")
    assert names(diff_case("sentence_added")) == ["sentence"]


def test_link_added() -> None:
    diff = diff_texts("Read the statement.", "Read the statement at https://kremlin.example/statement.")
    assert "link" in names(diff)
    assert "link added: https://kremlin.example/statement" in reasons(diff)


def test_byline_and_date() -> None:
    byline = "byline changed: Staff reporter -> Anna Petrova and Tom Baker"
    assert reasons(diff_case("byline_changed")) == [byline]
    date = diff_case("date_changed")
    assert reasons(date) == ["modified date changed: 2025-12-29 15:00 -> 2025-12-30 09:30"]
    assert date.significance < 0.1


def test_typo_is_the_lightest() -> None:
    diff = diff_case("typo_fix")
    assert names(diff) == ["typo"]
    assert diff.significance < 0.1 < diff_case("number_changed").significance


def test_combined_is_explained_by_its_classes() -> None:
    diff = diff_case("combined")
    assert {"headline", "number", "note", "sentence"} <= set(names(diff))
    assert diff.significance == round(1 - math.prod(1 - c.weight for c in diff.classes), 3)
    weights = [c.weight for c in diff.classes]
    assert weights == sorted(weights, reverse=True)


def test_change_summary_stores_classes_and_reasons() -> None:
    summary = change_summary(diff_case("number_changed"))
    assert summary["classes"] == [{"class": "number", "weight": 0.4, "reason": "number changed: 91 -> 89"}]
    assert summary["reasons"] == ["number changed: 91 -> 89 (+0.40)"]
    assert top_class(summary) == "number"
    assert top_class({}) is None


def test_no_change_has_no_class_and_first_version_one() -> None:
    assert diff_case("identical").classes == () and diff_case("whitespace_only").classes == ()
    first = diff_contents(None, load_version("base"))
    assert names(first) == ["first_version"] and first.significance == 1.0
    assert set(CLASSES) >= {c.name for case in ("combined", "typo_fix") for c in diff_case(case).classes}


# -- real pairs -------------------------------------------------------------------------------


def test_fema_real_pair_numbers_weigh_and_explain(corpus: Path) -> None:
    old, new = extract_pair(corpus, "fema-hurricane-maria")
    diff = diff_texts(old, new)
    assert "number changed: 12,300 -> 14,000" in reasons(diff)
    assert "number changed: 94% -> 92%" in reasons(diff)
    assert {"paragraph", "number", "typo"} <= set(names(diff))
    assert diff.significance == score(diff.classes) > 0.9


def test_energy_real_pair_is_paragraphs(corpus: Path) -> None:
    old, new = extract_pair(corpus, "energy-gov-home")
    diff = diff_texts(old, new)
    assert names(diff)[0] == "paragraph"
    assert "number" not in names(diff)


# -- properties -------------------------------------------------------------------------------

_words = st.lists(st.sampled_from(["Putin", "said", "alleged", "91", "89", "drones", "the", "residence."]),
                  min_size=1, max_size=12).map(" ".join)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(_words, _words)
def test_significance_is_its_classes(old: str, new: str) -> None:
    diff = diff_texts(old, new)
    assert 0.0 <= diff.significance <= 1.0
    if diff.is_empty():
        assert diff.classes == () and diff.significance == 0.0
    else:
        assert diff.significance == score(diff.classes)
        assert all(c.name in CLASSES and 0 < c.weight <= 1 and c.reason for c in diff.classes)
