"""Links of fetched pages: declared canonical URL, article links of section pages, outgoing links."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.core.links import (
    PatternError,
    article_links,
    canonical_from_html,
    looks_like_article,
    outgoing_links,
    parse_html,
)

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
FRONT = (FIXTURES / "front_page.html").read_text(encoding="utf-8")
ARTICLE = (FIXTURES / "article.html").read_text(encoding="utf-8")
FRONT_URL = "https://news.example/world/"
ARTICLE_URL = "https://news.example/2025/12/29/russia-says-ukraine-attacked-putin-residence"

SAME_SITE_ARTICLES = [
    "https://news.example/2025/12/29/russia-says-ukraine-attacked-putin-residence",
    "https://news.example/world/europe/zelensky-calls-claim-fabrication-4821",
    "https://news.example/world/live/1735489200123",
    "https://news.example/world/analysis/abc",
    "https://edition.news.example/2025/12/30/trump-angry-after-call",
]


# --- canonical_from_html ------------------------------------------------------------------


def test_rel_canonical_wins_and_is_resolved_against_base_href():
    assert canonical_from_html(ARTICLE, ARTICLE_URL + "?utm_source=x") == ARTICLE_URL


def test_og_url_is_the_fallback():
    html = '<html><head><meta property="og:url" content="https://news.example/a?fbclid=1#x"></head></html>'
    assert canonical_from_html(html, "https://news.example/a-copy") == "https://news.example/a"


def test_relative_canonical_is_resolved_against_the_page():
    html = '<link rel="canonical" href="/2025/12/30/b">'
    assert canonical_from_html(html, "https://news.example/amp/b") == "https://news.example/2025/12/30/b"


def test_canonical_to_another_site_is_kept():
    html = '<link rel="canonical" href="https://original.example/story/1">'
    assert (
        canonical_from_html(html, "https://syndicated.example/copy/1") == "https://original.example/story/1"
    )


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><head><title>No canonical</title></head></html>",
        '<link rel="canonical" href="">',
        '<link rel="canonical" href="mailto:x@news.example">',
        '<link rel="canonical" href="https://news.example/">',  # home page from an article: a template bug
    ],
)
def test_no_usable_canonical_gives_none(html):
    assert canonical_from_html(html, ARTICLE_URL) is None


def test_home_page_may_declare_itself():
    assert canonical_from_html(
        '<link rel="canonical" href="https://News.example/">', "https://news.example/"
    ) == ("https://news.example/")


def test_a_bad_canonical_falls_through_to_og_url():
    html = '<link rel="canonical" href="ftp://x"><meta property="og:url" content="https://news.example/c">'
    assert canonical_from_html(html, "https://news.example/c?x=1") == "https://news.example/c"


# --- article_links ------------------------------------------------------------------------


def test_front_page_article_links_on_the_same_site():
    found = article_links(FRONT, FRONT_URL)
    assert [candidate.url for candidate in found] == SAME_SITE_ARTICLES
    assert found[0].title == "Russia says Ukraine attacked Putin's residence with 91 drones"  # longest anchor
    assert all(candidate.via == "source" for candidate in found)


def test_other_sites_are_kept_when_asked():
    urls = [candidate.url for candidate in article_links(FRONT, FRONT_URL, same_site=False)]
    assert urls == [*SAME_SITE_ARTICLES, "https://other.example/2025/12/30/valdai-claim-doubts"]


def test_chrome_and_non_articles_are_dropped():
    urls = {candidate.url for candidate in article_links(FRONT, FRONT_URL, same_site=False)}
    for dropped in (
        "this-link-is-in-the-page-header",
        "menu-promo-story-in-nav",
        "role-navigation-story-link",
        "privacy-policy-update-notice",
        "about-us",
        "/tag/",
        "/author/",
        "/category/",
        "/page/2",
        "report.pdf",
        "drone-video-clip.mp4",
        "twitter.com",
        "/login",
    ):
        assert not any(dropped in url for url in urls), dropped


def test_include_patterns_replace_the_heuristics():
    urls = [c.url for c in article_links(FRONT, FRONT_URL, include=[r"/world/(europe|x)/"])]
    assert urls == [
        "https://news.example/world/europe/zelensky-calls-claim-fabrication-4821",
        "https://news.example/world/x/",
    ]


def test_exclude_patterns_drop():
    urls = [c.url for c in article_links(FRONT, FRONT_URL, exclude=[r"/live/", r"edition\."])]
    assert "https://news.example/world/live/1735489200123" not in urls
    assert len(urls) == len(SAME_SITE_ARTICLES) - 2


def test_bad_pattern_is_a_typed_error():
    with pytest.raises(PatternError, match=r"link pattern '\(unclosed' is not a valid regular expression"):
        article_links(FRONT, FRONT_URL, include=["(unclosed"])


@pytest.mark.parametrize("html", ["", "   ", b"", "<p>no links</p>"])
def test_pages_without_links_give_nothing(html):
    assert article_links(html, FRONT_URL) == []
    assert outgoing_links(html, FRONT_URL) == []


def test_local_hosts_compare_by_host():
    html = '<a href="http://127.0.0.1:8080/2025/12/29/a-local-story">A local story for the demo</a>'
    assert [c.url for c in article_links(html, "http://127.0.0.1:8080/")] == [
        "http://127.0.0.1:8080/2025/12/29/a-local-story"
    ]


@pytest.mark.parametrize(
    ("url", "text", "expected"),
    [
        ("https://n.example/2025/12/30/anything", "", True),
        ("https://n.example/news/2025-12-30-x", "", True),
        ("https://n.example/a/20251230/x", "", True),
        ("https://n.example/world/putin-residence-drone-claim", "", True),
        ("https://n.example/world/putin-residence-drone-claim.html", "", True),
        ("https://n.example/news/world-europe-67812345", "", True),
        ("https://n.example/world/abc", "Four words of headline", True),
        ("https://n.example/world/abc", "Too short", False),
        ("https://n.example/abc", "Four words of headline", False),
        ("https://n.example/world/", "", False),
        ("https://n.example/my-page", "", False),
    ],
)
def test_looks_like_article(url, text, expected):
    assert looks_like_article(url, text) is expected


# --- outgoing_links -----------------------------------------------------------------------


def test_outgoing_links_of_an_article():
    assert outgoing_links(ARTICLE, ARTICLE_URL) == [
        "https://tass.example/politics/12345",
        "https://kyiv.example/statement",
        "https://news.example/2025/12/28/earlier-drone-attacks-on-moscow",
    ]


def test_outgoing_links_without_article_element_use_the_page():
    html = '<nav><a href="/menu">Menu</a></nav><p><a href="https://src.example/doc">source</a></p>'
    assert outgoing_links(html, "https://news.example/x") == ["https://src.example/doc"]


def test_parse_html_handles_bytes_and_garbage():
    assert parse_html(b"<p>bytes</p>") is not None
    assert parse_html("") is None


@given(st.text(max_size=300))
def test_link_functions_never_crash_on_arbitrary_text(text):
    article_links(text, FRONT_URL)
    outgoing_links(text, FRONT_URL)
    canonical_from_html(text, FRONT_URL)
