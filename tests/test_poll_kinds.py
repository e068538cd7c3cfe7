"""Sitemap, page and search sources through the real poll path (our own fixtures)."""

from __future__ import annotations

import gzip
from urllib.parse import unquote

import pytest

from jobs.polling import poll_source
from tests.localserver import Reply, Request
from tests.test_poll import (
    KREMLIN,
    POWER,
    QUERY,
    RESIDENCE,
    NewsSite,
    add_source,
    add_story,
    document,
    fixture_bytes,
    local_only,
    source_checks,
    story_links,
    versions,
)

DENIAL = "/2026/01/02/ukraine-denies-valdai-attack"
BUDGET = "/2025/12/31/city-budget-approved"
TRUMP = "/2025/12/31/trump-on-valdai-drone-claim"


@pytest.fixture
async def svc(services):
    async with local_only(services) as local:
        yield local


@pytest.fixture
def site(server) -> NewsSite:
    return NewsSite(server)


def sitemap_site(site: NewsSite) -> None:
    server, base = site.server, site.base
    site.standard()
    site.article(
        DENIAL,
        "Ukraine denies attacking Putin's residence",
        ("Kyiv says the Valdai drone claim is invented.",),
    )
    server.route(
        "/robots.txt",
        f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap_index.xml\n",
        content_type="text/plain",
    )
    site.serve("/sitemap_index.xml", "good/sitemap_index.xml", "application/xml")
    site.serve("/sitemaps/news.xml", "good/sitemap_news.xml", "application/xml")
    server.route(
        "/sitemaps/2025-12.xml.gz",
        gzip.compress(fixture_bytes("good/sitemap_month.xml", base=base)),
        content_type="application/x-gzip",
    )
    site.serve("/sitemaps/deeper-index.xml", "good/sitemap_deeper_index.xml", "application/xml")
    server.route(
        "/sitemaps/2025-11.xml",
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>'
        f"{base}/2025/11/20/older-story-from-november</loc></url></urlset>",
        content_type="application/xml",
    )


async def test_sitemaps_from_robots_txt_index_gzip_and_google_news(svc, site, server):
    sitemap_site(site)
    source_id = add_source(svc, "sitemaps", "sitemap", site.url("/robots.txt"))
    story_id = add_story(svc)
    report = await poll_source(svc, source_id)
    assert (report.outcome, report.entries, report.new, report.matched) == ("ok", 6, 6, 2)
    links = story_links(svc, story_id)
    assert links[site.url(DENIAL)].reason.startswith("title and summary: query matched:")  # the news:title
    assert "Putin" in links[site.url(RESIDENCE)].reason  # no title: the URL's words were matched
    assert [v.title for v in versions(svc, site.url(DENIAL), "feed")] == [
        "Ukraine denies attacking Putin's residence, calls claim a fabrication"
    ]  # Google News entries are versioned like feed entries
    assert (
        versions(svc, site.url(KREMLIN), "feed") == [] and document(svc, site.url(KREMLIN)).status == "seen"
    )
    assert document(svc, site.url("/2025/11/20/older-story-from-november")) is not None  # two levels down
    assert server.hits("/sitemaps/2025-11.xml") == 1


async def test_sitemap_depth_and_count_are_bounded(svc, site, server):
    sitemap_site(site)
    shallow = add_source(svc, "shallow", "sitemap", site.url("/sitemap_index.xml"), max_depth=1)
    report = await poll_source(svc, shallow)
    assert report.outcome == "ok" and server.hits("/sitemaps/2025-11.xml") == 0
    assert any("child sitemaps below depth 1 not read" in w for w in report.warnings)
    few = add_source(svc, "few", "sitemap", site.url("/sitemap_index.xml"), max_sitemaps=2)
    report = await poll_source(svc, few)
    assert any("stopped after 2 sitemaps" in w for w in report.warnings)
    assert (
        server.hits("/sitemaps/news.xml") == 2 and server.hits("/sitemaps/2025-12.xml.gz") == 1
    )  # newest first
    capped = add_source(svc, "capped", "sitemap", site.url("/sitemaps/2025-12.xml.gz"), max_items=1)
    report = await poll_source(svc, capped)
    assert report.entries == 1 and any("older URLs left out" in w for w in report.warnings)


async def test_a_broken_child_sitemap_is_a_warning(svc, site, server):
    sitemap_site(site)
    server.route("/sitemaps/news.xml", b"<html><body>moved</body></html>", content_type="text/html")
    source_id = add_source(svc, "sitemaps", "sitemap", site.url("/sitemap_index.xml"))
    report = await poll_source(svc, source_id)
    assert report.outcome == "ok" and report.entries == 4
    assert any(site.url("/sitemaps/news.xml") in w and "HTML page" in w for w in report.warnings)
    (check,) = source_checks(svc, source_id)
    assert check.outcome == "new_version" and "HTML page" in check.error


