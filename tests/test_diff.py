"""The diff engine: one fixture per kind of edit (tests/fixtures/diff), properties for any text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.core.diff import (
    Diff,
    DiffMismatchError,
    apply_blocks,
    change_summary,
    diff_contents,
    diff_texts,
)
from scraper.core.diff_display import sides
from scraper.core.diff_facts import is_typo, note_kind
from scraper.core.diff_text import count_sentences, key, segment
from scraper.core.diff_unified import HEADERS
from scraper.core.normalize import normalize_text
from scraper.core.types import Content

FIXTURES = Path(__file__).parent / "fixtures" / "diff"
_FIELD_NAMES = {header: name for name, header in HEADERS.items()}


def load_version(case: str) -> Content:
    """A fixture version: ``Name: value`` header lines, a blank line, then the body."""
    head, _, body = (FIXTURES / f"{case}.txt").read_text(encoding="utf-8").partition("\n\n")
    fields: dict[str, object] = {}
    for line in head.splitlines():
        name, _, value = line.partition(": ")
        field = _FIELD_NAMES[name]
        fields[field] = datetime.fromisoformat(value) if field in ("published", "modified") else value
    return Content(text=body, **fields)  # type: ignore[arg-type]


def diff_case(case: str) -> Diff:
    return diff_contents(load_version("base"), load_version(case))


def ops(diff: Diff) -> list[str]:
    return [b.op for b in diff.changed_blocks()]


# -- one fixture per kind of edit -------------------------------------------------------------


def test_headline_rewritten() -> None:
    diff = diff_case("headline_rewritten")
    assert [f.field for f in diff.fields] == ["title"]
    assert diff.fields[0].new == "Kyiv rejects Kremlin story of an attack on the president's lakeside home"
    assert diff.summary == "headline rewritten"
    assert ops(diff) == []
    assert diff.numbers == ()  # 91 dropped from the headline: nothing replaced it
    assert diff.significance >= 0.4


def test_sentence_added() -> None:
    diff = diff_case("sentence_added")
    [block] = diff.changed_blocks()
    assert (block.op, block.level) == ("added", "sentence")
    assert block.new == "Air defences were active over the region all night, the ministry said."
    assert diff.summary == "a sentence added"
    assert diff.stats["sentences_added"] == 1
    assert diff.stats["words_added"] == 12


def test_paragraph_removed() -> None:
    diff = diff_case("paragraph_removed")
    [block] = diff.changed_blocks()
    assert (block.op, block.level) == ("removed", "paragraph")
    assert block.old is not None and block.old.startswith("No evidence of the attack has been made public.")
    assert diff.summary == "2 sentences removed"
    assert diff.stats["paragraphs_removed"] == 1 and diff.stats["sentences_removed"] == 2


def test_paragraph_moved() -> None:
    diff = diff_case("paragraph_moved")
    [block] = diff.changed_blocks()
    assert (block.op, block.level) == ("moved", "paragraph")
    assert block.new is not None and block.new.startswith('The Kremlin said it would "revise its stance"')
    assert (block.old_index, block.new_index) == (4, 0)
    assert diff.summary == "a paragraph moved"
    assert diff.stats["paragraphs_moved"] == 1


def test_number_changed() -> None:
    diff = diff_case("number_changed")
    [block] = diff.changed_blocks()
    assert block.op == "edited"
    assert [(w.op, w.text.strip()) for w in block.words if w.op != "equal"] == [
        ("delete", "91"),
        ("insert", "89"),
    ]
    assert diff.numbers == (("91", "89"),)
    assert diff.summary == "a number changed: 91 -> 89"
    assert diff.significance >= 0.4


def test_quotation_changed() -> None:
    diff = diff_case("quotation_changed")
    assert diff.quotes == (("revise its stance", "review its negotiating position"),)
    assert diff.summary == 'a quotation changed: "revise its stance" -> "review its negotiating position"'
    assert diff.significance >= 0.3


def test_typo_fix_is_minor() -> None:
    diff = diff_case("typo_fix")
    assert diff.summary == "a typo fixed: delcined -> declined"
    assert diff.stats["typos_fixed"] == 1
    assert diff.significance < 0.1
    assert diff.significance < diff_case("number_changed").significance


def test_correction_note_appended() -> None:
    diff = diff_case("correction_appended")
    [note] = diff.notes
    assert (note.kind, note.appended) == ("correction", True)
    assert note.text.startswith("Correction: An earlier version of this article misstated")
    assert diff.summary == "correction note appended"  # the note is not also counted as added text
    assert diff.stats["notes_added"] == 1


def test_byline_changed() -> None:
    diff = diff_case("byline_changed")
    assert [(f.field, f.old, f.new) for f in diff.fields] == [
        ("byline", "Staff reporter", "Anna Petrova and Tom Baker")
    ]
    assert diff.summary == "byline changed: Staff reporter -> Anna Petrova and Tom Baker"


def test_modified_date_changed() -> None:
    diff = diff_case("date_changed")
    [change] = diff.fields
    assert (change.field, change.old, change.new) == (
        "modified",
        "2025-12-29T15:00:00+00:00",
        "2025-12-30T09:30:00+00:00",
    )
    assert diff.summary == "modified date changed: 2025-12-29 15:00 -> 2025-12-30 09:30"
    assert diff.significance < 0.1


def test_identical_is_empty() -> None:
    diff = diff_case("identical")
    assert diff.is_empty()
    assert (diff.summary, diff.significance, diff.changed_blocks(), diff.fields) == ("no change", 0.0, (), ())


def test_whitespace_and_quote_styles_are_no_change() -> None:
    diff = diff_case("whitespace_only")
    assert diff.is_empty()
    assert diff.summary == "only formatting changed (spacing, quote styles, line breaks)"
    assert diff.significance == 0.0
    old, new = load_version("base").text, load_version("whitespace_only").text
    assert apply_blocks(old, diff) == new  # still exact: equal blocks keep the new spelling


def test_combined_summary_reads_like_the_issue() -> None:
    diff = diff_case("combined")
    assert (
        diff.summary
        == "headline rewritten; 2 sentences added; a number changed: 91 -> 89; correction note appended"
    )
    added = [b.new for b in diff.changed_blocks() if b.op == "added"]
    assert "Officials in Kyiv offered to show satellite images of the area." in added


def test_first_version() -> None:
    new = load_version("base")
    diff = diff_contents(None, new)
    assert diff.first_version and not diff.is_empty()
    assert diff.summary == "first version"
    assert diff.significance == 1.0
    assert {f.field for f in diff.fields} == {"title", "byline", "published", "modified"}
    assert all(b.op == "added" for b in diff.blocks)
    assert apply_blocks("", diff) == new.text


# -- pieces -----------------------------------------------------------------------------------


def test_sentences_respect_abbreviations_and_quotes() -> None:
    text = 'Mr. Putin met U.S. envoys at 5 p.m. on Monday. He said "no." Then he left! Why? See No. 5 here.'
    assert [u.body for u in segment(text)] == [
        "Mr. Putin met U.S. envoys at 5 p.m. on Monday.",
        'He said "no."',
        "Then he left!",
        "Why?",
        "See No. 5 here.",
    ]
    assert count_sentences(text) == 5


def test_line_breaks_start_new_paragraphs() -> None:
    units = segment("- 18 states\n- 62 requests\n\nLast one")
    assert [(u.body, u.para) for u in units] == [("- 18 states", 0), ("- 62 requests", 1), ("Last one", 2)]


def test_key_folds_whitespace_quotes_and_invisibles() -> None:
    assert key("  \u201cRevise\u201d\u00a0its\u200b  stance \u2014 now\n") == '"Revise" its stance - now'


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Correction: An earlier version misstated the toll.", "correction"),
        ("CORRECTIONS. The agency was misnamed.", "correction"),
        ("Update: The Kremlin responded on Tuesday.", "update"),
        ("Updated: 10:42 GMT", "update"),
        ("This article has been updated with comment from Kyiv.", "update"),
        ("This story was corrected to fix the date.", "correction"),
        ("An earlier version of this article gave the wrong region.", "correction"),
        ("* Clarification: The figure refers to drones, not missiles.", "clarification"),
        ("Editor\u2019s note: This story has been revised.", "editor's note"),
        ("The update to the software was released.", None),
        ("Russia said the claim was a correction of earlier reports.", None),
    ],
)
def test_note_kinds(text: str, kind: str | None) -> None:
    assert note_kind(text) == kind


def test_update_note_added_at_the_top() -> None:
    old = "First paragraph here.\n\nSecond paragraph here."
    new = "Update: Ukraine denied the claim on Tuesday.\n\n" + old
    diff = diff_texts(old, new)
    [note] = diff.notes
    assert (note.kind, note.appended) == ("update", False)
    assert diff.summary == "update note added"


@pytest.mark.parametrize(
    ("deleted", "inserted", "typo"),
    [
        ("recieve", "receive", True),
        ("Kremlin,", "Kremlin", True),
        ("putin", "Putin", True),
        ("\u201croaming\u201d", "\u00e2roaming\u00e2", True),
        ("91", "89", False),
        ("did", "did not", False),
        ("", "not", False),
        ("agreed", "refused", False),
        ("not", "now", False),
    ],
)
def test_typo_detection(deleted: str, inserted: str, typo: bool) -> None:
    assert is_typo(deleted, inserted) is typo


def test_numbers_are_paired_inside_changed_runs() -> None:
    diff = diff_texts(
        "There are more than 12,300 federal staff representing 36 agencies and 18 states.",
        "There are more than 14,000 federal staff and 19 states.",
    )
    assert diff.numbers == (("12,300", "14,000"), ("18", "19"))


def test_headline_numbers_are_called_out() -> None:
    old = Content(title="Ukraine fired 91 drones, Russia says", text="Body.")
    new = Content(title="Ukraine fired 89 drones, Russia says", text="Body.")
    diff = diff_contents(old, new)
    assert diff.numbers == (("91", "89"),)
    assert diff.summary == "headline edited; a number changed: 91 -> 89"


def test_fields_ignore_whitespace_and_time_zone_spelling() -> None:
    when = datetime(2025, 12, 29, 14, tzinfo=UTC)
    old = Content(title="Drone  claim", published=when, language="en")
    new = Content(title="Drone claim", published=when.astimezone(timezone(timedelta(hours=3))), language="EN")
    assert diff_contents(old, new).is_empty()


def test_edited_sentence_word_ops_rebuild_both_sides() -> None:
    diff = diff_texts(
        "The Kremlin said it would revise its stance.", "The Kremlin said it might review its stance."
    )
    [block] = diff.changed_blocks()
    assert block.op == "edited"
    assert "".join(w.text for w in block.words if w.op != "insert") == block.old
    assert "".join(w.text for w in block.words if w.op != "delete") == block.new
    assert diff.summary == "a sentence edited"


def test_a_very_long_sentence_is_still_diffed_word_by_word() -> None:
    old = " ".join(f"item{n % 97} costs {n}" for n in range(600))  # 1,800 words, no full stop
    new = old.replace("item5 costs 5 ", "item5 costs 7 ").replace("item9 costs 9 ", "")
    diff = diff_texts(old, new)
    [block] = diff.changed_blocks()
    assert [(w.op, w.text.strip()) for w in block.words if w.op != "equal"] == [
        ("delete", "5"),
        ("insert", "7"),
        ("delete", "item9 costs 9"),
    ]
    assert apply_blocks(old, diff) == new


def test_apply_blocks_refuses_another_text() -> None:
    diff = diff_texts("One sentence. Two sentences.", "One sentence. Three sentences.")
    with pytest.raises(DiffMismatchError, match="not made from the given old text"):
        apply_blocks("Something else entirely.", diff)


def test_change_summary_is_compact_json() -> None:
    summary = change_summary(diff_case("combined"))
    assert json.loads(json.dumps(summary)) == summary
    assert {"summary", "significance", "stats", "fields", "numbers"} <= summary.keys()
    assert summary["numbers"] == [["91", "89"]]
    assert summary["fields"] == [
        {
            "field": "title",
            "old": "Russia says Ukraine fired 91 drones at Putin's Valdai residence",
            "new": "Ukraine denies firing drones at Putin residence as Kremlin hardens talks stance",
        }
    ]
    assert "blocks" not in summary


def test_to_json_holds_every_block() -> None:
    diff = diff_case("combined")
    document = json.loads(json.dumps(diff.to_json()))
    assert len(document["blocks"]) == len(diff.blocks)
    assert document["summary"] == diff.summary
    assert document["notes"][0]["kind"] == "correction"


def test_a_rewritten_article_scores_higher_than_a_typo() -> None:
    old = "The drones were shot down over the lake. Nobody was hurt."
    rewritten = diff_texts(old, "Officials now say no drones were launched at all. The claim was withdrawn.")
    typo = diff_texts(old, "The drones were shot down over the lake. Nobody was hurt!")
    assert rewritten.significance > 0.8 > 0.1 > typo.significance


# -- properties -------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["Putin", "Kremlin", "drones", "91", "89", "said", "the", "residence", "U.S.", "Mr.", '"revise',
     'stance"', "Update:", "\u201cno\u201d", "Kyiv", "of", "a", "12,300", "talks", "fabrication", "\u2014"]
)  # fmt: skip
_SENTENCES = st.builds(
    lambda words, end: " ".join(words).capitalize() + end,
    st.lists(_WORDS, min_size=1, max_size=8),
    st.sampled_from([".", "!", "?", ".\u201d", ""]),
)
_SEPS = st.sampled_from([" ", " ", "  ", "\n", "\n\n", "\n\n\n", " \n "])


@st.composite
def _documents(draw: st.DrawFn, pool: st.SearchStrategy[str] = _SENTENCES) -> str:
    sentences = draw(st.lists(pool, max_size=12))
    seps = draw(st.lists(_SEPS, min_size=len(sentences), max_size=len(sentences)))
    return "".join(s + sep for s, sep in zip(sentences, seps, strict=True)).rstrip(" ") + draw(
        st.sampled_from(["", "\n", " "])
    )


@st.composite
def text_versions(draw: st.DrawFn) -> tuple[str, str]:
    """An old text and a new one made of its sentences (moved, dropped, kept) and new ones."""
    old = draw(_documents())
    reused = [u.body for u in segment(old) if u.body.strip()]
    pool = st.one_of(st.sampled_from(reused), _SENTENCES) if reused else _SENTENCES
    return old, draw(_documents(pool))


@settings(max_examples=300, deadline=None)
@given(text_versions())
def test_applying_the_blocks_to_the_old_text_gives_the_new(versions: tuple[str, str]) -> None:
    old, new = versions
    diff = diff_texts(old, new)
    assert apply_blocks(old, diff) == new
    assert sides(diff) == (old, new)
    assert 0.0 <= diff.significance <= 1.0


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_apply_blocks_on_any_text(old: str, new: str) -> None:
    assert apply_blocks(old, diff_texts(old, new)) == new


@settings(max_examples=200, deadline=None)
@given(st.one_of(_documents(), st.text()))
def test_a_text_against_itself_is_empty(text: str) -> None:
    diff = diff_texts(text, text)
    assert diff.is_empty()
    assert diff.summary == "no change"
    assert diff.significance == 0.0


@settings(max_examples=300, deadline=None)
@given(text_versions())
def test_a_non_empty_diff_says_what_changed(versions: tuple[str, str]) -> None:
    diff = diff_texts(*versions)
    if diff.is_empty():
        assert key(versions[0]) == key(versions[1])
    else:
        assert diff.summary and diff.summary != "no change"
        assert diff.significance > 0.0


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_segment_is_lossless(text: str) -> None:
    assert "".join(u.body + u.sep for u in segment(text)) == text
    assert count_sentences(text) == len(segment(text))


_TRICKY = st.sampled_from(
    ["Putin", "said", "no", "U.S.", "Mr.", "A", "91", ".", "!", "?", "\u2026", "...", "\u201c", "\u201d", '"',
     "'", "\u200b", "\u00ad", "\ufeff", "\x00", "\u00a0", " ", "  ", "\n", "\r", "\r\n", "\n\n", "\u2028",
     "\t", "(", ")", "\u2014", "-"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.lists(_TRICKY, max_size=30).map("".join), st.text()))
def test_normalizing_a_text_is_no_change(text: str) -> None:
    """What the versioning rules fold away (scraper.core.normalize) never shows up as a change."""
    assert diff_texts(text, normalize_text(text)).is_empty()
