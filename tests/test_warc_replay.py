"""The WARC export replays in pywb (in-process WSGI, no network): every version's text comes back
at its time, the newest (a 304 re-check, a server-not-modified revisit) included, and a deleted
article replays as its 404."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from jobs.pipeline import check_url
from storage.models import Document, Version
from tests.fixtures.reading.story import A_TITLE_2, A_V2, SLUG, build_story, export_file, page
from tests.localserver import Reply, Request
from tests.test_export_archive import read_warc

pytest.importorskip("pywb")

NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


def stamp(when) -> str:
    return when.strftime("%Y%m%d%H%M%S")


def flat(text: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


async def test_every_version_replays_in_pywb(server, services, engine, clock, tmp_path):
    arc = await build_story(server, services, clock)
    body = page(A_TITLE_2, A_V2).encode()
    etag = '"a4"'

    def conditional(req: Request) -> Reply:
        if req.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(200, body, {"Content-Type": "text/html; charset=utf-8", "ETag": etag})

    server.route("/news/residence-claim", handler=conditional)
    clock.advance(minutes=30)
    await check_url(services, arc.url_a, story_slug=SLUG)  # same bytes, now with an ETag
    clock.advance(minutes=30)
    newest = clock()
    report = await check_url(services, arc.url_a, story_slug=SLUG)
    assert server.requests[-1].headers.get("if-none-match") == etag, report  # answered 304

    warc = tmp_path / "story.warc.gz"
    export_file(engine, "warc", warc)
    records = read_warc(warc)
    [not_modified] = [r for r in records if r["headers"].get("WARC-Profile") == NOT_MODIFIED]
    assert not_modified["headers"]["WARC-Date"] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not_modified["headers"]["WARC-Refers-To-Target-URI"] == arc.url_a
    assert not_modified["http"].get_header("X-Archive-Orig-Status") == "304 Not Modified"
    for r in records:
        if r["http"] is not None and r["type"] in ("response", "revisit"):
            assert r["http"].get_header("Date"), r["headers"]

    def replay_all(wanted: list[tuple[str, str]]) -> list[tuple[int, str]]:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("pywb_replay.py")), str(tmp_path), str(warc)],
            input=json.dumps(wanted), capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        replies = json.loads((tmp_path / "replies.json").read_text(encoding="utf-8"))
        return [(code, flat(text)) for code, text in replies]

    with Session(engine) as s:
        docs = {d.id: d.url for d in s.exec(select(Document))}
        versions = list(
            s.exec(select(Version).where(Version.channel == "page").order_by(col(Version.observed_at)))
        )
    assert len(versions) >= 7
    wanted = [(docs[v.document_id], stamp(v.observed_at)) for v in versions] + [(arc.url_a, stamp(newest))]
    replies = replay_all(wanted)
    for v, (code, text) in zip(versions, replies, strict=False):
        if v.kind == "tombstone":
            assert code == 404, (v.seq, v.document_id)
            continue
        assert code == 200, (v.seq, v.document_id, text[:200])
        for paragraph in v.text.split("\n"):
            assert " ".join(paragraph.split()) in text, (v.seq, paragraph)
    code, text = replies[-1]
    assert code == 200 and A_V2[-1] in text  # the newest capture: the 304, replayed as the page


def test_feed_and_api_captures_are_resource_records(monkeypatch):
    from datetime import UTC, datetime
    from io import BytesIO

    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    import storage.export.warc as warc
    from storage.models import Check

    headers = [["Content-Type", "application/rss+xml"]]
    check = Check(id=1, at=datetime(2025, 12, 30, tzinfo=UTC), outcome="new_version", channel="feed",
                  url="https://news.example/rss.xml", response_headers=headers)  # fmt: skip
    monkeypatch.setattr(warc, "_body", lambda session, c: (b"<rss/>", False))
    out = BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="1.1")
    record = warc.resource(writer, None, check)  # type: ignore[arg-type]
    assert record is not None
    writer.write_record(record)
    out.seek(0)
    got = [(r.rec_type, r.rec_headers.get_header("Content-Type"), r.content_stream().read())
           for r in ArchiveIterator(out, check_digests=True)]  # fmt: skip
    assert got == [("resource", "application/rss+xml", b"<rss/>")]
