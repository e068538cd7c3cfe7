"""Feeds as values: parse RSS 0.9x/1.0/2.0, Atom and JSON Feed bodies into candidates and feed
observations, find a page's feeds, and replay successive captures of one feed.

feedparser reads RSS and Atom (it has no JSON Feed support in 6.0, so JSON Feed 1.0/1.1 is read
here with :mod:`json`). What a feed body can give:

- entries: :class:`ParsedFeed` with one :class:`Candidate` and one ``feed`` :class:`Observation`
  per usable entry (an entry with no http(s) link is skipped with a warning);
- a feed that is not well-formed but still yields entries: those entries plus a warning
  (feedparser's lenient parser recovered them: lose nothing);
- nothing usable (empty body, HTML page, not a feed, malformed with no entries, bad JSON):
  :class:`FeedError`, one line naming the URL and the cause.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import struct_time
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from scraper.core.fingerprint import content_hash
from scraper.core.links import document_base, parse_html
from scraper.core.types import Candidate, Channel, Content, Observation
from scraper.core.urls import InvalidURL, canonicalize, join_url

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",  # not application/json: WordPress announces its REST API with it
        "text/xml",
        "application/xml",
    }
)
COMMON_FEED_PATHS = (
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/feeds/posts/default",
    "/?feed=rss2",
    "/rss/index.xml",
)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
_FIRST_TAG = re.compile(rb"<(?![?!])([A-Za-z_][\w:.-]*)")
_LINE, _PARAGRAPH = "\u2028", "\u2029"  # markers while flattening HTML: str.split() would eat them
_BLOCK_TAGS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "pre", "figure")


class FeedError(ValueError):
    """A body that gives no feed entries at all; the message names the URL and the cause."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"{url}: not a usable feed: {cause}")
        self.url = url
        self.cause = cause


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: ``entries[i]`` and ``observations[i]`` describe the same entry."""

    url: str
    version: str  # feedparser's ("rss20", "rss10", "rss091u", "atom10"...) or "json1", "json11"
    title: str | None = None
    encoding: str | None = None
    entries: list[Candidate] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    left_out: int = 0  # older entries not read, beyond max_entries


class _SkippedEntryError(Exception):
    pass


# --- parse_feed ---------------------------------------------------------------------------


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, *, max_entries: int | None = None
) -> ParsedFeed:
    """Parse an RSS, Atom or JSON Feed body fetched from ``url`` (see the module docstring).

    ``content_type`` is the HTTP Content-Type header; feedparser uses its charset. With
    ``max_entries``, only that many entries are read, the most recently updated first (undated
    ones after the dated, in feed order); ``left_out`` counts the others.
    """
    if not body.strip():
        raise FeedError(url, "the response body is empty")
    if body.startswith(b"\x1f\x8b"):
        raise FeedError(url, "the body is gzip-compressed data (a .gz file?), not a feed")
    if _looks_like_json(body):
        return parse_json_feed(body, url, max_entries=max_entries)
    parsed = read_with_feedparser(body, url, content_type)
    _reject_unusable(parsed, body, url)
    raw = _newest_first(parsed.entries, _feedparser_date) if max_entries else parsed.entries
    entries, warnings, left_out = _convert_entries(raw, url, _feedparser_entry, max_entries)
    if not entries and _is_broken(parsed):
        cause = f"{_describe(parsed.bozo_exception)}; {len(warnings)} entries skipped"
        raise FeedError(url, f"malformed {parsed.version} feed with no usable entries ({cause})")
    if parsed.bozo:
        warnings.insert(0, _bozo_warning(url, parsed.bozo_exception, len(entries)))
    return ParsedFeed(
        url=url,
        version=parsed.version,
        title=_plain(parsed.feed.get("title")),
        encoding=parsed.get("encoding"),
        entries=[candidate for candidate, _ in entries],
        observations=[observation for _, observation in entries],
        warnings=warnings,
        left_out=left_out,
    )


def _feedparser_date(entry: Any) -> datetime | None:
    return _from_struct(dict.get(entry, "updated_parsed") or dict.get(entry, "published_parsed"))


def _json_date(item: Any) -> datetime | None:
    if not isinstance(item, dict):
        return None
    return _iso_date(item.get("date_modified")) or _iso_date(item.get("date_published"))


def _newest_first(entries: Sequence[Any], date: Callable[[Any], datetime | None]) -> list[Any]:
    """The order scraper.sources.base.newest_first keeps: dated entries newest first, then the rest."""
    dates = [_safe_date(date, entry) for entry in entries]
    dated = [(d, i) for i, d in enumerate(dates) if d is not None]
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return [entries[i] for _, i in dated] + [entries[i] for i, d in enumerate(dates) if d is None]


def _safe_date(date: Callable[[Any], datetime | None], entry: Any) -> datetime | None:
    try:
        return date(entry)
    except (TypeError, ValueError, OverflowError):
        return None


def read_with_feedparser(body: bytes, url: str, content_type: str | None = None) -> Any:
    """feedparser's own result for ``body``, read from memory (never from the network or disk).

    HTTP headers are passed only with a Content-Type: without one feedparser would treat the
    body as served over HTTP with no type and fall back to ISO-8859-1. Relative entry links are
    resolved against ``url`` afterwards either way.
    """
    headers = {"content-type": content_type, "content-location": url} if content_type else None
    import feedparser  # ~12 MB: imported when a feed is read, not by every command

    data = _strip_leading_space(body)
    return feedparser.parse(io.BytesIO(data), response_headers=headers, resolve_relative_uris=True)


def _strip_leading_space(body: bytes) -> bytes:
    """Blank lines before ``<?xml`` make the strict parser fail; drop them (never inside UTF-16)."""
    stripped = body.lstrip(b" \t\r\n")
    return stripped if stripped.startswith(b"<") else body


def _looks_like_json(body: bytes) -> bool:
    """The body decides, not the Content-Type: servers label JSON Feeds every which way."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def _reject_unusable(parsed: Any, body: bytes, url: str) -> None:
    if parsed.entries:
        return
    if not parsed.version:
        raise FeedError(url, _not_a_feed(parsed, body))
    if _is_broken(parsed):
        cause = _describe(parsed.bozo_exception)
        raise FeedError(url, f"malformed {parsed.version} feed with no readable entries ({cause})")


