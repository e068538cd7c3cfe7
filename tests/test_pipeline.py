"""The capture pipeline end to end: a real local HTTP server, real fetches, SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import Session, select

from jobs.pipeline import check_url
from storage import documents as docs
from storage.models import Blob, Check, Version
from tests.localserver import Reply, Request

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2025-12-29T18:40:00+00:00"></head>
<body><nav>Home | World</nav><article><h1>{title}</h1><p class="byline">By Marta Kowalczyk</p>
<p>Russia said on Monday that Ukraine had launched {n} long-range drones at the state residence near Valdai,
in what Moscow described as a "deliberate attack" on the head of state.</p>
<p>According to the Russian defence ministry, all of the drones were intercepted by air defence systems
and no one was hurt. No images of debris or damage were released by the ministry.</p>
{extra}</article><footer>All rights reserved.</footer></body></html>"""


def page(title: str = "Russia says drones targeted Putin residence", n: int = 91, extra: str = "") -> str:
    return PAGE.format(title=title, n=n, extra=extra)


def versions(engine, url: str) -> list[Version]:
    with Session(engine) as s:
        doc = docs.get_document(s, url=url)
        return docs.list_versions(s, document_id=doc.id, channel="page")


def checks(engine) -> list[Check]:
    with Session(engine) as s:
        return list(s.exec(select(Check).order_by(Check.id)))


async def test_first_version_unchanged_and_change(server, services, engine, clock):
    url = server.url("/a")
    server.route("/a", page())
    first = await check_url(services, url)
    assert first.outcome.value == "new_version" and first.seq == 1
    clock.advance(minutes=10)
    same = await check_url(services, url)
    assert same.outcome.value == "unchanged" and same.seq == 1
    # whitespace and quote variants are not a change
    variant = (
        page()
        .replace("Monday that", "Monday   that")
        .replace('"deliberate attack"', "\u201cdeliberate attack\u201d")
    )
    assert variant != page()
    server.route("/a", variant)
    clock.advance(minutes=10)
    assert (await check_url(services, url)).outcome.value == "unchanged"
    server.route("/a", page(title="Russia claims 91-drone attack; Kyiv calls it a fabrication"))
    clock.advance(minutes=10)
    changed = await check_url(services, url)
    assert changed.outcome.value == "new_version" and changed.seq == 2
    rows = versions(engine, url)
    assert [v.seq for v in rows] == [1, 2]
    assert rows[0].last_confirmed_at > rows[0].observed_at
    assert rows[1].title.startswith("Russia claims")
    assert "Valdai" in rows[1].text and "All rights reserved" not in rows[1].text
    assert rows[1].extractor == "trafilatura" and rows[1].extractor_version
    assert [c.outcome for c in checks(engine)] == ["new_version", "unchanged", "unchanged", "new_version"]


async def test_not_modified_with_etag(server, services, engine):
    url = server.url("/e")
    body = page().encode()

    def handler(req: Request) -> Reply:
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        return Reply(body=body, headers={"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'})

    server.route("/e", handler=handler)
    assert (await check_url(services, url)).seq == 1
    again = await check_url(services, url)
    assert again.outcome.value == "not_modified" and again.seq == 1
    assert checks(engine)[-1].http_status == 304


async def test_identical_raw_bytes_skip_extraction(server, services, engine):
    url = server.url("/same")
    server.route("/same", page())
    await check_url(services, url)
    calls = []
    original = services.extractor.extract_page

    async def counting(*args, **kwargs):
        calls.append(args)
        return await original(*args, **kwargs)

    services.extractor.extract_page = counting
    assert (await check_url(services, url)).outcome.value == "unchanged"
    assert calls == []
    with Session(engine) as s:
        assert len(list(s.exec(select(Blob)))) == 1  # deduplicated raw body


async def test_revert(server, services, engine, clock):
    url = server.url("/r")
    a = page(title="Trump sides with Putin over drone claim")
    b = page(title="Trump says attack 'possible' never happened")
    for body in (a, b, a):
        server.route("/r", body)
        clock.advance(hours=1)
        report = await check_url(services, url)
    assert report.kind == "revert" and report.revert_of == 1 and report.seq == 3
    assert [v.kind for v in versions(engine, url)] == ["normal", "normal", "revert"]


async def test_tombstone_after_two_misses_and_reappearance(server, services, engine, clock):
    url = server.url("/t")
    server.route("/t", page())
    await check_url(services, url)
    server.route("/t", "gone", status=404)
    clock.advance(hours=1)
    first_miss = await check_url(services, url)
    assert first_miss.outcome.value == "gone" and first_miss.seq is None
    assert len(versions(engine, url)) == 1
    clock.advance(hours=1)
    second_miss = await check_url(services, url)
    assert second_miss.kind == "tombstone" and second_miss.seq == 2
    clock.advance(hours=1)
    assert (await check_url(services, url)).seq is None  # no second tombstone
    server.route("/t", page())
    clock.advance(hours=1)
    back = await check_url(services, url)
    assert back.outcome.value == "new_version" and back.seq == 3 and "restored" in back.summary
    assert [v.kind for v in versions(engine, url)] == ["normal", "tombstone", "normal"]


async def test_robots_denied_is_a_check(server, services, engine):
    server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    report = await check_url(services, server.url("/private/x"))
    assert report.outcome.value == "robots_denied"
    assert "robots.txt" in report.error
    assert server.hits("/private/x") == 0
    assert checks(engine)[-1].outcome == "robots_denied"


async def test_errors_are_checks_and_keep_versions(server, engine, db_url, clock):
    from jobs.services import open_services
    from tests.conftest import make_settings

    url = server.url("/big")
    server.route("/big", page())
    settings = make_settings(db_url, max_body_bytes=20_000)
    async with open_services(settings, engine=engine, clock=clock, extract_workers=0) as svc:
        await check_url(svc, url)
        server.route("/big", page(extra="<p>" + "x " * 50_000 + "</p>"))
        clock.advance(hours=1)
        report = await check_url(svc, url)
        assert report.outcome.value == "error"
        assert url in report.error
        server.route("/big", "oops", status=500)
        clock.advance(hours=1)
        report = await check_url(svc, url)
        assert report.outcome.value == "error" and "500" in report.error
    assert len(versions(engine, url)) == 1
    assert [c.outcome for c in checks(engine)] == ["new_version", "error", "error"]


async def test_tracking_parameters_name_one_document(server, services, engine):
    server.route("/c", page())
    await check_url(services, server.url("/c?utm_source=rss&utm_medium=x"))
    again = await check_url(services, server.url("/c#comments"))
    assert again.outcome.value == "unchanged"


async def test_story_link(server, services, engine, clock):
    from storage import catalog

    with Session(engine) as s:
        catalog.upsert_story(s, slug="valdai", now=clock(), title="Valdai", query="Valdai")
        s.commit()
    server.route("/s", page())
    await check_url(services, server.url("/s"), story_slug="valdai")
    with Session(engine) as s:
        story = catalog.get_story(s, slug="valdai")
        rows = catalog.story_documents(s, story_id=story.id)
    assert [d.url for _, d in rows] == [server.url("/s")]
