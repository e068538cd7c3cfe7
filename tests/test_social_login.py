"""Credentials sent where platforms need them, against local stand-ins: a Bluesky login
(createSession, refreshSession) for searchPosts, and Reddit OAuth client credentials for the JSON
API. Tokens are cached and renewed; secrets come from the environment and never show."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from jobs.polling import poll_source
from scraper.core.social import auth
from tests.fixtures.social_local.standins import Bluesky, Reddit, json_reply, query
from tests.localserver import LocalServer, Reply, Request
from tests.test_poll import add_source, local_only, source_checks, versions
from tests.test_social_sources import A_TEXT, B_TEXT, T0, A, B

PASSWORD = "app-pw-s3cr3t"
CLIENT_SECRET = "client-s3cr3t"


@pytest.fixture
async def svc(services):
    async with local_only(services) as local:
        yield local


def jwt(subject: str, expires: datetime) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'sub': subject, 'exp': int(expires.timestamp())})}.sig"


class BlueskyAuth:
    """The stand-in's entryway: createSession, refreshSession, and searchPosts for the logged in."""

    def __init__(self, server: LocalServer, standin: Bluesky, clock) -> None:
        self.server, self.standin, self.clock = server, standin, clock
        self.logins = self.refreshes = 0
        self.valid: set[str] = set()
        self.refresh_tokens: set[str] = set()
        server.route("/xrpc/com.atproto.server.createSession", handler=self.create)
        server.route("/xrpc/com.atproto.server.refreshSession", handler=self.refresh)
        server.route("/xrpc/app.bsky.feed.searchPosts", handler=self.search)

    def session(self, kind: str) -> Reply:
        n = self.logins + self.refreshes
        access = jwt(f"access-{kind}-{n}", self.clock() + timedelta(hours=2))
        refresh = jwt(f"refresh-{kind}-{n}", self.clock() + timedelta(days=60))
        self.valid.add(access)
        self.refresh_tokens.add(refresh)
        return json_reply(
            {"accessJwt": access, "refreshJwt": refresh, "handle": "me.example", "did": "did:x"}
        )

    def create(self, req: Request) -> Reply:
        body = json.loads(req.body)
        if req.method != "POST" or body != {"identifier": "me.example", "password": PASSWORD}:
            return json_reply(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401
            )
        self.logins += 1
        return self.session("login")

    def refresh(self, req: Request) -> Reply:
        token = req.headers.get("authorization", "").removeprefix("Bearer ")
        if req.method != "POST" or token not in self.refresh_tokens:
            return json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        self.refresh_tokens.discard(token)
        self.refreshes += 1
        return self.session("refresh")

    def search(self, req: Request) -> Reply:
        token = req.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid:
            return json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        q = query(req).get("q", "").lower()
        posts = [self.standin.view(p) for p in self.standin.live() if q in p.text.lower()]
        return json_reply({"posts": posts})


def bluesky_source(svc, server: LocalServer, **extra: object) -> int:
    creds = {"identifier": "BSKY_HANDLE", "password": "BSKY_APP_PASSWORD"}
    return add_source(svc, "bsky-search", "bluesky", "https://bsky.app/search?q=Valdai",
                      api=server.base, credentials=creds, **extra)  # fmt: skip


async def test_bluesky_search_logs_in_caches_and_refreshes(svc, server, monkeypatch):
    monkeypatch.setenv("BSKY_HANDLE", "me.example")
    monkeypatch.setenv("BSKY_APP_PASSWORD", PASSWORD)
    standin = Bluesky(server)
    stand = BlueskyAuth(server, standin, svc.clock)
    standin.add(A, A_TEXT, at=T0)
    source_id = bluesky_source(svc, server)

    first = await poll_source(svc, source_id)
    assert first.outcome == "ok", first.error
    assert len(versions(svc, standin.url_of(A), "api")) == 1
    svc.clock.advance(minutes=10)
    standin.add(B, B_TEXT, at=T0 + timedelta(minutes=5))
    assert (await poll_source(svc, source_id)).outcome == "ok"
    assert (stand.logins, stand.refreshes) == (1, 0)  # the token was cached
    assert len(versions(svc, standin.url_of(B), "api")) == 1

    svc.clock.advance(hours=3)  # the access token has expired: refreshSession, no new login
    assert (await poll_source(svc, source_id)).outcome == "ok"
    assert (stand.logins, stand.refreshes) == (1, 1)

    stand.valid.clear()  # the server revoked it early: the API says ExpiredToken, we renew once
    svc.clock.advance(minutes=10)
    assert (await poll_source(svc, source_id)).outcome == "ok"
    assert (stand.logins, stand.refreshes) == (1, 2)

    sent = [r for r in server.requests if "createSession" in r.path]
    assert sent and all(r.method == "POST" for r in sent)
    for check in source_checks(svc, source_id):
        assert PASSWORD not in json.dumps(check.request_headers) + (check.error or "")


