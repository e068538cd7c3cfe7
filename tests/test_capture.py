"""The one capture path end to end: events written with each plan, suspect extractions, the
back-fill of events (migration 0004). Real local HTTP server; SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlmodel import Session, select

from jobs.pipeline import check_url
from storage import documents as docs
from storage import events
from storage.migrate import alembic_config
from storage.models import Check, Event, Story
from tests.test_pipeline import page, versions

RUSSIAN = (
    "<p>Кремль заявил, что пересмотрит свою позицию на переговорах после сообщений о налёте "
    "беспилотников на резиденцию в Валдае. В Киеве назвали это заявление выдумкой.</p>"
)


def kinds(engine, url: str) -> list[tuple[str, int | None]]:
    with Session(engine) as s:
        doc = docs.get_document(s, url=url)
        return [(e.kind, e.seq) for e in events.for_document(s, document_id=doc.id)]


async def test_events_follow_the_versions(server, services, engine, clock):
    url = server.url("/e")
    a, b = page(), page(title="Kremlin to revise stance after drone claim")
    for body in (a, b, a):
        server.route("/e", body)
        clock.advance(hours=1)
        await check_url(services, url)
    server.route("/e", "gone", status=410)
    for _ in range(2):
        clock.advance(hours=1)
        await check_url(services, url)
    server.route("/e", a)
    clock.advance(hours=1)
    await check_url(services, url)
    assert kinds(engine, url) == [
        ("first_version", 1),
        ("change", 2),
        ("headline", 2),
        ("reverted", 3),
        ("headline", 3),
        ("deleted", 4),
        ("restored", 5),
    ]
    with Session(engine) as s:
        rows = list(s.exec(select(Event).order_by(Event.id)))
    headline = rows[2]
    assert headline.data["new_title"] == "Kremlin to revise stance after drone claim"
    assert headline.channel == "page" and headline.prev_seq == 1 and headline.version_id is not None
    assert rows[1].significance and rows[1].summary.startswith("headline")
    ids = [e.id for e in rows]
    assert ids == sorted(ids)


async def test_new_coverage_event_for_a_story(server, services, engine, clock):
    with Session(engine) as s:
        story = Story(slug="valdai", title="Valdai", query="drone")
        s.add(story)
        s.commit()
        story_id = story.id
    server.route("/c", page())
    await check_url(services, server.url("/c"), story_slug="valdai")
    with Session(engine) as s:
        found = events.for_story(s, story_id=story_id)
        assert [e.kind for e in found] == ["new_coverage", "first_version"]
        assert found[0].story_id == story_id and found[0].data["via"] == "manual"
        assert [e.kind for e in events.after(s, after_id=found[0].id or 0)] == ["first_version"]
        assert events.last_id(s) == found[1].id


async def test_a_page_that_extracts_to_nothing_is_suspect(server, services, engine, clock):
    url = server.url("/s")
    server.route("/s", page())
    await check_url(services, url)
    nested = "<!doctype html><html><body>" + "<div>" * 5000 + "</div>" * 5000 + "</body></html>"
    server.route("/s", nested)
    clock.advance(hours=1)
    report = await check_url(services, url)
    assert report.outcome.value == "suspect" and report.seq == 1 and "warning" in report.details
    assert len(versions(engine, url)) == 1
    assert kinds(engine, url) == [("first_version", 1), ("suspect", None)]
    with Session(engine) as s:
        check = s.exec(select(Check).order_by(Check.id.desc())).first()  # type: ignore[union-attr]
    assert check is not None and check.outcome == "suspect" and "no text" in (check.error or "")


async def test_a_mislabelled_cp1251_page_is_decoded_right(server, services, engine, clock):
    url = server.url("/ru")
    body = f"<html><head><title>Кремль</title></head><body><article>{RUSSIAN * 3}</article></body></html>"
    server.route("/ru", body.encode("cp1251"), content_type="text/html; charset=utf-8")
    report = await check_url(services, url)
    assert report.outcome.value == "new_version"
    (version,) = versions(engine, url)
    assert "Кремль заявил" in version.text and "\ufffd" not in version.text


async def test_events_back_filled_by_migration_0004(server, services, engine, clock):
    url = server.url("/b")
    for body in (page(), page(title="Kremlin to revise stance"), page()):
        server.route("/b", body)
        clock.advance(hours=1)
        await check_url(services, url)
    server.route("/b", "gone", status=404)
    for _ in range(2):
        clock.advance(hours=1)
        await check_url(services, url)
    live = kinds(engine, url)
    with Session(engine) as s:
        before = [(e.kind, e.channel, e.seq, e.prev_seq, e.summary) for e in events.after(s)]
        for event in s.exec(select(Event)):
            s.delete(event)
        s.commit()
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
        command.upgrade(cfg, "head")
    assert kinds(engine, url) == live
    with Session(engine) as s:
        after = [(e.kind, e.channel, e.seq, e.prev_seq, e.summary) for e in events.after(s)]
    assert after == before
