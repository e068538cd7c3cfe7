"""Search sources: a URL template with ``{query}``, filled with each active story's query.

The answer may be a feed (RSS, Atom, JSON Feed: e.g. a news search's RSS output) or an HTML
results page (its article links, on any site, filtered by the source's include/exclude
patterns). Every result is a candidate; ``Candidate.raw["story"]`` names the story whose query
found it. Search results are not versioned: their snippets depend on the search, not the article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scraper.core.feeds import FeedError, parse_feed
from scraper.core.links import PatternError, article_links
from scraper.core.types import Candidate
from scraper.core.urls import TemplateError, fill_search_template
from scraper.http import Fetcher, FetchResult
from scraper.sources.base import (
    ACCEPT_FEED,
    PollResult,
    SourceConfigError,
    SourceError,
    SourceParseError,
    SourceSpec,
    StorySpec,
    fetch,
    first_per_url,
    named,
)

_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
ACCEPT_SEARCH = ACCEPT_FEED.replace("*/*;q=0.8", "text/html;q=0.8, */*;q=0.5")


async def poll_search(
    fetcher: Fetcher, source: SourceSpec, *, stories: Sequence[StorySpec] = ()
) -> PollResult:
    """Run the search once per story with a query; a story whose search fails is a warning."""
    queries = [story for story in stories if story.query.strip()]
    if not queries:
        return PollResult(warnings=[f"{source.url}: no active story with a query: nothing to search"])
    found: list[Candidate] = []
    warnings: list[str] = []
    errors: list[SourceError] = []
    total = 0
    for story in queries:
        url = search_url(source, story)  # a bad template fails the whole poll
        try:
            results, size = await _search(fetcher, source, url)
        except SourceConfigError:
            raise
        except SourceError as exc:
            errors.append(exc)
            warnings.append(f"story {story.slug}: {exc}")
            continue
        found.extend(named(results, source, story=story.slug, search_url=url))
        total += size
    if errors and len(errors) == len(queries):
        raise errors[0]
    kept = first_per_url(found)[: source.max_items]
    return PollResult(candidates=kept, warnings=warnings, http_status=200, bytes=total, fetches=len(queries))


def search_url(source: SourceSpec, story: StorySpec) -> str:
    try:
        return fill_search_template(source.url, story.query)
    except TemplateError as exc:
        raise SourceConfigError(source.url, str(exc), source=source.name) from exc


async def _search(fetcher: Fetcher, source: SourceSpec, url: str) -> tuple[list[Candidate], int]:
    result = await fetch(fetcher, source, url, accept=ACCEPT_SEARCH)
    if not result.body.strip():
        raise SourceParseError(url, "the response body is empty", source=source.name)
    results = _html_results(source, result) if _is_html(result) else _feed_results(source, result)
    return results, len(result.body)


def _is_html(result: FetchResult) -> bool:
    return "html" in (result.content_type or "").lower() or bool(_HTML.match(result.body[:2048]))


def _feed_results(source: SourceSpec, result: FetchResult) -> list[Candidate]:
    try:
        return parse_feed(result.body, result.final_url, result.content_type).entries
    except FeedError as exc:
        raise SourceParseError(exc.url, str(exc), source=source.name) from exc


def _html_results(source: SourceSpec, result: FetchResult) -> list[Candidate]:
    try:
        return article_links(
            result.text, result.final_url, include=source.include, exclude=source.exclude, same_site=False
        )
    except PatternError as exc:
        raise SourceConfigError(source.url, str(exc), source=source.name) from exc
