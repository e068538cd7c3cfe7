"""Replaying successive captures of one feed: new entries, edited entries, nothing else.

The shared corpus (feed-versions-cacm/) holds 50 hourly captures of a real RSS feed: 47 with the
same ten items (only lastBuildDate moves), two with an empty channel, one empty body (the
malformed capture). Its ground truth, item_edits_in_window.json, lists no edits. So a correct
replay finds the ten items as new at the first capture and never again (not even after the
empty captures), reports no edit, and reports the empty body as an error that loses nothing.

Our own fixtures (tests/fixtures/discovery/replay/) add what the real feed lacks: whitespace,
quote, no-break-space, tracking-parameter and time-zone-notation changes that must not count as
edits, real headline edits that must, an entry that leaves and comes back, and a failed capture
in the middle.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scraper.core.feeds import FeedDiff, FeedError, diff_feed_entries, parse_feed
from scraper.core.types import Channel, Content, Observation
from scraper.core.urls import canonicalize

FIXTURES = Path(__file__).parent / "fixtures" / "discovery" / "replay"


@dataclass
class Replay:
    """What a replay saw, capture by capture."""

    new: dict[str, list[str]] = field(default_factory=dict)
    edited: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)


def replay(captures: list[tuple[str, bytes]], url: str) -> Replay:
    seen = Replay()
    for name, body in captures:
        try:
            feed = parse_feed(body, url, "application/rss+xml")
        except FeedError as error:
            seen.errors[name] = str(error)
            continue
        diff = diff_feed_entries(seen.hashes, feed.observations)
        seen.new[name], seen.edited[name] = list(diff.new_ids), list(diff.edited_ids)
        seen.hashes = diff.hashes
    return seen


# --- the real feed ------------------------------------------------------------------------


def cacm_captures(corpus: Path) -> tuple[Path, list[dict[str, str]]]:
    root = corpus / "feed-versions-cacm"
    if not (root / "index.csv").is_file():
        pytest.skip(f"{root} is not in this corpus")
    with (root / "index.csv").open(newline="") as handle:
        return root, list(csv.DictReader(handle))


def links_of(body: bytes) -> set[str]:
    """Item links read with the standard library, independently of feedparser."""
    if not body.strip():
        return set()
    return {canonicalize(item.findtext("link") or "") for item in ET.fromstring(body).iter("item")}


def test_cacm_replay_finds_every_new_item_once_and_no_false_edits(corpus):
    root, index = cacm_captures(corpus)
    captures = [
        (row["file"].split("/")[-1], (root / row["file"].split("/")[-1]).read_bytes()) for row in index
    ]
    assert len(captures) == 50
    seen = replay(captures, "https://cacm.acm.org/rss/news")

    expected_edits = json.loads((root / "item_edits_in_window.json").read_text())
    reported_edits = [(name, url) for name, urls in seen.edited.items() for url in urls]
    assert expected_edits == []  # the ground truth: no item was edited in the window
    assert reported_edits == []

    every_item = set().union(*(links_of(body) for _, body in captures))
    reported_new = [url for urls in seen.new.values() for url in urls]
    assert len(every_item) == 10
    assert sorted(reported_new) == sorted(every_item)  # each item reported new exactly once
    assert seen.new[captures[0][0]] != []


def test_cacm_malformed_capture_is_an_error_that_loses_nothing(corpus):
    root, index = cacm_captures(corpus)
    broken = [row["file"].split("/")[-1] for row in index if row["parses_as_xml"] == "False"]
    assert len(broken) == 1
    captures = [
        (row["file"].split("/")[-1], (root / row["file"].split("/")[-1]).read_bytes()) for row in index
    ]
    seen = replay(captures, "https://cacm.acm.org/rss/news")
    assert list(seen.errors) == broken
    assert seen.errors[broken[0]].startswith("https://cacm.acm.org/rss/news: not a usable feed: ")
    assert len(seen.hashes) == 10  # the state after the error still knows every item


def test_cacm_empty_channels_do_not_forget_items(corpus):
    root, index = cacm_captures(corpus)
    captures = [
        (row["file"].split("/")[-1], (root / row["file"].split("/")[-1]).read_bytes()) for row in index
    ]
    empty = [name for name, body in captures if body.strip() and not links_of(body)]
    assert len(empty) == 2
    seen = replay(captures, "https://cacm.acm.org/rss/news")
    for name in empty:
        assert seen.new[name] == [] and seen.edited[name] == []
        after = captures[[n for n, _ in captures].index(name) + 1][0]
        assert seen.new[after] == []  # the items come back: not new


# --- our own fixtures ---------------------------------------------------------------------


def test_fixture_replay_matches_its_ground_truth():
    expected = json.loads((FIXTURES / "expected.json").read_text())
    names = sorted(name for name in expected if not name.startswith("_"))
    seen = replay(
        [(name, (FIXTURES / name).read_bytes()) for name in names], "https://news.example/replay.xml"
    )
    for name in names:
        if expected[name].get("error"):
            assert name in seen.errors
            continue
        assert seen.new[name] == expected[name]["new"], name
        assert seen.edited[name] == expected[name]["edited"], name


def observation(url: str, title: str, text: str = "") -> Observation:
    return Observation(
        url=url, channel=Channel.FEED, content=Content(title=title, text=text, canonical_url=url)
    )


def test_diff_feed_entries_contract():
    first = diff_feed_entries(
        {}, [observation("https://n.example/a", "A"), observation("https://n.example/b", "B")]
    )
    assert first.new_ids == ("https://n.example/a", "https://n.example/b")
    assert first.edited_ids == ()
    second = diff_feed_entries(
        first.hashes, [observation("https://n.example/a", "A  "), observation("https://n.example/b", "B2")]
    )
    assert second == FeedDiff((), ("https://n.example/b",), second.hashes)
    assert second.hashes["https://n.example/a"] == first.hashes["https://n.example/a"]
    assert first.hashes != second.hashes


def test_diff_feed_entries_does_not_mutate_the_previous_state():
    previous = {"https://n.example/a": "old"}
    diff_feed_entries(
        previous, [observation("https://n.example/a", "A"), observation("https://n.example/c", "C")]
    )
    assert previous == {"https://n.example/a": "old"}


def test_a_url_twice_in_one_capture_counts_once():
    diff = diff_feed_entries(
        {}, [observation("https://n.example/a", "A"), observation("https://n.example/a", "A again")]
    )
    assert diff.new_ids == ("https://n.example/a",)
    again = diff_feed_entries(
        diff.hashes, [observation("https://n.example/a", "A"), observation("https://n.example/a", "x")]
    )
    assert again.edited_ids == ()


def test_summary_quote_and_whitespace_variants_are_not_edits():
    base = observation("https://n.example/a", "Putin’s “residence”", "Line one.\n\nLine  two.")
    variant = observation("https://n.example/a", 'Putin\'s "residence" ', "Line one.\n\n\nLine two.\u200b")
    state = diff_feed_entries({}, [base]).hashes
    assert diff_feed_entries(state, [variant]).edited_ids == ()
    edited = observation("https://n.example/a", "Putin's residence", "Line one.\n\nLine three.")
    assert diff_feed_entries(state, [edited]).edited_ids == ("https://n.example/a",)
