"""warc and wacz exports of a real archive: read back by warcio (digests checked), indexed by
cdxj-indexer (what pywb and ReplayWeb.page use), the WACZ's datapackage digests verified."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session, select
from warcio.archiveiterator import ArchiveIterator

from jobs.polling import poll_source
from storage import catalog
from storage.export import OutputNotWritableError, UnknownFormatError, export_story
from storage.models import Check
from tests.fixtures.reading.story import B_TITLE, build_story, export_file
from tests.test_poll import RESIDENCE, NewsSite, add_source, add_story, fixture_bytes, local_only

REVISIT_1_1 = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


def read_warc(path: Path) -> list[dict]:
    records = []
    with path.open("rb") as f:
        for record in ArchiveIterator(f, check_digests=True):
            payload = record.content_stream().read()
            assert record.digest_checker.passed is not False, record.digest_checker.problems
            records.append({"type": record.rec_type, "headers": dict(record.rec_headers.headers),
                            "status": record.http_headers.get_statuscode() if record.http_headers else None,
                            "http": record.http_headers, "payload": payload})  # fmt: skip
    return records


def sha256_b32(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


async def test_warc_records(server, services, engine, clock, tmp_path):
    arc = await build_story(server, services, clock)
    path = tmp_path / "story.warc.gz"
    result = export_file(engine, "warc", path)
    with path.open("rb") as f:
        assert f.read(2) == b"\x1f\x8b"  # gzip per record
    records = read_warc(path)
    assert result.records == len(records) == 19  # warcinfo + 9 captures x (response or revisit, request)
    assert records[0]["type"] == "warcinfo" and b"isPartOf: valdai" in records[0]["payload"]
    assert records[0]["headers"]["WARC-Filename"] == "story.warc.gz"
    types = [r["type"] for r in records[1:]]
    assert types.count("request") == 9 and types.count("revisit") == 2 and types.count("response") == 7
    responses = {r["headers"]["WARC-Record-ID"]: r for r in records if r["type"] == "response"}
    with Session(engine) as s:
        checks = list(s.exec(select(Check).where(Check.channel == "page").order_by(Check.at, Check.id)))
    first = records[1]
    assert first["headers"]["WARC-Target-URI"] == arc.url_a
    assert first["headers"]["WARC-Date"] == "2025-12-29T19:00:00Z"
    assert first["headers"]["WARC-Payload-Digest"] == sha256_b32(first["payload"])
    assert hashlib.sha256(first["payload"]).hexdigest() == checks[0].raw_sha256  # the stored raw body
    assert b"Moscow described it as a deliberate attack" in first["payload"]
    assert first["http"].get_header("Content-Length") == str(len(first["payload"]))
    for revisit in (r for r in records if r["type"] == "revisit"):
        h = revisit["headers"]
        original = responses[h["WARC-Refers-To"]]
        assert h["WARC-Profile"] == REVISIT_1_1
        assert h["WARC-Payload-Digest"] == original["headers"]["WARC-Payload-Digest"]
        assert h["WARC-Refers-To-Target-URI"] == original["headers"]["WARC-Target-URI"]
        assert h["WARC-Refers-To-Date"] == original["headers"]["WARC-Date"] < h["WARC-Date"]
        assert revisit["payload"] == b"" and revisit["status"] == "200"
    requests = [r for r in records if r["type"] == "request"]
    captured = {r["headers"]["WARC-Record-ID"] for r in records if r["type"] in ("response", "revisit")}
    assert all(r["headers"]["WARC-Concurrent-To"] in captured for r in requests)
    assert requests[0]["http"].protocol == "GET" and requests[0]["http"].get_header("Host")
    gone = [r for r in records if r["type"] == "response" and r["status"] == "404"]
    assert len(gone) == 2 and all(r["headers"].get("WARC-Truncated") == "unspecified" for r in gone)
    index = cdxj(path)
    urls = [(json.loads(line.split(" ", 2)[2]).get("url"), line.split(" ", 2)[1]) for line in index]
    assert (arc.url_b, "20251229193000") in urls and len([u for u in urls if u[0]]) >= 9
    assert sum('"mime": "warc/revisit"' in line for line in index) == 2


async def test_uncompressed_warc(server, services, engine, clock, tmp_path):
    await build_story(server, services, clock)
    path = tmp_path / "story.warc"
    export_file(engine, "warc", path)
    assert path.read_bytes().startswith(b"WARC/1.1\r\n")
    assert [r["type"] for r in read_warc(path)][:3] == ["warcinfo", "response", "request"]


async def test_wacz_package(server, services, engine, clock, tmp_path):
    arc = await build_story(server, services, clock)
    path = tmp_path / "story.wacz"
    export_file(engine, "wacz", path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert {"datapackage.json", "datapackage-digest.json", "pages/pages.jsonl", "archive/valdai.warc.gz",
                "indexes/index.cdx.gz", "indexes/index.idx"} <= names  # fmt: skip
        package = json.loads(z.read("datapackage.json"))
        for resource in package["resources"]:
            assert resource["hash"] == "sha256:" + hashlib.sha256(z.read(resource["path"])).hexdigest()
            assert resource["bytes"] == len(z.read(resource["path"]))
        digest = json.loads(z.read("datapackage-digest.json"))
        assert digest["hash"] == "sha256:" + hashlib.sha256(z.read("datapackage.json")).hexdigest()
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").decode().splitlines()]
        index = gzip.decompress(z.read("indexes/index.cdx.gz")).decode()
        warc = z.read("archive/valdai.warc.gz")
    assert package["wacz_version"] == "1.1.1" and package["title"].startswith("Alleged drone attack")
    assert pages[0]["format"] == "json-pages-1.0"
    assert [(p["url"], p["title"]) for p in pages[1:]] == [
        (arc.url_a, "Russia claims 91-drone attack; Kyiv calls it a fabrication"),
        (arc.url_b, B_TITLE),
    ]
    assert pages[1]["ts"] == "2025-12-29T19:00:00Z"
    assert "residence-claim" in index and "kremlin-stance" in index
    (tmp_path / "inner.warc.gz").write_bytes(warc)
    assert len([r for r in read_warc(tmp_path / "inner.warc.gz") if r["type"] == "revisit"]) == 2
    from wacz.validate import Validation

    check = Validation(str(path))
    assert check.version == "1.1.1"
    assert check.check_required_contents() == 0 and check.check_file_hashes() is not False
    assert check.check_file_paths() is not False and check.check_data_package_hash_and_sig() is not False


def test_export_errors(engine, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnknownFormatError, match="choose one of jsonl, csv"):
        export_empty_story(engine, "pdf", out / "x.pdf")
    with pytest.raises(OutputNotWritableError, match="does not exist"):
        export_empty_story(engine, "jsonl", out / "missing" / "x.jsonl")
    with pytest.raises(OutputNotWritableError, match="is a folder"):
        export_empty_story(engine, "jsonl", out)
    assert list(out.iterdir()) == []  # nothing half-written
    result = export_empty_story(engine, "atom", out / "empty.atom")
    assert result.records == 0 and list(out.iterdir()) == [out / "empty.atom"]


def export_empty_story(engine, fmt, path):
    from storage import catalog
    from storage.export import export_story

    with Session(engine) as s:
        story, _ = catalog.upsert_story(s, slug="empty", now=_now(), title="Empty")
        s.commit()
        return export_story(s, story, fmt, path)


def _now():
    from datetime import UTC, datetime

    return datetime(2025, 12, 29, tzinfo=UTC)


def cdxj(path: Path) -> list[str]:
    indexer = Path(sys.executable).parent / "cdxj-indexer"
    command = [str(indexer), "--sort", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, done.stderr
    return lines


@pytest.fixture
async def svc(services):
    async with local_only(services) as local:
        yield local


async def test_a_polled_feed_is_a_resource_record_of_its_bytes(svc, server, engine, tmp_path):
    """The real path: a feed polled from a local server brings a story its article; the WARC holds
    the feed's bytes as a resource record (the exact bytes served, with their Content-Type) beside
    the article's response record."""
    site = NewsSite(server)
    site.standard()
    feed = site.serve("/rss.xml", "good/rss.xml")
    add_story(svc)
    source_id = add_source(svc, "world", "feed", feed)
    await poll_source(svc, source_id)
    await poll_source(svc, source_id)  # the same feed again: nothing new, no second copy kept
    path = tmp_path / "story.warc.gz"
    with Session(engine) as s:
        export_story(s, catalog.get_story(s, slug="valdai"), "warc", path)
    records = read_warc(path)
    [resource] = [r for r in records if r["type"] == "resource" and r["headers"]["WARC-Target-URI"] == feed]
    assert resource["headers"]["Content-Type"].startswith("application/rss+xml")
    assert resource["payload"] == fixture_bytes("good/rss.xml", base=site.base)
    with Session(engine) as s:
        kept = [c.raw_sha256 is not None for c in s.exec(select(Check).where(Check.source_id == source_id))]
    assert kept == [True, False]
    responses = {r["headers"]["WARC-Target-URI"] for r in records if r["type"] == "response"}
    assert site.url(RESIDENCE) in responses
