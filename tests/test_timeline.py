"""The story timeline: events from a real archive (local server -> pipeline), in order, and as of a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from storage import catalog
from storage.models import Document, StoryDocument
from storage.timeline import EventKind, InvalidWindowError, VersionRow, build_events, outlet, timeline
from tests.fixtures.reading.story import A_TITLE_1, A_TITLE_2, B_TITLE, build_story


def story_id(engine, slug: str = "valdai") -> int:
    with Session(engine) as s:
        return catalog.get_story(s, slug=slug).id


def kinds(tl) -> list[tuple[str, str, int | None]]:
    return [(e.kind.value, e.url.rsplit("/", 1)[-1], e.seq) for e in tl.events]


async def test_events_in_time_order(server, services, engine, clock):
    arc = await build_story(server, services, clock)
    with Session(engine) as s:
        tl = timeline(s, story_id(engine))
    assert kinds(tl) == [
        ("discovered", "residence-claim", None),
        ("captured", "residence-claim", 1),
        ("discovered", "kremlin-stance", None),
        ("captured", "kremlin-stance", 1),
        ("headline", "residence-claim", 2),
        ("changed", "residence-claim", 3),
        ("deleted", "kremlin-stance", 2),
        ("reverted", "residence-claim", 4),
        ("restored", "kremlin-stance", 3),
    ]
    times = [e.at for e in tl.events]
    assert times == sorted(times)
    by_key = {(e.url, e.seq): e for e in tl.events}
    headline = by_key[(arc.url_a, 2)]
    assert headline.headline_changed and headline.previous_title == A_TITLE_1 and headline.title == A_TITLE_2
    assert headline.at == arc.times["a2"] and headline.summary  # the stored change summary
    assert by_key[(arc.url_a, 3)].headline_changed is False
    revert = by_key[(arc.url_a, 4)]
    assert revert.revert_of == 2 and "revert" in revert.summary
    assert by_key[(arc.url_b, 2)].at == arc.times["b2"] and by_key[(arc.url_b, 2)].summary == "deleted"
    assert "restored" in by_key[(arc.url_b, 3)].summary
    found = by_key[(arc.url_a, None)]
    assert found.details["via"] == "manual" and found.outlet == "127.0.0.1" and found.channel is None
    assert found.title == A_TITLE_1  # the first title the document had
    assert [(d.url, d.deleted, d.latest) for d in tl.documents] == [
        (arc.url_a, False, {"page": 4}),
        (arc.url_b, False, {"page": 3}),
    ]


async def test_as_of_a_time(server, services, engine, clock):
    arc = await build_story(server, services, clock)
    sid = story_id(engine)
    with Session(engine) as s:
        before_b = timeline(s, sid, at=arc.times["a1"] + timedelta(minutes=5))
        mid = timeline(s, sid, at=arc.times["a3"] + timedelta(minutes=10))
        gone = timeline(s, sid, at=arc.times["b2"])
    assert kinds(before_b) == [("discovered", "residence-claim", None), ("captured", "residence-claim", 1)]
    assert [d.url for d in before_b.documents] == [arc.url_a]
    assert before_b.documents[0].title == A_TITLE_1 and before_b.documents[0].latest == {"page": 1}
    assert [e.seq for e in mid.events if e.url == arc.url_a] == [None, 1, 2, 3]
    a_mid, b_mid = mid.documents
    assert (a_mid.title, a_mid.latest, b_mid.deleted) == (A_TITLE_2, {"page": 3}, False)
    assert all(e.at <= mid.at for e in mid.events)
    b_gone = gone.documents[1]
    assert b_gone.deleted and b_gone.title == B_TITLE and b_gone.latest == {"page": 2}
    assert gone.events[-1].kind == EventKind.DELETED  # an event exactly at ``at`` is included


async def test_since_until_window(server, services, engine, clock):
    arc = await build_story(server, services, clock)
    sid = story_id(engine)
    with Session(engine) as s:
        window = timeline(s, sid, since=arc.times["a2"], until=arc.times["b2"])
        with pytest.raises(InvalidWindowError, match="later than"):
            timeline(s, sid, since=arc.times["b2"], until=arc.times["a2"])
    assert [e.kind.value for e in window.events] == ["headline", "changed", "deleted"]
    assert len(window.documents) == 2  # the documents are the whole story's, the events the window's


def test_outlet():
    assert outlet("https://www.cnbc.com/2025/12/29/x.html") == "cnbc.com"
    assert outlet("https://t.me/s/channel/12") == "t.me"
    assert outlet("http://127.0.0.1:8080/a") == "127.0.0.1"


_T0 = datetime(2025, 12, 29, 19, tzinfo=UTC)
_kinds = st.sampled_from(["normal", "normal", "revert", "tombstone", "reextracted"])
_version = st.tuples(st.integers(0, 2), st.sampled_from(["page", "feed"]), _kinds, st.integers(0, 600),
                     st.sampled_from(["A", "B", None]))  # fmt: skip


@given(st.lists(_version, max_size=25))
def test_one_event_per_version_sorted_by_time(raw):
    links = [(StoryDocument(story_id=1, document_id=i, discovered_at=_T0), Document(id=i, url=f"https://x.test/{i}"))
             for i in range(3)]  # fmt: skip
    rows, seqs = [], {}
    for doc, channel, kind, minutes, title in sorted(raw, key=lambda r: (r[0], r[1])):
        seqs[(doc, channel)] = seqs.get((doc, channel), 0) + 1
        rows.append(VersionRow(doc, channel, seqs[(doc, channel)], kind, None,
                               _T0 + timedelta(minutes=minutes), title, {"summary": "s"}))  # fmt: skip
    events = build_events(links, rows)
    assert len(events) == len(rows) + len(links)
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert sum(e.kind == EventKind.DELETED for e in events) == sum(r.kind == "tombstone" for r in rows)
    firsts = {(r.document_id, r.channel) for r in rows}
    assert sum(e.kind == EventKind.CAPTURED for e in events) <= len(firsts)


async def test_timeline_command(server, services, engine, clock, db_url, tmp_path):
    import json

    from jobs.cli.common import CLIError
    from storage.documents import NotFoundError
    from tests.fixtures.reading.story import invoke, run_cli

    arc = await build_story(server, services, clock)
    full = run_cli(db_url, "timeline", "valdai", "--json", cwd=tmp_path)  # the real entry point, once
    assert full.returncode == 0, full.stderr
    data = json.loads(full.stdout)
    assert [e["kind"] for e in data["events"]][-3:] == ["deleted", "reverted", "restored"]
    assert data["story"]["slug"] == "valdai" and len(data["documents"]) == 2
    at = (arc.times["a2"] + timedelta(minutes=1)).isoformat()
    then = invoke(db_url, "timeline", "valdai", "--at", at, "--json")
    assert then.exit_code == 0, then.output
    assert [e["kind"] for e in json.loads(then.stdout)["events"]] == [
        "new_coverage", "first_version", "new_coverage", "first_version", "change", "headline",
    ]  # fmt: skip
    assert json.loads(then.stdout)["at"] == "2025-12-29T21:01:00Z"
    table = invoke(db_url, "timeline", "valdai")
    assert table.exit_code == 0 and "10 events" in table.stdout
    assert all(kind in table.stdout for kind in ("headline", "reverted", "restored", "deleted"))
    paged = invoke(db_url, "timeline", "valdai", "--newest-first", "--limit", "3", "--json")
    first = json.loads(paged.stdout)
    assert [e["kind"] for e in first["events"]] == ["restored", "reverted", "deleted"]
    rest = invoke(db_url, "timeline", "valdai", "--newest-first", "--cursor", first["next_cursor"], "--json")
    assert len(json.loads(rest.stdout)["events"]) == 7
    kinds = invoke(db_url, "timeline", "valdai", "--kind", "deleted,restored", "--kind", "headline", "--json")
    assert [e["kind"] for e in json.loads(kinds.stdout)["events"]] == ["headline", "deleted", "restored"]
    bad_kind = invoke(db_url, "timeline", "valdai", "--kind", "exploded")
    assert isinstance(bad_kind.exception, CLIError) and bad_kind.exception.code == 2
    assert "unknown event kind 'exploded'" in str(bad_kind.exception)
    bad_cursor = invoke(db_url, "timeline", "valdai", "--cursor", "nope")
    assert isinstance(bad_cursor.exception, CLIError) and bad_cursor.exception.code == 2
    bad_time = invoke(db_url, "timeline", "valdai", "--at", "yesterday")
    assert isinstance(bad_time.exception, CLIError) and bad_time.exception.code == 2
    assert "--at 'yesterday' is not an ISO 8601 time" in str(bad_time.exception)
    unknown = invoke(db_url, "timeline", "nope")
    assert isinstance(unknown.exception, NotFoundError)
    assert "no story with slug 'nope'" in str(unknown.exception)
