"""The write pages through the test client: login (session cookie from the API token, HttpOnly,
SameSite=Strict), CSRF on every form, add and edit a story (query checked by the real parser),
add a source (discovery behind a button), subscribe a story to notifications; off without a token."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from api import sessions
from storage import catalog
from storage import notify as store
from tests.fixtures.web.app import TOKEN, client

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>World</title><item><title>a</title>'
RSS += b"<link>http://127.0.0.1/a</link></item></channel></rss>"


@pytest.fixture
def web(engine, db_url, clock):
    with client(engine, db_url, clock, api_token=TOKEN) as c:
        yield c


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def login(web) -> None:
    page = web.get("/login")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    answer = web.post("/login", data={"token": TOKEN, "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/manage"
    session = answer.headers["set-cookie"]
    assert session.startswith(sessions.SESSION_COOKIE) and "HttpOnly" in session
    assert "samesite=strict" in session.lower()


def test_writes_are_off_without_a_token(engine, db_url, clock):
    with client(engine, db_url, clock) as web:
        assert web.get("/login").status_code == 403
        assert "STORYTRAIL_API_TOKEN" in web.get("/manage").text


def test_login_wants_the_token_and_the_form_nonce(web):
    assert web.get("/manage", follow_redirects=False).headers["location"] == "/login"
    page = web.get("/login")
    wrong = web.post("/login", data={"token": "nope", "csrf": csrf_of(page.text)})
    assert wrong.status_code == 401 and "API token" in wrong.text and "is not the server" in wrong.text
    stale = web.post("/login", data={"token": TOKEN, "csrf": "forged"})
    assert stale.status_code == 403
    login(web)
    assert web.get("/manage").status_code == 200


def test_forms_need_the_csrf_token(web):
    login(web)
    forged = web.post("/manage/story", data={"slug": "x", "query": "a", "action": "save"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    with Session(web.app.state.storytrail.engine) as s:
        assert catalog.find_story(s, slug="x") is None


def test_add_and_edit_a_story_with_the_query_checked(web):
    login(web)
    form = web.get("/manage/story").text
    token = csrf_of(form)
    bad = web.post(
        "/manage/story", data={"csrf": token, "slug": "valdai", "query": "Putin AND (", "action": "check"}
    )
    assert bad.status_code == 422 and "invalid story query" in bad.text
    good = web.post("/manage/story", data={"csrf": token, "slug": "valdai", "query": "Putin AND drone*",
                                           "action": "check"})  # fmt: skip
    assert good.status_code == 200 and "the query is valid" in good.text
    saved = web.post(
        "/manage/story",
        data={"csrf": token, "slug": "valdai", "title": "Valdai", "query": "Putin AND drone*",
              "seeds": "https://news.example/a\nhttps://news.example/b", "threshold": "0.2",
              "action": "save"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    edit = web.get("/manage/story?slug=valdai").text
    assert "https://news.example/b" in edit and 'value="Putin AND drone*"' in edit
    web.post("/manage/story", data={"csrf": token, "slug": "valdai", "title": "Valdai claim",
                                    "query": "Valdai", "action": "save"})  # fmt: skip
    with Session(web.app.state.storytrail.engine) as s:
        story = catalog.get_story(s, slug="valdai")
        assert (story.title, story.query, story.seeds) == ("Valdai claim", "Valdai", [])


def test_add_a_source_with_discovery(web, server):
    server.route("/world/rss.xml", RSS, content_type="application/rss+xml")
    server.route("/", '<html><head><link rel="alternate" type="application/rss+xml" href="/world/rss.xml">'
                 "</head><body>news</body></html>")  # fmt: skip
    server.route("/robots.txt", b"", status=404)
    login(web)
    token = csrf_of(web.get("/manage/source").text)
    ask = {"csrf": token, "url": server.url("/"), "action": "discover"}
    found = web.post("/manage/source", data=ask)
    assert found.status_code == 200 and server.url("/world/rss.xml") in found.text
    add = {
        "csrf": token,
        "url": server.url("/world/rss.xml"),
        "kind": "feed",
        "name": "world",
        "action": "save",
    }
    added = web.post("/manage/source", data=add, follow_redirects=False)
    assert added.status_code == 303
    refused = web.post(
        "/manage/source", data={"csrf": token, "url": "ftp://x", "name": "y", "action": "save"}
    )
    assert refused.status_code == 422 and "http(s) URL" in refused.text
    with Session(web.app.state.storytrail.engine) as s:
        assert catalog.get_source(s, name="world").kind == "feed"


def test_subscribe_a_story_to_notifications(web):
    with Session(web.app.state.storytrail.engine) as s:
        catalog.upsert_story(s, slug="valdai", now=web.app.state.storytrail.clock(), title="Valdai")
        s.commit()
    login(web)
    page = web.get("/manage/notify?slug=valdai").text
    assert 'value="headline" checked' in page
    token = csrf_of(page)
    bad = web.post("/manage/notify", data={"csrf": token, "slug": "valdai", "target": "nope"})
    assert bad.status_code == 422 and "not a URL" in bad.text
    subscribe = {
        "csrf": token,
        "slug": "valdai",
        "target": "ntfy://valdai",
        "events": ["headline", "deleted"],
    }
    ok = web.post("/manage/notify", data=subscribe, follow_redirects=False)
    assert ok.status_code == 303
    with Session(web.app.state.storytrail.engine) as s:
        [(target, story)] = store.list_targets(s)
    assert (target.kind, target.events, target.origin) == ("apprise", ["headline", "deleted"], "web")
    assert "ntfy://valdai" in web.get("/manage").text


def test_session_cookies_expire_and_follow_the_token():
    cookie = sessions.new_session("t", now=1000)
    assert sessions.valid_session("t", cookie, now=1000 + 60)
    assert not sessions.valid_session("t", cookie, now=1000 + sessions.SESSION_SECONDS + 1)
    assert not sessions.valid_session("other", cookie, now=1001)
    assert not sessions.valid_session("t", "1000.forged", now=1001)
    assert sessions.valid_csrf("t", cookie, sessions.csrf_token("t", cookie))
    assert not sessions.valid_csrf("t", cookie, sessions.csrf_token("t", sessions.new_session("t", now=5)))