def _is_broken(parsed: Any) -> bool:
    """feedparser set an exception that matters: not one it sets on bodies it read correctly
    anyway (a charset disagreement, an unusual Content-Type), not worth failing an empty feed."""
    import feedparser

    benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    return bool(parsed.bozo) and not isinstance(parsed.bozo_exception, benign)


def _not_a_feed(parsed: Any, body: bytes) -> str:
    if _HTML_START.match(body[:2048]):
        return "the body is an HTML page, not RSS, Atom or JSON Feed"
    if _is_broken(parsed):
        return f"not well-formed XML ({_describe(parsed.bozo_exception)})"
    tag = _FIRST_TAG.search(body[:4096])
    root = f"<{tag.group(1).decode('ascii', 'replace')}>" if tag else "no XML element"
    return f"no RSS, Atom or JSON Feed here (root element: {root})"


def _bozo_warning(url: str, exc: object, count: int) -> str:
    kept = f"kept the {count} entries read" if count else "it has no entries"
    return f"{url}: feed is not well-formed ({_describe(exc)}); {kept}"


def _describe(exc: object) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _feedparser_entry(entry: Any, feed_url: str) -> tuple[Candidate, Observation]:
    entry_id = entry.get("id") or None
    related = [
        link.get("href") for link in entry.get("links") or () if link.get("rel") in ("alternate", "self")
    ]
    links = [entry.get("link"), *related, *_absolute(entry_id)]
    # dict.get: FeedParserDict maps a missing "updated_parsed" to "published_parsed" (issue 310)
    published = _from_struct(dict.get(entry, "published_parsed"))
    modified = _from_struct(dict.get(entry, "updated_parsed"))
    summary = _detail_text(entry, "summary") or _content_text(entry)
    meta = {"id": entry_id, "author": entry.get("author"), "tags": _tags(entry.get("tags"))}
    return _build(feed_url, links, _detail_text(entry, "title"), summary, published, modified, meta)


def _detail_text(entry: Any, name: str) -> str | None:
    value = entry.get(name)
    if not value:
        return None
    kind = (entry.get(f"{name}_detail") or {}).get("type", "text/html")
    return html_to_text(value) if "html" in kind else _plain(value)


