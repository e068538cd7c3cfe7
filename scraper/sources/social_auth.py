"""Sending a social source's credentials: log in (or ask for a token), cache it, renew it.

``Login.authorization()`` gives the Authorization header for the source's API requests. Tokens
are cached per Fetcher (so per process), keyed by platform, API base and account, and renewed a
minute before they expire: Bluesky with refreshSession (a new login when that fails), Reddit
with a new client-credentials grant. ``renew()`` is called after the API answered 401 (or
Bluesky's ExpiredToken), then the request is tried once more.

The secrets are read from the environment variables the source's ``credentials`` names, when
they are needed; they are never logged, and the token requests' headers are redacted like any
other (scraper.http_options).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from scraper.core.social import auth
from scraper.core.social.auth import Token, TokenRequest
from scraper.core.social.common import SocialError
from scraper.http import Fetcher, FetchError
from scraper.http_options import RequestOptions
from scraper.sources.base import SourceConfigError, SourceFetchError, SourceSpec

_CACHES: weakref.WeakKeyDictionary[Fetcher, dict[tuple[str, str, str], Token]] = weakref.WeakKeyDictionary()


def token_cache(fetcher: Fetcher) -> dict[tuple[str, str, str], Token]:
    return _CACHES.setdefault(fetcher, {})


def credential_values(source: SourceSpec, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The configured credentials, read from their environment variables; SourceConfigError names
    a missing key or an unset variable (never a value)."""
    env = os.environ if environ is None else environ
    names = source.params.get("credentials") or {}
    if not isinstance(names, Mapping):
        raise SourceConfigError(
            source.url, "credentials must be a table of KEY = ENV_VAR", source=source.name
        )
    missing = auth.missing_keys(source.kind, names)
    if missing:
        keys = ", ".join(f'{k} = "ENV_VAR"' for k in auth.CREDENTIAL_KEYS[source.kind])
        need = f"credentials for {source.kind} need {keys} (missing: {', '.join(missing)})"
        raise SourceConfigError(source.url, need, source=source.name)
    values = {}
    for key in auth.CREDENTIAL_KEYS[source.kind]:
        var = str(names[key])
        if not env.get(var):
            raise SourceConfigError(
                source.url, f"credentials: environment variable {var} ({key}) is not set", source=source.name
            )
        values[key] = env[var]
    return values


class Login:
    """The credentials of one source, turned into an Authorization header on demand."""

    def __init__(
        self,
        fetcher: Fetcher,
        source: SourceSpec,
        values: Mapping[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.fetcher, self.source, self.values, self.clock = fetcher, source, dict(values), clock
        api = source.params.get("api")
        self.base = str(api) if api else None
        account = self.values.get("identifier") or self.values.get("client_id") or "token"
        self.key = (source.kind, self.base or "", account)
        self.logins = 0

    async def authorization(self) -> str:
        if self.source.kind == "mastodon":
            return f"Bearer {self.values['token']}"
        cached = token_cache(self.fetcher).get(self.key)
        if cached is None or not cached.usable(self.clock()):
            cached = await self._renewed(cached)
        return cached.authorization

    async def renew(self) -> None:
        """The API said the token is no longer good: get another one."""
        if self.source.kind != "mastodon":
            await self._renewed(token_cache(self.fetcher).get(self.key))

    async def _renewed(self, old: Token | None) -> Token:
        token = None
        if old is not None and old.refresh and self.source.kind == "bluesky":
            try:
                token = await self._ask(auth.bluesky_refresh(self.base, old), auth.parse_bluesky_session)
            except (SourceConfigError, SourceFetchError):
                token = None  # the refresh token is spent too: log in again
        token = token or await self._login()
        token_cache(self.fetcher)[self.key] = token
        return token

    async def _login(self) -> Token:
        self.logins += 1
        v = self.values
        if self.source.kind == "bluesky":
            request = auth.bluesky_login(self.base, v["identifier"], v["password"])
            return await self._ask(request, auth.parse_bluesky_session)
        request = auth.reddit_token_request(self.base, v["client_id"], v["client_secret"])
        return await self._ask(request, auth.parse_reddit_token)

    async def _ask(self, request: TokenRequest, parse: Callable[[int, bytes, str, datetime], Token]) -> Token:
        options = RequestOptions(authorization=request.authorization)
        try:
            result = await self.fetcher.post(
                request.url, request.body, content_type=request.content_type, options=options
            )
        except FetchError as exc:
            raise SourceFetchError(exc.url, exc.message, source=self.source.name) from exc
        try:
            return parse(result.status, result.body, result.final_url, result.fetched_at)
        except auth.LoginFailedError as exc:
            raise SourceConfigError(exc.url, str(exc), source=self.source.name) from exc
        except SocialError as exc:
            raise SourceFetchError(exc.url, str(exc), source=self.source.name) from exc


def login_for(fetcher: Fetcher, source: SourceSpec) -> Login | None:
    """The Login of a source with credentials on a platform that takes them, else None."""
    if not source.params.get("credentials") or source.kind not in auth.CREDENTIAL_KEYS:
        return None
    return Login(fetcher, source, credential_values(source), clock=fetcher.clock)
