"""Social sources end to end: polls of local stand-ins for Mastodon, Bluesky, Telegram, Reddit and
YouTube (tests/fixtures/social_local/), the real fetch path, SQLite and PostgreSQL.

A post is a document (kind "post") versioned on the api channel: an edit is a new version with a
diff summary, a post missing twice is a tombstone, a post that comes back is a new version, and
engagement counts are Measurement rows, never versions. Links in a post that belongs to a story
are candidates of that story (via "social"). Recorded real answers come from the shared corpus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlmodel import col, select

from jobs.polling import poll_source
from scraper.http import Fetcher
from scraper.sources import SourceConfigError, SourceSpec, adapter_for
from scraper.sources.social import read_source
from storage import documents as docs
from storage.models import Document, Measurement, Version
from tests.fixtures.social_local.standins import (
    PLATFORMS,
    Mastodon,
    Reddit,
    StandIn,
    Telegram,
    json_reply,
    query,
)
from tests.localserver import LocalServer, Reply, Request
from tests.test_poll import (
    POWER,
    QUERY,
    RESIDENCE,
    NewsSite,
    add_source,
    add_story,
    document,
    local_only,
    source_checks,
    story_links,
    versions,
)

T0 = datetime(2025, 12, 29, 18, 0, tzinfo=UTC)
A_TEXT = "Russia says Ukraine fired 91 drones at Putin's Valdai residence; Kyiv calls it a fabrication."
A_EDIT = "Russia says Ukraine fired 91 drones at Putin's Valdai residence; Washington now doubts the claim."
B_TEXT = (
    "Kremlin says it will revise its stance in peace talks after the drone attack on the Valdai residence."
)
C_TEXT = "Kyiv schedules rolling power cuts as the cold snap deepens."
A, B, C = "1003", "1002", "1001"
CORPUS = "social"


# --- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
async def svc(services):
    async with local_only(services) as local:
        yield local


@pytest.fixture
def site(server: LocalServer) -> NewsSite:
    news = NewsSite(server)
    news.standard()
    return news


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest, server: LocalServer) -> StandIn:
    return PLATFORMS[request.param](server)


def add_social(svc, standin: StandIn, name: str | None = None, **params: object) -> int:
    return add_source(
        svc, name or standin.kind, standin.kind, standin.source_url, api=standin.server.base, **params
    )


def api_versions(svc, url: str) -> list[Version]:
    return versions(svc, url, "api")


def measured(svc, url: str, name: str) -> list[float]:
    with svc.session() as session:
        doc = docs.get_document(session, url=url)
        rows = session.exec(
            select(Measurement)
            .where(Measurement.document_id == doc.id, Measurement.name == name)
            .order_by(col(Measurement.at), col(Measurement.id))
        )
        return [m.value for m in rows]


def post_documents(svc) -> dict[str, Document]:
    with svc.session() as session:
        return {d.url: d for d in session.exec(select(Document).where(Document.kind == "post"))}


async def poll(svc, source_id: int, **advance: float):
    svc.clock.advance(**(advance or {"minutes": 10}))
    report = await poll_source(svc, source_id)
    assert report.outcome == "ok", report.error
    return report


def three_posts(standin: StandIn, site: NewsSite) -> tuple[str, str, str]:
    """A (matches, links the residence article), B (matches), C (unrelated, links another article)."""
    a = standin.add(A, A_TEXT, at=T0 + timedelta(minutes=40), links=(site.url(RESIDENCE),), count=10)
    b = standin.add(B, B_TEXT, at=T0 + timedelta(minutes=20), count=3)
    c = standin.add(C, C_TEXT, at=T0, links=(site.url(POWER),), count=1)
    return a, b, c


# --- every platform: posts, edits, engagement, deletion, return, links ----------------------------


async def test_posts_are_versioned_documents_and_their_links_join_the_story(svc, site, platform):
    story_id = add_story(svc)
    a, b, c = three_posts(platform, site)
    source_id = add_social(svc, platform)

    report = await poll(svc, source_id)

    posts = post_documents(svc)
    assert sorted(posts) == sorted([a, b, c])
    assert {(d.kind, d.platform, d.source_id) for d in posts.values()} == {("post", platform.kind, source_id)}
    assert (posts[a].status, posts[b].status, posts[c].status) == ("active", "active", "seen")
    for url, text in ((a, "91 drones"), (b, "revise its stance"), (c, "rolling power cuts")):
        (version,) = api_versions(svc, url)
        assert (version.seq, version.kind, version.channel) == (1, "normal", "api") and text in version.text
        assert version.canonical_url == url
    assert versions(svc, a) == []  # a post is never fetched as a page
    links = story_links(svc, story_id)
    assert (links[a].via, links[b].via, links[a].source_id) == ("source", "source", source_id)
    assert links[a].reason.startswith("post text: query matched")
    article = links[site.url(RESIDENCE)]
    assert (article.via, article.from_document_id, article.source_id) == ("social", posts[a].id, source_id)
    assert [v.title for v in versions(svc, site.url(RESIDENCE))] == [
        "Russia says Ukraine fired 91 drones at Putin's Valdai residence"
    ]
    assert c not in links and document(svc, site.url(POWER)) is None  # links of unmatched posts wait
    assert (report.new, report.matched, report.fetched, report.edited) == (4, 3, 1, 0)
    (check,) = source_checks(svc, source_id)
    assert (check.outcome, check.http_status, check.error) == ("new_version", 200, None)


async def test_engagement_is_measured_an_edit_is_a_version_a_deletion_a_tombstone(svc, site, platform):
    add_story(svc)
    a, b, _ = three_posts(platform, site)
    source_id = add_social(svc, platform)
    await poll(svc, source_id)

    platform.engage(A, 25)
    quiet = await poll(svc, source_id)
    assert len(api_versions(svc, a)) == 1 and quiet.edited == 0
    if platform.metric:
        assert measured(svc, a, platform.metric) == [10.0, 25.0]
    assert source_checks(svc, source_id)[-1].outcome == "unchanged"

    platform.edit(A, A_EDIT, at=svc.clock())
    edited = await poll(svc, source_id)
    first, second = api_versions(svc, a)
    assert edited.edited == 1 and (second.seq, second.kind) == (2, "normal")
    assert "Kyiv calls it a fabrication" in first.text and "Washington now doubts" in second.text
    assert second.change_summary["summary"] and second.change_summary.get("significance", 0) > 0

    platform.delete(B)
    await poll(svc, source_id)
    assert [v.kind for v in api_versions(svc, b)] == ["normal"]  # one miss is not a deletion yet
    assert (document(svc, b).missing_count, document(svc, b).status) == (1, "active")
    await poll(svc, source_id)
    kept, tombstone = api_versions(svc, b)
    assert (tombstone.seq, tombstone.kind, tombstone.change_summary["last_seq"]) == (2, "tombstone", 1)
    assert kept.text == B_TEXT  # the last content stays
    assert document(svc, b).status == "gone"

    platform.restore(B)
    back = await poll(svc, source_id)
    restored = api_versions(svc, b)[-1]
    assert (restored.seq, restored.kind, restored.change_summary.get("restored")) == (3, "normal", True)
    assert restored.text == B_TEXT and back.edited == 1
    doc = document(svc, b)
    assert (doc.status, doc.missing_count) == ("active", 0)


async def test_a_post_missing_once_and_then_back_is_never_a_tombstone(svc, site, platform):
    add_story(svc)
    _, b, _ = three_posts(platform, site)
    source_id = add_social(svc, platform)
    await poll(svc, source_id)
    for _ in range(2):  # missing, back, missing again, back: never two misses in a row
        platform.delete(B)
        await poll(svc, source_id)
        platform.restore(B)
        await poll(svc, source_id)
    assert [v.kind for v in api_versions(svc, b)] == ["normal"]
    assert document(svc, b).missing_count == 0


# --- Mastodon edit history ------------------------------------------------------------------------


async def test_mastodon_history_catches_edits_made_between_polls(svc, site, server):
    mastodon = Mastodon(server)
    a = mastodon.add(A, A_TEXT, at=T0, links=(site.url(RESIDENCE),))
    source_id = add_social(svc, mastodon)
    await poll(svc, source_id)
    assert server.hits(f"/api/v1/statuses/{A}/history") == 0  # never edited: no history needed

    first_edit, second_edit = T0 + timedelta(minutes=50), T0 + timedelta(minutes=55)
    mastodon.edit(A, A_TEXT + " Update: no debris has been shown.", at=first_edit)
    mastodon.edit(A, A_EDIT, at=second_edit)
    report = await poll(svc, source_id)

    texts = [v.text for v in api_versions(svc, a)]
    assert len(texts) == 3 and "no debris has been shown" in texts[1] and "Washington now doubts" in texts[2]
    assert [v.modified for v in api_versions(svc, a)] == [None, first_edit, second_edit]
    assert api_versions(svc, a)[1].change_summary["summary"]
    assert report.edited == 1 and server.hits(f"/api/v1/statuses/{A}/history") == 1

    await poll(svc, source_id)  # edited_at unchanged: the history is not read again
    assert server.hits(f"/api/v1/statuses/{A}/history") == 1 and len(api_versions(svc, a)) == 3


async def test_mastodon_post_first_seen_after_edits_gets_its_whole_history(svc, server):
    mastodon = Mastodon(server)
    a = mastodon.add(A, A_TEXT, at=T0)
    mastodon.edit(A, A_EDIT, at=T0 + timedelta(minutes=5))
    await poll(svc, add_social(svc, mastodon))
    assert [v.text for v in api_versions(svc, a)] == [A_TEXT, A_EDIT]


async def test_mastodon_history_that_fails_keeps_the_current_text_and_says_why(svc, server):
    mastodon = Mastodon(server)
    a = mastodon.add(A, A_TEXT, at=T0)
    source_id = add_social(svc, mastodon)
    await poll(svc, source_id)
    mastodon.edit(A, A_EDIT, at=T0 + timedelta(minutes=5))
    server.route(f"/api/v1/statuses/{A}/history", "oops", status=500)
    report = await poll(svc, source_id)
    assert [v.text for v in api_versions(svc, a)] == [A_TEXT, A_EDIT]
    assert (
        report.errors == 1
        and "HTTP 500" in report.failures[0]
        and "current text is kept" in report.failures[0]
    )


# --- Reddit: a removed post -----------------------------------------------------------------------


async def test_reddit_post_shown_as_removed_twice_is_a_tombstone(svc, server, site):
    reddit = Reddit(server)
    a, b, _ = three_posts(reddit, site)
    source_id = add_social(svc, reddit)
    await poll(svc, source_id)
    reddit.removed.add(B)
    await poll(svc, source_id)
    await poll(svc, source_id)
    assert [v.kind for v in api_versions(svc, b)] == ["normal", "tombstone"]
    assert document(svc, b).status == "gone" and len(api_versions(svc, a)) == 1


# --- Telegram pages -------------------------------------------------------------------------------


async def test_telegram_reads_older_pages_with_before_up_to_three(svc, server):
    telegram = Telegram(server)
    telegram.page_size = 2
    for n in range(1, 8):
        telegram.add(str(100 + n), f"Valdai update number {n}", at=T0 + timedelta(minutes=n))
    source_id = add_social(svc, telegram)
    report = await poll(svc, source_id)
    got = sorted(int(url.rsplit("/", 1)[1]) for url in post_documents(svc))
    assert got == [102, 103, 104, 105, 106, 107]  # three pages of two, the oldest left out
    paths = [r.path for r in server.requests if r.path.startswith("/s/")]
    assert paths == ["/s/valdai_watch", "/s/valdai_watch?before=106", "/s/valdai_watch?before=104"]
    assert report.entries == 6 and report.warnings == []


# --- Mastodon accounts ----------------------------------------------------------------------------


def account_stand_in(server: LocalServer, mastodon: Mastodon, page_size: int = 2) -> None:
    server.route(
        "/api/v1/accounts/lookup", handler=lambda req: json_reply({"id": "42", "acct": "newsdesk_eu"})
    )

    def statuses(req: Request) -> Reply:
        below = query(req).get("max_id")
        shown = [p for p in mastodon.live() if below is None or int(p.key) < int(below)][:page_size]
        return json_reply([mastodon.status(p) for p in shown])

    server.route("/api/v1/accounts/42/statuses", handler=statuses)


async def test_mastodon_account_is_looked_up_then_read_page_by_page(svc, server):
    mastodon = Mastodon(server)
    for n in range(1, 6):
        mastodon.add(str(1000 + n), f"Valdai note {n}", at=T0 + timedelta(minutes=n))
    account_stand_in(server, mastodon)
    source_id = add_source(
        svc, "desk", "mastodon", "https://mastodon.example/@newsdesk_eu", api=server.base, pages=2
    )
    await poll(svc, source_id)
    assert sorted(post_documents(svc)) == sorted(mastodon.url_of(str(1000 + n)) for n in range(2, 6))
    paths = [r.path for r in server.requests if r.path.startswith("/api/v1/accounts")]
    assert paths == [
        "/api/v1/accounts/lookup?acct=newsdesk_eu",
        "/api/v1/accounts/42/statuses?limit=40",
        "/api/v1/accounts/42/statuses?limit=40&max_id=1004",
    ]


async def test_unknown_mastodon_account_is_one_clear_error(svc, server):
    server.route(
        "/api/v1/accounts/lookup", '{"error":"Record not found"}', status=404, content_type="application/json"
    )
    source_id = add_source(svc, "desk", "mastodon", "https://mastodon.example/@nobody", api=server.base)
    report = await poll_source(svc, source_id)
    assert report.outcome == "error" and "answered 'Record not found'" in report.error
    assert report.error.startswith(server.url("/api/v1/accounts/lookup?acct=nobody"))


# --- rate limits ----------------------------------------------------------------------------------


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


async def no_dns(host: str) -> list[str]:
    raise OSError(f"tests never resolve host names ({host})")


def fetcher_with(svc, sleep: Sleeps, **config: object) -> Fetcher:
    from dataclasses import replace

    return Fetcher(replace(svc.fetcher.config, **config), clock=svc.clock, sleep=sleep, resolve=no_dns)


async def test_429_with_retry_after_is_honoured_by_the_fetcher(svc, server):
    mastodon = Mastodon(server)
    a = mastodon.add(A, A_TEXT, at=T0)
    answers = iter([json_reply({"error": "Too many requests"}, 429, {"Retry-After": "7"})])
    server.route(
        "/api/v1/timelines/tag/Valdai", handler=lambda req: next(answers, None) or mastodon.timeline(req)
    )
    sleeps = Sleeps()
    svc.fetcher = fetcher_with(svc, sleeps, retries=1)
    try:
        await poll(svc, add_social(svc, mastodon))
    finally:
        await svc.fetcher.aclose()
    assert 7.0 in sleeps.calls and len(api_versions(svc, a)) == 1


async def test_429_after_every_retry_is_one_clear_source_error_and_loses_nothing(svc, server):
    mastodon = Mastodon(server)
    a = mastodon.add(A, A_TEXT, at=T0)
    source_id = add_social(svc, mastodon)
    await poll(svc, source_id)
    server.route(
        "/api/v1/timelines/tag/Valdai",
        json.dumps({"error": "Too many requests"}),
        status=429,
        headers={"Retry-After": "7"},
        content_type="application/json",
    )
    sleeps = Sleeps()
    svc.fetcher = fetcher_with(svc, sleeps, retries=1)
    try:
        svc.clock.advance(minutes=10)
        report = await poll_source(svc, source_id)
    finally:
        await svc.fetcher.aclose()
    assert report.outcome == "error"
    assert "rate limited: HTTP 429" in report.error and "Retry-After: 7" in report.error
    assert "after 2 attempts" in report.error
    check = source_checks(svc, source_id)[-1]
    assert check.outcome == "error" and check.error == report.error
    assert len(api_versions(svc, a)) == 1 and document(svc, a).status == "seen"


async def test_exhausted_quota_stops_the_poll_with_a_warning_and_keeps_what_was_read(svc, server):
    telegram = Telegram(server)
    telegram.page_size = 2
    for n in range(1, 6):
        telegram.add(str(100 + n), f"Valdai update number {n}", at=T0 + timedelta(minutes=n))
    reset = svc.clock() + timedelta(hours=1)
    telegram.headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.isoformat(),
    }
    source_id = add_social(svc, telegram)
    report = await poll(svc, source_id)
    assert server.hits("/s/valdai_watch") == 1 and len(post_documents(svc)) == 2
    (warning,) = report.warnings
    assert "rate limit used up (0 of 300 requests left until 2025-12-29T20:" in warning
    assert "retry_max_wait=60s" in warning and "read on the next poll" in warning
    assert warning in source_checks(svc, source_id)[-1].error


async def test_used_up_quota_with_a_near_reset_waits_for_it(svc, server):
    mastodon = Mastodon(server)
    mastodon.add(A, A_TEXT, at=T0)
    reset = (svc.clock() + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    server.route(
        "/api/v1/accounts/lookup",
        handler=lambda req: json_reply(
            {"id": "42", "acct": "newsdesk_eu"},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        ),
    )
    server.route("/api/v1/accounts/42/statuses", handler=mastodon.timeline)
    spec = SourceSpec(
        "desk", "mastodon", "https://mastodon.example/@newsdesk_eu", params={"api": server.base}
    )
    sleeps = Sleeps()
    result = await read_source(svc.fetcher, spec, sleep=sleeps)
    assert sleeps.calls == [30.0] and result.warnings == []
    assert [o.url for o in result.observations] == [mastodon.url_of(A)] and result.fetches == 2


# --- errors: one clear message, nothing lost ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            401,
            b'{"error":"This method requires an authenticated user"}',
            "disables public timelines for visitors",
        ),
        (200, b"", "sent an empty answer"),
        (200, b'[{"id": "1003", "content": "<p>cut off', "sent malformed JSON"),
        (200, b'{"unexpected": true}', "expected Mastodon statuses"),
    ],
    ids=["disabled-401", "disabled-empty", "malformed", "wrong-shape"],
)
async def test_a_broken_answer_is_one_clear_error_on_the_check_and_loses_nothing(
    svc, server, site, status, body, expected
):
    mastodon = Mastodon(server)
    a, b, c = three_posts(mastodon, site)
    source_id = add_social(svc, mastodon)
    await poll(svc, source_id)
    before = {url: [(v.seq, v.kind) for v in api_versions(svc, url)] for url in (a, b, c)}

    server.route("/api/v1/timelines/tag/Valdai", body, status=status, content_type="application/json")
    svc.clock.advance(minutes=10)
    report = await poll_source(svc, source_id)

    assert report.outcome == "error" and expected in report.error
    assert report.error.startswith(server.url("/api/v1/timelines/tag/Valdai"))
    assert "\n" not in report.error and "Traceback" not in report.error
    check = source_checks(svc, source_id)[-1]
    assert (check.outcome, check.error) == ("error", report.error)
    assert {url: [(v.seq, v.kind) for v in api_versions(svc, url)] for url in (a, b, c)} == before
    assert all(d.status != "gone" and d.missing_count == 0 for d in post_documents(svc).values())


async def test_bluesky_search_without_credentials_says_to_configure_them(svc):
    source_id = add_source(svc, "search", "bluesky", "https://bsky.app/search?q=Valdai")
    report = await poll_source(svc, source_id)
    assert (
        report.outcome == "error" and "not open to anonymous readers; configure credentials" in report.error
    )


async def test_configured_credentials_whose_variable_is_unset_are_named(svc, monkeypatch):
    monkeypatch.delenv("BSKY_HANDLE", raising=False)
    spec = SourceSpec(
        "s",
        "bluesky",
        "https://bsky.app/search?q=Valdai",
        params={"credentials": {"identifier": "BSKY_HANDLE", "password": "BSKY_APP_PASSWORD"}},
    )
    with pytest.raises(SourceConfigError, match="environment variable BSKY_HANDLE .identifier. is not set"):
        await adapter_for("bluesky")(svc.fetcher, spec, stories=[])


async def test_unreadable_source_url_names_the_forms_understood(svc):
    source_id = add_source(svc, "odd", "telegram", "https://t.me/joinchat/abc")
    report = await poll_source(svc, source_id)
    assert report.outcome == "error" and "https://t.me/s/CHANNEL" in report.error


# --- the shared corpus: recorded real answers served by a stand-in --------------------------------


def cassette_answer(path: Path, uri_part: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the first interaction of a VCR cassette whose URI has ``uri_part``."""
    for interaction in yaml.safe_load(path.read_text())["interactions"]:
        if uri_part in interaction["request"]["uri"]:
            response = interaction["response"]
            headers = {k: v[0] for k, v in response["headers"].items() if k.lower().startswith("x-ratelimit")}
            return response["body"]["string"].encode(), headers
    raise LookupError(uri_part)