def _content_text(entry: Any) -> str | None:
    contents = entry.get("content") or []
    if not contents:
        return None
    return html_to_text(contents[0].get("value", "")) or None


def _tags(tags: Iterable[Any] | None) -> list[str]:
    return [str(tag.get("term")) for tag in tags or () if tag.get("term")]


def _from_struct(value: struct_time | None) -> datetime | None:
    return datetime(*value[:6], tzinfo=UTC) if value else None


# --- JSON Feed ----------------------------------------------------------------------------


def parse_json_feed(body: bytes, url: str, *, max_entries: int | None = None) -> ParsedFeed:
    """Parse a JSON Feed 1.0 / 1.1 body (https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedError(url, f"not valid JSON ({_describe(exc)})") from exc
    version = str(data.get("version", "")) if isinstance(data, dict) else ""
    if "jsonfeed.org/version/" not in version:
        raise FeedError(url, "JSON, but not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError(url, "JSON Feed without an items list")
    raw = _newest_first(items, _json_date) if max_entries else items
    entries, warnings, left_out = _convert_entries(raw, url, _json_entry, max_entries)
    return ParsedFeed(
        url=url,
        version="json11" if version.rstrip("/").endswith("1.1") else "json1",
        title=_plain(data.get("title")),
        encoding="utf-8",
        entries=[candidate for candidate, _ in entries],
        observations=[observation for _, observation in entries],
        warnings=warnings,
        left_out=left_out,
    )


def _json_entry(item: Any, feed_url: str) -> tuple[Candidate, Observation]:
    if not isinstance(item, dict):
        raise _SkippedEntryError("is not a JSON object")
    summary = _plain(item.get("summary")) or _plain(item.get("content_text"))
    summary = summary or html_to_text(str(item.get("content_html") or "")) or None
    meta = {
        "id": str(item["id"]) if item.get("id") is not None else None,
        "author": _json_authors(item),
        "tags": [str(tag) for tag in _list(item.get("tags")) if isinstance(tag, str | int | float)],
    }
    links = [item.get("url"), item.get("external_url"), *_absolute(item.get("id"))]
    published, modified = _iso_date(item.get("date_published")), _iso_date(item.get("date_modified"))
    return _build(feed_url, links, _plain(item.get("title")), summary, published, modified, meta)


def _json_authors(item: dict[str, Any]) -> str | None:
    authors = _list(item.get("authors")) or _list(item.get("author"))
    names = [_plain(author.get("name")) for author in authors if isinstance(author, dict)]
    return ", ".join(name for name in names if name) or None


def _list(value: object) -> list[Any]:
    """A JSON Feed field that should be a list: a lone object is a list of one, anything else none."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def _iso_date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- shared entry building ----------------------------------------------------------------


_Converter = Callable[[Any, str], tuple[Candidate, Observation]]


def _convert_entries(
    raw_entries: Sequence[Any], feed_url: str, convert: _Converter, limit: int | None = None
) -> tuple[list[tuple[Candidate, Observation]], list[str], int]:
    """The usable entries (at most ``limit``), a warning per skipped one, how many were not read."""
    entries: list[tuple[Candidate, Observation]] = []
    warnings: list[str] = []
    for number, raw in enumerate(raw_entries, start=1):
        if limit is not None and len(entries) >= limit:
            return entries, warnings, len(raw_entries) - number + 1
        try:
            entries.append(convert(raw, feed_url))
        except _SkippedEntryError as skipped:
            warnings.append(f"{feed_url}: entry {number} skipped: it {skipped}")
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError) as exc:
            warnings.append(f"{feed_url}: entry {number} skipped: unexpected content ({_describe(exc)})")
    return entries, warnings, 0


def _build(
    feed_url: str,
    links: Sequence[object],
    title: str | None,
    summary: str | None,
    published: datetime | None,
    modified: datetime | None,
    meta: dict[str, Any],
) -> tuple[Candidate, Observation]:
    absolute, url = _first_http_link(links, feed_url)
    raw = {**meta, "link": absolute, "feed_url": feed_url}
    metadata = {key: value for key, value in meta.items() if value}
    content = Content(title, None, summary or "", published, modified, url, metadata=metadata)
    candidate = Candidate(
        url=url, title=title, summary=summary, published=published, updated=modified, raw=raw
    )
    return candidate, Observation(url=url, channel=Channel.FEED, content=content, raw=dict(raw))


