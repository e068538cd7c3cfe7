"""`storytrail stories add|list|show`, `poll` and `sources discover` as a user runs them:
a real process, a real local server, both database backends, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import assert_one_line_error, cli
from tests.test_poll import KREMLIN, POWER, QUERY, RESIDENCE, NewsSite, fixture_bytes


@pytest.fixture
def work(tmp_path: Path, db_url: str) -> tuple[Path, str]:
    return tmp_path, db_url


@pytest.fixture
def site(server) -> NewsSite:
    news = NewsSite(server)
    news.standard()
    news.serve("/rss.xml", "good/rss.xml")
    return news


def test_add_a_story_fetches_its_seed_and_shows_it(site, work):
    cwd, db = work
    added = cli(
        "stories",
        "add",
        "valdai",
        "--title",
        "Valdai claim",
        "--query",
        QUERY,
        "--seed",
        site.url(RESIDENCE),
        "--threshold",
        "0.2",
        "--link-depth",
        "0",
        "--db",
        db,
        cwd=cwd,
    ).stdout
    assert "added story 'valdai': 1 seeds, 1 fetched now" in added
    assert site.server.hits(RESIDENCE) == 1
    listed = json.loads(cli("stories", "list", "--db", db, "--json", cwd=cwd).stdout)
    assert [(s["slug"], s["title"], s["threshold"], s["link_depth"], s["documents"]) for s in listed] == [
        ("valdai", "Valdai claim", 0.2, 0, 1)
    ]
    shown = json.loads(cli("stories", "show", "valdai", "--db", db, "--json", cwd=cwd).stdout)
    (doc,) = shown["documents"]
    assert (doc["url"], doc["via"], doc["status"], doc["versions"]) == (
        site.url(RESIDENCE),
        "seed",
        "active",
        {"page": 1},
    )
    assert doc["title"] == "Russia says Ukraine fired 91 drones at Putin's Valdai residence"
    again = json.loads(
        cli("stories", "add", "valdai", "--query", "Putin", "--db", db, "--json", cwd=cwd).stdout
    )
    assert again["created"] is False and again["query"] == "Putin"


def test_poll_then_show_lists_matches_with_scores_reasons_and_versions(site, work):
    cwd, db = work
    cli("sources", "add", "world", site.url("/rss.xml"), "--db", db, cwd=cwd)
    cli("stories", "add", "valdai", "--query", QUERY, "--db", db, cwd=cwd)
    polled = cli("poll", "--db", db, cwd=cwd)
    table = polled.stdout
    for column in ("source", "entries", "new", "matched", "errors"):
        assert column in table
    assert "world" in table and "valdai <- " in table
    assert "world: 3 entries, 3 new, 2 matched, 2 fetched" in polled.stderr  # progress goes to stderr
    reports = json.loads(cli("poll", "world", "--db", db, "--json", cwd=cwd).stdout)
    assert [(r["source"], r["outcome"], r["entries"], r["new"], r["matched"]) for r in reports] == [
        ("world", "ok", 3, 0, 0)
    ]
    shown = json.loads(cli("stories", "show", "valdai", "--db", db, "--json", cwd=cwd).stdout)
    assert shown["counts"] == {"documents": 2, "duplicates": 0, "independent": 2}
    by_url = {d["url"]: d for d in shown["documents"]}
    assert set(by_url) == {site.url(RESIDENCE), site.url(KREMLIN)}
    residence = by_url[site.url(RESIDENCE)]
    assert residence["score"] == 1.0 and residence["reason"].startswith("title and summary: query matched:")
    assert (residence["via"], residence["source"], residence["depth"]) == ("source", "world", 0)
    assert residence["versions"] == {"feed": 1, "page": 1}
    text = cli("stories", "show", "valdai", "--db", db, cwd=cwd, env={"COLUMNS": "200"}).stdout
    assert "2 documents (2 independent, 0 duplicates)" in text and "source world" in text
    assert site.url(POWER) not in text


def test_poll_reports_a_broken_source_and_polls_the_others(site, work):
    cwd, db = work
    site.server.route(
        "/broken.xml", b"<!doctype html><html><body>not a feed</body></html>", content_type="text/html"
    )
    cli("sources", "add", "broken", site.url("/broken.xml"), "--db", db, cwd=cwd)
    cli("sources", "add", "world", site.url("/rss.xml"), "--db", db, cwd=cwd)
    proc = cli("poll", "--db", db, "--json", cwd=cwd, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    reports = {r["source"]: r for r in json.loads(proc.stdout)}
    assert reports["broken"]["outcome"] == "error" and site.url("/broken.xml") in reports["broken"]["error"]
    assert "HTML page" in reports["broken"]["error"]
    assert reports["world"]["outcome"] == "ok" and reports["world"]["new"] == 3
    text = cli("poll", "--db", db, cwd=cwd, check=False, env={"COLUMNS": "200"})
    assert text.returncode == 1 and f"broken: {site.url('/broken.xml')}: not a usable feed" in text.stdout


def test_errors_are_one_line(site, work):
    cwd, db = work
    assert_one_line_error(
        cli("stories", "add", "x", "--query", "Putin AND (", "--db", db, cwd=cwd, check=False),
        "--query",
        "invalid story query",
    )
    assert_one_line_error(
        cli("stories", "add", "x", "--seed", "ftp://a.example/x", "--db", db, cwd=cwd, check=False),
        "--seed",
        "ftp://a.example/x",
    )
    assert_one_line_error(
        cli("stories", "add", "Bad Slug", "--query", "Putin", "--db", db, cwd=cwd, check=False), "SLUG"
    )
    assert_one_line_error(cli("stories", "add", "x", "--db", db, cwd=cwd, check=False), "--query", "--seed")
    assert_one_line_error(
        cli("stories", "add", "x", "--query", "Putin", "--threshold", "2", "--db", db, cwd=cwd, check=False),
        "--threshold",
    )
    assert_one_line_error(cli("stories", "show", "nope", "--db", db, cwd=cwd, check=False), "'nope'")
    assert_one_line_error(cli("poll", "nope", "--db", db, cwd=cwd, check=False), "no source named 'nope'")
    assert_one_line_error(
        cli("sources", "discover", site.url("/missing"), "--db", db, cwd=cwd, check=False),
        site.url("/missing"),
        "HTTP 404",
    )


def test_a_story_from_the_config_file_is_changed_there(site, work):
    cwd, db = work
    (cwd / "storytrail.toml").write_text(
        f'[[story]]\nslug = "valdai"\nquery = "Putin"\nseeds = ["{site.url(RESIDENCE)}"]\n', encoding="utf-8"
    )
    assert_one_line_error(
        cli("stories", "add", "valdai", "--query", "x", "--db", db, cwd=cwd, check=False), "storytrail.toml"
    )
    listed = json.loads(cli("stories", "list", "--db", db, "--json", cwd=cwd).stdout)
    assert [s["slug"] for s in listed] == ["valdai"]
    cli("poll", "--db", db, cwd=cwd)  # a config story's seeds are fetched on its first poll
    shown = json.loads(cli("stories", "show", "valdai", "--db", db, "--json", cwd=cwd).stdout)
    assert [d["versions"] for d in shown["documents"]] == [{"page": 1}]


def test_sources_discover_and_add(site, work):
    cwd, db = work
    site.server.route("/", fixture_bytes("good/front.html", base=site.base))
    site.serve("/atom.xml", "good/atom.xml", "application/atom+xml")
    site.server.route("/robots.txt", f"Sitemap: {site.base}/sitemap.xml\n", content_type="text/plain")
    site.serve("/sitemap.xml", "good/sitemap_month.xml", "application/xml")
    found = json.loads(cli("sources", "discover", site.url("/"), "--db", db, "--json", cwd=cwd).stdout)
    assert sorted((o["kind"], o["url"]) for o in found["offers"]) == sorted(
        [
            ("page", site.url("/")),
            ("feed", site.url("/rss.xml")),
            ("feed", site.url("/atom.xml")),
            ("sitemap", site.url("/sitemap.xml")),
        ]
    )
    assert all(o["added_as"] is None for o in found["offers"])
    text = cli(
        "sources", "discover", site.url("/"), "--add", "--db", db, cwd=cwd, env={"COLUMNS": "200"}
    ).stdout
    assert "127-0-0-1-feed" in text and "127-0-0-1-sitemap" in text
    sources = json.loads(cli("sources", "list", "--db", db, "--json", cwd=cwd).stdout)
    assert sorted((s["kind"], s["url"]) for s in sources) == sorted(
        [
            ("feed", site.url("/rss.xml")),
            ("feed", site.url("/atom.xml")),
            ("sitemap", site.url("/sitemap.xml")),
        ]
    )
    again = json.loads(
        cli("sources", "discover", site.url("/"), "--add", "--db", db, "--json", cwd=cwd).stdout
    )
    assert all(o["added_as"] is None for o in again["offers"])  # already there: not added twice
    reports = json.loads(cli("poll", "--db", db, "--json", cwd=cwd).stdout)
    assert {r["outcome"] for r in reports} == {"ok"} and len(reports) == 3
