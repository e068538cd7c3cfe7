"""Lists of sources, the pure part: OPML in (listparser) and out, plain URL lists, telling a feed
from a sitemap from a page by the URL or by the first bytes of a response, and source names.

Nothing here fetches: ``jobs.sourcelist`` fetches the URLs whose kind the list does not say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

import listparser

IMPORTABLE_KINDS = ("feed", "sitemap", "page")
KIND_CATEGORY = "storytrail:"  # an OPML category naming a non-feed source's kind on export
_FEED_PATH = re.compile(
    r"(\.rss|\.atom|/rss|/atom|/feed|rss\.xml|atom\.xml|feed\.xml|/rss/?$|\.rdf)($|[/?.])", re.I
)
_SITEMAP_PATH = re.compile(r"sitemap[^/]*\.xml(\.gz)?$", re.I)


@dataclass(frozen=True)
class Entry:
    """One line of a list: a URL, its kind when the list says it (else None), a title."""

    url: str
    kind: str | None = None
    title: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Refusal:
    what: str  # the URL or the line as written
    reason: str
    line: int | None = None


def looks_like_opml(name: str, head: bytes) -> bool:
    """OPML by extension, else by a sniff of the first bytes."""
    if name.lower().endswith(".opml"):
        return True
    return b"<opml" in head[:2048].lower()


def parse_opml(data: bytes) -> tuple[list[Entry], list[Refusal]]:
    """The feeds of an OPML file (and sources this program exported with their kind)."""
    result = listparser.parse(data)
    if not result.feeds and not result.lists:
        why = f"not readable OPML: {result.bozo_exception}" if result.bozo else "no feeds in this OPML file"
        return [], [Refusal("the file", why)]
    entries = [Entry(f["url"], "feed", f.get("title") or None) for f in result.feeds]
    refused: list[Refusal] = []
    for item in result.lists:
        kind = next(
            (t.removeprefix(KIND_CATEGORY) for t in item.get("tags", []) if t.startswith(KIND_CATEGORY)), None
        )
        if kind in IMPORTABLE_KINDS:
            entries.append(Entry(item["url"], kind, item.get("title") or None))
        else:
            refused.append(Refusal(item["url"], "a link to another subscription list, not a feed"))
    return entries, refused


def parse_url_list(text: str) -> tuple[list[Entry], list[Refusal]]:
    """One URL a line, optionally followed by its kind (``feed``, ``sitemap``, ``page``); ``#`` comments."""
    entries: list[Entry] = []
    refused: list[Refusal] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        parts = line.split()
        url, kind = parts[0], (parts[1].lower() if len(parts) > 1 else None)
        if not re.match(r"^https?://[^/\s]+", url):
            refused.append(Refusal(url, "not an http(s) URL", n))
        elif kind is not None and kind not in IMPORTABLE_KINDS:
            refused.append(Refusal(url, f"unknown kind {kind!r} (feed, sitemap or page)", n))
        elif len(parts) > 2:
            refused.append(Refusal(line, "expected: URL [feed|sitemap|page]", n))
        else:
            entries.append(Entry(url, kind, None, n))
    return entries, refused


def kind_from_url(url: str) -> str | None:
    """What the URL alone says: sitemap*.xml is a sitemap, .rss/.atom/feed paths are feeds."""
    path = urlsplit(url).path
    if _SITEMAP_PATH.search(path):
        return "sitemap"
    if _FEED_PATH.search(path) or _FEED_PATH.search(url):
        return "feed"
    return None


def sniff_kind(content_type: str | None, body: bytes) -> str | None:
    """What a response is: feed (RSS, Atom, RDF, JSON Feed), sitemap, or page (HTML)."""
    mime = (content_type or "").split(";")[0].strip().lower()
    head = body[:4096].lstrip().lower()
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    if b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head or mime in _FEED_TYPES:
        return "feed"
    if mime == "application/json" or mime == "application/feed+json":
        return "feed" if b"jsonfeed.org/version" in head else None
    if "html" in mime or head.startswith((b"<!doctype html", b"<html")):
        return "page"
    return None


_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
)


def source_name(title: str | None, url: str, taken: Iterable[str]) -> str:
    """A short unique name: the title (or host and path) in lower-case words joined by dashes."""
    parts = urlsplit(url)
    base = title or f"{(parts.hostname or '').removeprefix('www.')} {parts.path}"
    slug = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:60].strip("-") or "source"
    used = set(taken)
    name, n = slug, 2
    while name in used:
        name, n = f"{slug}-{n}", n + 1
    return name


@dataclass(frozen=True)
class Exported:
    name: str
    kind: str
    url: str


def to_opml(sources: Sequence[Exported], *, title: str = "storytrail sources") -> str:
    """OPML 2.0: feeds as rss outlines; sitemaps and pages as links with a storytrail: category."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    for s in sources:
        name = quoteattr(s.name)
        if s.kind == "feed":
            lines.append(f'    <outline type="rss" text={name} title={name} xmlUrl={quoteattr(s.url)}/>')
        else:
            cat = quoteattr(KIND_CATEGORY + s.kind)
            lines.append(f'    <outline type="link" text={name} url={quoteattr(s.url)} category={cat}/>')
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
