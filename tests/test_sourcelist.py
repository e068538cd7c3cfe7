"""`sources import` (OPML, plain URL lists with the kind detected) and `sources export --format opml`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scraper.core import sourcelist as core
from tests.test_cli import assert_one_line_error, cli

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>World</title></channel></rss>'
SITEMAP = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'
HTML = b"<!doctype html><html><head><title>World news</title></head><body>news</body></html>"


def test_kind_from_the_url():
    assert core.kind_from_url("https://news.example/world/rss.xml") == "feed"
    assert core.kind_from_url("https://news.example/feed/") == "feed"
    assert core.kind_from_url("https://news.example/atom.xml") == "feed"
    assert core.kind_from_url("https://news.example/sitemap-news.xml") == "sitemap"
    assert core.kind_from_url("https://news.example/world/") is None
    assert core.kind_from_url("https://news.example/feedback") is None


def test_sniff_the_response():
    assert core.sniff_kind("text/xml", RSS) == "feed"
    assert core.sniff_kind("application/atom+xml", b"") == "feed"
    assert core.sniff_kind("application/xml", SITEMAP) == "sitemap"
    assert core.sniff_kind("text/html; charset=utf-8", HTML) == "page"
    assert core.sniff_kind("application/pdf", b"%PDF-1.4") is None


def test_url_list_lines():
    text = "# my feeds\nhttps://a.example/rss.xml\nhttps://b.example/ page  # a section\nftp://c.example/\n"
    text += "https://d.example/ podcast\n\n"
    entries, refused = core.parse_url_list(text)
    assert [(e.url, e.kind, e.line) for e in entries] == [
        ("https://a.example/rss.xml", None, 2),
        ("https://b.example/", "page", 3),
    ]
    assert [(r.what, r.line) for r in refused] == [("ftp://c.example/", 4), ("https://d.example/", 5)]
    assert "unknown kind 'podcast'" in refused[1].reason


def test_names_are_unique():
    assert core.source_name("CNBC World", "https://cnbc.example/", []) == "cnbc-world"
    assert core.source_name("CNBC World", "https://cnbc.example/", ["cnbc-world"]) == "cnbc-world-2"
    assert core.source_name(None, "https://www.news.example/world/", []) == "news-example-world"


def test_opml_round_trip():
    text = core.to_opml(
        [
            core.Exported("cnbc <world>", "feed", "https://cnbc.example/rss?a=1&b=2"),
            core.Exported("news-sitemap", "sitemap", "https://news.example/sitemap.xml"),
        ]
    )
    entries, refused = core.parse_opml(text.encode())
    assert [(e.url, e.kind, e.title) for e in entries] == [
        ("https://cnbc.example/rss?a=1&b=2", "feed", "cnbc <world>"),
        ("https://news.example/sitemap.xml", "sitemap", "news-sitemap"),
    ]
    assert refused == []


def test_unreadable_opml_is_refused_as_a_whole():
    entries, refused = core.parse_opml(b"<opml><body><outline")
    assert entries == [] and "no feeds in this OPML file" in refused[0].reason


@pytest.fixture
def site(server):
    server.route("/world/rss.xml", RSS, content_type="application/rss+xml")
    server.route("/latest", RSS, content_type="text/xml")
    server.route("/index-of-news", SITEMAP, content_type="application/xml")
    server.route("/world/", HTML)
    server.route("/report.pdf", b"%PDF-1.4", content_type="application/pdf")
    server.route("/robots.txt", b"", status=404)
    return server


def test_import_a_url_list_then_export_and_import_the_opml(site, tmp_path: Path, db_url: str):
    listing = tmp_path / "urls.txt"
    lines = ["/world/rss.xml", "/latest", "/index-of-news", "/world/", "/report.pdf", "/gone", "/world/ page"]
    listing.write_text("\n".join(site.base + p for p in lines))
    report = json.loads(cli("sources", "import", str(listing), "--db", db_url, "--json", cwd=tmp_path).stdout)
    kinds = {a["url"].removeprefix(site.base): a["kind"] for a in report["added"]}
    expected = {"/world/rss.xml": "feed", "/latest": "feed", "/index-of-news": "sitemap", "/world/": "page"}
    assert kinds == expected
    assert site.hits("/world/rss.xml") == 0  # the URL said what it is: not fetched
    reasons = {r["url"].removeprefix(site.base): r["reason"] for r in report["refused"]}
    assert "neither a feed, a sitemap nor a page (application/pdf)" in reasons["/report.pdf"]
    assert "HTTP 404" in reasons["/gone"]
    again = cli("sources", "import", str(listing), "--db", db_url, cwd=tmp_path).stdout
    assert "0 added, 7 refused" in again and "already a source" in again

    opml = tmp_path / "sources.opml"
    cli("sources", "export", "--format", "opml", "--output", str(opml), "--db", db_url, cwd=tmp_path)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    imported = json.loads(cli("sources", "import", str(opml), "--db", other, "--json", cwd=tmp_path).stdout)
    assert sorted((a["url"], a["kind"]) for a in imported["added"]) == sorted(
        (site.base + u, k) for u, k in kinds.items()
    )
    listed = json.loads(cli("sources", "list", "--db", other, "--json", cwd=tmp_path).stdout)
    assert len(listed) == 4


def test_import_errors_are_one_line(tmp_path: Path, db_url: str):
    proc = cli("sources", "import", str(tmp_path / "missing.opml"), "--db", db_url, cwd=tmp_path, check=False)
    assert_one_line_error(proc, "no such file")
    assert proc.returncode == 2
    proc = cli("sources", "export", "--format", "csv", "--db", db_url, cwd=tmp_path, check=False)
    assert_one_line_error(proc, "only opml")
