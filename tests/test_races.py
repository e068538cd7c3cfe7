"""Two writers creating the same row at once (two `storytrail check` processes on one new URL,
two daemons discovering the same article, every CLI process syncing the config's sources): the
one that loses the unique-key race gets the winner's row, with no error and nothing lost.

The race is made deterministic: the loser's first lookup misses, as it would if it ran just
before the winner committed, and the winner commits from another session in between."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, func, select

from storage import catalog
from storage import documents as docs
from storage.models import Document, Event, Source, Story, StoryDocument


def _miss_once(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, winner: Callable[[], None]) -> None:
    """The first call of ``module.name`` finds nothing, after ``winner`` has committed its row."""
    real = getattr(module, name)
    calls = {"n": 0}

    def lookup(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            winner()
            return None
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, lookup)


def _count(engine: Any, model: Any) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_a_document_created_by_another_writer_is_returned(engine, clock, monkeypatch):
    url = "https://news.example/race"

    def winner() -> None:
        with Session(engine) as other:
            docs.get_or_create_document(other, url=url, now=clock(), status="seen")
            other.commit()

    with Session(engine) as s:
        s.add(Story(slug="kept", title="kept", query="x", created_at=clock()))  # the session's own work
        _miss_once(monkeypatch, docs, "find_document", winner)
        doc, created = docs.get_or_create_document(s, url=url, now=clock())
        s.commit()
        assert not created and doc.id is not None and doc.status == "seen"
    assert _count(engine, Document) == 1
    assert _count(engine, Story) == 1  # the savepoint rolled back only the losing insert


def test_a_source_and_a_story_created_by_another_writer_are_updated(engine, clock, monkeypatch):
    def source_winner() -> None:
        with Session(engine) as other:
            catalog.upsert_source(other, name="wire", now=clock(), kind="feed", url="https://a.example/f")
            other.commit()

    def story_winner() -> None:
        with Session(engine) as other:
            catalog.upsert_story(other, slug="vote", now=clock(), title="Vote", query="vote")
            other.commit()

    with Session(engine) as s:
        _miss_once(monkeypatch, catalog, "find_source", source_winner)
        source, created = catalog.upsert_source(
            s, name="wire", now=clock(), kind="feed", url="https://b.example/f"
        )
        assert not created and source.url == "https://b.example/f"
        s.commit()  # one SQLite writer at a time: the next winner writes from another session
        _miss_once(monkeypatch, catalog, "find_story", story_winner)
        story, created = catalog.upsert_story(s, slug="vote", now=clock(), title="The vote", query="vote")
        assert not created and story.title == "The vote"
        s.commit()
    assert _count(engine, Source) == 1 and _count(engine, Story) == 1


def test_a_story_link_made_by_another_writer_writes_one_coverage_event(engine, clock, monkeypatch):
    with Session(engine) as s:
        story, _ = catalog.upsert_story(s, slug="vote", now=clock(), title="Vote", query="vote")
        doc, _ = docs.get_or_create_document(s, url="https://news.example/v", now=clock())
        s.commit()
        story_id, doc_id = story.id, doc.id
    assert story_id is not None and doc_id is not None

    def winner() -> None:
        with Session(engine) as other:
            catalog.link_story_document(other, story_id=story_id, document_id=doc_id, now=clock(), score=0.5)
            other.commit()

    with Session(engine) as s:
        _miss_once(monkeypatch, catalog, "_story_link", winner)
        link, created = catalog.link_story_document(
            s, story_id=story_id, document_id=doc_id, now=clock(), score=0.9
        )
        s.commit()
        assert not created and link.score == 0.9
    assert _count(engine, StoryDocument) == 1
    with Session(engine) as s:
        kinds = s.exec(select(Event.kind)).all()
    assert list(kinds).count("new_coverage") == 1
