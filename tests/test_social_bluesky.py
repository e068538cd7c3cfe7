"""Bluesky: planning, author feeds, searches, threads (found, not found, blocked) and errors.

Real responses come from the shared corpus (bskyr's recorded cassettes, parsed to JSON); the
thread tombstones and error bodies are our own fixtures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.core.social import bluesky
from scraper.core.social.common import (
    CredentialsRequiredError,
    MalformedResponseError,
    PlatformError,
    UnsupportedSourceError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "social"
KENNY = "https://bsky.app/profile/chriskenny.bsky.social/post/"
THREAD_URL = (
    "http://127.0.0.1:8082/xrpc/app.bsky.feed.getPostThread?"
    "uri=at%3A%2F%2Fchriskenny.bsky.social%2Fapp.bsky.feed.post%2F3lxdeleted22&depth=0&parentHeight=0"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def recorded(corpus: Path, prefix: str) -> tuple[str, bytes]:
    """(request URI, body) of the corpus file whose name starts with ``prefix``."""
    [path] = (corpus / "social" / "bluesky-bskyr").glob(prefix + "__0__*.json")
    data = json.loads(path.read_text())
    assert data["status"] == 200
    return data["request_uri"], json.dumps(data["body"]).encode()


# -- planning ---------------------------------------------------------------------------------------


def test_plan_profile_reads_the_author_feed_on_the_public_appview():
    [endpoint] = bluesky.plan("https://bsky.app/profile/handle.bsky.social", None)
    assert endpoint.url == (
        "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=handle.bsky.social&limit=100"
    )
    assert endpoint.kind == "bluesky.feed"
    assert not endpoint.needs_credentials


def test_plan_api_overrides_the_appview():
    [endpoint] = bluesky.plan("https://bsky.app/profile/handle.bsky.social", "http://127.0.0.1:8082")
    assert endpoint.url.startswith("http://127.0.0.1:8082/xrpc/app.bsky.feed.getAuthorFeed?actor=")


def test_plan_post_rechecks_its_thread():
    [endpoint] = bluesky.plan(KENNY + "3lo7irc7njk2p", None)
    assert endpoint.kind == "bluesky.thread"
    assert endpoint.params["uri"] == "at://chriskenny.bsky.social/app.bsky.feed.post/3lo7irc7njk2p"
    assert bluesky.at_uri_of(KENNY + "3lo7irc7njk2p") == endpoint.params["uri"]


@pytest.mark.parametrize("url", ["https://bsky.app/search?q=Valdai", "https://bsky.app/hashtag/Valdai"])
def test_search_needs_credentials(url):
    with pytest.raises(CredentialsRequiredError) as info:
        bluesky.plan(url, None)
    assert url in str(info.value)
    assert "searchPosts" in str(info.value)
    [endpoint] = bluesky.plan(url, None, credentials=True)
    assert endpoint.needs_credentials
    assert endpoint.url.startswith("https://bsky.social/xrpc/app.bsky.feed.searchPosts?q=")
    assert endpoint.params["sort"] == "latest"


@pytest.mark.parametrize(
    "url", ["https://bsky.app/", "https://example.com/profile/x", "https://bsky.app/feeds"]
)
def test_plan_unrecognised_url(url):
    with pytest.raises(UnsupportedSourceError, match="https://bsky.app/profile/HANDLE"):
        bluesky.plan(url, None)


def test_post_url_from_at_uri():
    uri = "at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/3lo7irc7njk2p"
    assert bluesky.post_url(uri, "chriskenny.bsky.social") == KENNY + "3lo7irc7njk2p"
    assert bluesky.post_url(uri, "handle.invalid") == (
        "https://bsky.app/profile/did:plc:wpe35pganb6d4pg4ekmfy6u5/post/3lo7irc7njk2p"
    )


# -- feeds (real responses) -------------------------------------------------------------------------


def test_author_feed_posts(corpus):
    uri, body = recorded(corpus, "f_autfeed")
    page = bluesky.parse_feed(body, uri)
    assert len(page.observations) == 50
    by_url = {o.url: o for o in page.observations}
    post = by_url[KENNY + "3lo7irc7njk2p"]
    assert post.content.text.startswith("The university accepted my dissertation!")
    assert post.content.byline == "Chris Kenny (@chriskenny.bsky.social)"
    assert post.content.published == datetime(2025, 5, 2, 18, 54, 36, 307000, tzinfo=UTC)
    assert post.content.language == "en"
    assert post.measurements == {"replies": 2, "reposts": 2, "likes": 6, "quotes": 0}
    assert (
        post.content.metadata["uri"]
        == "at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/3lo7irc7njk2p"
    )


def test_external_embed_is_a_candidate_with_its_card(corpus):
    uri, body = recorded(corpus, "f_autfeed")
    page = bluesky.parse_feed(body, uri)
    [candidate] = [c for c in page.candidates if c.url == "https://github.com/christopherkenny/harvard-diss"]
    assert (candidate.title or "").startswith("GitHub - christopherkenny/harvard-diss: Quarto template")
    assert candidate.raw["post_url"] == KENNY + "3lo7irc7njk2p"
    assert candidate.via == "social"


def test_facet_links_and_tags(corpus):
    uri, body = recorded(corpus, "f_autfeed")
    post = {o.url: o for o in bluesky.parse_feed(body, uri).observations}[KENNY + "3loagm2phgk2t"]
    # the text shows a shortened link; the facet holds the full URL
    assert "christophertkenny.com/bskyr/news/i..." in post.content.text
    assert post.links == ("https://christophertkenny.com/bskyr/news/index.html",)
    assert post.content.metadata["tags"] == ["rstats"]


def test_repost_is_unwrapped_to_the_original_author(corpus):
    uri, body = recorded(corpus, "f_autfeed")
    post = {o.url: o for o in bluesky.parse_feed(body, uri).observations}[
        "https://bsky.app/profile/mickael.canouil.fr/post/3lnneysi3ps2c"
    ]
    assert post.content.metadata["reposted_by"] == "chriskenny.bsky.social"
    assert post.content.metadata["tags"][:2] == ["QuartoPub", "Quarto"]
    assert post.measurements["likes"] == 13


def test_author_feed_next_page_carries_the_cursor(corpus):
    uri, body = recorded(corpus, "f_autfeed")
    assert bluesky.parse_feed(body, uri).next_page == (
        "https://bsky.social/xrpc/app.bsky.feed.getAuthorFeed?actor=chriskenny.bsky.social"
        "&cursor=2024-03-21T23%3A36%3A16.378Z"
    )


def test_search_posts(corpus):
    uri, body = recorded(corpus, "f_search")
    page = bluesky.parse_feed(body, uri)
    assert len(page.observations) == 25
    first = page.observations[0]
    assert first.url == "https://bsky.app/profile/socpaperbot.bsky.social/post/3lpk2u6qo222m"
    assert first.content.text.startswith("Ends Versus Means: Public Opinion on Congressional Redistricting")
    assert page.candidates[0].url == "https://osf.io/v87fn"
    assert (page.next_page or "").endswith("searchPosts?q=redistricting&cursor=25")


def test_thread_gives_the_post(corpus):
    uri, body = recorded(corpus, "f_postthread")
    page = bluesky.parse_thread(body, uri)
    [post] = page.observations
    assert post.url == "https://bsky.app/profile/soubhikbarari.bsky.social/post/3k7qmjev5lr2s"
    assert post.links == ("http://localview.net", "https://rstats.ai/gov.html")
    assert post.measurements["likes"] == 4
    assert not post.gone and page.gone_ids == []


def test_thread_and_get_posts_agree(corpus):
    thread_uri, thread_body = recorded(corpus, "f_postthread")
    posts_uri, posts_body = recorded(corpus, "f_getposts")
    thread = bluesky.parse_thread(thread_body, thread_uri).observations[0]
    post = bluesky.parse_feed(posts_body, posts_uri).observations[0]
    assert thread.content == post.content


# -- our own fixtures -------------------------------------------------------------------------------


def test_thread_not_found_is_gone():
    page = bluesky.parse_thread(fixture("bluesky_thread_not_found.json"), THREAD_URL)
    uri = "at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/3lxvaldai2k2a"
    assert page.gone_ids == [uri]
    [tombstone] = page.observations
    assert tombstone.gone
    assert tombstone.url == "https://bsky.app/profile/did:plc:wpe35pganb6d4pg4ekmfy6u5/post/3lxvaldai2k2a"
    assert tombstone.content.metadata["gone_reason"] == "not found"


def test_thread_blocked_is_gone():
    page = bluesky.parse_thread(fixture("bluesky_thread_blocked.json"), THREAD_URL)
    assert page.gone_ids == ["at://did:plc:n65dhyosfrm6t7jhzum76exq/app.bsky.feed.post/3lxblock7a22c"]
    assert page.observations[0].content.metadata["gone_reason"] == "blocked"


def test_appview_not_found_error_is_gone():
    page = bluesky.parse_thread(fixture("bluesky_error_not_found.json"), THREAD_URL)
    assert page.gone_ids == ["at://chriskenny.bsky.social/app.bsky.feed.post/3lxdeleted22"]
    assert page.observations[0].url == KENNY + "3lxdeleted22"


def test_search_without_login_is_a_credentials_error():
    url = "https://public.api.bsky.app/xrpc/app.bsky.feed.searchPosts?q=Valdai"
    with pytest.raises(CredentialsRequiredError, match="AuthMissing"):
        bluesky.parse_feed(fixture("bluesky_search_auth_missing.json"), url)


def test_unknown_profile_is_a_platform_error():
    url = "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=nobody.bsky.social"
    with pytest.raises(PlatformError, match="Profile not found") as info:
        bluesky.parse_feed(fixture("bluesky_profile_not_found.json"), url)
    assert url in str(info.value)


def test_thread_body_is_not_a_feed():
    with pytest.raises(MalformedResponseError, match="feed or post list"):
        bluesky.parse_feed(fixture("bluesky_thread_not_found.json"), THREAD_URL)


def test_feed_item_without_a_record_is_malformed():
    body = json.dumps({"feed": [{"post": {"uri": "at://x/app.bsky.feed.post/1"}}]}).encode()
    with pytest.raises(MalformedResponseError, match="post view"):
        bluesky.parse_feed(body, THREAD_URL)
