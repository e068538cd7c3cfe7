"""URL identity: one canonical form per article, however it is reached."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "mtm_")
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ocid", "cmpid", "smid", "ref_src",
     "_ga", "_gl", "mkt_tok", "wt_mc", "at_medium", "at_campaign"}
)
TRACKING_PAIRS = frozenset({("ref", "rss"), ("ref", "twitter"), ("ref", "fb"), ("src", "rss")})


class InvalidURL(ValueError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url!r} is not a usable URL: {reason}")
        self.url = url


def _is_tracking(key: str, value: str) -> bool:
    k = key.lower()
    return k in TRACKING_PARAMS or k.startswith(TRACKING_PREFIXES) or (k, value.lower()) in TRACKING_PAIRS


def canonicalize(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidURL(url, "only http and https URLs can be archived")
    if not parts.hostname:
        raise InvalidURL(url, "it has no host")
    host = parts.hostname.lower().rstrip(".")
    port = parts.port
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    netloc = host if port in (None, default) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, v)]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query, doseq=True), ""))