async def test_sitemap_conditional_get(svc, site, server):
    body = fixture_bytes("good/sitemap_month.xml", base=site.base)

    def handler(req: Request) -> Reply:
        if req.headers.get("if-modified-since") == "Wed, 31 Dec 2025 09:00:00 GMT":
            return Reply(status=304)
        return Reply(
            body=body,
            headers={"Content-Type": "application/xml", "Last-Modified": "Wed, 31 Dec 2025 09:00:00 GMT"},
        )

    server.route("/sitemap.xml", handler=handler)
    source_id = add_source(svc, "sm", "sitemap", site.url("/sitemap.xml"))
    assert (await poll_source(svc, source_id)).entries == 3
    assert (await poll_source(svc, source_id)).outcome == "not_modified"


# --- page sources -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [RESIDENCE, KREMLIN, POWER, "/live/2026/01/02/live-blog-valdai-claim"]),
        ({"exclude": ["/live/"]}, [RESIDENCE, KREMLIN, POWER]),
        ({"include": [r"^https?://[^/]+/2026/"]}, [POWER]),
    ],
)
async def test_page_source_article_links_with_include_and_exclude(svc, site, server, params, expected):
    site.standard()
    front = site.serve("/front", "good/front.html", "text/html; charset=utf-8")
    source_id = add_source(svc, "front", "page", front, **params)
    report = await poll_source(svc, source_id)
    assert report.outcome == "ok" and report.entries == len(expected)
    for path in expected:
        assert document(svc, site.url(path)) is not None, path
    assert (
        document(svc, site.url("/2025/12/30/nav-link-should-be-ignored")) is None
    )  # the menu is not content
    assert document(svc, "https://elsewhere.example/2025/12/30/other-site-story") is None


async def test_page_source_matches_on_link_text(svc, site):
    site.standard()
    source_id = add_source(svc, "front", "page", site.serve("/front", "good/front.html", "text/html"))
    story_id = add_story(svc)
    await poll_source(svc, source_id)
    links = story_links(svc, story_id)
    assert site.url(RESIDENCE) in links and site.url(POWER) not in links
    assert document(svc, site.url(KREMLIN)).url == site.url(KREMLIN)  # utm_campaign removed


async def test_a_bad_page_pattern_is_an_error(svc, site):
    source_id = add_source(
        svc, "front", "page", site.serve("/front", "good/front.html", "text/html"), include=["(unclosed"]
    )
    report = await poll_source(svc, source_id)
    assert (
        report.outcome == "error"
        and "(unclosed" in report.error
        and "not a valid regular expression" in report.error
    )


# --- search sources -----------------------------------------------------------------------------------


async def test_search_source_runs_each_story_query(svc, site, server):
    site.standard()
    body = fixture_bytes("good/rss.xml", base=site.base)
    seen: list[str] = []

    def handler(req: Request) -> Reply:
        seen.append(unquote(req.path.split("q=", 1)[1]))
        return Reply(body=body, headers={"Content-Type": "application/rss+xml"})

    server.route("/search", handler=handler)
    source_id = add_source(svc, "news-search", "search", site.url("/search?q={query}&sort=date"))
    story_id = add_story(svc)
    add_story(svc, slug="power", query="power AND cuts")
    report = await poll_source(svc, source_id)
    assert sorted(q.split("&")[0] for q in seen) == sorted([QUERY, "power AND cuts"])
    assert report.entries == 3 and report.outcome == "ok"
    assert sorted(story_links(svc, story_id)) == sorted([site.url(RESIDENCE), site.url(KREMLIN)])
    assert versions(svc, site.url(RESIDENCE), "feed") == []  # search snippets are not versioned


async def test_search_source_reads_an_html_results_page(svc, site, server):
    other = f"http://localhost:{server.port}"
    site.article(
        TRUMP,
        "Trump sides with Putin over Valdai drone claim",
        ("Trump believes Putin on the drone attack.",),
    )
    server.route(
        "/news/2025/12/30/valdai-residence-drone-attack-claim",
        "<html><body><article><h1>Valdai residence drone attack claim questioned</h1>"
        "<p>Analysts question the Valdai residence drone claim.</p></article></body></html>",
    )
    site.serve("/find", "good/search.html", "text/html; charset=utf-8", other=other)
    source_id = add_source(svc, "site-search", "search", site.url("/find?q={query}"))
    story_id = add_story(svc)
    report = await poll_source(svc, source_id)
    assert report.entries == 2
    assert sorted(story_links(svc, story_id)) == sorted(
        [site.url(TRUMP), f"{other}/news/2025/12/30/valdai-residence-drone-attack-claim"]
    )


async def test_search_without_stories_is_a_warning_not_an_error(svc, site, server):
    source_id = add_source(svc, "search", "search", site.url("/search?q={query}"))
    report = await poll_source(svc, source_id)
    assert report.outcome == "ok" and "no active story with a query" in report.warnings[0]
    assert server.hits("/search") == 0
