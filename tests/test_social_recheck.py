"""Re-checking one post through its platform: jobs.pipeline.check_document sends every post
(Document.kind "post") to jobs.social.recheck_post, which asks the Mastodon status API, Bluesky's
getPostThread, the Telegram embed page, the Reddit post's JSON or YouTube's oEmbed answer, never
the post's web page. Local stand-ins and recorded real answers (shared corpus); both backends.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml

from jobs.pipeline import check_document, check_url
from jobs.social import recheck_post
from scraper.core.types import CheckOutcome
from scraper.sources.social import PostRef, recheck_endpoint
from storage import documents as docs
from storage.models import Document
from tests.fixtures.social_local.standins import PLATFORMS, Mastodon, StandIn, Telegram
from tests.localserver import LocalServer
from tests.test_poll import NewsSite, add_source, add_story, document
from tests.test_social_sources import (
    A_EDIT,
    CORPUS,
    T0,
    A,
    B,
    add_social,
    api_versions,
    measured,
    poll,
    post_documents,
    recorded,
    svc,
    three_posts,
)

__all__ = ["svc"]  # fixtures shared with test_social_sources


@pytest.fixture
def site(server: LocalServer) -> NewsSite:
    news = NewsSite(server)
    news.standard()
    return news


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest, server: LocalServer) -> StandIn:
    return PLATFORMS[request.param](server)


def doc_id(svc, url: str) -> int:
    found = document(svc, url)
    assert found is not None and found.id is not None
    return found.id


def post_checks(svc, url: str) -> list[tuple[str, str]]:
    with svc.session() as session:
        doc = docs.get_document(session, url=url)
        return [(c.channel, c.outcome) for c in reversed(docs.recent_checks(session, document_id=doc.id))]


async def polled(svc, standin: StandIn, site: NewsSite) -> tuple[str, str, str]:
    add_story(svc)
    urls = three_posts(standin, site)
    await poll(svc, add_social(svc, standin))
    return urls


# --- every platform -------------------------------------------------------------------------------


async def test_check_document_asks_the_platform_about_a_post(svc, server, site, platform):
    a, _, _ = await polled(svc, platform, site)
    before = len(server.requests)
    svc.clock.advance(minutes=5)

    report = await check_document(svc, doc_id(svc, a))

    assert (report.outcome, report.channel, report.document_id) == (
        CheckOutcome.UNCHANGED,
        "api",
        doc_id(svc, a),
    )
    asked = server.requests[before:]
    assert len(asked) == 1 and asked[0].path.split("?")[0] == RECHECK_PATHS[platform.kind]
    assert post_checks(svc, a)[-1] == ("api", "unchanged")
    latest = api_versions(svc, a)[-1]
    assert (latest.seq, latest.last_confirmed_at) == (1, svc.clock())
    doc = document(svc, a)
    assert doc.next_check is not None and doc.next_check > svc.clock()


RECHECK_PATHS = {  # the one request a re-check of post A makes, per platform
    "mastodon": f"/api/v1/statuses/{A}",
    "bluesky": "/xrpc/app.bsky.feed.getPostThread",
    "telegram": f"/valdai_watch/{A}",
    "reddit": f"/comments/{A}/.json",
    "youtube": "/oembed",
}


async def test_recheck_records_an_edit_and_engagement_as_they_are(svc, site, platform):
    a, _, _ = await polled(svc, platform, site)
    platform.engage(A, 99)
    svc.clock.advance(minutes=5)
    quiet = await recheck_post(svc, doc_id(svc, a))
    assert quiet.outcome == CheckOutcome.UNCHANGED and len(api_versions(svc, a)) == 1
    if platform.metric and platform.kind != "youtube":  # oEmbed shows no counts
        assert measured(svc, a, platform.metric)[-1] == 99.0

    platform.edit(A, A_EDIT, at=svc.clock())
    svc.clock.advance(minutes=5)
    report = await recheck_post(svc, doc_id(svc, a))
    if platform.kind == "youtube":  # oEmbed only says the video is there: the channel feed shows edits
        assert report.outcome == CheckOutcome.UNCHANGED and len(api_versions(svc, a)) == 1
        return
    assert (report.outcome, report.seq, report.channel) == (CheckOutcome.NEW_VERSION, 2, "api")
    assert "Washington now doubts" in api_versions(svc, a)[-1].text and report.summary


async def test_recheck_of_a_deleted_post_tombstones_it_on_the_second_miss(svc, site, platform):
    a, b, _ = await polled(svc, platform, site)
    platform.delete(B)
    svc.clock.advance(minutes=5)
    first = await recheck_post(svc, doc_id(svc, b))
    assert (first.outcome, first.seq, first.summary) == (CheckOutcome.GONE, None, "not found (1 in a row)")
    assert document(svc, b).status == "active"
    svc.clock.advance(minutes=5)
    second = await recheck_post(svc, doc_id(svc, b))
    assert (second.outcome, second.seq, second.kind) == (CheckOutcome.GONE, 2, "tombstone")
    assert second.summary == "deleted (tombstone written)"
    kept, tombstone = api_versions(svc, b)
    assert kept.kind == "normal" and "revise its stance" in kept.text and tombstone.kind == "tombstone"
    assert document(svc, b).status == "gone" and post_checks(svc, b)[-2:] == [
        ("api", "gone"),
        ("api", "gone"),
    ]

    platform.restore(B)  # shows up again in its source: a new version
    await poll(svc, document(svc, b).source_id)
    assert [v.kind for v in api_versions(svc, b)] == ["normal", "tombstone", "normal"]
    assert document(svc, b).status == "active"


async def test_storytrail_check_of_a_post_url_goes_through_the_platform(svc, site, server, platform):
    a, _, _ = await polled(svc, platform, site)
    svc.clock.advance(minutes=5)
    report = await check_url(svc, a)
    assert report.outcome == CheckOutcome.UNCHANGED and report.channel == "api"
    assert [d.kind for d in post_documents(svc).values()] == ["post"] * 3


# --- Mastodon history on a re-check ---------------------------------------------------------------


async def test_recheck_reads_the_mastodon_history_when_edited_at_moved(svc, server, site):
    mastodon = Mastodon(server)
    a, _, _ = await polled(svc, mastodon, site)
    mastodon.edit(A, A_EDIT + " (first correction)", at=T0 + timedelta(hours=1))
    mastodon.edit(A, A_EDIT, at=T0 + timedelta(hours=2))
    svc.clock.advance(minutes=5)
    report = await recheck_post(svc, doc_id(svc, a))
    assert (report.outcome, report.seq) == (CheckOutcome.NEW_VERSION, 3)
    assert ["(first correction)" in v.text for v in api_versions(svc, a)] == [False, True, False]
    assert server.hits(f"/api/v1/statuses/{A}/history") == 1
    svc.clock.advance(minutes=5)
    assert (await recheck_post(svc, doc_id(svc, a))).outcome == CheckOutcome.UNCHANGED
    assert server.hits(f"/api/v1/statuses/{A}/history") == 1


# --- failures -------------------------------------------------------------------------------------


async def test_a_failed_recheck_is_an_error_check_and_changes_no_version(svc, server, site):
    telegram = Telegram(server)
    a, _, _ = await polled(svc, telegram, site)
    server.route(f"/{telegram.channel}/{A}", "upstream trouble", status=502)
    svc.clock.advance(minutes=5)
    report = await recheck_post(svc, doc_id(svc, a))
    assert report.outcome == CheckOutcome.ERROR and "HTTP 502" in report.error
    assert report.error.startswith(server.url(f"/{telegram.channel}/{A}?embed=1"))
    assert [v.seq for v in api_versions(svc, a)] == [1] and post_checks(svc, a)[-1] == ("api", "error")
    doc = document(svc, a)
    assert (doc.status, doc.missing_count) == ("active", 0) and doc.next_check > svc.clock()


async def test_a_rate_limited_recheck_says_so(svc, server, site):
    mastodon = Mastodon(server)
    a, _, _ = await polled(svc, mastodon, site)
    server.route(
        f"/api/v1/statuses/{A}",
        '{"error":"Too many requests"}',
        status=429,
        headers={"Retry-After": "30"},
        content_type="application/json",
    )
    report = await recheck_post(svc, doc_id(svc, a))
    assert report.outcome == CheckOutcome.ERROR
    assert "rate limited: HTTP 429" in report.error and "Retry-After: 30" in report.error
    assert len(api_versions(svc, a)) == 1


async def test_a_post_without_its_source_is_rechecked_on_its_public_platform_url(svc):
    with svc.session() as session:
        doc = Document(
            url="https://t.me/valdai_watch/1003",
            kind="post",
            platform="telegram",
            first_seen=svc.clock(),
            last_seen=svc.clock(),
        )
        session.add(doc)
        session.commit()
        ref = PostRef(doc.url, "telegram")
    assert recheck_endpoint(ref).url == "https://t.me/valdai_watch/1003?embed=1&mode=tme"
    report = await recheck_post(svc, doc.id)  # tests never resolve names: an error, and it says which
    assert report.outcome == CheckOutcome.ERROR and "t.me" in report.error


# --- recorded real answers (shared corpus) --------------------------------------------------------


async def test_corpus_mastodon_status_and_its_edit_history(svc, server, corpus):
    interactions = yaml.safe_load((corpus / CORPUS / "mastodon-py" / "test_entity_status.yaml").read_text())
    status_body = interactions["interactions"][0]["response"]["body"]["string"]
    status = json.loads(status_body)
    edits = yaml.safe_load((corpus / CORPUS / "mastodon-py" / "test_entity_statusedit.yaml").read_text())
    history_body = next(
        i["response"]["body"]["string"]
        for i in edits["interactions"]
        if f"/statuses/{status['id']}/history" in i["request"]["uri"]
    )
    server.route(f"/api/v1/statuses/{status['id']}", status_body, content_type="application/json")
    server.route(f"/api/v1/statuses/{status['id']}/history", history_body, content_type="application/json")
    source_id = add_source(
        svc, "one", "mastodon", f"https://mastodon.social/@halcy/{status['id']}", api=server.base
    )

    await poll(svc, source_id)  # an edited status first seen: its whole history

    history = json.loads(history_body)
    versions = api_versions(svc, status["url"])
    assert len(versions) == len(history) == 2 and versions[0].modified is None
    assert "edit: edit" in versions[1].text and "edit: edit" not in versions[0].text
    assert versions[-1].modified is not None and versions[-1].modified.isoformat().startswith(
        status["edited_at"][:19]
    )
    assert server.hits(f"/api/v1/statuses/{status['id']}/history") == 1
    report = await recheck_post(svc, doc_id(svc, status["url"]))
    assert (
        report.outcome == CheckOutcome.UNCHANGED
        and server.hits(f"/api/v1/statuses/{status['id']}/history") == 1
    )


async def test_corpus_bluesky_thread_then_not_found(svc, server, corpus):
    (path,) = (corpus / CORPUS / "bluesky-bskyr").glob("f_postthread__0__*.json")
    body = recorded(path)
    post = json.loads(body)["thread"]["post"]
    rkey = post["uri"].rsplit("/", 1)[1]
    url = f"https://bsky.app/profile/{post['author']['handle']}/post/{rkey}"
    server.route("/xrpc/app.bsky.feed.getPostThread", body, content_type="application/json")
    source_id = add_source(svc, "one", "bluesky", url, api=server.base)
    await poll(svc, source_id)
    (version,) = api_versions(svc, url)
    assert "LocalView (localview.net)" in version.text and version.text.startswith("Excited to be a speaker")
    assert measured(svc, url, "likes") == [float(post["likeCount"])]

    assert (await recheck_post(svc, doc_id(svc, url))).outcome == CheckOutcome.UNCHANGED
    server.route(
        "/xrpc/app.bsky.feed.getPostThread",
        json.dumps({"error": "NotFound", "message": "Post not found"}),
        status=400,
        content_type="application/json",
    )
    for _ in range(2):
        svc.clock.advance(minutes=5)
        report = await recheck_post(svc, doc_id(svc, url))
    assert report.kind == "tombstone" and [v.kind for v in api_versions(svc, url)] == ["normal", "tombstone"]


async def test_corpus_reddit_post_json(svc, server, corpus):
    listing = json.loads(recorded(corpus / CORPUS / "reddit-praw" / "TestSubredditListings.test_new__1.json"))
    child = listing["children"][0] if "children" in listing else listing["data"]["children"][0]
    thing = child["data"]
    answer = [
        {"kind": "Listing", "data": {"children": [child], "after": None}},
        {"kind": "Listing", "data": {"children": [], "after": None}},
    ]
    server.route(f"/comments/{thing['id']}/.json", json.dumps(answer), content_type="application/json")
    url = f"https://www.reddit.com{thing['permalink']}"
    source_id = add_source(svc, "one", "reddit", url, api=server.base)
    await poll(svc, source_id)
    (version,) = api_versions(svc, url)
    assert version.title == thing["title"] and measured(svc, url, "score") == [float(thing["score"])]
    assert (await recheck_post(svc, doc_id(svc, url))).outcome == CheckOutcome.UNCHANGED
    server.route(
        f"/comments/{thing['id']}/.json",
        '{"message": "Not Found", "error": 404}',
        status=404,
        content_type="application/json",
    )
    assert (await recheck_post(svc, doc_id(svc, url))).outcome == CheckOutcome.GONE


async def test_unknown_post_kind_stays_a_page(svc, server):
    server.route(
        "/plain", "<html><head><title>Plain page</title></head><body><p>Nothing social.</p></body></html>"
    )
    report = await check_url(svc, server.url("/plain"))
    assert report.channel == "page" and document(svc, server.url("/plain")).kind == "article"
