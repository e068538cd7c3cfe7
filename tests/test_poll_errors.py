"""Bad input never spreads: each broken source gives one clear error on its own Check, the other
sources are polled all the same, and nothing stored before is lost."""

from __future__ import annotations

import gzip
import json
import socket

import pytest
from sqlmodel import select

import scraper.sources
from jobs.polling import poll_all, poll_source
from jobs.services import open_services
from scraper.http import Fetcher
from storage.models import Document, Source, Version
from tests.conftest import make_settings
from tests.test_poll import (
    FIXTURES,
    RESIDENCE,
    NewsSite,
    _no_dns,
    add_source,
    add_story,
    all_documents,
    fixture_bytes,
    local_only,
    source_checks,
    versions,
)

BAD = json.loads((FIXTURES / "bad" / "expected.json").read_text())
BAD_FILES = sorted(name for name in BAD if not name.startswith("_"))


@pytest.fixture
async def svc(services):
    async with local_only(services) as local:
        yield local


@pytest.fixture
def site(server) -> NewsSite:
    return NewsSite(server)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_one_error(svc, source_id: int, url: str, *causes: str) -> str:
    (check,) = source_checks(svc, source_id)
    assert check.source_id == source_id and check.outcome == "error" and check.document_id is None
    assert url in check.error, check.error
    for cause in causes:
        assert cause in check.error, check.error
    return check.error


async def test_each_bad_feed_gives_one_clear_error_and_stops_nothing(svc, site, server):
    site.standard()
    good = add_source(svc, "0-good", "feed", site.serve("/rss.xml", "good/rss.xml"))
    bad = {}
    for name in BAD_FILES:
        server.route(
            f"/bad/{name}", (FIXTURES / "bad" / name).read_bytes(), content_type="application/rss+xml"
        )
        bad[name] = add_source(svc, f"bad-{name}", "feed", site.url(f"/bad/{name}"))
    server.route("/bad/missing.xml", b"not here", status=404)
    missing = add_source(svc, "bad-missing", "feed", site.url("/bad/missing.xml"))
    server.route("/bad/error.xml", b"oops", status=500)
    broken_server = add_source(svc, "bad-500", "feed", site.url("/bad/error.xml"))
    refused_url = f"http://127.0.0.1:{closed_port()}/rss.xml"
    refused = add_source(svc, "bad-refused", "feed", refused_url)
    last = add_source(svc, "z-good", "feed", site.serve("/atom.xml", "good/atom.xml", "application/atom+xml"))
    add_story(svc)

    reports = {r.source: r for r in await poll_all(svc)}

    assert reports["0-good"].outcome == "ok" and reports["0-good"].matched == 2
    assert reports["z-good"].outcome == "ok" and reports["z-good"].entries == 2
    for name, source_id in bad.items():
        url = site.url(f"/bad/{name}")
        assert reports[f"bad-{name}"].outcome == "error" and reports[f"bad-{name}"].errors == 1
        assert_one_error(svc, source_id, url, "not a usable feed", BAD[name])
    assert_one_error(svc, missing, site.url("/bad/missing.xml"), "HTTP 404")
    assert_one_error(svc, broken_server, site.url("/bad/error.xml"), "HTTP 500")
    assert_one_error(svc, refused, refused_url, "network error")
    assert len(source_checks(svc, good)) == 1 and len(source_checks(svc, last)) == 1


async def test_a_feed_that_breaks_later_loses_nothing(svc, site, server):
    site.standard()
    feed = site.serve("/rss.xml", "good/rss.xml")
    source_id = add_source(svc, "world", "feed", feed)
    add_story(svc)
    await poll_source(svc, source_id)
    before = {
        url: (d.status, d.next_check, len(versions(svc, url, "feed")))
        for url, d in all_documents(svc).items()
    }
    with svc.session() as session:
        polled = session.get(Source, source_id).last_polled_at
    svc.clock.advance(minutes=10)
    for name in BAD_FILES:
        server.route(
            "/rss.xml",
            (FIXTURES / "bad" / name).read_bytes(),
            content_type="application/rss+xml",
            headers={"ETag": '"broken"'},
        )
        report = await poll_source(svc, source_id)
        assert report.outcome == "error" and BAD[name] in report.error
    after = {
        url: (d.status, d.next_check, len(versions(svc, url, "feed")))
        for url, d in all_documents(svc).items()
    }
    assert after == before
    with svc.session() as session:
        source = session.get(Source, source_id)
        assert (
            source.last_polled_at == polled and source.etag is None
        )  # a broken body's validators are not kept
    assert [c.outcome for c in source_checks(svc, source_id)] == ["new_version"] + ["error"] * len(BAD_FILES)
    assert len(versions(svc, site.url(RESIDENCE))) == 1


