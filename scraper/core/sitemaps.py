"""Sitemaps as values: a urlset's article URLs, a sitemap index's child sitemaps.

Handles the sitemaps.org protocol (``<urlset>``, ``<sitemapindex>``, gzip-compressed bodies,
plain-text lists of URLs), Google News sitemaps (``news:title``, ``news:publication_date``,
which also become ``feed`` observations) and hreflang alternates (kept as aliases in
``Candidate.raw["alternates"]``, not as extra candidates: each language version is listed as
its own ``<url>`` anyway).

XML is parsed by lxml with entity expansion, DTD loading and network access off and the huge
tree option off; gzip is inflated with a size bound. So a billion-laughs body or a gzip bomb
gives a :class:`SitemapError`, never a hang or an exhausted memory.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from scraper.core.types import Candidate, Channel, Content, Observation
from scraper.core.urls import InvalidURL, canonicalize, join_url

MAX_URLS = 50_000  # the protocol's limit per sitemap file
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the protocol's limit, uncompressed
_GZIP_MAGIC = b"\x1f\x8b"
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
_PARTIAL_DATES = ("%Y-%m", "%Y")


class SitemapError(ValueError):
    """A body that is not a usable sitemap (too large, not XML, not a sitemap)."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"{url}: not a usable sitemap: {cause}")
        self.url = url
        self.cause = cause


@dataclass(frozen=True, slots=True)
class ParsedSitemap:
    """Article candidates (urlset) and child sitemap URLs (sitemap index)."""

    urls: list[Candidate] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    sitemap_lastmod: dict[str, datetime] = field(default_factory=dict)  # child sitemap -> its lastmod
    observations: list[Observation] = field(default_factory=list)  # Google News entries with a title
    warnings: list[str] = field(default_factory=list)


def parse_sitemap(
    body: bytes, url: str, *, max_urls: int = MAX_URLS, max_bytes: int = MAX_SITEMAP_BYTES
) -> ParsedSitemap:
    """Parse a sitemap body fetched from ``url``; gzip is detected from the bytes."""
    data = _gunzip(body, url, max_bytes) if body.startswith(_GZIP_MAGIC) else body
    if len(data) > max_bytes:
        raise SitemapError(url, f"the body is larger than {max_bytes} bytes")
    if not data.strip():
        raise SitemapError(url, "the response body is empty")
    if data.lstrip()[:7].lower() in (b"http://", b"https:/"):
        return _text_sitemap(data, url, max_urls)
    root = _parse_xml(data, url)
    kind = etree.QName(root).localname
    if kind == "urlset":
        return _urlset(root, url, max_urls)
    if kind == "sitemapindex":
        return _sitemap_index(root, url, max_urls)
    raise SitemapError(url, f"the root element is <{kind}>, not <urlset> or <sitemapindex>")


