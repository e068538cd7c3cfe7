"""What every social platform reader shares: the error tree, the plan and page values, and the
small text helpers (HTML to plain text, links, times, query strings).

Errors::

    SocialError                          any failure reading a social source; names the URL
    ├── UnsupportedSourceError           a configured url that names no account, tag or channel we read
    ├── CredentialsRequiredError         the endpoint needs a login or token (HTTP 401, searchPosts...)
    │   └── PublicTimelineDisabledError  a Mastodon instance that shows no public timelines to guests
    ├── MalformedResponseError           not JSON, empty, or not the expected kind of body
    ├── PlatformError                    the platform answered with an error of its own
    └── RateLimitedError                 the platform answered "too many requests"
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scraper.core.types import Candidate, Observation

if TYPE_CHECKING:  # bs4 (~9 MB) is imported when a page is read, not by every command
    from bs4 import BeautifulSoup, Tag

T = TypeVar("T")
R = TypeVar("R")


class SocialError(Exception):
    """A social source could not be read; ``url`` is the source or endpoint concerned."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class UnsupportedSourceError(SocialError):
    def __init__(self, url: str, platform: str, expected: Iterable[str]) -> None:
        forms = ", ".join(expected)
        super().__init__(
            url, f"not a {platform} source URL this reader understands; expected one of: {forms}"
        )


class CredentialsRequiredError(SocialError):
    pass


class PublicTimelineDisabledError(CredentialsRequiredError):
    pass


class MalformedResponseError(SocialError):
    pass


class PlatformError(SocialError):
    pass


class RateLimitedError(SocialError):
    pass


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One request to make: GET ``url`` (query included); ``params`` are its query parameters."""

    url: str
    kind: str
    params: dict[str, str] = field(default_factory=dict)
    needs_credentials: bool = False


@dataclass(frozen=True, slots=True)
class SocialPage:
    """What one response held: posts as observations, linked URLs as candidates, the URL of the
    next (older) page if any, and the platform ids of posts known to be gone."""

    observations: list[Observation] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    next_page: str | None = None
    gone_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # items skipped for their shape


def endpoint(
    base: str, path: str, kind: str, params: Mapping[str, str] | None = None, *, auth: bool = False
) -> Endpoint:
    """An endpoint at ``base`` + ``path`` with ``params`` encoded into its URL."""
    query = dict(params or {})
    url = base.rstrip("/") + path + ("?" + urlencode(query) if query else "")
    return Endpoint(url=url, kind=kind, params=query, needs_credentials=auth)


def source_parts(url: str, platform: str, expected: Iterable[str]) -> tuple[str, list[str], dict[str, str]]:
    """(host, path segments, query) of a configured source URL, or UnsupportedSourceError."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UnsupportedSourceError(url, platform, expected)
    segments = [s for s in parts.path.split("/") if s]
    return parts.hostname.lower(), segments, dict(parse_qsl(parts.query))


def origin(url: str) -> str:
    """scheme://host[:port] of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def with_query(url: str, **params: str) -> str:
    """``url`` with the given query parameters set (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def query_param(url: str, name: str) -> str | None:
    return dict(parse_qsl(urlsplit(url).query)).get(name)


def load_json(body: bytes, url: str, platform: str) -> Any:
    """The JSON value of ``body``, or MalformedResponseError naming the URL and what was wrong."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise MalformedResponseError(url, f"{platform} sent an empty answer where JSON was expected")
    if text.startswith("<"):
        raise MalformedResponseError(
            url, f"{platform} sent HTML or XML where JSON was expected ({text[:60]!r})"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedResponseError(url, f"{platform} sent malformed JSON: {exc}") from exc


def expect_dict(value: Any, url: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedResponseError(url, f"expected {what} (a JSON object), got {type(value).__name__}")
    return value


def expect_list(value: Any, url: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedResponseError(url, f"expected {what} (a JSON array), got {type(value).__name__}")
    return value


def each(
    items: Iterable[T], url: str, what: str, read: Callable[[T], R], *, skipped: list[str] | None = None
) -> list[R]:
    """``read`` every item; an item of an unexpected shape (a list where an object belongs, a
    number where text belongs...) is a MalformedResponseError naming the URL and the item, or,
    given a ``skipped`` list, a warning there while the other items are kept (when no item at
    all is usable, the first problem is the error)."""
    results = []
    problems: list[str] = []
    for index, item in enumerate(items):
        try:
            results.append(read(item))
        except (AttributeError, KeyError, TypeError, ValueError, IndexError, MalformedResponseError) as exc:
            if isinstance(exc, MalformedResponseError) and skipped is None:
                raise
            message = f"{what} #{index} is not shaped as expected ({type(exc).__name__}: {exc})"
            if skipped is None:
                raise MalformedResponseError(url, message) from exc
            problems.append(message)
    if problems and not results:
        raise MalformedResponseError(url, problems[0])
    if skipped is not None:
        skipped.extend(f"{url}: {message}; skipped" for message in problems)
    return results


def feed_entry_raw(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A feedparser entry as plain JSON-able data (its ``*_parsed`` time tuples dropped)."""
    return {key: value for key, value in entry.items() if not key.endswith("_parsed")}


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string or epoch seconds; None when unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def soup(html: str) -> BeautifulSoup:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "lxml")


