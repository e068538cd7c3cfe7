"""jsonl and csv exports of a real archive, read back with json and csv.DictReader."""

from __future__ import annotations

import csv
import json

from tests.fixtures.reading.story import A_TITLE_2, HOSTILE, ONLY_IN_V1, build_story, export_file


def _key(record: dict) -> tuple[str, int]:
    return record["document_url"].rsplit("/", 1)[-1], int(record["seq"])


async def test_jsonl_one_line_per_version_with_diff(server, services, engine, clock, tmp_path):
    arc = await build_story(server, services, clock)
    result = export_file(engine, "jsonl", tmp_path / "story.jsonl")
    lines = (tmp_path / "story.jsonl").read_text(encoding="utf-8").splitlines()
    records = {_key(r): r for r in map(json.loads, lines)}
    assert result.records == len(lines) == 7 and result.versions == 7 and result.documents == 2
    expected = [("residence-claim", n) for n in (1, 2, 3, 4)] + [("kremlin-stance", n) for n in (1, 2, 3)]
    assert sorted(records) == sorted(expected)
    a1, a2, a4 = (records[("residence-claim", n)] for n in (1, 2, 4))
    assert a1["story"] == "valdai" and a1["document_url"] == arc.url_a and ONLY_IN_V1 in a1["text"]
    assert a1["diff"]["first_version"] is True and a1["diff_base_seq"] is None
    assert a1["observed_at"] == "2025-12-29T19:00:00Z" and a1["raw_sha256"] and a1["content_hash"]
    assert ONLY_IN_V1 not in a2["text"] and a2["title"] == A_TITLE_2 and a2["diff_base_seq"] == 1
    removed = [b["old"] for b in a2["diff"]["blocks"] if b["op"] == "removed"]
    assert any(ONLY_IN_V1 in (text or "") for text in removed)
    title_change = {"field": "title", "old": "Russia says drones targeted Putin residence", "new": A_TITLE_2}
    assert title_change in a2["diff"]["fields"]
    assert a2["change_summary"]["summary"] == a2["diff"]["summary"]  # stored summary and fresh diff agree
    assert a4["kind"] == "revert" and a4["revert_of"] == 2 and a4["diff_base_seq"] == 3
    tomb, back = records[("kremlin-stance", 2)], records[("kremlin-stance", 3)]
    assert tomb["kind"] == "tombstone" and tomb["diff"] is None and tomb["http_status"] == 404
    # a restored version is compared with the last version before the tombstone
    assert back["diff_base_seq"] == 1 and back["diff"]["stats"]["sentences_added"] == 1
    assert all(h in records[("kremlin-stance", 1)]["text"] for h in HOSTILE)


async def test_csv_rows_rfc4180(server, services, engine, clock, tmp_path):
    await build_story(server, services, clock)
    path = tmp_path / "story.csv"
    result = export_file(engine, "csv", path)
    raw = path.read_bytes()
    assert raw.count(b"\r\n") >= 8 and b"\r\n" in raw.split(b"\n", 1)[0] + b"\n"  # CRLF record ends
    assert b'onerror=""alert(2)""' in raw  # quotes inside a field are doubled
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == result.records == 7
    assert list(rows[0])[:6] == ["story", "document_url", "outlet", "channel", "seq", "kind"]
    by_key = {_key(r): r for r in rows}
    a2 = by_key[("residence-claim", 2)]
    assert a2["title"] == A_TITLE_2 and "headline" in a2["summary"]
    assert "title" in a2["fields_changed"].split()
    assert json.loads(a2["change_summary"])["summary"] == a2["summary"]
    assert float(a2["significance"]) > 0 and int(a2["words_removed"]) > 0
    tombstone = by_key[("kremlin-stance", 2)]
    assert tombstone["kind"] == "tombstone" and tombstone["summary"] == "deleted"
    assert by_key[("residence-claim", 4)]["revert_of"] == "2"
    hostile = by_key[("kremlin-stance", 1)]["text"]
    assert all(h in hostile for h in HOSTILE) and "\n" in hostile  # multi-line text survives the round trip
