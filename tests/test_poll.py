"""Polling end to end: sources on a real local server, the real fetch path, SQLite and PostgreSQL.

A poll reads a source, keeps one document per article, versions what feeds show, matches
candidates to stories, fetches the matches at once and leaves the rest "seen".
Helpers here (NewsSite, svc, add_source, add_story...) are shared by the other poll tests.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from jobs.polling import poll_all, poll_source, prepare_rules
from scraper.http import Fetcher
from storage import catalog
from storage import documents as docs
from storage.models import Check, Document, Source, StoryDocument, Version
from tests.localserver import LocalServer, Reply, Request

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
QUERY = "(Putin OR Kremlin OR Valdai) AND (residence OR Valdai OR Novgorod OR drone*)"
RESIDENCE = "/2025/12/29/russia-says-drones-targeted-putin-residence"
KREMLIN = "/2025/12/30/kremlin-to-revise-stance-in-peace-talks"
POWER = "/2026/01/02/kyiv-winter-power-cuts"

RESIDENCE_TEXT = (
    "Russia's foreign minister said on Monday that Ukraine had launched 91 long-range drones at President "
    "Vladimir Putin's state residence near Valdai in the Novgorod region overnight.",
    "According to the Russian defence ministry, all of the drones were intercepted by air defence systems "
    "and no one was hurt. No images of debris or damage were released by the ministry.",
    "The claim came as negotiators from Washington, Moscow and Kyiv prepared for another round of talks on "
    "ending the war, and Ukrainian officials called the account a fabrication.",
)
KREMLIN_TEXT = (
    "Kremlin spokesman Dmitry Peskov said on Tuesday that Russia would revise its stance in peace "
    "negotiations following what Moscow describes as a drone attack on President Putin's residence "
    "at Valdai.",
    "Peskov did not say what would change. He repeated the defence ministry's figure of 91 drones.",
)
POWER_TEXT = (
    "Kyiv's grid operator said on Friday that households would face rolling four-hour outages as "
    "temperatures fell below minus 15 degrees across the capital and the surrounding region.",
    "Hospitals and water pumping stations are exempt from the schedule, the operator said, and shelters "
    "with generators will stay open around the clock in every district of the city.",
)


# --- a small news site on the local server --------------------------------------------------------


def article_html(
    title: str, paragraphs: tuple[str, ...], *, links: tuple[str, ...] = (), canonical: str = ""
) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    anchors = "\n".join(f'<p>Read more: <a href="{href}">{href}</a></p>' for href in links)
    head = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{head}
<meta property="article:published_time" content="2025-12-29T18:40:00+00:00"></head>
<body><nav><a href="/">Home</a> <a href="/2025/12/01/menu-story-not-content">Menu</a></nav>
<article><h1>{title}</h1><p class="byline">By Marta Kowalczyk</p>
{body}
{anchors}
</article><footer>All rights reserved.</footer></body></html>"""


def fixture_bytes(name: str, **subs: str) -> bytes:
    """A fixture file with ``{base}`` (and other ``{key}`` marks) replaced."""
    data = (FIXTURES / name).read_bytes()
    for key, value in subs.items():
        data = data.replace(b"{" + key.encode() + b"}", value.encode())
    return data