def _absolute(entry_id: object) -> list[str]:
    """An entry id that is itself an http(s) URL can stand in for a missing link; others cannot."""
    return [entry_id] if isinstance(entry_id, str) and entry_id.startswith(("http://", "https://")) else []


def _first_http_link(links: Sequence[object], feed_url: str) -> tuple[str, str]:
    """The first http(s) link among an entry's (link, alternate/self links, id), canonicalized."""
    written = list(dict.fromkeys(link.strip() for link in links if isinstance(link, str) and link.strip()))
    for link in written:
        try:
            absolute = join_url(feed_url, link)
            return absolute, canonicalize(absolute)
        except InvalidURL:
            continue
    raise _SkippedEntryError(f"has no http(s) link (found: {', '.join(written) or 'none'})")


def _plain(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: blocks become paragraphs split by a blank line, ``<br>``
    a line break, and other whitespace one space."""
    if "<" not in html and "&" not in html:
        return _layout(html)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return _layout(html)
    for element in root.iter("script", "style"):
        element.drop_tree()
    for element in root.iter("br", *_BLOCK_TAGS):
        element.tail = (_LINE if element.tag == "br" else _PARAGRAPH) + (element.tail or "")
    paragraphs = (_join_lines(block.split(_LINE)) for block in root.text_content().split(_PARAGRAPH))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _join_lines(lines: list[str]) -> str:
    return "\n".join(line for line in (" ".join(raw.split()) for raw in lines) if line)


def _layout(text: str) -> str:
    paragraphs = [" ".join(block.split()) for block in re.split(r"\n\s*\n", text)]
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


# --- discovery ----------------------------------------------------------------------------


def discover_feeds(html: str | bytes, base_url: str) -> list[str]:
    """Feed URLs a page announces with ``<link rel="alternate" type="application/rss+xml" ...>``."""
    root = parse_html(html)
    if root is None:
        return []
    base = document_base(root, base_url)
    found: dict[str, None] = {}
    for link in root.iter("link"):
        rel = str(link.get("rel") or "").lower().split()
        kind = str(link.get("type") or "").split(";")[0].strip().lower()
        href = str(link.get("href") or "").strip()
        try:
            url = join_url(base, href)
        except InvalidURL:
            continue
        if "alternate" in rel and kind in FEED_TYPES and href and url.startswith(("http://", "https://")):
            found.setdefault(url, None)
    return list(found)


def common_feed_urls(site_url: str) -> list[str]:
    """Where feeds usually live on a site without ``<link rel=alternate>``: probe these in order."""
    return [urljoin(site_url, path) for path in COMMON_FEED_PATHS]


# --- replay of successive captures --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedDiff:
    """What one capture of a feed changed, given the entry hashes seen so far."""

    new_ids: tuple[str, ...]
    edited_ids: tuple[str, ...]
    hashes: dict[str, str]  # the previous hashes updated with this capture (entries never forgotten)


def diff_feed_entries(previous: Mapping[str, str], observations: Sequence[Observation]) -> FeedDiff:
    """Which entries of a capture are new and which were edited since ``previous``.

    Entries are keyed by canonical URL (a Document's identity) and compared by
    :func:`scraper.core.fingerprint.content_hash`, so whitespace and quote-style changes are
    not edits. An entry missing from a capture is not forgotten: when it comes back unchanged
    it is neither new nor edited. A URL listed twice in one capture counts once (the first).
    """
    hashes = dict(previous)
    new: list[str] = []
    edited: list[str] = []
    for observation in _first_per_url(observations):
        digest = content_hash(observation.content)
        before = hashes.get(observation.url)
        if before is None:
            new.append(observation.url)
        elif before != digest:
            edited.append(observation.url)
        hashes[observation.url] = digest
    return FeedDiff(tuple(new), tuple(edited), hashes)


def _first_per_url(observations: Sequence[Observation]) -> list[Observation]:
    firsts: dict[str, Observation] = {}
    for observation in observations:
        firsts.setdefault(observation.url, observation)
    return list(firsts.values())
