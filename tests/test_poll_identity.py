"""A feed entry's stable id (RSS guid, Atom id) is its identity: a new link under the same id is
the same document (an alias and a ``moved`` event), so its headline edit stays in one history."""

from __future__ import annotations

from jobs.polling import poll_source
from storage import events
from tests.test_poll import KREMLIN_TEXT, add_source, add_story, document, site, svc, versions  # noqa: F401

OLD = "/2025/12/30/kremlin-to-revise-stance"
NEW = "/2025/12/30/kremlin-says-it-will-revise-its-stance-in-peace-talks"


def rss(news, path: str, title: str, guid: str = "urn:example:4711") -> None:
    item = (
        f"<item><title>{title}</title><link>{news.url(path)}</link>"
        f'<guid isPermaLink="false">{guid}</guid><description>Peskov on the talks.</description></item>'
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{item}</channel></rss>'
    news.server.route("/feed", body, content_type="application/rss+xml")


async def test_a_new_slug_under_the_same_guid_keeps_one_history(svc, site):  # noqa: F811
    site.article(OLD, "Kremlin to revise stance", KREMLIN_TEXT)
    site.article(NEW, "Kremlin says it will revise its stance in peace talks", KREMLIN_TEXT)
    rss(site, OLD, "Kremlin to revise stance")
    source_id = add_source(svc, "world", "feed", site.url("/feed"))
    add_story(svc)
    await poll_source(svc, source_id)
    first = document(svc, site.url(OLD))
    svc.clock.advance(minutes=10)
    rss(site, NEW, "Kremlin says it will revise its stance in peace talks")
    again = await poll_source(svc, source_id)
    assert (again.new, again.edited) == (0, 1)
    moved = document(svc, site.url(NEW))
    assert moved.id == first.id and moved.url == site.url(NEW)
    assert document(svc, site.url(OLD)).id == first.id  # the old link is an alias
    titles = [v.title for v in versions(svc, site.url(NEW), "feed")]
    assert titles == ["Kremlin to revise stance", "Kremlin says it will revise its stance in peace talks"]
    with svc.session() as session:
        found = [(e.kind, e.channel) for e in events.for_document(session, document_id=first.id)]
        (move,) = [e for e in events.for_document(session, document_id=first.id) if e.kind == "moved"]
    assert ("moved", "feed") in found and ("headline", "feed") in found
    assert move.data == {"from_url": site.url(OLD), "to_url": site.url(NEW), "guid": "urn:example:4711"}


async def test_another_guid_under_a_new_link_is_another_document(svc, site):  # noqa: F811
    site.article(OLD, "Kremlin to revise stance", KREMLIN_TEXT)
    rss(site, OLD, "Kremlin to revise stance")
    source_id = add_source(svc, "world", "feed", site.url("/feed"))
    await poll_source(svc, source_id)
    rss(site, NEW, "Another story", guid="urn:example:4712")
    svc.clock.advance(minutes=10)
    again = await poll_source(svc, source_id)
    assert again.new == 1 and document(svc, site.url(NEW)).id != document(svc, site.url(OLD)).id