def recorded(path: Path) -> bytes:
    return json.dumps(json.loads(path.read_text())["body"]).encode()


async def test_corpus_mastodon_tag_timeline(svc, server, corpus):
    body, headers = cassette_answer(
        corpus / CORPUS / "mastodon-py" / "test_hashtag_tl.yaml", "/timelines/tag/"
    )
    server.route("/api/v1/timelines/tag/hoot", body, content_type="application/json", headers=headers)
    source_id = add_source(svc, "hoot", "mastodon", "https://mastodon.example/tags/hoot", api=server.base)
    report = await poll(svc, source_id)
    posts = post_documents(svc)
    statuses = json.loads(body)
    assert len(posts) == len(statuses) >= 1 and report.warnings == []
    for status in statuses:
        (version,) = api_versions(svc, status["url"])
        assert version.meta["id"] == status["id"] and posts[status["url"]].platform == "mastodon"
        assert measured(svc, status["url"], "likes") == [float(status["favourites_count"])]


async def test_corpus_bluesky_author_feed(svc, server, corpus):
    folder = corpus / CORPUS / "bluesky-bskyr"
    (path,) = folder.glob("f_autfeed__0__*.json")
    server.route("/xrpc/app.bsky.feed.getAuthorFeed", recorded(path), content_type="application/json")
    source_id = add_source(
        svc, "chris", "bluesky", "https://bsky.app/profile/chriskenny.bsky.social", api=server.base
    )
    report = await poll(svc, source_id)
    posts = post_documents(svc)
    feed = json.loads(recorded(path))["feed"]
    uris = {item["post"]["uri"] for item in feed}
    assert len(posts) == len(uris) and report.entries >= len(uris)
    assert all(url.startswith("https://bsky.app/profile/") and "/post/" in url for url in posts)
    assert all(d.platform == "bluesky" and len(api_versions(svc, url)) == 1 for url, d in posts.items())


