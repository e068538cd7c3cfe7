"""Matching in a story's languages: stems (Snowball; Ukrainian through simplemma), Cyrillic and
Latin forms of names (anyascii), accent-free forms, language detection per entry (py3langid).

Labelled set: tests/fixtures/discovery/matching_multilingual.jsonl (68 headlines written in en, pl,
de, ru, uk, fr, es) plus the shared corpus's real feed titles (negatives) when present; the
figures before and after are in bench/RESULTS.md (bench/bench_languages.py). Floors below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bench_languages import (
    MULTILINGUAL_QUERY,
    STORY_LANGUAGES,
    WILDCARD_QUERY,
    corpus_negatives,
    load_rows,
    measure,
)
from jobs.discovery import compile_rule
from scraper.core.languages import UnknownLanguageError, check_languages, detect, forms, transliterate
from scraper.core.matching import prepare_candidate
from scraper.core.query import compile_query
from storage.models import Story
from tests.test_cli import assert_one_line_error, cli

MULTILINGUAL_FLOOR = {"precision": 0.95, "recall": 0.65}


def matched(query: str, title: str, languages: tuple[str, ...] | None = ("en", "pl")) -> tuple[str, ...]:
    result = compile_query(query, languages).evaluate({"title": title})
    return result.terms if result.matched else ()


# -- what must hold ---------------------------------------------------------------------------


def test_polish_inflection_matches_and_names_the_form() -> None:
    assert matched("rezydencja AND Putin", "Atak na rezydencję Putina") == (
        'rezydencja ("rezydencję")',
        'Putin ("putina")',
    )
    assert matched("rezydencja AND Putin", "Atak na rezydencję Putina", None) == ()  # literal: no


def test_latin_name_matches_cyrillic() -> None:
    assert matched("Putin", "Атака на резиденцию Путина") == ('Putin ("путина")',)
    assert matched("Putin", "Атака дронів на резиденцію Путіна", ()) == ('Putin ("путіна")',)
    assert matched("Путин", "Putin visits Valdai") == ('Путин ("putin")',)


@pytest.mark.parametrize(
    ("query", "title", "languages"),
    [
        ("Drohne AND Residenz", "Russland: Drohnen über Putins Residenz", ("de",)),
        ("дрон AND резиденция", "Атака дронов на резиденцию", ("ru",)),
        ("дрон AND резиденція", "Атака дронів на резиденцію", ("uk",)),
        ("drone AND résidence", "Des drones contre les résidences du président", ("fr",)),
        ("dron AND residencia", "Ataque con drones a las residencias", ("es",)),
        ("drone AND attack", "Drones attacked the residence", ("en",)),
        ("dron", "Szczątki dronów pokazano w Moskwie", ("pl",)),
        ("Valdai", "Атака на Валдай", ()),
        ("Valdai", "Valdaï: résidence visée", ()),
    ],
)
def test_inflected_forms_in_each_language(query: str, title: str, languages: tuple[str, ...]) -> None:
    assert matched(query, title, languages), (query, title)


def test_phrases_match_inflected_words_in_a_row() -> None:
    assert matched('"drone attack"', "Drone attacks on the Kremlin", ("en",)) == (
        '"drone attack" ("drone attacks")',
    )
    assert matched('"drone attack"', "Attacks by drone on the Kremlin", ("en",)) == ()


def test_not_excludes_inflected_forms_and_wildcards_stay_literal() -> None:
    title = "Putin rozmawiał z Trumpem przez telefon"
    assert matched("Putin AND NOT Trump", title, ("pl",)) == ()
    assert matched("Putin AND NOT Trump", title, None) == ("Putin",)
    assert matched("drone*", "Дроны над Москвой", ("ru",)) == ()  # a wildcard is a literal pattern


def test_a_story_without_languages_uses_the_detected_one() -> None:
    assert matched("rezydencja", "Atak na rezydencję Putina w obwodzie nowogrodzkim", ()) == (
        'rezydencja ("rezydencję")',
    )


def test_detection_and_forms() -> None:
    assert detect("Atak na rezydencję Putina w obwodzie nowogrodzkim") == "pl"
    assert detect("Атака на резиденцию Путина в Новгородской области") == "ru"
    assert detect("Атака на резиденцію Путіна в Новгородській області") == "uk"
    assert detect("ok") is None
    assert transliterate("путина") == "putina"
    assert "ru:putin" in forms("путина", ("ru",))
    assert forms("na", ("pl",)) == frozenset({"na"})  # short words: literal only


def test_language_codes_are_checked() -> None:
    assert check_languages(["EN", "pl", "en"]) == ("en", "pl")
    with pytest.raises(UnknownLanguageError, match="unknown language 'xx'"):
        check_languages(["xx"])


def test_the_story_rule_matches_in_the_story_languages() -> None:
    story = Story(id=1, slug="valdai", title="Valdai", query="rezydencja AND Putin", languages=["en", "pl"])
    rule = compile_rule(story, [])
    match = rule.match(prepare_candidate("Atak na rezydencję Putina", None), on="title and summary")
    assert match.matched
    assert 'rezydencja ("rezydencję")' in match.reason


# -- measured ---------------------------------------------------------------------------------


def test_labelled_set_covers_seven_languages() -> None:
    lines = (Path(__file__).parent / "fixtures/discovery/matching_multilingual.jsonl").read_text("utf-8")
    rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
    assert {r["lang"] for r in rows} == set(STORY_LANGUAGES)
    assert sum(r["story"] for r in rows) >= 30 and sum(not r["story"] for r in rows) >= 30


def test_forms_meet_the_floor_and_beat_literal_matching() -> None:
    rows = load_rows("matching_multilingual.jsonl")
    after = measure(MULTILINGUAL_QUERY, STORY_LANGUAGES, rows)
    before = measure(MULTILINGUAL_QUERY, None, rows)
    wildcards = measure(WILDCARD_QUERY, None, rows)
    assert after.precision >= MULTILINGUAL_FLOOR["precision"], after
    assert after.recall >= MULTILINGUAL_FLOOR["recall"], after
    assert after.recall > wildcards.recall > before.recall


def test_real_feed_titles_stay_unmatched(corpus: Path) -> None:
    negatives = corpus_negatives(corpus)
    assert len(negatives) > 200
    assert measure(MULTILINGUAL_QUERY, STORY_LANGUAGES, negatives).fp == 0


def test_stories_add_language_is_checked(tmp_path: Path, db_url: str) -> None:
    bad = cli("stories", "add", "x", "--query", "Putin", "--language", "xx", "--db", db_url, cwd=tmp_path,
              check=False)  # fmt: skip
    assert bad.returncode == 2
    assert_one_line_error(bad, "--language: unknown language 'xx'")
    good = cli("stories", "add", "x", "--query", "Putin", "--language", "en", "--language", "PL", "--json",
               "--db", db_url, cwd=tmp_path)  # fmt: skip
    assert json.loads(good.stdout)["languages"] == ["en", "pl"]
