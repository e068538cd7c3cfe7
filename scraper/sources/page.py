"""Page sources: a section or front page whose article links are candidates.

The source's ``include`` / ``exclude`` URL patterns (regexes) filter the links
(:func:`scraper.core.links.article_links`); links to other sites are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from scraper.core.links import PatternError, article_links
from scraper.http import Fetcher
from scraper.sources.base import (
    PollResult,
    SourceConfigError,
    SourceParseError,
    SourceSpec,
    StorySpec,
    fetch,
    named,
    validators_of,
)

ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


async def poll_page(fetcher: Fetcher, source: SourceSpec, *, stories: Sequence[StorySpec] = ()) -> PollResult:
    """Read the article links of the page at ``source.url``."""
    result = await fetch(fetcher, source, source.url, accept=ACCEPT_HTML, validators=source.validators)
    if result.status == 304:
        return PollResult(not_modified=True, http_status=304, fetches=1)
    if not result.body.strip():
        raise SourceParseError(result.final_url, "the response body is empty", source=source.name)
    try:
        links = article_links(result.text, result.final_url, include=source.include, exclude=source.exclude)
    except PatternError as exc:
        raise SourceConfigError(source.url, str(exc), source=source.name) from exc
    warnings = [] if links else [f"{result.final_url}: no article links found on the page"]
    kept = links[: source.max_items]
    if len(links) > len(kept):
        warnings.append(
            f"{source.url}: {len(links) - len(kept)} links left out (max_items = {source.max_items})"
        )
    return PollResult(
        candidates=named(kept, source),
        validators=validators_of(result, source.validators),
        warnings=warnings,
        http_status=result.status,
        bytes=len(result.body),
        fetches=1,
        capture=result,
    )
