"""Replaying successive captures of one feed through poll: serve capture k, poll, serve k+1, ...

Every new item must become a document at the capture that first lists it, every edited entry a
new feed version at the capture that edits it, and nothing else: no document or version from a
re-listed, re-ordered or merely re-formatted entry, and a failed capture that loses nothing.

The real feed is feed-versions-cacm/ of the shared corpus (50 hourly captures; its ground truth
item_edits_in_window.json lists no edits); our own captures (tests/fixtures/discovery/replay/,
with their expected.json) add edits, re-formatting that is not an edit, and an entry that leaves
and comes back.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from jobs.polling import poll_source
from scraper.core.urls import canonicalize
from storage.models import Document, Version
from tests.test_poll import add_source, local_only, source_checks

OWN = Path(__file__).parent / "fixtures" / "discovery" / "replay"


@pytest.fixture
async def svc(services):
    async with local_only(services) as local:
        yield local


def state(svc) -> tuple[set[str], dict[str, int]]:
    """Every document URL, and the number of feed versions of each."""
    with svc.session() as session:
        urls = set(session.exec(select(Document.url)))
        rows = session.exec(
            select(Document.url, func.count(col(Version.id)))
            .join(Version, col(Version.document_id) == Document.id)
            .where(Version.channel == "feed")
            .group_by(col(Document.url))
        )
        return urls, dict(rows.all())


async def replay(svc, server, captures: list[tuple[str, bytes]], path: str):
    """Poll each capture in turn; per capture: (outcome, new URLs, URLs with a new feed version, report)."""
    source_id = add_source(svc, "replayed", "feed", server.url(path))
    seen: list[tuple[str, set[str], set[str], object]] = []
    for name, body in captures:
        before_urls, before_versions = state(svc)
        server.route(path, body, content_type="application/rss+xml")
        svc.clock.advance(hours=1)
        report = await poll_source(svc, source_id)
        urls, versions = state(svc)
        edited = {
            url for url, n in versions.items() if n > before_versions.get(url, 0) and url in before_versions
        }
        seen.append((report.outcome, urls - before_urls, edited, report))
        assert name
    return source_id, seen


def cacm(corpus: Path) -> tuple[Path, list[dict[str, str]]]:
    root = corpus / "feed-versions-cacm"
    if not (root / "index.csv").is_file():
        pytest.skip(f"{root} is not in this corpus")
    with (root / "index.csv").open(newline="") as handle:
        return root, list(csv.DictReader(handle))


def item_links(body: bytes) -> set[str]:
    """Item links read with the standard library, independently of feedparser."""
    if not body.strip():
        return set()
    return {canonicalize(item.findtext("link") or "") for item in ET.fromstring(body).iter("item")}


async def test_cacm_captures_replayed_through_poll(svc, server, corpus):
    root, index = cacm(corpus)
    captures = [
        (row["file"].split("/")[-1], (root / row["file"].split("/")[-1]).read_bytes()) for row in index
    ]
    assert len(captures) == 50
    source_id, seen = await replay(svc, server, captures, "/rss/news")

    expected_edits = json.loads((root / "item_edits_in_window.json").read_text())
    first_listed: dict[str, int] = {}
    for k, (_, body) in enumerate(captures):
        for link in item_links(body):
            first_listed.setdefault(link, k)
    assert len(first_listed) == 10
    for k, (_outcome, new, edited, _report) in enumerate(seen):
        assert new == {url for url, first in first_listed.items() if first == k}, k  # new items, exactly once
        assert edited == {e["url"] for e in expected_edits if e.get("capture") == k}, k  # ground truth: none
    broken = [k for k, row in enumerate(index) if row["parses_as_xml"] == "False"]
    assert [k for k, (outcome, *_) in enumerate(seen) if outcome == "error"] == broken
    checks = source_checks(svc, source_id)
    assert len(checks) == 50 and [c.outcome for c in checks].count("error") == 1
    error = checks[broken[0]].error
    assert error.startswith(server.url("/rss/news")) and "the response body is empty" in error
    urls, versions = state(svc)
    assert urls == set(first_listed) and versions == dict.fromkeys(
        first_listed, 1
    )  # nothing lost, nothing extra
    with svc.session() as session:
        assert {d.status for d in session.exec(select(Document))} == {"seen"}  # no story: none fetched


async def test_own_captures_replayed_through_poll(svc, server):
    expected = json.loads((OWN / "expected.json").read_text())
    names = sorted(name for name in expected if not name.startswith("_"))
    captures = [(name, (OWN / name).read_bytes()) for name in names]
    source_id, seen = await replay(svc, server, captures, "/replay.xml")
    for name, (outcome, new, edited, report) in zip(names, seen, strict=True):
        if expected[name].get("error"):
            assert outcome == "error", name
            assert (new, edited) == (set(), set())
            continue
        assert outcome == "ok"
        assert new == set(expected[name]["new"]), name
        assert edited == set(expected[name]["edited"]), name
        assert report.edited == len(expected[name]["edited"]), name
    assert [c.outcome for c in source_checks(svc, source_id)].count("error") == 1