LINE, PARAGRAPH = "\ue000", "\ue001"  # private-use marks for <br> and block edges
BLOCKS = ("p", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "ul", "ol", "table")


def element_text(element: Tag) -> str:
    """Plain text of an element: ``<br>`` ends a line, block elements (paragraphs, list items...)
    are separated by a blank line, other whitespace runs become one space."""
    for br in element.find_all("br"):
        br.replace_with(LINE)
    for block in element.find_all(BLOCKS):
        block.insert_before(PARAGRAPH)
        block.insert_after(PARAGRAPH)
    flat = re.sub(r"\s+", " ", element.get_text())
    paragraphs = (
        "\n".join(line.strip() for line in chunk.split(LINE)).strip() for chunk in flat.split(PARAGRAPH)
    )
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def html_to_text(html: str) -> str:
    if "<" not in html:
        return html.strip()
    return element_text(soup(html))


def anchors(element: Tag) -> list[Tag]:
    return [a for a in element.find_all("a") if isinstance(a.get("href"), str)]


def has_class(tag: Tag, *names: str) -> bool:
    classes = tag.get("class")
    found = classes.split() if isinstance(classes, str) else list(classes or [])
    return any(name in found for name in names)


def unique_http(urls: Iterable[str]) -> list[str]:
    """http(s) URLs only, in first-seen order, without repeats."""
    seen: dict[str, None] = {}
    for url in urls:
        clean = url.strip()
        if _is_http(clean):
            seen.setdefault(clean, None)
    return list(seen)


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a bad IPv6 literal, a bad port
        return False


_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'\]\[)(]+", re.IGNORECASE)


def urls_in_text(text: str) -> list[str]:
    """http(s) URLs written out in plain text, trailing punctuation removed."""
    return unique_http(match.rstrip(".,;:!?") for match in _URL_IN_TEXT.findall(text))


def counts(**values: Any) -> dict[str, float]:
    """Engagement measurements: numbers only (numeric strings accepted), others dropped."""
    found: dict[str, float] = {}
    for name, value in values.items():
        number = as_number(value)
        if number is not None:
            found[name] = number
    return found


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def link_candidates(
    links: Iterable[str],
    *,
    post_url: str,
    published: datetime | None,
    platform: str,
    details: Callable[[str], tuple[str | None, str | None]] | None = None,
) -> list[Candidate]:
    """One social Candidate per linked URL; ``details(url)`` may give its (title, summary)."""
    found = []
    for url in links:
        title, summary = details(url) if details else (None, None)
        raw = {"post_url": post_url, "platform": platform}
        found.append(
            Candidate(url=url, title=title, summary=summary, published=published, via="social", raw=raw)
        )
    return found


def merge_candidates(groups: Iterable[list[Candidate]]) -> list[Candidate]:
    """All candidates, the first of each URL kept."""
    seen: dict[str, Candidate] = {}
    for group in groups:
        for candidate in group:
            seen.setdefault(candidate.url, candidate)
    return list(seen.values())
