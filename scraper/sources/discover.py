"""Finding a site's sources: its feeds (``<link rel=alternate>``, then common paths), its
sitemaps (``Sitemap:`` lines in robots.txt, then ``/sitemap.xml``) and the page itself when it
is a section page with article links. Every offer was fetched and parsed: it works today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from scraper.core.feeds import FeedError, common_feed_urls, discover_feeds, parse_feed
from scraper.core.links import article_links
from scraper.core.sitemaps import SitemapError, parse_sitemap
from scraper.http import Fetcher, FetchError, FetchResult
from scraper.sources.base import ACCEPT_FEED, ACCEPT_SITEMAP, SourceFetchError

ACCEPT_ANY = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
COMMON_SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml")
MIN_PAGE_LINKS = 3


@dataclass(frozen=True, slots=True)
class SourceOffer:
    """A source found on a site, checked by fetching it."""

    kind: str  # feed | sitemap | page
    url: str
    found_by: str  # how it was found
    title: str | None = None
    items: int = 0  # entries, URLs (or child sitemaps) or article links in it


@dataclass
class Discovery:
    url: str
    offers: list[SourceOffer] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, offer: SourceOffer | None) -> None:
        if offer is not None and all(o.url != offer.url for o in self.offers):
            self.offers.append(offer)


async def discover_sources(fetcher: Fetcher, url: str) -> Discovery:
    """Fetch ``url`` and find the feeds, sitemaps and section page it offers (module docstring)."""
    found = Discovery(url)
    page = await _get(fetcher, url, ACCEPT_ANY)
    if page.status >= 400:
        raise SourceFetchError(url, f"HTTP {page.status} from {page.final_url}")
    itself = _as_feed(page, "the URL itself") or _as_sitemap(page, "the URL itself")
    if itself is not None:
        found.add(itself)
        return found
    found.add(_as_page(page))
    await _feeds(fetcher, page, found)
    await _sitemaps(fetcher, page.final_url, found)
    return found


async def _feeds(fetcher: Fetcher, page: FetchResult, found: Discovery) -> None:
    announced = discover_feeds(page.text, page.final_url)
    for link in announced:
        found.add(await _try(fetcher, found, link, "feed", "<link rel=alternate>"))
    if any(o.kind == "feed" for o in found.offers):
        return
    for link in common_feed_urls(page.final_url):
        found.add(await _try(fetcher, found, link, "feed", "common path", quiet=True))


async def _sitemaps(fetcher: Fetcher, site: str, found: Discovery) -> None:
    try:
        listed = await fetcher.sitemaps_from_robots(site)
    except FetchError as exc:
        found.warnings.append(f"robots.txt: {exc}")
        listed = []
    for link in listed:
        found.add(await _try(fetcher, found, link, "sitemap", "robots.txt"))
    if listed:
        return
    for path in COMMON_SITEMAP_PATHS:
        found.add(await _try(fetcher, found, urljoin(site, path), "sitemap", "common path", quiet=True))


async def _try(
    fetcher: Fetcher, found: Discovery, url: str, kind: str, how: str, *, quiet: bool = False
) -> SourceOffer | None:
    """Fetch and parse ``url`` as a ``kind``; a failure is a warning (or nothing, for a probe)."""
    try:
        result = await _get(fetcher, url, ACCEPT_FEED if kind == "feed" else ACCEPT_SITEMAP)
    except SourceFetchError as exc:
        if not quiet:
            found.warnings.append(str(exc))
        return None
    offer = _as_feed(result, how) if kind == "feed" else _as_sitemap(result, how)
    if offer is None and not quiet:
        found.warnings.append(f"{url}: announced as a {kind} but is not one (HTTP {result.status})")
    return offer


async def _get(fetcher: Fetcher, url: str, accept: str) -> FetchResult:
    try:
        return await fetcher.fetch(url, accept=accept)
    except FetchError as exc:
        raise SourceFetchError(exc.url, exc.message) from exc


def _as_feed(result: FetchResult, how: str) -> SourceOffer | None:
    if result.status >= 400:
        return None
    try:
        feed = parse_feed(result.body, result.final_url, result.content_type)
    except FeedError:
        return None
    return SourceOffer("feed", result.final_url, how, feed.title, len(feed.entries))


def _as_sitemap(result: FetchResult, how: str) -> SourceOffer | None:
    if result.status >= 400:
        return None
    try:
        parsed = parse_sitemap(result.body, result.final_url)
    except SitemapError:
        return None
    return SourceOffer("sitemap", result.final_url, how, None, len(parsed.urls) or len(parsed.sitemaps))


def _as_page(result: FetchResult) -> SourceOffer | None:
    links = article_links(result.text, result.final_url)
    if len(links) < MIN_PAGE_LINKS:
        return None
    return SourceOffer("page", result.final_url, "the URL itself (a section page)", None, len(links))
