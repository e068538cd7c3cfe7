"""Sitemap sources: a urlset, a sitemap index (followed, bounded), gzip, Google News sitemaps,
or a site's robots.txt (its ``Sitemap:`` lines).

Bounds: child sitemaps are followed to ``max_depth`` levels below the first (default 2), the most
recently modified first, and at most ``max_sitemaps`` files are read per poll (default 25); at
most ``max_items`` URLs (the newest) become candidates. A child sitemap that fails is a warning;
when nothing at all could be read the poll fails with the first error.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from scraper.core.sitemaps import ParsedSitemap, SitemapError, parse_sitemap
from scraper.core.types import Candidate, Observation
from scraper.http import Fetcher, FetchError
from scraper.sources.base import (
    ACCEPT_SITEMAP,
    PollResult,
    SourceError,
    SourceFetchError,
    SourceParseError,
    SourceSpec,
    StorySpec,
    Validators,
    fetch,
    first_per_url,
    named,
    newest_first,
    observations_for,
    validators_of,
)

DEFAULT_MAX_DEPTH = 2
DEFAULT_MAX_SITEMAPS = 25
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class _Walk:
    """What the walk over one source's sitemaps has gathered so far."""

    source: SourceSpec
    candidates: list[Candidate] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    read: int = 0
    fetches: int = 0
    bytes: int = 0
    status: int | None = None
    validators: Validators | None = None


async def poll_sitemap(
    fetcher: Fetcher, source: SourceSpec, *, stories: Sequence[StorySpec] = ()
) -> PollResult:
    """Read the sitemaps of ``source`` (module docstring)."""
    walk = _Walk(source)
    roots = await sitemap_roots(fetcher, source, walk.warnings)
    queue = deque((url, 0) for url in roots)
    limit, max_depth = (
        _limit(source, "max_sitemaps", DEFAULT_MAX_SITEMAPS),
        _limit(source, "max_depth", DEFAULT_MAX_DEPTH),
    )
    while queue:
        url, depth = queue.popleft()
        if walk.fetches >= limit:
            walk.warnings.append(f"{source.url}: stopped after {limit} sitemaps ({len(queue) + 1} not read)")
            break
        conditional = roots == [source.url] and depth == 0
        parsed = await _read(fetcher, walk, url, conditional)
        if parsed is None:
            if conditional and walk.status == 304:
                return PollResult(not_modified=True, http_status=304, fetches=1)
            continue
        queue.extend(_children(walk, parsed, url, depth, max_depth))
    return _result(walk)


def _limit(source: SourceSpec, name: str, default: int) -> int:
    return int(source.params.get(name) or default)


async def sitemap_roots(fetcher: Fetcher, source: SourceSpec, warnings: list[str]) -> list[str]:
    """The sitemaps to start from: the source URL, or the ``Sitemap:`` lines of a site's robots.txt
    when the source URL is the site (``/``) or its ``/robots.txt``."""
    path = urlsplit(source.url).path
    if path not in ("", "/", "/robots.txt"):
        return [source.url]
    try:
        listed = await fetcher.sitemaps_from_robots(source.url)
    except FetchError as exc:
        raise SourceFetchError(exc.url, exc.message, source=source.name) from exc
    if listed:
        return list(dict.fromkeys(listed))
    fallback = urljoin(source.url, "/sitemap.xml")
    warnings.append(f"{source.url}: robots.txt lists no Sitemap: lines; trying {fallback}")
    return [fallback]


async def _read(fetcher: Fetcher, walk: _Walk, url: str, conditional: bool) -> ParsedSitemap | None:
    source = walk.source
    walk.fetches += 1
    validators = source.validators if conditional else None
    try:
        result = await fetch(fetcher, source, url, accept=ACCEPT_SITEMAP, validators=validators)
        walk.status = walk.status or result.status
        if result.status == 304:
            return None
        walk.bytes += len(result.body)
        parsed = parse_sitemap(result.body, result.final_url)
    except SitemapError as exc:
        return _failed(walk, SourceParseError(exc.url, str(exc), source=source.name))
    except SourceError as exc:
        return _failed(walk, exc)
    if conditional:
        walk.validators = validators_of(result, source.validators)
    walk.read += 1
    walk.candidates.extend(parsed.urls)
    walk.observations.extend(parsed.observations)
    walk.warnings.extend(parsed.warnings)
    return parsed


def _failed(walk: _Walk, error: SourceError) -> ParsedSitemap | None:
    walk.errors.append(error)
    walk.warnings.append(str(error))
    return None


def _children(
    walk: _Walk, parsed: ParsedSitemap, url: str, depth: int, max_depth: int
) -> list[tuple[str, int]]:
    if not parsed.sitemaps:
        return []
    if depth >= max_depth:
        walk.warnings.append(f"{url}: {len(parsed.sitemaps)} child sitemaps below depth {max_depth} not read")
        return []
    ordered = sorted(
        parsed.sitemaps, key=lambda child: parsed.sitemap_lastmod.get(child, _EPOCH), reverse=True
    )
    return [(child, depth + 1) for child in ordered]


def _result(walk: _Walk) -> PollResult:
    source = walk.source
    if walk.read == 0 and walk.errors:
        raise walk.errors[0]
    kept, cut = newest_first(first_per_url(walk.candidates), source.max_items)
    if cut:
        walk.warnings.append(f"{source.url}: {cut} older URLs left out (max_items = {source.max_items})")
    return PollResult(
        candidates=named(kept, source),
        observations=observations_for(kept, walk.observations),
        validators=walk.validators,
        warnings=walk.warnings,
        http_status=walk.status,
        bytes=walk.bytes,
        fetches=walk.fetches,
    )