class NewsSite:
    """Articles and feeds served by a LocalServer; tests change them between polls."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.base = server.base

    def url(self, path: str) -> str:
        return self.server.url(path)

    def article(self, path: str, title: str, paragraphs: tuple[str, ...], **kw: object) -> str:
        self.server.route(path, article_html(title, paragraphs, **kw))  # type: ignore[arg-type]
        return self.url(path)

    def standard(self) -> None:
        """The three articles of tests/fixtures/sources/good/rss.xml."""
        self.article(
            RESIDENCE, "Russia says Ukraine fired 91 drones at Putin's Valdai residence", RESIDENCE_TEXT
        )
        self.article(KREMLIN, "Kremlin says it will revise its stance in peace talks", KREMLIN_TEXT)
        self.article(POWER, "Kyiv schedules rolling power cuts as cold snap deepens", POWER_TEXT)

    def serve(self, path: str, name: str, content_type: str = "application/rss+xml", **subs: str) -> str:
        body = fixture_bytes(name, base=self.base, **subs)
        self.server.route(path, body, content_type=content_type)
        return self.url(path)

    def rss(self, path: str, items: list[tuple[str, str, str]], headers: dict[str, str] | None = None) -> str:
        """An RSS feed of (path, title, summary) items."""
        entries = "\n".join(
            f"<item><title>{t}</title><link>{self.url(p)}</link><description>{s}</description></item>"
            for p, t, s in items
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{entries}</channel></rss>'
        self.server.route(path, body, content_type="application/rss+xml", headers=headers)
        return self.url(path)


# --- services and database helpers ----------------------------------------------------------------


async def _no_dns(host: str) -> list[str]:
    raise OSError(f"tests never resolve host names ({host})")


@asynccontextmanager
async def local_only(services):
    """The services with a fetcher that cannot reach any named host: no test goes online."""
    original = services.fetcher
    services.fetcher = Fetcher(original.config, clock=services.clock, resolve=_no_dns)
    try:
        yield services
    finally:
        await services.fetcher.aclose()
        services.fetcher = original


@pytest.fixture
async def svc(services):
    async with local_only(services) as local:
        yield local


@pytest.fixture
def site(server: LocalServer) -> NewsSite:
    return NewsSite(server)


def add_source(svc, name: str, kind: str, url: str, **params: object) -> int:
    with svc.session() as session:
        source, _ = catalog.upsert_source(
            session, name=name, now=svc.clock(), kind=kind, url=url, params=params
        )
        session.commit()
        return source.id


def add_story(
    svc, slug: str = "valdai", query: str = QUERY, seeds: tuple[str, ...] = (), **settings: object
) -> int:
    with svc.session() as session:
        story, _ = catalog.upsert_story(
            session, slug=slug, now=svc.clock(), title=slug, query=query, seeds=list(seeds), settings=settings
        )
        session.commit()
        return story.id


def document(svc, url: str) -> Document | None:
    with svc.session() as session:
        return docs.find_document(session, url=url)


def versions(svc, url: str, channel: str = "page") -> list[Version]:
    with svc.session() as session:
        doc = docs.get_document(session, url=url)
        return docs.list_versions(session, document_id=doc.id, channel=channel)


def story_links(svc, story_id: int) -> dict[str, StoryDocument]:
    with svc.session() as session:
        return {doc.url: link for link, doc in catalog.story_documents(session, story_id=story_id)}


def source_checks(svc, source_id: int) -> list[Check]:
    with svc.session() as session:
        return list(session.exec(select(Check).where(Check.source_id == source_id).order_by(col(Check.id))))


def all_documents(svc) -> dict[str, Document]:
    with svc.session() as session:
        return {d.url: d for d in session.exec(select(Document))}


# --- feeds: match, fetch, leave the rest seen -----------------------------------------------------


async def test_feed_poll_enrols_matches_and_leaves_the_rest_seen(svc, site, server):
    site.standard()
    feed = site.serve("/rss.xml", "good/rss.xml")
    source_id = add_source(svc, "world", "feed", feed)
    story_id = add_story(svc)

    report = await poll_source(svc, source_id)

    assert (report.outcome, report.entries, report.new, report.matched, report.fetched, report.seen) == (
        "ok",
        3,
        3,
        2,
        2,
        1,
    )
    links = story_links(svc, story_id)
    assert sorted(links) == sorted([site.url(RESIDENCE), site.url(KREMLIN)])
    for link in links.values():
        assert link.via == "source" and link.source_id == source_id and link.depth == 0
        assert link.score == 1.0 and link.reason.startswith("title and summary: query matched: ")
    assert "Putin" in links[site.url(RESIDENCE)].reason and "drone*" in links[site.url(RESIDENCE)].reason
    for path in (RESIDENCE, KREMLIN):  # matched: fetched at once, on the re-check schedule
        doc = document(svc, site.url(path))
        assert doc.status == "active" and doc.next_check is not None and doc.next_check > svc.clock()
        assert len(versions(svc, site.url(path))) == 1
    unrelated = document(svc, site.url(POWER))
    assert unrelated.status == "seen" and unrelated.next_check is None
    assert versions(svc, site.url(POWER)) == [] and server.hits(POWER) == 0
    assert [v.title for v in versions(svc, site.url(POWER), "feed")] == [
        "Kyiv schedules rolling power cuts as cold snap deepens"
    ]  # the feed entry is versioned even for what is not followed
    assert (
        document(svc, site.url(RESIDENCE) + "?utm_source=rss") is None
    )  # tracking parameters are not identity
    (check,) = source_checks(svc, source_id)
    assert (check.outcome, check.http_status, check.url, check.error) == ("new_version", 200, feed, None)


async def test_second_poll_versions_a_feed_headline_edit_even_when_the_page_is_gone(svc, site, server):
    site.standard()
    items = [
        (RESIDENCE, "Russia says drones targeted Putin residence", "Moscow claims 91 drones."),
        (POWER, "Kyiv schedules rolling power cuts", "Four-hour outages."),
    ]
    feed = site.rss("/feed", items)
    source_id = add_source(svc, "world", "feed", feed)
    add_story(svc)
    await poll_source(svc, source_id)
    svc.clock.advance(minutes=10)
    again = await poll_source(svc, source_id)
    assert (again.new, again.matched, again.fetched, again.edited) == (0, 0, 0, 0)
    assert source_checks(svc, source_id)[-1].outcome == "unchanged"

    server.route(RESIDENCE, "gone", status=404)
    site.rss(
        "/feed",
        [(RESIDENCE, "Russia claims 91-drone attack; Kyiv calls it a fabrication", items[0][2]), items[1]],
    )
    svc.clock.advance(minutes=10)
    edited = await poll_source(svc, source_id)
    assert edited.edited == 1 and edited.new == 0
    feed_titles = [v.title for v in versions(svc, site.url(RESIDENCE), "feed")]
    assert feed_titles == [
        "Russia says drones targeted Putin residence",
        "Russia claims 91-drone attack; Kyiv calls it a fabrication",
    ]
    assert len(versions(svc, site.url(POWER), "feed")) == 1  # nothing else changed
    doc = document(svc, site.url(RESIDENCE))
    assert doc.next_check <= svc.clock()  # the feed edit makes the page due for a check now
    assert len(versions(svc, site.url(RESIDENCE))) == 1


async def test_feed_observations_do_not_move_the_page_schedule(svc, site):
    site.standard()
    feed = site.serve("/rss.xml", "good/rss.xml")
    source_id = add_source(svc, "world", "feed", feed)
    add_story(svc)
    await poll_source(svc, source_id)
    before = document(svc, site.url(RESIDENCE))
    for _ in range(3):
        svc.clock.advance(minutes=2)
        await poll_source(svc, source_id)
    after = document(svc, site.url(RESIDENCE))
    assert (after.next_check, after.unchanged_checks, after.check_interval_s) == (
        before.next_check,
        before.unchanged_checks,
        before.check_interval_s,
    )


async def test_conditional_get_gives_not_modified(svc, site, server):
    site.standard()
    body = fixture_bytes("good/rss.xml", base=site.base)

    def handler(req: Request) -> Reply:
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        return Reply(body=body, headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'})

    server.route("/etag.xml", handler=handler)
    source_id = add_source(svc, "etag", "feed", site.url("/etag.xml"))
    assert (await poll_source(svc, source_id)).outcome == "ok"
    with svc.session() as session:
        assert session.get(Source, source_id).etag == '"v1"'
    second = await poll_source(svc, source_id)
    assert (second.outcome, second.entries) == ("not_modified", 0)
    assert [c.outcome for c in source_checks(svc, source_id)] == ["new_version", "not_modified"]


async def test_atom_and_json_feeds(svc, site):
    site.article(
        "/2026/01/01/satellite-images-valdai-residence",
        "Satellite images show no damage at Valdai residence",
        ("Commercial satellite images of the Valdai residence show no damage after the alleged attack.",),
    )
    site.article(
        "/2025/12/31/trump-on-valdai-drone-claim",
        "Trump sides with Putin over Valdai drone claim",
        ("President Trump said he believed Putin's account of a drone attack on his residence.",),
    )
    atom = add_source(svc, "atom", "feed", site.serve("/atom.xml", "good/atom.xml", "application/atom+xml"))
    jsonfeed = add_source(
        svc, "json", "feed", site.serve("/feed.json", "good/feed.json", "application/feed+json")
    )
    story_id = add_story(svc)
    reports = await poll_all(svc)
    assert [(r.source, r.entries, r.matched, r.seen) for r in reports] == [
        ("atom", 2, 1, 1),
        ("json", 2, 1, 1),
    ]
    assert sorted(story_links(svc, story_id)) == [
        site.url("/2025/12/31/trump-on-valdai-drone-claim"),
        site.url("/2026/01/01/satellite-images-valdai-residence"),
    ]
    assert (
        document(svc, site.url("/2026/01/01/ski-resorts-open-early")).status == "seen"
    )  # relative link resolved
    assert atom and jsonfeed


async def test_recovered_feed_keeps_entries_and_says_why_on_the_check(svc, site):
    feed = site.serve("/odd.xml", "good/recoverable.xml")
    latin = site.serve("/latin.xml", "bad/latin1_declared_utf8.xml", "application/rss+xml; charset=utf-8")
    odd, wrong = add_source(svc, "odd", "feed", feed), add_source(svc, "latin", "feed", latin)
    reports = {r.source: r for r in await poll_all(svc)}
    assert [r.outcome for r in reports.values()] == ["ok", "ok"]
    assert reports["odd"].entries == 2 and reports["latin"].entries == 1
    (check,) = source_checks(svc, odd)
    assert check.outcome == "new_version" and feed in check.error and "not well-formed" in check.error
    (check,) = source_checks(svc, wrong)
    assert latin in check.error and "declared as utf-8" in check.error
    titles = [v.title for d in all_documents(svc) for v in versions(svc, d, "feed")]
    assert any(t.startswith("Café") and "résidence de Poutine visée" in t for t in titles)  # decoded right


# --- matching on similarity, full text after the fetch, archive = all ------------------------------


async def test_story_without_query_matches_on_similarity_to_its_fetched_seed(svc, site, server):
    site.standard()
    seed = site.url(RESIDENCE)
    items = [
        (
            KREMLIN,
            "Kremlin revises stance after alleged drone attack on Putin's Valdai residence",
            "Russia says 91 long-range drones were launched at the state residence near Valdai in the "
            "Novgorod region; air defence systems intercepted all of the drones.",
        ),
        (POWER, "Kyiv schedules rolling power cuts", "Four-hour outages by district as the cold deepens."),
    ]
    source_id = add_source(svc, "world", "feed", site.rss("/feed", items))
    story_id = add_story(svc, query="", seeds=(seed,), threshold=0.1)
    report = await poll_source(svc, source_id)
    links = story_links(svc, story_id)
    assert links[seed].via == "seed" and server.hits(RESIDENCE) == 1  # the seed was fetched first
    kremlin = links[site.url(KREMLIN)]
    assert kremlin.reason.startswith("title and summary: similar to seed (") and 0.1 <= kremlin.score < 1
    assert site.url(POWER) not in links and report.seen == 1
    await poll_source(svc, source_id)
    assert server.hits(RESIDENCE) == 1  # seeds are fetched once, then left to the re-check schedule


async def test_archive_all_fetches_everything_and_matches_on_full_text(svc, site, server):
    site.article(
        "/2025/12/30/moscow-evening-briefing", "Evening briefing", RESIDENCE_TEXT
    )  # title says nothing
    site.article(POWER, "Kyiv schedules rolling power cuts as cold snap deepens", POWER_TEXT)
    items = [
        ("/2025/12/30/moscow-evening-briefing", "Evening briefing", "What happened today."),
        (POWER, "Kyiv schedules rolling power cuts", "Outages."),
    ]
    source_id = add_source(svc, "all", "feed", site.rss("/all", items), archive="all")
    story_id = add_story(svc)
    report = await poll_source(svc, source_id)
    assert (report.fetched, report.matched) == (2, 1)
    link = story_links(svc, story_id)[site.url("/2025/12/30/moscow-evening-briefing")]
    assert link.reason.startswith("full text: query matched:") and link.via == "source"
    power = document(svc, site.url(POWER))
    assert power.status == "active" and power.next_check is not None  # archived, though unmatched
    assert site.url(POWER) not in story_links(svc, story_id)


async def test_inactive_story_and_invalid_query(svc, site):
    site.standard()
    source_id = add_source(svc, "world", "feed", site.serve("/rss.xml", "good/rss.xml"))
    broken = add_story(svc, slug="broken", query="Putin AND (drone")
    later = add_story(svc, slug="later", query="Putin")
    with svc.session() as session:
        story = session.get(catalog.Story, later)
        story.active_from = svc.clock() + timedelta(days=1)
        session.add(story)
        session.commit()
    prepared = await prepare_rules(svc)
    assert [r.slug for r in prepared.rules] == []
    assert len(prepared.report.warnings) == 1 and "broken" in prepared.report.warnings[0]
    reports = await poll_all(svc)
    assert reports[0].kind == "seeds" and "invalid story query" in reports[0].warnings[0]
    assert reports[1].matched == 0 and story_links(svc, broken) == {} and story_links(svc, later) == {}
    assert source_id


# --- link following -------------------------------------------------------------------------------


def linked_site(site: NewsSite, other: str) -> dict[str, str]:
    """A story article linking to: another outlet's matching article (which links on), an
    unrelated article, a dead link, and a link back to itself."""
    urls = {
        "b": f"{other}/2025/12/30/valdai-residence-drone-claim-analysis",
        "c": site.url("/2025/12/30/winter-tyres-become-mandatory"),
        "d": site.url("/2025/12/30/deleted-article-about-drones"),
        "e": site.url("/2025/12/31/second-hop-valdai-residence-report"),
    }
    site.article("/2025/12/30/winter-tyres-become-mandatory", "Winter tyres become mandatory", POWER_TEXT)
    site.article("/2025/12/31/second-hop-valdai-residence-report", "Second hop", KREMLIN_TEXT)
    site.server.route(
        "/2025/12/30/valdai-residence-drone-claim-analysis",
        article_html("Analysis: the Valdai residence drone claim", KREMLIN_TEXT, links=(urls["e"],)),
    )
    site.article(
        RESIDENCE,
        "Russia says Ukraine fired 91 drones at Putin's Valdai residence",
        RESIDENCE_TEXT,
        links=(urls["b"], urls["c"], urls["d"], site.url(RESIDENCE)),
    )
    return urls


async def test_links_are_followed_to_the_story_link_depth(svc, site, server):
    urls = linked_site(site, f"http://localhost:{server.port}")
    source_id = add_source(
        svc, "world", "feed", site.rss("/feed", [(RESIDENCE, "Putin residence drone claim", "")])
    )
    story_id = add_story(svc, link_depth=1)
    report = await poll_source(svc, source_id)
    links = story_links(svc, story_id)
    b = links[urls["b"]]  # another outlet: followed, fetched, matched on its full text
    assert (b.via, b.depth, b.from_document_id) == ("link", 1, document(svc, site.url(RESIDENCE)).id)
    assert b.reason.startswith("full text: query matched:")
    unrelated = document(svc, urls["c"])
    assert unrelated.status == "seen" and unrelated.next_check is None and urls["c"] not in links
    assert document(svc, urls["d"]).status == "seen"  # 404: known, not followed
    assert urls["e"] not in links and server.hits("/2025/12/31/second-hop-valdai-residence-report") == 0
    assert report.followed == 3 and report.matched == 2


async def test_link_depth_two_and_zero(svc, site, server):
    urls = linked_site(site, f"http://localhost:{server.port}")
    feed = site.rss("/feed", [(RESIDENCE, "Putin residence drone claim", "")])
    deep = add_story(svc, slug="deep", link_depth=2)
    flat = add_story(svc, slug="flat", link_depth=0)
    await poll_source(svc, add_source(svc, "world", "feed", feed))
    assert story_links(svc, deep)[urls["e"]].depth == 2
    assert sorted(story_links(svc, flat)) == [site.url(RESIDENCE)]  # what links found is beyond its depth


async def test_links_followed_per_document_are_bounded(svc, site, server):
    urls = linked_site(site, f"http://localhost:{server.port}")
    source_id = add_source(
        svc, "world", "feed", site.rss("/feed", [(RESIDENCE, "Putin residence drone claim", "")])
    )
    story_id = add_story(svc, max_links=1)
    report = await poll_source(svc, source_id)
    assert report.followed == 1 and urls["b"] in story_links(svc, story_id)
    assert document(svc, urls["c"]) is None and server.hits("/2025/12/30/winter-tyres-become-mandatory") == 0


async def test_seed_links_are_followed_when_the_story_is_first_polled(svc, site, server):
    urls = linked_site(site, f"http://localhost:{server.port}")
    story_id = add_story(svc, seeds=(site.url(RESIDENCE),))
    reports = await poll_all(svc)
    assert reports[0].kind == "seeds" and (reports[0].entries, reports[0].fetched) == (1, 4)  # seed + 3 links
    links = story_links(svc, story_id)
    assert links[site.url(RESIDENCE)].via == "seed" and links[urls["b"]].via == "link"
    await poll_all(svc)
    assert server.hits(RESIDENCE) == 1


# --- identity: canonical URLs and near copies -------------------------------------------------------


async def test_declared_canonical_url_becomes_the_document_url(svc, site):
    canonical = site.url(RESIDENCE)
    site.article(
        "/amp" + RESIDENCE,
        "Russia says Ukraine fired 91 drones at Putin's Valdai residence",
        RESIDENCE_TEXT,
        canonical=canonical,
    )
    site.standard()
    feed = site.rss("/feed", [("/amp" + RESIDENCE, "Putin residence drone claim", "")])
    front = site.url("/front")
    site.server.route(
        "/front", f'<html><body><a href="{RESIDENCE}">Putin residence drone claim</a></body></html>'
    )
    story_id = add_story(svc)
    await poll_source(svc, add_source(svc, "amp", "feed", feed))
    doc = document(svc, canonical)
    assert doc is not None and doc.url == canonical
    assert document(svc, site.url("/amp" + RESIDENCE)).id == doc.id  # the address it was found at: an alias
    report = await poll_source(svc, add_source(svc, "front", "page", front))
    assert report.new == 0 and list(story_links(svc, story_id)) == [canonical]


async def test_a_second_address_of_a_known_article_is_merged_into_it(svc, site):
    site.standard()
    canonical = site.url(RESIDENCE)
    site.article(
        "/print" + RESIDENCE,
        "Russia says Ukraine fired 91 drones at Putin's Valdai residence",
        RESIDENCE_TEXT,
        canonical=canonical,
    )
    story_id = add_story(svc)
    await poll_source(
        svc, add_source(svc, "one", "feed", site.rss("/one", [(RESIDENCE, "Putin drone claim", "")]))
    )
    report = await poll_source(
        svc,
        add_source(svc, "two", "feed", site.rss("/two", [("/print" + RESIDENCE, "Putin drone claim", "")])),
    )
    copy = document(svc, site.url("/print" + RESIDENCE))
    original = document(svc, canonical)
    assert copy.id != original.id and copy.duplicate_of == original.id
    assert copy.status == "seen" and copy.next_check is None and report.duplicates == 1
    assert story_links(svc, story_id)[canonical].via == "source"


async def test_syndicated_near_copies_are_linked_as_duplicates(svc, site, server):
    wire = ("MOSCOW (Reuters) - " + RESIDENCE_TEXT[0], *RESIDENCE_TEXT[1:], "Reporting by Guy Faulconbridge")
    site.article(RESIDENCE, "Russia says Ukraine fired 91 drones at Putin's Valdai residence", RESIDENCE_TEXT)
    other = f"http://localhost:{server.port}"
    server.route(
        "/wire/putin-residence-drones", article_html("Russia says drones targeted Putin's residence", wire)
    )
    story_id = add_story(svc)
    first = site.rss("/a", [(RESIDENCE, "Putin residence drone claim", "")])
    await poll_source(svc, add_source(svc, "a", "feed", first))
    second = site.url("/b")
    server.route(
        "/b",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title><item><title>Putin '
        f"residence drone claim</title><link>{other}/wire/putin-residence-drones</link></item>"
        f"</channel></rss>",
        content_type="application/rss+xml",
    )
    report = await poll_source(svc, add_source(svc, "b", "feed", second))
    copy = document(svc, f"{other}/wire/putin-residence-drones")
    assert copy.duplicate_of == document(svc, site.url(RESIDENCE)).id and report.duplicates == 1
    assert copy.status == "active"  # a syndicated copy is still archived and re-checked
    assert len(story_links(svc, story_id)) == 2


# --- another kind plugs in: a social adapter's posts and links ------------------------------------


async def test_a_social_adapter_plugs_in_with_posts_and_linked_articles(svc, site, server, monkeypatch):
    import scraper.sources
    from scraper.core.types import Candidate, Channel, Content, Observation
    from scraper.sources import PollResult

    site.standard()
    post = "https://social.example/@mfa/1"
    article = site.url(RESIDENCE)
    polls: list[list[str]] = []

    async def poll_social(fetcher, source, *, stories):
        polls.append([s.slug for s in stories])
        text = (
            "The Valdai residence drone claim is a fabrication."
            if len(polls) == 1
            else "Edited: Putin's claim."
        )
        content = Content(text=text, byline="@mfa")
        observation = Observation(post, Channel.API, content, measurements={"likes": 3.0}, links=(article,))
        candidate = Candidate(url=article, title="Putin residence drone claim", via="social")
        return PollResult(candidates=[candidate], observations=[observation])

    monkeypatch.setitem(scraper.sources._registered, "fakesocial", poll_social)
    source_id = add_source(svc, "mfa", "fakesocial", "https://social.example/@mfa")
    story_id = add_story(svc)
    report = await poll_source(svc, source_id)
    assert polls == [["valdai"]] and report.matched == 2
    links = story_links(svc, story_id)
    assert (links[post].via, links[article].via) == ("social", "social")
    post_doc = document(svc, post)
    assert (post_doc.kind, post_doc.status) == ("post", "active")
    assert server.hits(RESIDENCE) == 1  # the linked article is fetched; the post was just read
    await poll_source(svc, source_id)
    assert [v.text for v in versions(svc, post, "api")] == [
        "The Valdai residence drone claim is a fabrication.",
        "Edited: Putin's claim.",
    ]


async def test_a_seed_that_cannot_be_fetched_is_counted_and_left_to_the_schedule(svc, site, server):
    server.route("/2025/12/30/seed-that-is-down", "down", status=500)
    story_id = add_story(svc, seeds=(site.url("/2025/12/30/seed-that-is-down"),))
    prepared = await prepare_rules(svc)
    assert (prepared.report.fetched, prepared.report.errors) == (1, 1)
    assert "HTTP 500" in prepared.report.failures[0]
    assert [r.slug for r in prepared.rules] == ["valdai"] and prepared.rules[0].seeds == ()
    again = await prepare_rules(svc)
    assert again.report.fetched == 0 and server.hits("/2025/12/30/seed-that-is-down") == 1
    seed = document(svc, site.url("/2025/12/30/seed-that-is-down"))
    assert seed.status == "active" and seed.next_check is not None  # the re-check schedule retries it
    assert list(story_links(svc, story_id)) == [seed.url]


async def test_no_other_node_claims_a_document_while_its_poll_fetches_it(svc, site, server, monkeypatch):
    """A matched document is due at once; with several daemons (compose --scale daemon=3) another
    node claimed it while the polling node was still fetching it, and fetched it a second time.
    The poll holds it under its own lease until the first check writes (and releases it)."""
    from jobs import enrol
    from storage import queue

    site.standard()
    feed = site.serve("/rss.xml", "good/rss.xml")
    source_id = add_source(svc, "world", "feed", feed)
    add_story(svc)
    claimed: list[int] = []
    real = enrol.check_document

    async def check_document(svc_, document_id):
        with svc_.session() as session:  # another daemon's dispatcher, just before the first fetch
            claimed.extend(
                queue.claim_documents(
                    session, owner="other-node", now=svc_.clock(), lease=timedelta(minutes=5), limit=10
                )
            )
        return await real(svc_, document_id)

    monkeypatch.setattr(enrol, "check_document", check_document)
    report = await poll_source(svc, source_id)
    assert report.fetched == 2 and claimed == []
    for path in (RESIDENCE, KREMLIN):
        doc = document(svc, site.url(path))
        assert doc.lease_owner is None and doc.lease_until is None  # the check released the hold
        assert len(versions(svc, site.url(path))) == 1 and server.hits(path) == 1