async def test_corpus_youtube_channel_feed(svc, server, corpus):
    body = (corpus / CORPUS / "youtube" / "youtube_channel_atom_google.xml").read_bytes()
    server.route("/feeds/videos.xml", body, content_type="application/atom+xml")
    source_id = add_source(svc, "google", "youtube", "https://www.youtube.com/user/google", api=server.base)
    await poll(svc, source_id)
    posts = post_documents(svc)
    assert posts and all(url.startswith("https://www.youtube.com/watch?v=") for url in posts)
    assert api_versions(svc, "https://www.youtube.com/watch?v=5shykyfmb28")[0].title == (
        "The Google app: Questions Title"
    )


# --- the command line -----------------------------------------------------------------------------

BRIDGE = "from jobs.cli import main\nmain()\n"


def storytrail(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STORYTRAIL_ALLOW_HOSTS": "127.0.0.1",
        "STORYTRAIL_PER_HOST_DELAY": "0",
        "STORYTRAIL_RETRIES": "0",
        "STORYTRAIL_EXTRACT_WORKERS": "1",
        "NO_COLOR": "1",
    }
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-c", BRIDGE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_storytrail_poll_reads_a_social_source_from_the_config(tmp_path: Path, db_url: str, server, site):
    mastodon = Mastodon(server)
    a, b, c = three_posts(mastodon, site)
    (tmp_path / "storytrail.toml").write_text(f"""
[[source]]
name = "valdai-mastodon"
kind = "mastodon"
url = "{mastodon.source_url}"
api = "{server.base}"
every = "5m"

[[story]]
slug = "valdai"
title = "Alleged drone attack on Putin's Valdai residence"
query = '{QUERY}'
""")
    polled = storytrail("poll", "--db", db_url, "--json", cwd=tmp_path)
    assert polled.returncode == 0, polled.stderr
    (report,) = [r for r in json.loads(polled.stdout) if r["source"] == "valdai-mastodon"]
    assert (report["kind"], report["outcome"], report["new"], report["matched"]) == ("mastodon", "ok", 4, 3)
    shown = storytrail("versions", a, "--db", db_url, "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert [(v["channel"], v["seq"], v["kind"]) for v in json.loads(shown.stdout)] == [("api", 1, "normal")]

    mastodon.edit(A, A_EDIT, at=T0 + timedelta(hours=2))
    again = storytrail("poll", "valdai-mastodon", "--db", db_url, "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)[-1]["edited"] == 1
    shown = storytrail("versions", a, "--db", db_url, "--json", cwd=tmp_path)
    assert [(v["channel"], v["seq"]) for v in json.loads(shown.stdout)] == [("api", 1), ("api", 2)]
