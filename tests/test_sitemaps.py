"""Sitemaps: urlset, sitemap index, gzip, Google News, hreflang, plain text; hostile bodies."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.core.sitemaps import MAX_URLS, ParsedSitemap, SitemapError, parse_sitemap, w3c_datetime
from scraper.core.types import Channel

URL = "https://news.example/sitemap.xml"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def urlset(*entries: str, namespaces: str = NS) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {namespaces}>{"".join(entries)}</urlset>'.encode()
    )


def corpus_file(corpus: Path, relative: str) -> bytes:
    path = corpus / "feeds" / relative
    if not path.is_file():
        pytest.skip(f"{path} is not in this corpus")
    return path.read_bytes()


# --- our own small sitemaps ---------------------------------------------------------------


def test_urlset_gives_canonical_candidates_with_lastmod():
    body = urlset(
        "<url><loc> https://News.Example/2025/12/29/a?utm_source=sitemap </loc>"
        "<lastmod>2025-12-29T18:05:00+03:00</lastmod></url>",
        "<url><loc>https://news.example/2025/12/30/b</loc><lastmod>2025-12-30</lastmod></url>",
        "<url><loc>https://news.example/2025/12/30/b#again</loc></url>",
    )
    parsed = parse_sitemap(body, URL)
    assert [c.url for c in parsed.urls] == [
        "https://news.example/2025/12/29/a",
        "https://news.example/2025/12/30/b",
    ]
    assert parsed.urls[0].updated == datetime(2025, 12, 29, 15, 5, tzinfo=UTC)
    assert parsed.urls[1].updated == datetime(2025, 12, 30, tzinfo=UTC)
    assert parsed.urls[0].raw["sitemap_url"] == URL
    assert parsed.sitemaps == [] and parsed.observations == [] and parsed.warnings == []


def test_sitemap_index_gives_child_sitemaps_and_their_dates():
    body = (
        f'<?xml version="1.0"?><sitemapindex {NS}>'
        "<sitemap><loc>https://news.example/sitemaps/2025-12.xml.gz</loc><lastmod>2025-12-31</lastmod></sitemap>"
        "<sitemap><loc>/sitemaps/2025-11.xml</loc></sitemap>"
        "<sitemap><loc>ftp://news.example/old.xml</loc></sitemap>"
        "</sitemapindex>"
    ).encode()
    parsed = parse_sitemap(body, URL)
    assert parsed.urls == []
    assert parsed.sitemaps == [
        "https://news.example/sitemaps/2025-12.xml.gz",
        "https://news.example/sitemaps/2025-11.xml",
    ]
    assert parsed.sitemap_lastmod == {
        "https://news.example/sitemaps/2025-12.xml.gz": datetime(2025, 12, 31, tzinfo=UTC)
    }


def test_google_news_entries_become_feed_observations():
    body = urlset(
        "<url><loc>https://news.example/2025/12/29/valdai</loc>"
        "<news:news><news:publication><news:name>News Example</news:name><news:language>en</news:language>"
        "</news:publication><news:publication_date>2025-12-29T19:00:00Z</news:publication_date>"
        "<news:title>Russia says   drones targeted Putin's residence</news:title></news:news></url>",
        namespaces=f'{NS} xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"',
    )
    parsed = parse_sitemap(body, URL)
    (candidate,) = parsed.urls
    assert candidate.title == "Russia says drones targeted Putin's residence"
    assert candidate.published == datetime(2025, 12, 29, 19, 0, tzinfo=UTC)
    (observation,) = parsed.observations
    assert observation.channel is Channel.FEED
    assert observation.url == candidate.url
    assert observation.content.title == candidate.title
    assert observation.content.language == "en"
    assert observation.content.canonical_url == candidate.url
    assert observation.content.metadata == {"publication": "News Example"}


def test_hreflang_alternates_are_aliases_not_candidates():
    body = urlset(
        '<url><loc>https://news.example/en/a</loc><xhtml:link rel="alternate" hreflang="de" href="/de/a"/>'
        '<xhtml:link rel="alternate" hreflang="en" href="https://news.example/en/a"/></url>',
        namespaces=f'{NS} xmlns:xhtml="http://www.w3.org/1999/xhtml"',
    )
    (candidate,) = parse_sitemap(body, URL).urls
    assert candidate.raw["alternates"] == {
        "de": "https://news.example/de/a",
        "en": "https://news.example/en/a",
    }


def test_missing_namespace_blank_lines_and_relative_locs_are_tolerated():
    body = b'\n\n<?xml version="1.0"?>\n<urlset><url><loc>/2025/12/31/c</loc></url></urlset>'
    assert [c.url for c in parse_sitemap(body, URL).urls] == ["https://news.example/2025/12/31/c"]


def test_unusable_entries_are_skipped_with_a_warning():
    body = urlset("<url><lastmod>2025-12-29</lastmod></url>", "<url><loc>mailto:x@news.example</loc></url>")
    parsed = parse_sitemap(body, URL)
    assert parsed.urls == []
    assert len(parsed.warnings) == 2
    assert parsed.warnings[0].startswith(f"{URL}: <url> 1 skipped: ")
    assert "no <loc>" in parsed.warnings[0]


def test_plain_text_sitemap():
    body = b"https://news.example/a\n\nhttps://news.example/b?fbclid=1\nnot a url\n"
    parsed = parse_sitemap(body, "https://news.example/sitemap.txt")
    assert [c.url for c in parsed.urls] == ["https://news.example/a", "https://news.example/b"]
    assert len(parsed.warnings) == 1 and "line 3" in parsed.warnings[0]


def test_gzip_is_detected_from_the_bytes():
    body = urlset("<url><loc>https://news.example/a</loc></url>")
    assert parse_sitemap(gzip.compress(body), URL + ".gz") == parse_sitemap(body, URL + ".gz")


def test_empty_urlset_is_an_empty_sitemap():
    assert parse_sitemap(urlset(), URL) == ParsedSitemap()


# --- hostile and wrong bodies -------------------------------------------------------------


def test_gzip_bomb_is_refused_without_inflating_it_all():
    bomb = gzip.compress(b"<" + b" " * 5_000_000 + b">", compresslevel=9)
    assert len(bomb) < 10_000
    with pytest.raises(SitemapError, match="inflates to more than 1000000 bytes"):
        parse_sitemap(bomb, URL, max_bytes=1_000_000)


def test_corrupt_gzip_is_refused():
    with pytest.raises(SitemapError, match="corrupt gzip"):
        parse_sitemap(b"\x1f\x8b\x08\x00garbage", URL)


def test_too_many_urls_is_refused():
    body = urlset(*(f"<url><loc>https://news.example/{i}</loc></url>" for i in range(11)))
    with pytest.raises(SitemapError, match="more than 10 URLs"):
        parse_sitemap(body, URL, max_urls=10)
    assert len(parse_sitemap(body, URL, max_urls=11).urls) == 11
    assert MAX_URLS == 50_000


def test_too_many_sitemaps_and_text_lines_are_refused():
    index = (
        f"<sitemapindex {NS}>"
        + "<sitemap><loc>https://n.example/s.xml</loc></sitemap>" * 3
        + "</sitemapindex>"
    )
    with pytest.raises(SitemapError, match="more than 2 sitemaps"):
        parse_sitemap(index.encode(), URL, max_urls=2)
    with pytest.raises(SitemapError, match="more than 2 URLs"):
        parse_sitemap(b"https://n.example/1\nhttps://n.example/2\nhttps://n.example/3", URL, max_urls=2)


def test_entities_are_never_expanded():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://news.example/&e;</loc></url></urlset>"
    )
    parsed = parse_sitemap(laughs, URL)
    assert all(len(candidate.url) < 100 for candidate in parsed.urls)


def test_external_entities_are_never_fetched_or_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("https://leak.example/secret")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file://{secret}">]>'
        f"<urlset {NS}><url><loc>&x;</loc></url></urlset>"
    ).encode()
    parsed = parse_sitemap(body, URL)
    assert not any("leak.example" in candidate.url for candidate in parsed.urls)


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b"", "the response body is empty"),
        (b"   \n", "the response body is empty"),
        (b"<!doctype html><html><body>Sitemap</body></html>", "HTML page"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "the root element is <rss>"),
        (b"<urlset><url><loc>https://n.example/a</loc></url>", "not well-formed XML"),
        (b"x" * 2000, "larger than 1000 bytes"),
    ],
)
def test_unusable_bodies_raise_sitemap_error(body, cause):
    with pytest.raises(SitemapError) as caught:
        parse_sitemap(body, URL, max_bytes=1000)
    assert str(caught.value).startswith(f"{URL}: not a usable sitemap: ")
    assert cause in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-12-30", datetime(2025, 12, 30, tzinfo=UTC)),
        ("2025-12-30T08:15:00+03:00", datetime(2025, 12, 30, 5, 15, tzinfo=UTC)),
        ("2025-12-30T08:15Z", datetime(2025, 12, 30, 8, 15, tzinfo=UTC)),
        ("2025-12", datetime(2025, 12, 1, tzinfo=UTC)),
        ("2025", datetime(2025, 1, 1, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        ("", None),
    ],
)
def test_w3c_datetime(value, expected):
    assert w3c_datetime(value) == expected


# --- the shared corpus --------------------------------------------------------------------


def test_corpus_plain_sitemap(corpus):
    parsed = parse_sitemap(
        corpus_file(corpus, "trafilatura-resources/sitemap.xml"), "https://www.sitemaps.org/sitemap.xml"
    )
    assert len(parsed.urls) == 84
    assert parsed.urls[0].url == "https://www.sitemaps.org/"
    assert parsed.urls[0].updated == datetime(2016, 11, 21, tzinfo=UTC)
    assert all(candidate.url.startswith("https://www.sitemaps.org/") for candidate in parsed.urls)


def test_corpus_gzip_sitemap_equals_the_plain_one(corpus):
    plain = parse_sitemap(corpus_file(corpus, "trafilatura-resources/sitemap.xml"), URL)
    packed = parse_sitemap(corpus_file(corpus, "trafilatura-resources/sitemap.xml.gz"), URL)
    assert packed == plain


def test_corpus_sitemap_index(corpus):
    parsed = parse_sitemap(corpus_file(corpus, "trafilatura-resources/sitemap2.xml"), URL)
    assert parsed.sitemaps == [
        "http://www.example.com/sitemap1.xml.gz",
        "http://www.example.com/sitemap2.xml.gz",
    ]
    assert parsed.sitemap_lastmod["http://www.example.com/sitemap1.xml.gz"] == datetime(
        2004, 10, 1, 18, 23, 17, tzinfo=UTC
    )


def test_corpus_hreflang_sitemap(corpus):
    parsed = parse_sitemap(corpus_file(corpus, "trafilatura-resources/sitemap-hreflang.xml"), URL)
    assert [c.url for c in parsed.urls] == [
        "http://www.example.com/english/page.html",
        "http://www.example.com/deutsch/page.html",
        "http://www.example.com/schweiz-deutsch/page.html",
    ]
    assert parsed.urls[0].raw["alternates"] == {
        "de": "http://www.example.com/deutsch/page.html",
        "de-ch": "http://www.example.com/schweiz-deutsch/page.html",
        "en": "http://www.example.com/english/page.html",
    }


def test_corpus_google_news_sitemap(corpus):
    parsed = parse_sitemap(
        corpus_file(corpus, "news-crawl/sitemap-news.xml"), "http://www.example.com/sitemap-news.xml"
    )
    (candidate,) = parsed.urls
    assert candidate.url == "http://www.example.com/business/article55.html"
    assert candidate.title == "Companies A, B in Merger Talks"
    assert candidate.published == datetime(2008, 12, 23, tzinfo=UTC)
    assert candidate.raw["news"]["keywords"] == "business, merger, acquisition, A, B"
    assert candidate.raw["alternates"]["de"] == "http://www.example.com/de/business/article55.html"
    (observation,) = parsed.observations
    assert observation.content.language == "en"


def test_corpus_feed_is_not_a_sitemap(corpus):
    with pytest.raises(SitemapError, match="root element is <rss>"):
        parse_sitemap(corpus_file(corpus, "trafilatura-resources/feed2.rss"), URL)
