"""Every source kind against the real files of the shared corpus, served on 127.0.0.1 and read
through the real poll path (skipped where the corpus is absent).

What must hold for real-world input: no poll raises; a feed that gives entries loses none of
them (every entry link feedparser itself finds becomes a document with a feed version); a feed
is rejected only when feedparser finds no linked entry in it either, and then it is one error on
its own Check, naming the URL and the cause; the other sources are polled all the same.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from sqlmodel import select

from jobs.polling import poll_all
from scraper.core.urls import InvalidURL, canonicalize
from storage.models import Document
from tests.test_poll import (
    NewsSite,
    add_source,
    add_story,
    all_documents,
    local_only,
    source_checks,
    versions,
)

FEED_DIRS = ("feedjira", "diffengine", "news-crawl", "trafilatura-resources", "feedparser-illformed",
             "feedparser-encoding")  # fmt: skip
_HEADER = re.compile(rb"Header:\s*Content-type:\s*([^\r\n]+)", re.IGNORECASE)


@pytest.fixture
async def svc(services):
    async with local_only(services) as local:
        yield local


@pytest.fixture
def site(server) -> NewsSite:
    return NewsSite(server)


def content_type(path: Path, body: bytes) -> str:
    """The Content-Type a feedparser test file asks for (its ``Header:`` line), else by extension."""
    declared = _HEADER.search(body[:600])
    if declared:
        return declared.group(1).decode("ascii", "replace").strip()
    return {".json": "application/feed+json", ".atom": "application/atom+xml"}.get(
        path.suffix, "application/xml"
    )


def is_sitemap(body: bytes) -> bool:
    head = body[:600]
    return body.startswith(b"\x1f\x8b") or b"<urlset" in head or b"<sitemapindex" in head


def feed_files(corpus: Path, folder: str) -> list[Path]:
    root = corpus / "feeds" / folder
    if not root.is_dir():
        pytest.skip(f"{root} is not in this corpus")
    files = [
        p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ".json")
    ]
    return [p for p in files if not is_sitemap(p.read_bytes())]


def entry_links(body: bytes, url: str, ctype: str) -> set[str]:
    """Entry links as feedparser (or json, for JSON Feed) reads them: independent of our parser."""
    if body.lstrip()[:1] == b"{":
        try:
            items = json.loads(body).get("items") or []
        except ValueError:
            return set()
        links = [item.get("url") or item.get("external_url") for item in items if isinstance(item, dict)]
    else:
        parsed = feedparser.parse(body, response_headers={"content-type": ctype, "content-location": url})
        links = [entry.get("link") for entry in parsed.entries]
    return {
        found for link in links if isinstance(link, str) and (found := _canonical(urljoin(url, link.strip())))
    }


def _canonical(url: str) -> str | None:
    try:
        return canonicalize(url)
    except InvalidURL:
        return None


@pytest.mark.parametrize("folder", FEED_DIRS)
async def test_real_feeds_lose_no_entry_and_fail_one_by_one(svc, site, server, corpus, folder):
    files = feed_files(corpus, folder)
    served: dict[str, tuple[int, str, set[str]]] = {}
    for number, path in enumerate(files):
        body = path.read_bytes()
        ctype = content_type(path, body)
        route = f"/{folder}/{number}/{path.name}"
        server.route(route, body, content_type=ctype)
        source_id = add_source(svc, f"{number:03d}-{path.stem}"[:190], "feed", site.url(route))
        served[f"{number:03d}-{path.stem}"[:190]] = (
            source_id,
            site.url(route),
            entry_links(body, site.url(route), ctype),
        )

    reports = {r.source: r for r in await poll_all(svc)}

    assert set(reports) == set(served)
    documents = all_documents(svc)
    failed = []
    for name, (source_id, url, links) in served.items():
        report = reports[name]
        (check,) = source_checks(svc, source_id)
        if report.outcome == "error":
            failed.append(name)
            assert check.outcome == "error" and check.error.startswith(url), check.error
            assert "not a usable feed: " in check.error, check.error
            assert links == set(), (name, links)  # rejected only when feedparser finds no linked entry either
            continue
        assert report.outcome == "ok" and check.outcome in ("new_version", "unchanged"), name
        for link in links:  # nothing lost: every entry is a document with its feed version
            assert link in documents, (name, link)
            assert versions(svc, link, "feed"), (name, link)
    assert len(failed) < len(served) / 2  # most real feeds are read
    assert {d.status for d in documents.values()} <= {"seen"}  # no story: nothing fetched
    assert {r.path for r in server.requests} <= {
        "/robots.txt",
        *(urlsplit(u).path for _, u, _ in served.values()),
    }


# --- sitemaps ------------------------------------------------------------------------------------------


def locs(body: bytes) -> set[str]:
    """The page URLs of a urlset (``<url><loc>``, not image or video locations)."""
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    found = {_canonical((e.text or "").strip()) for e in ET.fromstring(body).iterfind(f"{ns}url/{ns}loc")}
    return {url for url in found if url}


async def test_real_sitemaps_plain_gzip_hreflang_and_google_news(svc, site, server, corpus):
    root = corpus / "feeds"
    files = {"plain": root / "trafilatura-resources" / "sitemap.xml",
             "gzip": root / "trafilatura-resources" / "sitemap.xml.gz",
             "hreflang": root / "trafilatura-resources" / "sitemap-hreflang.xml",
             "news": root / "news-crawl" / "sitemap-news.xml"}  # fmt: skip
    if not all(p.is_file() for p in files.values()):
        pytest.skip("the corpus has no sitemaps")
    for name, path in files.items():
        ctype = "application/x-gzip" if path.suffix == ".gz" else "application/xml"
        server.route(f"/{name}/{path.name}", path.read_bytes(), content_type=ctype)
        add_source(svc, name, "sitemap", site.url(f"/{name}/{path.name}"), max_items=100_000)
    reports = {r.source: r for r in await poll_all(svc)}
    assert {name: r.outcome for name, r in reports.items()} == dict.fromkeys(files, "ok")
    plain = locs(files["plain"].read_bytes())
    assert reports["plain"].entries == len(plain) == 84
    assert reports["gzip"].entries == 84  # the same URLs, compressed: one document each all the same
    assert reports["gzip"].new + reports["plain"].new == 84
    documents = all_documents(svc)
    assert plain <= set(documents)
    news_url = next(iter(locs(files["news"].read_bytes())))
    assert versions(svc, news_url, "feed")[0].title  # a Google News title is a feed version
    hreflang = reports["hreflang"]
    assert hreflang.entries == 3
    with svc.session() as session:
        assert (
            session.exec(select(Document).where(Document.status != "seen")).all() == []
        )  # no story: none fetched


async def test_a_real_sitemap_index_is_bounded_and_stays_offline(svc, site, server, corpus):
    path = corpus / "feeds" / "trafilatura-resources" / "sitemap2.xml"
    if not path.is_file():
        pytest.skip("no sitemap index in this corpus")
    server.route("/sitemap2.xml", path.read_bytes(), content_type="application/xml")
    source_id = add_source(svc, "index", "sitemap", site.url("/sitemap2.xml"))
    (report,) = await poll_all(svc)
    # its children live on the real site: they are tried (and refused: tests never go online), as warnings
    assert report.outcome == "ok" and report.entries == 0 and len(report.warnings) == 2
    assert all("could not resolve" in w for w in report.warnings)
    assert source_checks(svc, source_id)[0].outcome == "unchanged"


# --- section pages and search --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bbc-1", "heise", "lemonde-1", "nytimes-5"])
async def test_real_pages_as_section_pages(svc, site, server, corpus, name):
    path = corpus / "extraction-readability" / name / "source.html"
    if not path.is_file():
        pytest.skip(f"{path} is not in this corpus")
    server.route("/section/", path.read_bytes(), content_type="text/html; charset=utf-8")
    source_id = add_source(svc, name, "page", site.url("/section/"))
    (report,) = await poll_all(svc)
    assert report.outcome == "ok" and report.entries > 0 and report.new == report.entries
    documents = all_documents(svc)
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in documents)  # other sites are not this section
    assert not any(re.search(r"\.(png|jpe?g|gif|css|js|pdf)$", url) for url in documents)
    assert [r.path for r in server.requests if r.path != "/robots.txt"] == [
        "/section/"
    ]  # nothing else fetched
    excluded = add_source(svc, f"{name}-none", "page", site.url("/section/"), exclude=["."])
    (again,) = [r for r in await poll_all(svc, [f"{name}-none"])]
    assert again.entries == 0 and "no article links" in again.warnings[0] and excluded and source_id


async def test_real_feed_as_search_results_with_story_matches(svc, site, server, corpus):
    path = corpus / "feeds" / "diffengine" / "feed1.xml"
    if not path.is_file():
        pytest.skip(f"{path} is not in this corpus")
    server.route("/search", path.read_bytes(), content_type="application/rss+xml")
    source_id = add_source(svc, "wapo-search", "search", site.url("/search?q={query}"))
    story_id = add_story(svc, slug="trump", query="Trump")
    (report,) = [r for r in await poll_all(svc) if r.source == "wapo-search"]
    links = entry_links(path.read_bytes(), site.url("/search"), "application/rss+xml")
    assert report.outcome == "ok" and report.entries == len(links) > 0
    assert report.matched > 0 and report.matched + report.seen == report.entries
    # the matches live on the real site: their first fetch fails offline, recorded on each document
    assert report.errors == report.matched and all("could not resolve" in f for f in report.failures)
    assert story_id and source_id
