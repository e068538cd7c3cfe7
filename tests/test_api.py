"""The JSON API, Atom feeds and operator routes through FastAPI's test client, over a story archived
through the real pipeline (local server -> fetch -> extract -> store), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import feedparser
import pytest

from api import security
from api.feeds import changes_feed
from scraper.core.diff_render import FORMATS as DIFF_FORMATS
from storage import catalog
from storage.export.atom import feed_id
from tests.fixtures.reading.story import A_TITLE_1, A_TITLE_2, HOSTILE, ONLY_IN_V1, build_story, export_file
from tests.fixtures.web.app import TOKEN, client


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
async def arc(server, services, clock):
    return await build_story(server, services, clock)


@pytest.fixture
def api(engine, db_url, clock):
    with client(engine, db_url, clock) as c:
        yield c


def doc_id(api, url: str) -> int:
    return api.get("/api/documents/by-url", params={"url": url}).json()["id"]


def collect(api, path: str, params: dict, key: str = "items") -> list[dict]:
    """Every item of a keyset-paginated list, page by page."""
    items, cursor = [], None
    for _ in range(50):
        page = api.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body[key]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


# -- stories and timelines ----------------------------------------------------------------------


async def test_stories_with_counts_and_last_change(arc, api):
    body = api.get("/api/stories").json()
    [story] = body["items"]
    assert (story["slug"], story["documents"], story["versions"]) == ("valdai", 2, 7)
    assert story["last_change_at"] == iso(arc.times["b3"])
    assert story["links"]["html"] == "/stories/valdai" and body["next_cursor"] is None
    assert api.get("/api/stories/valdai").json() == story


async def test_stories_keyset_pages(arc, api, services, clock):
    with services.session() as s:
        for slug in ("zulu", "alpha", "mid"):
            catalog.upsert_story(s, slug=slug, now=clock(), title=slug.title())
        s.commit()
    first = api.get("/api/stories", params={"limit": 2}).json()
    assert [s["slug"] for s in first["items"]] == ["alpha", "mid"] and first["next_cursor"]
    assert [s["slug"] for s in collect(api, "/api/stories", {"limit": 2})] == [
        "alpha",
        "mid",
        "valdai",
        "zulu",
    ]
    empty = api.get("/api/stories/zulu").json()
    assert (empty["documents"], empty["versions"], empty["last_change_at"]) == (0, 0, None)


async def test_unknown_story_is_404_json(arc, api):
    response = api.get("/api/stories/nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": "no story with slug 'nope' (see `storytrail stories list`)",
        "status": 404,
    }
    assert api.get("/api/stories/nope/timeline").status_code == 404


async def test_timeline_events_in_order(arc, api):
    body = api.get("/api/stories/valdai/timeline").json()
    assert body["story"]["slug"] == "valdai" and body["at"] is None
    events = body["events"]
    assert [(e["kind"], e["seq"]) for e in events] == [
        ("new_coverage", None),
        ("first_version", 1),
        ("new_coverage", None),
        ("first_version", 1),
        ("change", 2),
        ("headline", 2),
        ("change", 3),
        ("deleted", 2),
        ("reverted", 4),
        ("restored", 3),
    ]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    headline = events[5]
    assert headline["previous_title"] == A_TITLE_1 and headline["title"] == A_TITLE_2
    assert headline["headline_changed"] and not events[4]["headline_changed"]
    a = doc_id(api, arc.url_a)
    assert headline["links"]["diff_html"] == f"/documents/{a}/diff?channel=page&to=2"
    assert "diff" not in events[1]["links"]  # a first capture has nothing to compare to
    assert [d["url"] for d in body["documents"]] == [arc.url_b, arc.url_a]  # newest found first


async def test_timeline_as_of_filters_and_order(arc, api):
    path = "/api/stories/valdai/timeline"
    early = api.get(path, params={"at": iso(arc.times["a1"] + timedelta(minutes=5))}).json()
    assert [e["kind"] for e in early["events"]] == ["new_coverage", "first_version"]
    assert [d["title"] for d in early["documents"]] == [A_TITLE_1]
    naive = api.get(
        path, params={"at": (arc.times["a1"] + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")}
    )
    assert naive.json()["events"] == early["events"]  # a time without a zone is UTC
    kinds = api.get(path, params=[("kind", "deleted"), ("kind", "restored")]).json()["events"]
    assert [e["kind"] for e in kinds] == ["deleted", "restored"]
    window = api.get(path, params={"since": iso(arc.times["a2"]), "until": iso(arc.times["a3"])}).json()
    assert [(e["kind"], e["seq"]) for e in window["events"]] == [
        ("change", 2),
        ("headline", 2),
        ("change", 3),
    ]
    significant = api.get(path, params={"min_significance": 0.9}).json()["events"]
    assert {e["kind"] for e in significant} == {"first_version", "change", "headline", "deleted"}
    full = api.get(path).json()["events"]
    assert api.get(path, params={"order": "desc"}).json()["events"] == full[::-1]
    assert collect(api, path, {"limit": 2}, "events") == full
    assert collect(api, path, {"limit": 4, "order": "desc"}, "events") == full[::-1]


async def test_timeline_bad_parameters_are_422(arc, api):
    path = "/api/stories/valdai/timeline"
    backwards = api.get(path, params={"since": iso(arc.times["b3"]), "until": iso(arc.times["a1"])})
    assert backwards.status_code == 422 and "later than" in backwards.json()["error"]
    for params in (
        {"kind": "exploded"},
        {"kind": "discovered"},
        {"min_significance": 2},
        {"order": "sideways"},
        {"limit": 0},
        {"at": "yesterday"},
        {"cursor": "x"},
    ):
        response = api.get(path, params=params)
        assert response.status_code == 422, params
        assert response.json()["status"] == 422 and response.json()["error"]


# -- documents and versions ---------------------------------------------------------------------


async def test_documents_list_filters_and_pages(arc, api):
    assert [d["url"] for d in api.get("/api/documents").json()["items"]] == [arc.url_b, arc.url_a]
    assert [d["url"] for d in api.get("/api/documents", params={"story": "valdai"}).json()["items"]] == [
        arc.url_b,
        arc.url_a,
    ]
    assert api.get("/api/documents", params={"kind": "post"}).json()["items"] == []
    since = api.get("/api/documents", params={"since": iso(arc.times["b1"])}).json()["items"]
    assert [d["url"] for d in since] == [arc.url_b]
    until = api.get("/api/documents", params={"until": iso(arc.times["a1"])}).json()["items"]
    assert [d["url"] for d in until] == [arc.url_a]
    assert [d["url"] for d in collect(api, "/api/documents", {"limit": 1})] == [arc.url_b, arc.url_a]
    assert api.get("/api/documents", params={"story": "nope"}).status_code == 404
    unknown_source = api.get("/api/documents", params={"source": "nope"})
    assert unknown_source.status_code == 404 and "no source named 'nope'" in unknown_source.json()["error"]


async def test_document_by_id_and_by_url(arc, api):
    a = doc_id(api, arc.url_a)
    body = api.get(f"/api/documents/{a}").json()
    assert (body["url"], body["title"], body["channels"], body["versions"]) == (
        arc.url_a,
        A_TITLE_2,
        {"page": 4},
        4,
    )
    assert body["stories"] == ["valdai"] and body["outlet"] == "127.0.0.1"
    tracked = api.get("/api/documents/by-url", params={"url": arc.url_a + "?utm_source=newsletter"})
    assert tracked.status_code == 200 and tracked.json()["id"] == a  # found after canonicalization
    missing = api.get("/api/documents/by-url", params={"url": "https://news.example/never-archived"})
    assert missing.status_code == 404 and "never-archived" in missing.json()["error"]
    assert api.get("/api/documents/by-url", params={"url": "not a url"}).status_code == 404
    assert api.get("/api/documents/999999").status_code == 404
    assert api.get("/api/documents/0").status_code == 422
    assert api.get("/api/documents/abc").status_code == 422


async def test_versions_list_without_text(arc, api):
    a = doc_id(api, arc.url_a)
    items = api.get(f"/api/documents/{a}/versions").json()["items"]
    assert [(v["seq"], v["kind"]) for v in items] == [
        (1, "normal"),
        (2, "normal"),
        (3, "normal"),
        (4, "revert"),
    ]
    assert "text" not in items[0] and items[3]["revert_of"] == 2 and items[1]["summary"]
    assert [v["seq"] for v in collect(api, f"/api/documents/{a}/versions", {"limit": 3})] == [1, 2, 3, 4]
    assert [
        v["seq"] for v in api.get(f"/api/documents/{a}/versions", params={"kind": "revert"}).json()["items"]
    ] == [4]
    assert api.get(f"/api/documents/{a}/versions", params={"channel": "feed"}).json()["items"] == []
    since = api.get(f"/api/documents/{a}/versions", params={"since": iso(arc.times["a3"])}).json()["items"]
    assert [v["seq"] for v in since] == [3, 4]
    assert api.get("/api/documents/999999/versions").status_code == 404


async def test_one_version_with_text(arc, api):
    a = doc_id(api, arc.url_a)
    first = api.get(f"/api/documents/{a}/versions/1").json()
    assert (
        ONLY_IN_V1 in first["text"] and first["title"] == A_TITLE_1 and first["byline"] == "Marta Kowalczyk"
    )
    assert (
        ONLY_IN_V1 not in api.get(f"/api/documents/{a}/versions/2", params={"channel": "page"}).json()["text"]
    )
    missing = api.get(f"/api/documents/{a}/versions/9")
    assert missing.status_code == 404 and missing.json()["error"] == f"document {a} has no page version 9"
    assert api.get(f"/api/documents/{a}/versions/1", params={"channel": "feed"}).status_code == 404
    assert api.get(f"/api/documents/{a}/versions/0").status_code == 422
    assert api.get(f"/api/documents/{a}/versions/1", params={"channel": "smoke"}).status_code == 422


# -- diffs --------------------------------------------------------------------------------------


async def test_diff_json_defaults_to_latest_against_previous(arc, api):
    a = doc_id(api, arc.url_a)
    body = api.get(f"/api/documents/{a}/diff").json()
    assert (body["from_seq"], body["to_seq"], body["channel"]) == (3, 4, "page")
    assert body["summary"] == body["diff"]["summary"] and body["diff"]["blocks"]
    removed = [b["old"] for b in body["diff"]["blocks"] if b["op"] == "removed"]
    assert removed == ["The Kremlin said it would revise its stance in the peace talks."]
    explicit = api.get(f"/api/documents/{a}/diff", params={"from": 1, "to": 2}).json()
    assert explicit["diff"]["fields"][0] == {"field": "title", "old": A_TITLE_1, "new": A_TITLE_2}
    assert ONLY_IN_V1 in [b["old"] for b in explicit["diff"]["blocks"] if b["op"] == "removed"]


async def test_diff_skips_a_tombstone_by_default(arc, api):
    b = doc_id(api, arc.url_b)
    restored = api.get(f"/api/documents/{b}/diff").json()
    assert (restored["from_seq"], restored["to_seq"]) == (1, 3)  # compared with what it said before it went
    assert restored["summary"] == "a sentence added"
    deleted = api.get(f"/api/documents/{b}/diff", params={"to": 2}).json()
    assert (deleted["from_seq"], deleted["to_seq"]) == (1, 2)


@pytest.mark.parametrize(
    ("fmt", "media", "marker"),
    [
        ("text", "text/plain", "- The Kremlin said it would revise its stance"),
        ("unified", "text/x-diff", "--- "),
        ("markdown", "text/markdown", "### Changes"),
        ("html", "text/html", "<del>The Kremlin said it would revise its stance in the peace talks.</del>"),
        ("html-side", "text/html", '<table class="side">'),
    ],
)
async def test_diff_in_every_format(arc, api, fmt, media, marker):
    a = doc_id(api, arc.url_a)
    response = api.get(f"/api/documents/{a}/diff", params={"format": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert marker in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'none'" in policy and "default-src 'self'" in policy
    if fmt.startswith("html"):
        assert "style-src 'self' 'sha256-" in policy  # the page's one inline style, by hash


async def test_diff_html_of_hostile_text_is_escaped(arc, api):
    b = doc_id(api, arc.url_b)
    for fmt in ("html", "html-side"):
        page = api.get(f"/api/documents/{b}/diff", params={"format": fmt, "from": 1, "to": 3}).text
        for markup in HOSTILE[:2]:
            assert markup not in page
        assert page.count("</style>") == 1  # the page's own; the archived one is text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;/style&gt;" in page


async def test_diff_errors(arc, api):
    a = doc_id(api, arc.url_a)
    cases = {
        (("to", 9),): 404,
        (("from", 9), ("to", 2)): 404,
        (("channel", "feed"),): 404,
        (("to", 1),): 422,
        (("format", "pdf"),): 422,
        (("from", 0),): 422,
    }
    for params, status in cases.items():
        response = api.get(f"/api/documents/{a}/diff", params=list(params))
        assert response.status_code == status, (params, response.text)
        assert response.json()["status"] == status
    assert "nothing to compare" in api.get(f"/api/documents/{a}/diff", params={"to": 1}).json()["error"]
    assert api.get("/api/documents/999999/diff").status_code == 404


# -- across the archive -------------------------------------------------------------------------


async def test_changes_newest_first_with_filters(arc, api):
    items = api.get("/api/changes").json()["items"]
    assert len(items) == 7
    times = [(c["observed_at"], c["url"], c["seq"]) for c in items]
    assert times[0] == (iso(arc.times["b3"]), arc.url_b, 3) and times == sorted(times, reverse=True)
    assert collect(api, "/api/changes", {"limit": 2}) == items
    tombstones = api.get("/api/changes", params={"kind": "tombstone"}).json()["items"]
    assert [(c["url"], c["seq"]) for c in tombstones] == [(arc.url_b, 2)]
    recent = api.get("/api/changes", params={"since": iso(arc.times["a4"])}).json()["items"]
    assert [(c["url"], c["seq"]) for c in recent] == [(arc.url_b, 3), (arc.url_a, 4)]
    assert len(api.get("/api/changes", params={"story": "valdai"}).json()["items"]) == 7
    assert api.get("/api/changes", params={"document_kind": "post"}).json()["items"] == []
    assert api.get("/api/changes", params={"channel": "api"}).json()["items"] == []


async def test_search_with_snippets(arc, api):
    body = api.get("/api/search", params={"q": "Valdai"}).json()
    assert {h["url"] for h in body["hits"]} == {arc.url_a, arc.url_b}
    assert all("**Valdai**" in h["snippet"] for h in body["hits"])
    assert ["Valdai", True] in body["hits"][0]["snippet_parts"]
    assert api.get("/api/search", params={"q": "deliberate"}).json()["hits"] == []  # edited out of the latest
    old = api.get("/api/search", params={"q": "deliberate", "all_versions": "true"}).json()["hits"]
    assert [(h["url"], h["seq"]) for h in old] == [(arc.url_a, 1)]
    assert len(api.get("/api/search", params={"q": "Valdai", "story": "valdai"}).json()["hits"]) == 2
    assert api.get("/api/search", params={"q": "Valdai", "story": "nope"}).status_code == 404
    for params in ({"q": ""}, {"q": "-Valdai"}, {"q": "Valdai", "limit": 0}, {}):
        assert api.get("/api/search", params=params).status_code == 422, params


# -- writes -------------------------------------------------------------------------------------


async def test_writes_are_refused_without_a_configured_token(arc, api, server):
    for path, body in (
        ("/api/sources", {"name": "w", "kind": "feed", "url": "https://news.example/rss"}),
        ("/api/stories", {"slug": "new"}),
        ("/api/checks", {"url": server.url("/x")}),
    ):
        response = api.post(path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 403
        assert (
            "STORYTRAIL_API_TOKEN" in response.json()["error"]
            and "Authorization: Bearer" in response.json()["error"]
        )
    assert api.get("/api/sources").json()["items"] == []


@pytest.fixture
def writer(engine, db_url, clock):
    with client(engine, db_url, clock, api_token=TOKEN) as c:
        yield c


async def test_writes_need_the_right_bearer_token(arc, writer):
    body = {"name": "world", "kind": "feed", "url": "https://news.example/rss.xml"}
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": TOKEN},
    ):
        response = writer.post("/api/sources", json=body, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
    assert writer.get("/api/sources").json()["items"] == []


async def test_add_source_and_story(arc, writer):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"name": "world", "kind": "feed", "url": "https://news.example/rss.xml", "every": "15m"}
    created = writer.post("/api/sources", json=body, headers=auth)
    assert created.status_code == 201 and created.json()["created"] is True
    updated = writer.post("/api/sources", json={**body, "every": "5m"}, headers=auth)
    assert updated.status_code == 200 and updated.json()["created"] is False
    [source] = writer.get("/api/sources").json()["items"]
    assert (source["name"], source["every"], source["params"]["origin"]) == ("world", "5m", "api")
    bad = writer.post("/api/sources", json={**body, "kind": "carrier-pigeon"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["details"][0]["loc"] == ["body", "kind"]
    assert writer.post("/api/sources", json={**body, "name": "a\x00b"}, headers=auth).status_code == 422
    story = writer.post("/api/stories", json={"slug": "kyiv-denial", "title": "Kyiv denies"}, headers=auth)
    assert story.status_code == 201 and story.json()["links"]["html"] == "/stories/kyiv-denial"
    assert writer.get("/api/stories/kyiv-denial").json()["title"] == "Kyiv denies"
    assert writer.post("/api/stories", json={"slug": "Not A Slug"}, headers=auth).status_code == 422


async def test_check_a_url_now(arc, writer, server):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    server.route(
        "/news/fresh",
        "<html><head><title>Fresh report</title></head><body><article><p>"
        + "Kyiv denied the claim about the residence near Valdai on Tuesday. " * 5
        + "</p></article></body></html>",
    )
    response = writer.post(
        "/api/checks", json={"url": server.url("/news/fresh"), "story": "valdai"}, headers=auth
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["outcome"], report["seq"], report["channel"]) == ("new_version", 1, "page")
    assert report["links"]["html"] == f"/documents/{report['document_id']}"
    timeline = writer.get("/api/stories/valdai/timeline").json()
    assert server.url("/news/fresh") in [d["url"] for d in timeline["documents"]]
    unknown = writer.post(
        "/api/checks", json={"url": server.url("/news/fresh"), "story": "nope"}, headers=auth
    )
    assert unknown.status_code == 404
    assert writer.post("/api/checks", json={"url": "ftp://news.example/x"}, headers=auth).status_code == 422
    assert writer.post("/api/checks", json={}, headers=auth).status_code == 422


# -- feeds, operator routes, headers, schema ----------------------------------------------------


async def test_atom_feeds(arc, api, engine, tmp_path):
    everything = feedparser.parse(api.get("/feeds/changes.atom").content)
    assert everything.version == "atom10" and everything.feed.id == "tag:storytrail,2025:changes"
    assert len(everything.entries) == 7
    response = api.get("/feeds/stories/valdai.atom")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    story = feedparser.parse(response.content)
    assert story.feed.id == feed_id("valdai") and len(story.entries) == 7
    export_file(engine, "atom", tmp_path / "export.atom")
    exported = feedparser.parse((tmp_path / "export.atom").read_bytes())
    assert [e.id for e in story.entries] == [e.id for e in exported.entries]  # the export's very entries
    assert [e.title for e in story.entries] == [e.title for e in exported.entries]
    assert story.entries[0].updated == iso(arc.times["b3"])
    missing = api.get("/feeds/stories/nope.atom")
    assert missing.status_code == 404 and missing.json()["status"] == 404


async def test_atom_feed_holds_only_the_newest_changes(arc, engine, clock):
    from sqlmodel import Session

    with Session(engine) as s:
        feed = feedparser.parse(changes_feed(s, story=None, now=clock(), self_url="http://x/feed", limit=3))
    assert [e.updated for e in feed.entries] == [iso(arc.times[k]) for k in ("b3", "a4", "b2")]


async def test_health_and_metrics(arc, api):
    assert api.get("/healthz").json() == {"status": "ok", "database": "ok"}
    metrics = api.get("/metrics")
    assert metrics.status_code == 200 and "storytrail_fetches_total" in metrics.text


async def test_security_headers_on_every_kind_of_answer(arc, api):
    for path in (
        "/api/stories",
        "/",
        "/stories/valdai",
        "/static/style.css",
        "/api/nope",
        "/nope",
        "/feeds/changes.atom",
        "/openapi.json",
        "/healthz",
        "/api/stories?limit=0",
    ):
        headers = api.get(path).headers
        assert headers["content-security-policy"] == security.CSP, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"


async def test_openapi_describes_every_route(api):
    schema = api.get("/openapi.json").json()
    assert set(schema["paths"]) >= {
        "/api/stories",
        "/api/stories/{slug}",
        "/api/stories/{slug}/timeline",
        "/api/documents",
        "/api/documents/by-url",
        "/api/documents/{document_id}",
        "/api/documents/{document_id}/versions",
        "/api/documents/{document_id}/versions/{seq}",
        "/api/documents/{document_id}/diff",
        "/api/changes",
        "/api/search",
        "/api/sources",
        "/api/checks",
        "/feeds/changes.atom",
        "/feeds/stories/{slug}.atom",
        "/healthz",
        "/metrics",
    }
    assert set(schema["paths"]["/api/sources"]) == {"get", "post"}
    params = {p["name"]: p for p in schema["paths"]["/api/documents/{document_id}/diff"]["get"]["parameters"]}
    assert params["format"]["schema"]["enum"] == list(DIFF_FORMATS)  # every format render() knows
    assert not any(path == "/" or path.startswith("/stories") for path in schema["paths"])  # pages stay out
    assert api.get("/docs").status_code == 404  # Swagger UI loads third-party script: not served


async def test_parameters_no_database_can_hold_are_422(arc, api):
    for path in (
        "/api/stories/%00",
        "/api/search?q=a%00b",
        "/api/documents/by-url?url=http://x/%00",
        "/api/documents/99999999999",
        "/api/stories?limit=501",
        "/api/changes?since=not-a-time",
        "/api/changes?since=0001-01-01T00:00:00%2B05:00",
        "/api/documents?cursor=WyJhIl0",
    ):
        response = api.get(path)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]
