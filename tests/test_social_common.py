"""What every platform reader shares: text from HTML, links, times, query strings, the
dispatch by kind, and the same handling of malformed answers on every JSON endpoint."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.core import social
from scraper.core.social.common import (
    MalformedResponseError,
    SocialError,
    counts,
    html_to_text,
    parse_time,
    query_param,
    unique_http,
    urls_in_text,
    with_query,
)

JSON_PARSERS = {
    "mastodon.status": "https://mastodon.example/api/v1/statuses/1",
    "bluesky.feed": "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=a",
    "bluesky.thread": "https://public.api.bsky.app/xrpc/app.bsky.feed.getPostThread?uri=at://a/b/c",
    "reddit.listing": "https://oauth.reddit.com/r/worldnews/new",
}


def test_html_paragraphs_and_line_breaks():
    html = "<p>One <b>two</b><br>three</p>\n<p>  four\n five </p><ul><li>six</li><li>seven</li></ul>"
    assert html_to_text(html) == "One two\nthree\n\nfour five\n\nsix\n\nseven"


def test_plain_text_passes_through():
    assert html_to_text("  https://example.com/a  ") == "https://example.com/a"


@settings(deadline=None)
@given(st.text())
def test_html_to_text_never_raises_and_is_trimmed(text):
    result = html_to_text(text)
    assert result == result.strip()
    assert "\ue000" not in result or "\ue000" in text


def test_with_query_replaces_and_adds():
    assert with_query("https://h/x?limit=40&max_id=5", max_id="3") == "https://h/x?limit=40&max_id=3"
    assert with_query("https://h/x", cursor="a b") == "https://h/x?cursor=a+b"
    assert query_param("https://h/x?uri=at%3A%2F%2Fa", "uri") == "at://a"


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1), st.text(min_size=1))
def test_with_query_round_trips(name, value):
    url = with_query("https://example.com/path?keep=1", **{name: value})
    assert query_param(url, name) == value
    assert query_param(url, "keep") == ("1" if name != "keep" else value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-05-28T12:06:50.000Z", datetime(2023, 5, 28, 12, 6, 50, tzinfo=UTC)),
        ("2025-12-29T06:18:40+03:00", datetime(2025, 12, 29, 3, 18, 40, tzinfo=UTC)),
        ("2025-05-19T17:10:09.561858", datetime(2025, 5, 19, 17, 10, 9, 561858, tzinfo=UTC)),
        (1456850258.0, datetime(2016, 3, 1, 16, 37, 38, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        (True, None),
        (1e300, None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected


def test_urls_in_text_drops_trailing_punctuation():
    text = "See https://example.com/a, and (https://example.org/b). Also ftp://x/y and https://example.com/a"
    assert urls_in_text(text) == ["https://example.com/a", "https://example.org/b"]


def test_unique_http_keeps_order_and_only_web_links():
    assert unique_http(["mailto:a@b", "https://b/", "http://a/", "https://b/", "/relative"]) == [
        "https://b/",
        "http://a/",
    ]


def test_counts_keep_numbers_only():
    assert counts(likes=3, views="1200", replies=None, flag=True, odd="n/a", nan=float("nan")) == {
        "likes": 3.0,
        "views": 1200.0,
    }


def test_dispatch_by_kind():
    [endpoint] = social.plan("mastodon", "https://mastodon.social/tags/Valdai")
    assert endpoint.kind in social.PARSERS
    with pytest.raises(SocialError, match="unknown social source kind 'x'"):
        social.plan("x", "https://example.com")
    with pytest.raises(SocialError, match="no page parser"):
        social.parse("mastodon.history", b"[]", "https://mastodon.social/api/v1/statuses/1/history")


def test_every_planned_kind_has_a_parser_or_is_a_documented_step():
    urls = {
        "mastodon": [
            "https://m.example/tags/a",
            "https://m.example/@a",
            "https://m.example/@a/1",
            "https://m.example/public",
        ],
        "bluesky": [
            "https://bsky.app/profile/a.bsky.social",
            "https://bsky.app/profile/a.bsky.social/post/3k",
        ],
        "telegram": ["https://t.me/s/channel", "https://t.me/channel/5"],
        "reddit": ["https://www.reddit.com/r/a", "https://www.reddit.com/r/a/comments/x/y/"],
        "youtube": ["https://www.youtube.com/channel/UCx"],
    }
    kinds = {e.kind for kind, sources in urls.items() for url in sources for e in social.plan(kind, url)}
    assert kinds - set(social.PARSERS) == {"mastodon.account_lookup", "mastodon.history"}


@pytest.mark.parametrize("kind", sorted(JSON_PARSERS))
@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b'{"feed": [', "malformed JSON"),
        (b"", "empty answer"),
        (b"<!doctype html><title>502</title>", "HTML or XML"),
        (b"42", "expected"),
    ],
)
def test_malformed_answers_name_the_url_and_the_cause(kind, body, cause):
    url = JSON_PARSERS[kind]
    with pytest.raises(MalformedResponseError) as info:
        social.parse(kind, body, url)
    assert url in str(info.value)
    assert cause in str(info.value)


@pytest.mark.parametrize("kind", sorted(social.PARSERS))
@settings(deadline=None)
@given(body=st.binary(max_size=200))
def test_parsers_only_raise_social_errors(kind, body):
    try:
        page = social.parse(kind, body, "https://example.com/api/v1/statuses/1?uri=at://a/b/c")
    except SocialError:
        return
    assert isinstance(page, social.SocialPage)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "feed": st.lists(
            st.fixed_dictionaries({}, optional={"post": JSON_VALUES, "reason": JSON_VALUES}), max_size=3
        ),
        "posts": st.lists(JSON_VALUES, max_size=3),
        "thread": JSON_VALUES,
        "kind": st.just("Listing"),
        "data": JSON_VALUES,
        "id": st.text(max_size=5),
        "content": JSON_VALUES,
        "account": JSON_VALUES,
        "reblog": JSON_VALUES,
        "card": JSON_VALUES,
        "error": JSON_VALUES,
    },
)


@pytest.mark.parametrize("kind", sorted(JSON_PARSERS))
@settings(deadline=None)
@given(value=JSON_VALUES | SHAPED | st.lists(SHAPED, max_size=3))
def test_json_parsers_only_raise_social_errors_on_any_json(kind, value):
    try:
        page = social.parse(kind, json.dumps(value).encode(), JSON_PARSERS[kind])
    except SocialError:
        return
    assert isinstance(page, social.SocialPage)
