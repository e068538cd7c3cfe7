"""Per-source request settings: extra headers, a cookie file, auth from the environment, a proxy,
a user agent. Built once per fetch from a source's params (the TOML keys of the same names)::

    headers    = { "X-Name" = "value" }
    cookies    = "cookies.txt"          # Netscape format, as curl and yt-dlp write it
    auth       = "bearer:ENV_VAR"       # or "basic:ENV_VAR", the variable holding user:password
    proxy      = "socks5://127.0.0.1:1080"   # http://, https://, socks5:// (socksio)
    user_agent = "..."

The secret itself is never in the config, only the name of the variable that holds it. Headers
that carry secrets (Authorization, Cookie, Proxy-Authorization) are redacted wherever request
headers are kept (Check rows, WARC request records): see :func:`redact_headers`.

Errors are RequestOptionsError (a ValueError) with one line that names the key and the problem,
never the secret.
"""

from __future__ import annotations

import base64
import os
import re
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import LoadError, MozillaCookieJar
from typing import Any
from urllib.parse import urlsplit

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
REDACTED = "[redacted]"
OPTION_KEYS = ("headers", "cookies", "auth", "proxy", "user_agent")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name (RFC 9110 token)
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class RequestOptionsError(ValueError):
    """A request setting that cannot be used; the message is one line."""


@dataclass(frozen=True)
class RequestOptions:
    """What one source adds to its requests. Empty options change nothing."""

    headers: tuple[tuple[str, str], ...] = ()
    cookies: MozillaCookieJar | None = field(default=None, compare=False)
    authorization: str | None = field(default=None, repr=False)
    proxy: str | None = field(default=None, repr=False)
    user_agent: str | None = None

    def headers_for(self, url: str, first_url: str) -> dict[str, str]:
        """Headers for one hop: the extra ones, the user agent, the cookies that match ``url``,
        and Authorization only while the hop stays on the first URL's origin."""
        out = dict(self.headers)
        if self.user_agent:
            out["User-Agent"] = self.user_agent
        if self.authorization and _origin(url) == _origin(first_url):
            out["Authorization"] = self.authorization
        cookie = cookie_header(self.cookies, url) if self.cookies is not None else None
        if cookie:
            out["Cookie"] = cookie
        return out

    @property
    def empty(self) -> bool:
        return self == RequestOptions() and self.cookies is None


NO_OPTIONS = RequestOptions()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def cookie_header(jar: MozillaCookieJar, url: str) -> str | None:
    """The Cookie header the jar sends to ``url`` (domain, path, secure and expiry rules applied)."""
    request = urllib.request.Request(url)  # noqa: S310 (never opened: the jar reads its URL)
    jar.add_cookie_header(request)
    return request.get_header("Cookie")


def redact_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The headers with the values of Authorization, Cookie and Proxy-Authorization replaced."""
    return tuple((k, REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers)


# --------------------------------------------------------------------------- building


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` -> (name, value); RequestOptionsError when malformed."""
    name, sep, value = text.partition(":")
    if not sep:
        raise RequestOptionsError(f"header {text!r} is not 'Name: value'")
    return check_header(name.strip(), value.strip())


def check_header(name: str, value: Any) -> tuple[str, str]:
    if not _TOKEN.match(name):
        raise RequestOptionsError(f"header name {name!r} is not a valid HTTP header name")
    if name.lower() in _RESERVED:
        raise RequestOptionsError(f"header {name!r} cannot be set (the HTTP client manages it)")
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        raise RequestOptionsError(f"header {name!r} must have a one-line text value")
    return name, value


def load_cookies(path: str) -> MozillaCookieJar:
    """A Netscape cookie file (curl, yt-dlp, browser exporters); RequestOptionsError when unusable."""
    jar = MozillaCookieJar(path)
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except FileNotFoundError:
        raise RequestOptionsError(f"cookie file {path} does not exist") from None
    except LoadError as exc:
        raise RequestOptionsError(f"cookie file {path} is not in Netscape format: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RequestOptionsError(f"cookie file {path} cannot be read: {exc}") from None
    return _drop_expired(jar)


def _drop_expired(jar: MozillaCookieJar) -> MozillaCookieJar:
    """curl and yt-dlp write expiry 0 for a session cookie: kept as one; really expired ones go."""
    for cookie in list(jar):
        if cookie.expires == 0:
            cookie.expires, cookie.discard = None, True
        elif cookie.is_expired():
            jar.clear(cookie.domain, cookie.path, cookie.name)
    return jar


def authorization(spec: str, environ: Mapping[str, str]) -> str:
    """``bearer:VAR`` / ``basic:VAR`` -> the Authorization header value, read from ``environ``."""
    kind, sep, var = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in ("bearer", "basic") or not var.strip():
        raise RequestOptionsError(f"auth {spec!r} must be 'bearer:ENV_VAR' or 'basic:ENV_VAR'")
    secret = environ.get(var.strip())
    if not secret:
        raise RequestOptionsError(f"auth: environment variable {var.strip()} is not set")
    if kind == "bearer":
        return f"Bearer {secret}"
    if ":" not in secret:
        raise RequestOptionsError(f"auth: {var.strip()} must hold user:password for basic auth")
    return "Basic " + base64.b64encode(secret.encode()).decode("ascii")


def check_proxy(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        schemes = ", ".join(f"{s}://" for s in PROXY_SCHEMES)
        raise RequestOptionsError(f"proxy {_without_password(url)!r} must be a URL starting {schemes}")
    return url


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def options_from_params(
    params: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> RequestOptions:
    """The request options of a source's params (the keys in OPTION_KEYS; others are ignored)."""
    env = os.environ if environ is None else environ
    raw_headers = params.get("headers") or {}
    if not isinstance(raw_headers, Mapping):
        raise RequestOptionsError("headers must be a table of names and values")
    headers = tuple(check_header(str(k), v) for k, v in raw_headers.items())
    cookies = params.get("cookies")
    auth = params.get("auth")
    proxy = params.get("proxy")
    agent = params.get("user_agent")
    return RequestOptions(
        headers=headers,
        cookies=load_cookies(str(cookies)) if cookies else None,
        authorization=authorization(str(auth), env) if auth else None,
        proxy=check_proxy(str(proxy)) if proxy else None,
        user_agent=check_header("User-Agent", agent)[1] if agent else None,
    )


def has_options(params: Mapping[str, Any]) -> bool:
    return any(params.get(key) for key in OPTION_KEYS)
