"""Feed sources: RSS, Atom and JSON Feed, read with a conditional GET.

Every entry is a candidate, and its title, summary and dates are a ``feed`` observation of the
entry's article, so headline edits in the feed are versioned even when the page cannot be fetched.
"""

from __future__ import annotations

from collections.abc import Sequence

from scraper.core.feeds import FeedError, parse_feed
from scraper.http import Fetcher
from scraper.sources.base import (
    ACCEPT_FEED,
    PollResult,
    SourceParseError,
    SourceSpec,
    StorySpec,
    fetch,
    named,
    newest_first,
    observations_for,
    validators_of,
)


async def poll_feed(fetcher: Fetcher, source: SourceSpec, *, stories: Sequence[StorySpec] = ()) -> PollResult:
    """Read the feed at ``source.url``; 304 gives a not-modified result."""
    result = await fetch(fetcher, source, source.url, accept=ACCEPT_FEED, validators=source.validators)
    if result.status == 304:
        return PollResult(not_modified=True, http_status=304, fetches=1)
    try:
        feed = parse_feed(result.body, result.final_url, result.content_type, max_entries=source.max_items)
    except FeedError as exc:
        raise SourceParseError(exc.url, str(exc), source=source.name) from exc
    kept, cut = newest_first(feed.entries, source.max_items)
    cut += feed.left_out
    warnings = list(feed.warnings)
    if cut:
        warnings.append(f"{source.url}: {cut} older entries left out (max_items = {source.max_items})")
    return PollResult(
        candidates=named(kept, source),
        observations=observations_for(kept, feed.observations),
        validators=validators_of(result, source.validators),
        warnings=warnings,
        http_status=result.status,
        bytes=len(result.body),
        fetches=1,
        capture=result,
    )