async def test_oversized_and_broken_sitemaps(svc, site, server):
    bomb = gzip.compress(b"<" + b" " * (60 * 1024 * 1024), compresslevel=9)  # inflates past the 50 MB limit
    server.route("/bomb.xml.gz", bomb, content_type="application/x-gzip")
    urls = "".join(f"<url><loc>{site.base}/2025/12/30/story-number-{i}</loc></url>" for i in range(50_001))
    server.route(
        "/huge.xml",
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
        content_type="application/xml",
    )
    server.route(
        "/page.xml", b"<!doctype html><html><body>Sitemap moved</body></html>", content_type="text/xml"
    )
    server.route("/empty.xml", b"", content_type="application/xml")
    sources = {
        "bomb": (add_source(svc, "bomb", "sitemap", site.url("/bomb.xml.gz")), "inflates to more than"),
        "huge": (add_source(svc, "huge", "sitemap", site.url("/huge.xml")), "more than 50000 URLs"),
        "page": (add_source(svc, "page", "sitemap", site.url("/page.xml")), "HTML page"),
        "empty": (add_source(svc, "empty", "sitemap", site.url("/empty.xml")), "empty"),
    }
    good = add_source(
        svc, "good", "sitemap", site.serve("/sitemap.xml", "good/sitemap_month.xml", "application/xml")
    )
    reports = {r.source: r for r in await poll_all(svc)}
    for name, (source_id, cause) in sources.items():
        assert reports[name].outcome == "error"
        assert_one_error(
            svc,
            source_id,
            site.url(f"/{name}.xml" if name != "bomb" else "/bomb.xml.gz"),
            "not a usable sitemap",
            cause,
        )
    assert reports["good"].outcome == "ok" and reports["good"].new == 3 and good


async def test_a_body_over_the_size_cap_is_an_error(engine, db_url, clock, site, server):
    server.route(
        "/big.xml", fixture_bytes("good/rss.xml", base=site.base) + b"<!--" + b"x" * 200_000 + b"-->"
    )
    settings = make_settings(db_url, max_body_bytes=100_000)
    async with open_services(settings, engine=engine, clock=clock, extract_workers=0) as svc:
        svc.fetcher = Fetcher(svc.fetcher.config, clock=clock, resolve=_no_dns)
        source_id = add_source(svc, "big", "feed", site.url("/big.xml"))
        report = await poll_source(svc, source_id)
        await svc.fetcher.aclose()
    assert report.outcome == "error"
    assert_one_error(svc, source_id, site.url("/big.xml"), "100000")


async def test_robots_denied_source(svc, site, server):
    server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.route("/private/rss.xml", fixture_bytes("good/rss.xml", base=site.base))
    source_id = add_source(svc, "private", "feed", site.url("/private/rss.xml"))
    report = await poll_source(svc, source_id)
    assert report.outcome == "error" and "robots.txt" in report.error
    assert server.hits("/private/rss.xml") == 0
    assert_one_error(svc, source_id, site.url("/private/rss.xml"), "disallowed")


async def test_unknown_kind_and_a_crashing_adapter_are_errors_of_their_source(svc, site, monkeypatch):
    async def explode(fetcher, source, *, stories):
        raise RuntimeError("parser bug")

    monkeypatch.setitem(scraper.sources._registered, "explode", explode)
    pigeon = add_source(svc, "pigeon", "carrier-pigeon", site.url("/coop"))
    crash = add_source(svc, "crash", "explode", site.url("/crash"))
    site.standard()
    good = add_source(svc, "good", "feed", site.serve("/rss.xml", "good/rss.xml"))
    reports = {r.source: r for r in await poll_all(svc)}
    assert_one_error(svc, pigeon, site.url("/coop"), "no adapter for source kind 'carrier-pigeon'")
    assert_one_error(svc, crash, site.url("/crash"), "unexpected RuntimeError: parser bug")
    assert reports["good"].outcome == "ok" and good


@pytest.mark.parametrize("template", ["http://127.0.0.1:1/search", "ftp://example.org/{query}"])
async def test_a_bad_search_template_is_an_error_naming_it(svc, template):
    source_id = add_source(svc, "search", "search", template)
    add_story(svc)
    report = await poll_source(svc, source_id)
    assert report.outcome == "error" and "search URL template" in report.error and template in report.error


async def test_nothing_is_stored_for_a_failed_poll(svc, site, server):
    server.route("/bad.xml", b"", content_type="application/rss+xml")
    await poll_source(svc, add_source(svc, "bad", "feed", site.url("/bad.xml")))
    with svc.session() as session:
        assert list(session.exec(select(Document))) == [] and list(session.exec(select(Version))) == []
