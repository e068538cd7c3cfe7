"""normalize_text / normalize_content: what never makes a version (DESIGN.md, versioning rules)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.core.normalize import (
    NORMALIZER_VERSION,
    InvalidIgnorePatternError,
    normalize_content,
    normalize_text,
)
from scraper.core.types import Content

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
FANCY = "‘’‚‛“”„‟«»‹›′″–—‐\u00a0\u2009\u202f…ﬁ" + ZERO_WIDTH
# characters that exercise the rules: fancy forms, whitespace of every kind, combining marks
TRICKY = FANCY + " \t\n\r\x0b\x0c\x1c\x85\u2028\u2029\u3000\u0301\u0308e\u1fef\u2000\x00'\"-"
tricky_text = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(TRICKY)))


def test_version_is_a_string() -> None:
    assert isinstance(NORMALIZER_VERSION, str) and NORMALIZER_VERSION


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "“Quoted” and „German“ and «French» and ‹single›",
            '"Quoted" and "German" and "French" and \'single\'',
        ),
        ("it’s ‘fine’ ‚low‛ 5′ 6″", "it's 'fine' 'low' 5' 6\""),
        ("a – b — c ‐ d − e", "a - b - c - d - e"),
        ("non\u00a0breaking\u202fspaces\u2009here", "non breaking spaces here"),
        (
            "zero\u200bwidth\u200c\u200djoin\u2060ers\ufeff and soft\u00adhyphen",
            "zerowidthjoiners and softhyphen",
        ),
        ("Cafe\u0301 ﬁnal…", "Café final..."),
        ("  a   b \t c  ", "a b c"),
        ("line one  \nline two\n\n\n\n  para two\r\n\r\nthree", "line one\nline two\n\npara two\n\nthree"),
        ("\n\n  \n", ""),
        ("bell\x07 and nul\x00", "bell and nul"),
    ],
)
def test_normalize_text_examples(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@given(tricky_text)
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(tricky_text)
def test_normalized_text_has_canonical_layout(text: str) -> None:
    out = normalize_text(text)
    assert out == out.strip()
    assert "\n\n\n" not in out
    assert not any(ch in out for ch in FANCY)
    for line in out.split("\n"):
        assert line == line.strip()
        assert "  " not in line
        assert not re.search(r"\s\s", line)


@given(st.lists(st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=30), st.data())
def test_whitespace_runs_do_not_matter(words: list[str], data: st.DataObject) -> None:
    gaps = data.draw(st.lists(st.sampled_from([" ", "  ", "\t", " \u00a0", "\u2003"]), min_size=len(words)))
    spaced = "".join(gap + word for gap, word in zip(gaps, words, strict=False)) + " \t "
    assert normalize_text(spaced) == " ".join(words)


def test_normalize_content_fields() -> None:
    plus2 = timezone(timedelta(hours=2))
    content = Content(
        title="  Kremlin  “revises”\nstance ",
        byline="Anna\u00a0Example ;  ",
        text="One\u200b  para.\n\n\n\nTwo.",
        published=datetime(2025, 12, 30, 8, 15, tzinfo=plus2),
        modified=datetime(2025, 12, 31, 10, 0),
        canonical_url="https://news.example/A?b=1",
        language=" en_GB ",
        description="  desc\u2019s  ",
        metadata={"likes": 3, "raw": "  keep  "},
    )
    out = normalize_content(content)
    assert out.title == 'Kremlin "revises" stance'
    assert out.byline == "Anna Example ;"
    assert out.text == "One para.\n\nTwo."
    assert out.published == datetime(2025, 12, 30, 6, 15, tzinfo=UTC)
    assert out.published is not None and out.published.utcoffset() == timedelta(0)
    assert out.modified == datetime(2025, 12, 31, 10, 0, tzinfo=UTC)
    assert out.canonical_url == "https://news.example/A?b=1"
    assert out.language == "en-gb"
    assert out.description == "desc's"
    assert out.metadata == {"likes": 3, "raw": "  keep  "}
    assert normalize_content(out) == out


def test_blank_fields_become_none() -> None:
    out = normalize_content(Content(title=" \u200b ", byline="", language="  ", description="\n"))
    assert (out.title, out.byline, out.language, out.description) == (None, None, None, None)


def test_ignore_patterns_remove_matches_from_text() -> None:
    content = Content(title="Updated 5 minutes ago", text="Body one.\n\nUpdated 5 minutes ago\n\nBody two.")
    out = normalize_content(content, ignore_patterns=[r"^Updated \d+ minutes? ago$"])
    assert out.text == "Body one.\n\nBody two."
    assert out.title == "Updated 5 minutes ago"  # rules apply to the body text only


def test_ignore_patterns_see_normalized_text() -> None:
    content = Content(text="Read more: “Related story”\u00a0here. The story.")
    out = normalize_content(content, ignore_patterns=[r'Read more: "[^"]*" here\. '])
    assert out.text == "The story."


def test_ignore_patterns_repeat_until_stable() -> None:
    out = normalize_content(Content(text="aabb ok"), ignore_patterns=["ab"])
    assert out.text == "ok"
    assert normalize_content(out, ignore_patterns=["ab"]) == out


def test_invalid_ignore_pattern_names_the_pattern() -> None:
    with pytest.raises(InvalidIgnorePatternError, match=r"'\(unclosed'"):
        normalize_content(Content(text="x"), ignore_patterns=["(unclosed"])


@given(tricky_text, st.sampled_from([r"\d+", r"^Updated.*$", r"\s+ad\s+", "x"]))
def test_normalize_content_is_idempotent(text: str, pattern: str) -> None:
    once = normalize_content(Content(title=text, byline=text, text=text), ignore_patterns=[pattern])
    assert normalize_content(once, ignore_patterns=[pattern]) == once
