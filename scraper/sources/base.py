"""What every source adapter takes and returns: plain values, no database.

An adapter is ``async def poll(fetcher, source, *, stories) -> PollResult``: it reads one
configured source (a feed, a sitemap, a section page, a search...) through the
:class:`~scraper.http.Fetcher` and turns what it finds into candidates (links that may be
coverage of a story) and observations (what a feed entry or a post shows, versioned on the
``feed`` / ``api`` channel). Storage, matching and enrolment happen in ``jobs.polling``.

Errors::

    SourceError              .url, .cause, .source; str(e) == "<url>: <cause>"
     +-- SourceFetchError    the request failed (network, robots.txt, size cap, HTTP 4xx/5xx)
     +-- SourceParseError    the body is not what the source kind needs (bad feed, bad sitemap)
     +-- SourceConfigError   the source itself is unusable (bad template, bad pattern, kind)

A poll that raises changes nothing: the caller records the error on the source's Check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from scraper.core.types import Candidate, Observation
from scraper.http import Fetcher, FetchError, FetchResult
from scraper.http_options import RequestOptions, RequestOptionsError, has_options, options_from_params

ACCEPT_FEED = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
ACCEPT_SITEMAP = "application/xml, text/xml;q=0.9, application/gzip;q=0.8, */*;q=0.5"
DEFAULT_MAX_ITEMS = 500


class SourceError(Exception):
    """A poll that gave nothing usable. ``str(e)`` is ``"<url>: <cause>"``; ``.source`` names the source."""

    def __init__(self, url: str, cause: str, *, source: str | None = None) -> None:
        self.url, self.cause, self.source = url, " ".join(cause.split()), source
        super().__init__(self.cause if self.cause.startswith(url) else f"{url}: {self.cause}")


class SourceFetchError(SourceError):
    pass


class SourceParseError(SourceError):
    pass


class SourceConfigError(SourceError):
    pass


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP validators for the next conditional GET of a source."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One configured source as an adapter sees it (built from a ``Source`` row)."""

    name: str
    kind: str
    url: str
    params: Mapping[str, Any] = field(default_factory=dict)
    validators: Validators = Validators()
    last_polled_at: datetime | None = None

    @property
    def max_items(self) -> int:
        return int(self.params.get("max_items") or DEFAULT_MAX_ITEMS)

    @property
    def include(self) -> tuple[str, ...]:
        return tuple(self.params.get("include") or ())

    @property
    def exclude(self) -> tuple[str, ...]:
        return tuple(self.params.get("exclude") or ())

    @property
    def archive_all(self) -> bool:
        return self.params.get("archive") == "all"

    def request_options(self) -> RequestOptions | None:
        """The source's headers, cookies, auth, proxy and user agent (None: the Fetcher's default).

        A setting that cannot be used (a missing variable, an unreadable cookie file) is a
        SourceConfigError."""
        if not has_options(self.params):
            return None
        try:
            return options_from_params(self.params)
        except RequestOptionsError as exc:
            raise SourceConfigError(self.url, f"source {self.name}: {exc}", source=self.name) from None


@dataclass(frozen=True, slots=True)
class StorySpec:
    """What an adapter may need to know of an active story (a search source fills its query)."""

    slug: str
    query: str


@dataclass
class PollResult:
    """What one poll of one source found."""

    candidates: list[Candidate] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    validators: Validators | None = None  # None: keep the stored ones
    warnings: list[str] = field(default_factory=list)
    not_modified: bool = False  # HTTP 304: nothing to read
    http_status: int | None = None
    bytes: int = 0
    fetches: int = 0
    capture: FetchResult | None = None  # the listing as fetched (feed, page): kept when it brought news


class Adapter(Protocol):
    def __call__(
        self, fetcher: Fetcher, source: SourceSpec, *, stories: Sequence[StorySpec]
    ) -> Awaitable[PollResult]: ...


# --- helpers shared by the adapters ----------------------------------------------------------


async def fetch(
    fetcher: Fetcher, source: SourceSpec, url: str, *, accept: str, validators: Validators | None = None
) -> FetchResult:
    """GET ``url`` for ``source``; a FetchError or an HTTP error status becomes SourceFetchError."""
    etag = validators.etag if validators else None
    last_modified = validators.last_modified if validators else None
    options = source.request_options()
    try:
        result = await fetcher.fetch(
            url, etag=etag, last_modified=last_modified, accept=accept, options=options
        )
    except FetchError as exc:
        raise SourceFetchError(exc.url, exc.message, source=source.name) from exc
    if result.status >= 400:
        raise SourceFetchError(url, f"HTTP {result.status} from {result.final_url}", source=source.name)
    return result


def validators_of(result: FetchResult, previous: Validators) -> Validators:
    """The validators to send next time: the response's, else the ones we had."""
    return Validators(result.etag or previous.etag, result.last_modified or previous.last_modified)


def newest_first(candidates: Sequence[Candidate], limit: int) -> tuple[list[Candidate], int]:
    """At most ``limit`` candidates, the most recently updated first; and how many were cut.

    Candidates without a date keep their order after the dated ones.
    """
    dated = [c for c in candidates if c.updated or c.published]
    undated = [c for c in candidates if not (c.updated or c.published)]
    dated.sort(key=lambda c: c.updated or c.published, reverse=True)  # type: ignore[arg-type,return-value]
    ordered = dated + undated
    return ordered[:limit], max(0, len(ordered) - limit)


def named(candidates: Sequence[Candidate], source: SourceSpec, **fields: Any) -> list[Candidate]:
    """The candidates, marked as found by ``source`` (``raw`` gains ``fields``)."""
    return [replace(c, source_name=source.name, raw={**c.raw, **fields}) for c in candidates]


def first_per_url(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates with each URL once (its first occurrence), in order."""
    firsts: dict[str, Candidate] = {}
    for candidate in candidates:
        firsts.setdefault(candidate.url, candidate)
    return list(firsts.values())


def observations_for(
    candidates: Sequence[Candidate], observations: Sequence[Observation]
) -> list[Observation]:
    """The observations of these candidates, in the candidates' order (first one per URL)."""
    by_url: dict[str, Observation] = {}
    for observation in observations:
        by_url.setdefault(observation.url, observation)
    return [by_url[c.url] for c in candidates if c.url in by_url]
