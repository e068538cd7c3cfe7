"""Logins and tokens for the platforms that need them, as values (the requests are sent elsewhere).

    Bluesky   com.atproto.server.createSession {identifier, password} -> accessJwt + refreshJwt;
              com.atproto.server.refreshSession (Authorization: Bearer <refreshJwt>) renews them.
              The access token's expiry is read from its JWT ``exp`` claim.
    Reddit    POST /api/v1/access_token, grant_type=client_credentials, HTTP basic auth with the
              app's client id and secret -> access_token + expires_in (no refresh token: ask again).
    Mastodon  a user access token from the instance's settings, sent as it is (no login here).

``credentials`` in a source's config names the environment variables holding each value:
:data:`CREDENTIAL_KEYS` lists the keys each platform reads.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from scraper.core.social.common import CredentialsRequiredError, MalformedResponseError, load_json

CREDENTIAL_KEYS: Mapping[str, tuple[str, ...]] = {
    "bluesky": ("identifier", "password"),
    "reddit": ("client_id", "client_secret"),
    "mastodon": ("token",),
}
BLUESKY_AUTH = "https://bsky.social"
REDDIT_WEB = "https://www.reddit.com"
EXPIRY_MARGIN = timedelta(seconds=60)
FALLBACK_LIFETIME = timedelta(minutes=30)  # a token whose lifetime is not stated


class LoginFailedError(CredentialsRequiredError):
    """The platform refused the configured credentials."""


@dataclass(frozen=True)
class Token:
    access: str = field(repr=False)
    expires_at: datetime
    refresh: str | None = field(default=None, repr=False)

    def usable(self, now: datetime) -> bool:
        return now + EXPIRY_MARGIN < self.expires_at

    @property
    def authorization(self) -> str:
        return f"Bearer {self.access}"


@dataclass(frozen=True)
class TokenRequest:
    """A POST that yields a token: where, what body, and the Authorization it needs."""

    url: str
    body: bytes
    content_type: str
    authorization: str | None = field(default=None, repr=False)


def missing_keys(platform: str, configured: Mapping[str, str]) -> list[str]:
    return [key for key in CREDENTIAL_KEYS.get(platform, ()) if not configured.get(key)]


# -- Bluesky ----------------------------------------------------------------------------------------


def bluesky_login(base: str | None, identifier: str, password: str) -> TokenRequest:
    body = json.dumps({"identifier": identifier, "password": password}).encode()
    url = (base or BLUESKY_AUTH).rstrip("/") + "/xrpc/com.atproto.server.createSession"
    return TokenRequest(url, body, "application/json")


def bluesky_refresh(base: str | None, token: Token) -> TokenRequest:
    url = (base or BLUESKY_AUTH).rstrip("/") + "/xrpc/com.atproto.server.refreshSession"
    return TokenRequest(url, b"", "application/json", f"Bearer {token.refresh}")


def parse_bluesky_session(status: int, body: bytes, url: str, now: datetime) -> Token:
    data = _answer(status, body, url, "Bluesky")
    access, refresh = data.get("accessJwt"), data.get("refreshJwt")
    if not isinstance(access, str) or not isinstance(refresh, str):
        raise MalformedResponseError(url, "expected a Bluesky session (accessJwt, refreshJwt)")
    return Token(access, jwt_expiry(access) or now + FALLBACK_LIFETIME, refresh)


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT (not verified: we only need to know when to renew it)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


# -- Reddit -----------------------------------------------------------------------------------------


def reddit_token_request(base: str | None, client_id: str, secret: str) -> TokenRequest:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
    url = (base or REDDIT_WEB).rstrip("/") + "/api/v1/access_token"
    body = urlencode({"grant_type": "client_credentials"}).encode()
    return TokenRequest(url, body, "application/x-www-form-urlencoded", f"Basic {basic}")


def parse_reddit_token(status: int, body: bytes, url: str, now: datetime) -> Token:
    data = _answer(status, body, url, "Reddit")
    access, lifetime = data.get("access_token"), data.get("expires_in")
    if not isinstance(access, str):
        raise MalformedResponseError(url, "expected a Reddit token (access_token)")
    expires = now + (timedelta(seconds=lifetime) if isinstance(lifetime, int | float) else FALLBACK_LIFETIME)
    return Token(access, expires)


# -- shared -----------------------------------------------------------------------------------------


def _answer(status: int, body: bytes, url: str, platform: str) -> dict[str, Any]:
    try:
        data = load_json(body, url, platform)
    except MalformedResponseError:
        if status >= 400:
            raise LoginFailedError(url, f"{platform} refused the login (HTTP {status})") from None
        raise
    if not isinstance(data, dict):
        raise MalformedResponseError(url, f"expected a {platform} token answer (a JSON object)")
    if status >= 400 or "error" in data:
        detail = data.get("message") or data.get("error") or f"HTTP {status}"
        raise LoginFailedError(url, f"{platform} refused the configured credentials: {detail}")
    return data
