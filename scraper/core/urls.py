"""URL identity: one canonical form per article, however it is reached.

Before the fetch, :func:`canonicalize` is the identity (tracking parameters, host case, default
ports and fragments removed). After the fetch, the page may name its own canonical URL:
:func:`scraper.core.links.canonical_from_html` reads it. Syndicated near copies under different
URLs are a matter for :mod:`scraper.core.fingerprint` (simhash).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "mtm_")
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ocid", "cmpid", "smid", "ref_src",
     "_ga", "_gl", "mkt_tok", "wt_mc", "at_medium", "at_campaign"}
)  # fmt: skip
TRACKING_PAIRS = frozenset({("ref", "rss"), ("ref", "twitter"), ("ref", "fb"), ("src", "rss")})
QUERY_PLACEHOLDER = "{query}"


class InvalidURL(ValueError):  # noqa: N818 (a published name)
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url!r} is not a usable URL: {reason}")
        self.url = url


class TemplateError(ValueError):
    """A search-source URL template that cannot be filled."""

    def __init__(self, template: str, reason: str) -> None:
        super().__init__(f"search URL template {template!r} is not usable: {reason}")
        self.template = template


def _is_tracking(key: str, value: str) -> bool:
    k = key.lower()
    return k in TRACKING_PARAMS or k.startswith(TRACKING_PREFIXES) or (k, value.lower()) in TRACKING_PAIRS


def canonicalize(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:  # a bad IPv6 literal or a port that is not a number
        raise InvalidURL(url, str(exc)) from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidURL(url, "only http and https URLs can be archived")
    if not parts.hostname:
        raise InvalidURL(url, "it has no host")
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    netloc = host if port in (None, default) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, v)]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query, doseq=True), ""))


def join_url(base: str, href: str) -> str:
    """``urljoin``, raising :class:`InvalidURL` (not a bare ValueError) for a malformed address
    such as ``http://[::1`` found in a page or a feed."""
    try:
        return urljoin(base, href)
    except ValueError as exc:
        raise InvalidURL(href, str(exc)) from exc


def fill_search_template(template: str, query: str) -> str:
    """A search source's URL for ``query``: ``{query}`` replaced by the URL-encoded query.

    Spaces become ``%20``, which is right both in a path and in a query string.
    """
    if QUERY_PLACEHOLDER not in template:
        raise TemplateError(template, f"it has no {QUERY_PLACEHOLDER} placeholder")
    filled = template.replace(QUERY_PLACEHOLDER, quote(query, safe=""))
    try:
        scheme = urlsplit(filled).scheme.lower()
    except ValueError as exc:  # a bad IPv6 literal
        raise TemplateError(template, str(exc)) from exc
    if scheme not in ("http", "https"):
        raise TemplateError(template, "it is not an http or https URL")
    return filled
