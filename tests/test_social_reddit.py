"""Reddit: planning (RSS without credentials, OAuth JSON with them), RSS feeds, JSON listings.

JSON listings are real responses from the shared corpus (PRAW's recorded cassettes); the RSS
feed and the error bodies are our own fixtures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.core.social import reddit
from scraper.core.social.common import (
    CredentialsRequiredError,
    MalformedResponseError,
    RateLimitedError,
    UnsupportedSourceError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "social"
RSS_URL = "http://127.0.0.1:8084/r/worldnews/new/.rss"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def listing(corpus: Path, name: str) -> tuple[str, bytes]:
    data = json.loads((corpus / "social" / "reddit-praw" / name).read_text())
    return data["request_uri"], json.dumps(data["body"]).encode()


# -- planning ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.reddit.com/r/worldnews", "https://www.reddit.com/r/worldnews/new/.rss"),
        ("https://old.reddit.com/r/worldnews/hot/", "https://www.reddit.com/r/worldnews/new/.rss"),
        ("https://www.reddit.com/user/spez", "https://www.reddit.com/user/spez/submitted/.rss"),
        (
            "https://www.reddit.com/r/worldnews/search?q=valdai&restrict_sr=1",
            "https://www.reddit.com/r/worldnews/search.rss?q=valdai&sort=new&restrict_sr=on",
        ),
        (
            "https://www.reddit.com/search?q=valdai+drones",
            "https://www.reddit.com/search.rss?q=valdai+drones&sort=new",
        ),
    ],
)
def test_plan_without_credentials_reads_rss(url, expected):
    [endpoint] = reddit.plan(url, None)
    assert endpoint.url == expected
    assert endpoint.kind == "reddit.rss"


def test_plan_with_credentials_reads_oauth_json():
    [endpoint] = reddit.plan("https://www.reddit.com/r/worldnews", None, credentials=True)
    assert endpoint.url == "https://oauth.reddit.com/r/worldnews/new?limit=100&raw_json=1"
    assert endpoint.kind == "reddit.listing"
    assert endpoint.needs_credentials


def test_plan_api_overrides_the_host():
    [endpoint] = reddit.plan("https://www.reddit.com/r/worldnews", "http://127.0.0.1:8084")
    assert endpoint.url == RSS_URL


def test_plan_one_post():
    url = "https://www.reddit.com/r/worldnews/comments/1pz3k2q/russia_says_ukraine/"
    [public] = reddit.plan(url, None)
    assert public.url == "https://www.reddit.com/comments/1pz3k2q/.json?limit=1&raw_json=1"
    [oauth] = reddit.plan(url, None, credentials=True)
    assert oauth.url == "https://oauth.reddit.com/comments/1pz3k2q?limit=1&raw_json=1"


@pytest.mark.parametrize(
    "url", ["https://www.reddit.com/", "https://example.com/r/x", "https://www.reddit.com/search"]
)
def test_plan_unrecognised_url(url):
    with pytest.raises(UnsupportedSourceError, match="https://www.reddit.com/r/SUBREDDIT"):
        reddit.plan(url, None)


# -- RSS --------------------------------------------------------------------------------------------


def test_rss_link_post_submits_an_article():
    page = reddit.parse_rss(fixture("reddit_worldnews_new.rss"), RSS_URL)
    post = page.observations[0]
    assert post.url == (
        "https://www.reddit.com/r/worldnews/comments/1pz3k2q/russia_says_ukraine_attacked_putins_residence/"
    )
    assert (
        post.content.title
        == "Russia says Ukraine attacked Putin's residence with 91 drones; Kyiv calls it a lie"
    )
    assert post.content.byline == "u/kettle_of_fish"
    assert post.content.text == ""
    assert post.content.published == datetime(2025, 12, 29, 18, 31, 5, tzinfo=UTC)
    assert post.links == ("https://news.example/world/2025/12/29/russia-ukraine-drones-putin-residence",)
    assert post.content.metadata["subreddit"] == "worldnews"


def test_rss_self_post_text_and_its_links():
    page = reddit.parse_rss(fixture("reddit_worldnews_new.rss"), RSS_URL)
    post = page.observations[1]
    assert post.content.text == (
        "Compiled what is actually known so far about the Valdai claim.\n\n"
        "Kremlin statement: wire report\n\nKyiv denial: here\n\nNo independent confirmation of any strike."
    )
    assert "submitted by" not in post.content.text
    assert post.links == (
        "https://wire.example/2025/12/29/kremlin-statement-valdai",
        "https://kyiv.example/news/2025/12/30/denial",
    )  # its [link] is its own comments page, not a candidate
    assert [c.url for c in page.candidates] == [
        "https://news.example/world/2025/12/29/russia-ukraine-drones-putin-residence",
        *post.links,
    ]


def test_rss_removed_post_is_gone():
    removed = reddit.parse_rss(fixture("reddit_worldnews_new.rss"), RSS_URL).observations[2]
    assert removed.gone
    assert removed.content.text == "[removed]"


def test_rss_next_page_is_after_the_last_entry():
    assert (
        reddit.parse_rss(fixture("reddit_worldnews_new.rss"), RSS_URL).next_page
        == RSS_URL + "?after=t3_1pza1b2"
    )


def test_rss_blocked_page_is_malformed():
    with pytest.raises(MalformedResponseError, match="Reddit RSS") as info:
        reddit.parse_rss(fixture("reddit_blocked.html"), RSS_URL)
    assert RSS_URL in str(info.value)


# -- JSON listings (real responses) -----------------------------------------------------------------


def test_listing_new_posts(corpus):
    uri, body = listing(corpus, "TestSubredditListings.test_new__1.json")
    page = reddit.parse_listing(body, uri)
    assert len(page.observations) == 100
    first = page.observations[0]
    assert (
        first.url
        == "https://www.reddit.com/r/AskReddit/comments/48fbm9/serious_parents_of_reddit_whats_the_biggest_lie/"
    )
    assert (first.content.title or "").startswith("[Serious] Parents of Reddit, what's the biggest lie")
    assert first.content.byline == "u/RedHeadQc"
    assert first.content.published == datetime(2016, 3, 1, 8, 37, 38, tzinfo=UTC)
    assert first.measurements == {"score": 1, "replies": 1}
    assert page.next_page == "https://oauth.reddit.com/r/askreddit/new?raw_json=1&limit=100&after=t3_48f6io"


def test_listing_link_posts_become_candidates(corpus):
    uri, body = listing(corpus, "TestFront.test_new__1.json")
    page = reddit.parse_listing(body, uri)
    by_url = {o.content.metadata["id"]: o for o in page.observations}
    assert by_url["t3_48f0ri"].links == ("https://imgur.com/BOfrQre",)
    assert by_url["t3_48f0f8"].links == ("http://www.cinemavibes.com",)  # a link in the self text
    assert by_url["t3_48f0f8"].content.text.startswith("Cinema Vibes offers latest movies")
    assert "https://imgur.com/BOfrQre" in {c.url for c in page.candidates}


def test_listing_edited_post_has_a_modified_time(corpus):
    uri, body = listing(corpus, "TestSubredditListings.test_hot__1.json")
    post = reddit.parse_listing(body, uri).observations[0]
    assert post.content.metadata["id"] == "t3_46c00m"
    assert post.content.modified == datetime.fromtimestamp(1456012265, tz=UTC)
    assert post.measurements == {"score": 1382, "replies": 433}


def test_search_permalinks_lose_their_query(corpus):
    uri, body = listing(corpus, "TestSubreddit.test_search__1.json")
    urls = [o.url for o in reddit.parse_listing(body, uri).observations]
    assert (
        urls[0]
        == "https://www.reddit.com/r/redditdev/comments/3gpbiu/prawoauth2util_problem_using_get_banned_raise/"
    )
    assert not any("?" in url for url in urls)


def test_deleted_account_is_not_a_deleted_post(corpus):
    uri, body = listing(corpus, "TestSubredditListings.test_top__1.json")
    posts = {o.content.metadata["id"]: o for o in reddit.parse_listing(body, uri).observations}
    assert posts["t3_1rwouq"].content.byline == "u/[deleted]"
    assert not posts["t3_1rwouq"].gone


def test_comment_listing(corpus):
    uri, body = listing(corpus, "TestSubredditListings.test_comments__1.json")
    comment = reddit.parse_listing(body, uri).observations[0]
    assert comment.url == "https://www.reddit.com/r/AskReddit/comments/4r4inc/comment/d4y8bdp/"
    assert comment.content.text == "great, life is so much better when you can do what you enjoy for a living"
    assert comment.content.title is None


def test_post_page_pair_reads_the_post(corpus):
    uri, body = listing(corpus, "TestFront.test_new__1.json")
    data = json.loads(body)
    one = dict(data, data=dict(data["data"], children=data["data"]["children"][:1], after=None))
    pair = json.dumps([one, {"kind": "Listing", "data": {"children": [], "after": None}}]).encode()
    [post] = reddit.parse_listing(pair, "https://www.reddit.com/comments/48f0th/.json").observations
    assert post.content.metadata["id"] == "t3_48f0th"


# -- errors -----------------------------------------------------------------------------------------


def test_unauthorized_asks_for_credentials():
    with pytest.raises(CredentialsRequiredError, match="OAuth"):
        reddit.parse_listing(fixture("reddit_unauthorized.json"), "https://oauth.reddit.com/r/worldnews/new")


def test_too_many_requests():
    with pytest.raises(RateLimitedError, match="429"):
        reddit.parse_listing(
            fixture("reddit_too_many_requests.json"), "https://www.reddit.com/comments/x/.json"
        )


def test_html_instead_of_json():
    with pytest.raises(MalformedResponseError, match="HTML"):
        reddit.parse_listing(fixture("reddit_blocked.html"), "https://www.reddit.com/comments/x/.json")


def test_rss_is_not_a_listing():
    with pytest.raises(MalformedResponseError):
        reddit.parse_listing(fixture("reddit_worldnews_new.rss"), RSS_URL)


def test_missing_self_text_is_empty_not_none():
    child = {
        "kind": "t3",
        "data": {"name": "t3_a", "title": "T", "selftext": None, "permalink": "/r/x/comments/a/t/"},
    }
    body = json.dumps({"kind": "Listing", "data": {"children": [child], "after": None}}).encode()
    [post] = reddit.parse_listing(body, "https://oauth.reddit.com/r/x/new").observations
    assert post.content.text == ""
    assert post.url == "https://www.reddit.com/r/x/comments/a/t/"
    assert not post.gone


def test_rss_raw_entry_is_json_data():
    post = reddit.parse_rss(fixture("reddit_worldnews_new.rss"), RSS_URL).observations[0]
    assert json.loads(json.dumps(post.raw))["id"] == "t3_1pz3k2q"
