"""content_hash decides what counts as a version; simhash finds near-duplicates."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.core.fingerprint import (
    HASHED_FIELDS,
    body_sha256,
    content_hash,
    hamming,
    near_duplicate,
    simhash,
)
from scraper.core.types import Content

word = st.from_regex(r"[a-z]{2,10}", fullmatch=True)
words = st.lists(word, min_size=1, max_size=60)
QUOTE_VARIANTS = {"'": "‘’‚‛′ʼ", '"': "“”„‟«»″"}
BASE = Content(
    title="Kremlin 'revises' stance",
    byline="Anna Example",
    text='Russia said "91 drones" were fired.\n\nUkraine called it a fabrication.',
    published=datetime(2025, 12, 30, 6, 15, tzinfo=UTC),
    modified=datetime(2025, 12, 31, 8, 0, tzinfo=UTC),
    canonical_url="https://news.example/2025/12/30/valdai",
    language="en",
)


def paragraphs(text_words: list[str], rng: random.Random) -> str:
    """Words laid out as a few paragraphs."""
    out: list[str] = []
    for w in text_words:
        out.append(w)
        out.append(rng.choice([" ", " ", " ", "\n\n"]))
    return "".join(out).strip()


def test_hash_is_sha256_hex_and_stable() -> None:
    digest = content_hash(BASE)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert content_hash(BASE) == digest == content_hash(replace(BASE))


@given(words, st.randoms(use_true_random=False))
def test_hash_ignores_whitespace_runs_and_trailing_spaces(text_words: list[str], rng: random.Random) -> None:
    text = paragraphs(text_words, rng)
    messy = "\n".join(
        "  "
        + rng.choice(["", "\t", " \u00a0"])
        + line.replace(" ", rng.choice(["  ", " \t ", "\u2003"]))
        + "   "
        for line in text.split("\n")
    )
    messy = messy.replace("\n\n", rng.choice(["\n\n", "\n \n\n", "\r\n\r\n\r\n"]))
    assert content_hash(replace(BASE, text=messy)) == content_hash(replace(BASE, text=text))


@given(st.randoms(use_true_random=False))
def test_hash_ignores_quote_variants(rng: random.Random) -> None:
    def fancy(text: str) -> str:
        return "".join(rng.choice(QUOTE_VARIANTS[ch]) if ch in QUOTE_VARIANTS else ch for ch in text)

    variant = replace(BASE, title=fancy(BASE.title or ""), text=fancy(BASE.text))
    assert variant != BASE
    assert content_hash(variant) == content_hash(BASE)


@given(words, st.randoms(use_true_random=False))
def test_hash_ignores_zero_width_characters(text_words: list[str], rng: random.Random) -> None:
    text = " ".join(text_words)
    chars = list(text)
    for _ in range(rng.randint(1, 10)):
        chars.insert(rng.randint(0, len(chars)), rng.choice("\u200b\u200c\u200d\u2060\ufeff\u00ad"))
    assert content_hash(replace(BASE, text="".join(chars))) == content_hash(replace(BASE, text=text))


@given(words, st.data())
def test_hash_changes_when_a_word_changes(text_words: list[str], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(text_words) - 1))
    edited = [*text_words]
    edited[i] = edited[i] + data.draw(word)
    before = replace(BASE, text=" ".join(text_words))
    after = replace(BASE, text=" ".join(edited))
    assert content_hash(after) != content_hash(before)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Kremlin keeps stance"),
        ("byline", "Piotr Sample"),
        ("text", "Something else entirely."),
        ("published", datetime(2025, 12, 30, 6, 16, tzinfo=UTC)),
        ("modified", None),
        ("canonical_url", "https://news.example/2025/12/30/valdai-2"),
        ("language", "de"),
    ],
)
def test_every_hashed_field_counts(field: str, value: object) -> None:
    assert field in HASHED_FIELDS
    changed: dict[str, Any] = {field: value}
    assert content_hash(replace(BASE, **changed)) != content_hash(BASE)


def test_metadata_and_description_do_not_count() -> None:
    other = replace(BASE, description="A new standfirst", metadata={"likes": 1000, "image": "x.jpg"})
    assert content_hash(other) == content_hash(BASE)


def test_same_instant_in_another_zone_is_the_same_content() -> None:
    kyiv = timezone(timedelta(hours=2))
    other = replace(BASE, published=datetime(2025, 12, 30, 8, 15, tzinfo=kyiv))
    assert content_hash(other) == content_hash(BASE)
    naive = replace(BASE, published=datetime(2025, 12, 30, 6, 15))
    assert content_hash(naive) == content_hash(BASE)  # naive is taken as UTC


def test_ignore_patterns_take_part_in_the_hash() -> None:
    stamped = replace(BASE, text=BASE.text + "\n\nUpdated 3 minutes ago")
    assert content_hash(stamped) != content_hash(BASE)
    assert content_hash(stamped, ignore_patterns=[r"^Updated \d+ minutes ago$"]) == content_hash(BASE)


def test_body_sha256() -> None:
    assert body_sha256(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert body_sha256(b"") == hashlib.sha256(b"").hexdigest()


# --- simhash ------------------------------------------------------------------------------------

VOCAB_A = [f"{a}{b}{c}" for a in "bcdfg" for b in "aeiou" for c in "klmnprst"]  # 200 words
VOCAB_B = [f"{a}{b}{c}" for a in "hjqvz" for b in "aeiou" for c in "klmnprst"]  # disjoint


def long_text(rng: random.Random, vocab: list[str], n: int = 1000) -> list[str]:
    return [rng.choice(vocab) for _ in range(n)]


def test_simhash_basics() -> None:
    text = "Russia said 91 drones were fired at the residence near Valdai."
    assert 0 <= simhash(text) < 2**64
    assert simhash(text) == simhash(text)
    assert simhash("") == 0 == simhash("  ... !!")
    assert hamming(0b1011, 0b0001) == 2 and hamming(5, 5) == 0
    assert near_duplicate(text, text)
    assert not near_duplicate("", "")


def test_simhash_ignores_case_quotes_and_whitespace() -> None:
    a = "Moscow would “revise its stance” in the talks,  officials said."
    b = 'moscow would "revise its stance" in the talks, OFFICIALS said.'
    assert simhash(a) == simhash(b)


seeds = st.integers(min_value=0, max_value=2**32)


@given(seeds)
def test_one_word_edit_of_a_long_text_is_near(seed: int) -> None:
    rng = random.Random(seed)
    original = long_text(rng, VOCAB_A)
    edited = [*original]
    edited[rng.randrange(len(edited))] = "zzedit"
    # measured over 400 random 1000-word texts: distance mean 1.5, max 5
    assert near_duplicate(" ".join(original), " ".join(edited), max_distance=8)


@given(seeds)
def test_unrelated_texts_are_far(seed: int) -> None:
    rng = random.Random(seed)
    a, b = " ".join(long_text(rng, VOCAB_A, 300)), " ".join(long_text(rng, VOCAB_B, 300))
    assert hamming(simhash(a), simhash(b)) > 12
    assert not near_duplicate(a, b, max_distance=8)


def test_inferred_dates_never_make_a_version():
    """A date htmldate guessed can move while the page does not: it must not change the hash."""
    from scraper.core.types import Content

    base = dict(title="t", text="body")
    guessed = {"published_from": "htmldate", "modified_from": "htmldate"}
    a = Content(**base, published=datetime(2017, 9, 22, tzinfo=UTC), metadata=guessed)
    b = Content(
        **base,
        published=datetime(2017, 9, 29, tzinfo=UTC),
        modified=datetime(2017, 9, 30, tzinfo=UTC),
        metadata=guessed,
    )
    assert content_hash(a) == content_hash(b)
    stated = {"published_from": "markup"}
    c = Content(**base, published=datetime(2017, 9, 22, tzinfo=UTC), metadata=stated)
    d = Content(**base, published=datetime(2017, 9, 29, tzinfo=UTC), metadata=stated)
    assert content_hash(c) != content_hash(d)


def test_energy_gov_captures_are_one_version(corpus):
    """Real before/after captures whose text is identical and whose guessed date moved."""
    from scraper.core.extract import extract

    folder = corpus / "page-versions" / "web-monitoring-diff"
    pair = sorted(folder.glob("energy-gov-home_v*.html"))
    if len(pair) != 2:
        pytest.skip("energy-gov captures not in the corpus")
    a, b = (extract(p.read_bytes(), "https://www.energy.gov/").content for p in pair)
    assert a.text == b.text and a.published != b.published
    assert content_hash(a) == content_hash(b)