def _gunzip(body: bytes, url: str, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise SitemapError(url, f"corrupt gzip data ({exc})") from exc
    if len(data) > max_bytes:
        raise SitemapError(url, f"it inflates to more than {max_bytes} bytes")
    if not inflater.eof:
        raise SitemapError(url, "corrupt gzip data (the stream is truncated)")
    return data


def _parse_xml(data: bytes, url: str) -> Any:
    if _HTML_START.match(data[:2048]):
        raise SitemapError(url, "the body is an HTML page")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:  # a blank line before the XML declaration is common (WordPress plugins) and harmless
        return etree.fromstring(data.lstrip(b" \t\r\n"), parser)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(url, f"not well-formed XML ({exc})") from exc


# --- urlset -------------------------------------------------------------------------------


def _urlset(root: Any, sitemap_url: str, max_urls: int) -> ParsedSitemap:
    result = ParsedSitemap()
    seen: set[str] = set()
    for number, element in enumerate(_children(root, "url"), start=1):
        if number > max_urls:
            raise SitemapError(sitemap_url, f"it lists more than {max_urls} URLs")
        try:
            candidate = _url_entry(element, sitemap_url)
        except InvalidURL as exc:
            result.warnings.append(f"{sitemap_url}: <url> {number} skipped: {exc}")
            continue
        if candidate.url in seen:
            continue
        seen.add(candidate.url)
        result.urls.append(candidate)
        if candidate.title:
            result.observations.append(_news_observation(candidate))
    return result


def _url_entry(element: Any, sitemap_url: str) -> Candidate:
    loc = _child_text(element, "loc")
    if loc is None:
        raise InvalidURL("", "the <url> has no <loc>")
    url = canonicalize(join_url(sitemap_url, loc))
    raw: dict[str, Any] = {"loc": loc, "sitemap_url": sitemap_url}
    alternates = _alternates(element, sitemap_url)
    if alternates:
        raw["alternates"] = alternates
    news = next(_children(element, "news"), None)
    title, published = None, None
    if news is not None:
        title = _one_line(_child_text(news, "title"))
        published = w3c_datetime(_child_text(news, "publication_date"))
        raw["news"] = _news_details(news)
    updated = w3c_datetime(_child_text(element, "lastmod"))
    return Candidate(url=url, title=title, published=published, updated=updated, raw=raw)


def _alternates(element: Any, sitemap_url: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for link in _children(element, "link"):
        language, href = link.get("hreflang"), link.get("href")
        if link.get("rel") == "alternate" and language and href:
            try:
                found[language] = join_url(sitemap_url, href.strip())
            except InvalidURL:
                continue
    return found


def _news_details(news: Any) -> dict[str, str]:
    publication = next(_children(news, "publication"), None)
    details = {
        "publication": _child_text(publication, "name") if publication is not None else None,
        "language": _child_text(publication, "language") if publication is not None else None,
        "keywords": _child_text(news, "keywords"),
        "genres": _child_text(news, "genres"),
    }
    return {key: value for key, value in details.items() if value}


def _news_observation(candidate: Candidate) -> Observation:
    language = candidate.raw.get("news", {}).get("language")
    content = Content(
        title=candidate.title,
        published=candidate.published,
        modified=candidate.updated,
        canonical_url=candidate.url,
        language=language,
        metadata={key: value for key, value in candidate.raw.get("news", {}).items() if key != "language"},
    )
    return Observation(url=candidate.url, channel=Channel.FEED, content=content, raw=dict(candidate.raw))


# --- sitemap index and plain-text sitemaps -------------------------------------------------


def _sitemap_index(root: Any, sitemap_url: str, max_urls: int) -> ParsedSitemap:
    result = ParsedSitemap()
    for number, element in enumerate(_children(root, "sitemap"), start=1):
        if number > max_urls:
            raise SitemapError(sitemap_url, f"it lists more than {max_urls} sitemaps")
        try:
            loc = join_url(sitemap_url, _child_text(element, "loc") or "")
        except InvalidURL:
            continue
        if not loc.startswith(("http://", "https://")) or loc in result.sitemaps:
            continue
        result.sitemaps.append(loc)
        lastmod = w3c_datetime(_child_text(element, "lastmod"))
        if lastmod is not None:
            result.sitemap_lastmod[loc] = lastmod
    return result


def _text_sitemap(data: bytes, sitemap_url: str, max_urls: int) -> ParsedSitemap:
    result = ParsedSitemap()
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(lines) > max_urls:
        raise SitemapError(sitemap_url, f"it lists more than {max_urls} URLs")
    for number, line in enumerate(lines, start=1):
        try:
            result.urls.append(Candidate(url=canonicalize(line), raw={"sitemap_url": sitemap_url}))
        except InvalidURL as exc:
            result.warnings.append(f"{sitemap_url}: line {number} skipped: {exc}")
    return result


# --- small helpers ------------------------------------------------------------------------


def _children(element: Any, name: str) -> Iterator[Any]:
    """Child elements called ``name`` in any namespace (sitemaps in the wild mix them up)."""
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            yield child


def _child_text(element: Any, name: str) -> str | None:
    child = next(_children(element, name), None)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) or None if text else None


def w3c_datetime(value: str | None) -> datetime | None:
    """A W3C datetime (``2025-12-30``, ``2025-12-30T08:15:00+03:00``, ``2025-12``) in UTC."""
    if not value:
        return None
    moment = _parse_date(value.strip())
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for layout in _PARTIAL_DATES:
        try:
            return datetime.strptime(text, layout)  # naive: made UTC by the caller
        except ValueError:
            continue
    return None