async def test_bluesky_wrong_password_is_one_clear_error(svc, server, monkeypatch):
    monkeypatch.setenv("BSKY_HANDLE", "me.example")
    monkeypatch.setenv("BSKY_APP_PASSWORD", "wrong")
    BlueskyAuth(server, Bluesky(server), svc.clock)
    report = await poll_source(svc, bluesky_source(svc, server))
    assert report.outcome == "error"
    assert "Bluesky refused the configured credentials: Invalid identifier or password" in report.error
    assert "wrong" not in report.error and "\n" not in report.error


async def test_bluesky_unset_variable_is_named(svc, server, monkeypatch):
    monkeypatch.setenv("BSKY_HANDLE", "me.example")
    monkeypatch.delenv("BSKY_APP_PASSWORD", raising=False)
    report = await poll_source(svc, bluesky_source(svc, server))
    assert report.outcome == "error"
    assert "environment variable BSKY_APP_PASSWORD (password) is not set" in report.error


class RedditOAuth:
    """/api/v1/access_token (basic auth, client credentials) and the OAuth JSON listing."""

    def __init__(self, server: LocalServer, standin: Reddit, lifetime: int = 3600) -> None:
        self.server, self.standin, self.lifetime = server, standin, lifetime
        self.grants = 0
        self.valid: set[str] = set()
        server.route("/api/v1/access_token", handler=self.token)
        server.route(f"/r/{standin.sub}/new", handler=self.listing)

    def token(self, req: Request) -> Reply:
        basic = base64.b64encode(f"my-app:{CLIENT_SECRET}".encode()).decode()
        ok = (
            req.headers.get("authorization") == f"Basic {basic}"
            and req.body == b"grant_type=client_credentials"
        )
        if req.method != "POST" or not ok:
            return json_reply({"message": "Unauthorized", "error": 401}, 401)
        self.grants += 1
        token = f"reddit-token-{self.grants}"
        self.valid.add(token)
        return json_reply({"access_token": token, "token_type": "bearer", "expires_in": self.lifetime})

    def listing(self, req: Request) -> Reply:
        if req.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid:
            return json_reply({"message": "Unauthorized", "error": 401}, 401)
        children = []
        for post in self.standin.live():
            [listing, _] = json.loads(self.standin.post_json(post.key).body)  # type: ignore[arg-type]
            children += listing["data"]["children"]
        return json_reply({"kind": "Listing", "data": {"children": children, "after": None}},
                          headers={"x-ratelimit-remaining": "99", "x-ratelimit-used": "1",
                                   "x-ratelimit-reset": "300"})  # fmt: skip


async def test_reddit_oauth_json_with_client_credentials(svc, server, monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", "my-app")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", CLIENT_SECRET)
    standin = Reddit(server)
    oauth = RedditOAuth(server, standin, lifetime=1800)
    standin.add(A, A_TEXT, at=T0)
    creds = {"client_id": "REDDIT_CLIENT_ID", "client_secret": "REDDIT_CLIENT_SECRET"}
    source_id = add_source(
        svc, "reddit-json", "reddit", standin.source_url, api=server.base, credentials=creds
    )

    report = await poll_source(svc, source_id)
    assert report.outcome == "ok", report.error
    assert len(versions(svc, standin.url_of(A), "api")) == 1
    assert server.hits(f"/r/{standin.sub}/new/.rss") == 0  # the JSON API, not RSS
    svc.clock.advance(minutes=10)
    assert (await poll_source(svc, source_id)).outcome == "ok"
    assert oauth.grants == 1  # cached
    svc.clock.advance(minutes=30)  # expired: a new grant
    assert (await poll_source(svc, source_id)).outcome == "ok"
    assert oauth.grants == 2
    oauth.valid.clear()  # revoked: the listing answers 401, a new grant, the request again
    svc.clock.advance(minutes=5)
    assert (await poll_source(svc, source_id)).outcome == "ok"
    assert oauth.grants == 3
    for check in source_checks(svc, source_id):
        assert CLIENT_SECRET not in json.dumps(check.request_headers)


def test_jwt_expiry_and_token_use() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert auth.jwt_expiry(jwt("x", at)) == at
    assert auth.jwt_expiry("not-a-jwt") is None
    token = auth.Token("a", expires_at=at)
    assert token.usable(at - timedelta(minutes=5)) and not token.usable(at - timedelta(seconds=30))
    assert "secret-value" not in repr(auth.Token("secret-value", expires_at=at))


def test_token_requests_are_what_the_platforms_document() -> None:
    login = auth.bluesky_login(None, "me.example", "pw")
    assert login.url == "https://bsky.social/xrpc/com.atproto.server.createSession"
    assert json.loads(login.body) == {"identifier": "me.example", "password": "pw"}
    grant = auth.reddit_token_request(None, "id", "secret")
    assert grant.url == "https://www.reddit.com/api/v1/access_token"
    assert grant.body == b"grant_type=client_credentials"
    assert grant.authorization == "Basic " + base64.b64encode(b"id:secret").decode()
    with pytest.raises(auth.LoginFailedError, match="Reddit refused"):
        auth.parse_reddit_token(401, b'{"error": 401}', grant.url, datetime.now(UTC))
