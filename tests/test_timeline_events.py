"""The paged timeline read from the event table (storage.timeline.story_events): membership kept by
triggers, keyset paging both ways, filters in SQL, and document states as of a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from storage.models import Document, Event, Story, StoryDocument, StoryEvent, Version
from storage.reading import InvalidCursorError
from storage.timeline import (
    EventFilter,
    InvalidWindowError,
    UnknownKindError,
    story_document_states,
    story_events,
    timeline_page,
)

T0 = datetime(2025, 12, 29, 19, 0, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _doc(s: Session, url: str) -> int:
    doc = Document(url=url, first_seen=T0)
    s.add(doc)
    s.flush()
    assert doc.id is not None
    return doc.id


def _story(s: Session, slug: str) -> int:
    story = Story(slug=slug, title=slug.title())
    s.add(story)
    s.flush()
    assert story.id is not None
    return story.id


def _link(s: Session, story_id: int, doc_id: int, minutes: float) -> None:
    s.add(StoryDocument(story_id=story_id, document_id=doc_id, discovered_at=_at(minutes), via="seed"))
    s.flush()


def _version(s: Session, doc_id: int, seq: int, minutes: float, title: str, kind: str = "normal") -> int:
    at = _at(minutes)
    v = Version(document_id=doc_id, seq=seq, kind=kind, observed_at=at, last_confirmed_at=at,
                content_hash=f"{doc_id}-{seq}", title=title, text=f"text {seq}")  # fmt: skip
    s.add(v)
    s.flush()
    assert v.id is not None
    return v.id


def _event(s: Session, kind: str, minutes: float, doc_id: int, **fields: object) -> int:
    e = Event(at=_at(minutes), kind=kind, document_id=doc_id, summary=f"{kind} at {minutes}", **fields)
    s.add(e)
    s.flush()
    assert e.id is not None
    return e.id


@pytest.fixture
def archive(engine):
    """Story 'valdai': A (found at 0) and B (found at 30); A is also in story 'other'; C is in no
    story until a test links it."""
    with Session(engine) as s:
        valdai, other = _story(s, "valdai"), _story(s, "other")
        a, b, c = (_doc(s, f"https://www.news.example/{n}") for n in "abc")
        _link(s, valdai, a, 0)
        _link(s, other, a, 5)
        _event(s, "new_coverage", 0, a, story_id=valdai)
        _event(s, "new_coverage", 5, a, story_id=other)
        v1 = _version(s, a, 1, 1, "Drones")
        _event(s, "first_version", 1, a, channel="page", seq=1, version_id=v1)
        v2 = _version(s, a, 2, 60, "Drones: Kyiv denies")
        _event(s, "headline", 60, a, channel="page", seq=2, prev_seq=1, version_id=v2, significance=0.8,
               data={"old_title": "Drones"})  # fmt: skip
        _link(s, valdai, b, 30)
        _event(s, "new_coverage", 30, b, story_id=valdai)
        w1 = _version(s, b, 1, 31, "Kremlin")
        _event(s, "first_version", 31, b, channel="page", seq=1, version_id=w1)
        w2 = _version(s, b, 2, 90, "Kremlin", kind="tombstone")
        _event(s, "deleted", 90, b, channel="page", seq=2, prev_seq=1, version_id=w2, significance=1.0)
        w3 = _version(s, b, 3, 100, "Kremlin")
        _event(s, "restored", 100, b, channel="page", seq=3, prev_seq=2, version_id=w3, significance=0.3)
        x1 = _version(s, c, 1, 50, "Elsewhere")
        _event(s, "first_version", 50, c, channel="page", seq=1, version_id=x1)
        s.commit()
    return {"engine": engine, "valdai": valdai, "other": other, "a": a, "b": b, "c": c}


def _kinds(page) -> list[tuple[str, int]]:
    return [(e.kind, int((e.at - T0).total_seconds() // 60)) for e in page.items]


def test_a_story_has_its_own_coverage_and_its_documents_events(archive):
    with Session(archive["engine"]) as s:
        page = story_events(s, archive["valdai"])
        other = story_events(s, archive["other"])
    assert _kinds(page) == [("new_coverage", 0), ("first_version", 1), ("new_coverage", 30),
                            ("first_version", 31), ("headline", 60), ("deleted", 90),
                            ("restored", 100)]  # fmt: skip
    assert _kinds(other) == [("first_version", 1), ("new_coverage", 5), ("headline", 60)]
    headline = page.items[4]
    assert headline.title == "Drones: Kyiv denies" and headline.previous_title == "Drones"
    assert headline.outlet == "news.example" and headline.to_json()["headline_changed"] is True
    assert page.next_cursor is None


def test_linking_later_brings_the_documents_earlier_events_and_unlinking_takes_them(archive):
    with Session(archive["engine"]) as s:
        _link(s, archive["valdai"], archive["c"], 120)
        s.commit()
        assert ("first_version", 50) in _kinds(story_events(s, archive["valdai"]))
        link = s.exec(select(StoryDocument).where(StoryDocument.document_id == archive["c"])).one()
        s.delete(link)
        s.commit()
        assert ("first_version", 50) not in _kinds(story_events(s, archive["valdai"]))
        s.delete(s.get(Story, archive["other"]))
        s.commit()
        assert not s.exec(select(StoryEvent).where(StoryEvent.story_id == archive["other"])).all()


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_keyset_pages_walk_the_whole_timeline_once(archive, order):
    with Session(archive["engine"]) as s:
        whole = story_events(s, archive["valdai"], filter=EventFilter(order=order)).items
        seen, cursor = [], None
        for _ in range(10):
            page = story_events(s, archive["valdai"], filter=EventFilter(order=order), limit=2, cursor=cursor)
            seen += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        # an event written meanwhile at an earlier time never shifts a later page
    assert [e.id for e in seen] == [e.id for e in whole]
    assert [e.at for e in whole] == sorted((e.at for e in whole), reverse=order == "desc")


def test_filters_run_in_sql(archive):
    with Session(archive["engine"]) as s:
        sid = archive["valdai"]
        kinds = story_events(s, sid, filter=EventFilter(kinds=("headline", "deleted")))
        window = story_events(s, sid, filter=EventFilter(since=_at(30), until=_at(90)))
        as_of = story_events(s, sid, filter=EventFilter(at=_at(60), order="desc"))
        significant = story_events(s, sid, filter=EventFilter(min_significance=0.5))
    assert _kinds(kinds) == [("headline", 60), ("deleted", 90)]
    assert _kinds(window) == [("new_coverage", 30), ("first_version", 31), ("headline", 60), ("deleted", 90)]
    assert _kinds(as_of)[0] == ("headline", 60)
    assert _kinds(significant) == [("headline", 60), ("deleted", 90)]


def test_bad_requests_say_what_is_wrong(archive):
    with Session(archive["engine"]) as s:
        with pytest.raises(UnknownKindError, match="unknown event kind 'discovered'"):
            story_events(s, archive["valdai"], filter=EventFilter(kinds=("discovered",)))
        with pytest.raises(InvalidWindowError, match="later than"):
            EventFilter(since=_at(10), until=_at(5))
        with pytest.raises(InvalidCursorError):
            story_events(s, archive["valdai"], cursor="bm90LWEtY3Vyc29y")
        with pytest.raises(InvalidWindowError, match="limit"):
            story_events(s, archive["valdai"], limit=0)


def test_document_states_as_of_a_time(archive):
    with Session(archive["engine"]) as s:
        now = {d.url[-1]: d for d in story_document_states(s, archive["valdai"])}
        then = {d.url[-1]: d for d in story_document_states(s, archive["valdai"], at=_at(95))}
        early = story_document_states(s, archive["valdai"], at=_at(10))
        page = timeline_page(s, archive["valdai"], filter=EventFilter(kinds=("headline",)))
    assert (now["b"].deleted, now["b"].latest, now["b"].versions) == (False, {"page": 3}, 3)
    assert (then["b"].deleted, then["b"].latest) == (True, {"page": 2})
    assert now["b"].last_changed_at == _at(100) and then["b"].last_changed_at == _at(31)
    assert now["a"].title == "Drones: Kyiv denies"
    assert [d.url[-1] for d in early] == ["a"]
    assert [d.document_id for d in page.documents] == [archive["a"]]
    assert page.to_json()["events"][0]["kind"] == "headline"
