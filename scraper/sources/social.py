"""Social sources (mastodon, bluesky, telegram, reddit, youtube) through the Fetcher.

Polling one source::

    plan (scraper.core.social)  -> the endpoints; a Mastodon account is a lookup, then its statuses
    fetch each endpoint         -> rate-limit headers read after every answer: when the quota is
                                   used up, wait for the reset (at most retry_max_wait seconds),
                                   else stop with a warning and keep what was read
    parse                       -> posts as ``api`` observations; links in them as candidates
    older pages (``next_page``) -> while pages remain (Telegram ``before=``: 3 a poll, others 1)

The poll result lists one candidate per post (``raw["post"]``) and then one per link
(``raw["post_url"]`` names the post carrying it); observations are the posts themselves.

Re-checking one post (:func:`read_post`) asks its platform: the Mastodon status, the Bluesky
thread, the Telegram embed page, the Reddit post's JSON, YouTube's oEmbed answer.
:func:`read_history` reads a Mastodon edit history.

Credentials named in ``params["credentials"]`` (environment variables) are sent where the
platform takes them (scraper.sources.social_auth): a Bluesky login for searchPosts, a Reddit
OAuth token for the JSON API, a Mastodon access token for search. Every request of such a poll
carries the token; a 401 (or Bluesky's ExpiredToken) renews it and tries once more. Without
credentials, endpoints that need them fail with a clear :class:`SourceConfigError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from scraper.core import social
from scraper.core.ratelimit import DAY, RateLimit, parse_rate_limit, wait_before_next
from scraper.core.social import bluesky, mastodon, reddit, telegram
from scraper.core.social.auth import CREDENTIAL_KEYS
from scraper.core.social.common import (
    CredentialsRequiredError,
    Endpoint,
    MalformedResponseError,
    SocialError,
    SocialPage,
    UnsupportedSourceError,
    endpoint,
)
from scraper.core.types import Candidate, Observation
from scraper.core.urls import InvalidURL, canonicalize
from scraper.http import Fetcher, FetchError, FetchResult
from scraper.http_options import RequestOptions
from scraper.sources.base import (
    ACCEPT_FEED,
    PollResult,
    SourceConfigError,
    SourceError,
    SourceFetchError,
    SourceParseError,
    SourceSpec,
    StorySpec,
    named,
)
from scraper.sources.social_auth import Login, login_for

SOCIAL_KINDS = ("mastodon", "bluesky", "telegram", "reddit", "youtube")
ACCEPT_JSON = "application/json, */*;q=0.5"
ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
DEFAULT_PAGES = {"telegram": 3}
MAX_PAGES = 10
GONE_STATUSES = frozenset({404, 410})
YOUTUBE = "https://www.youtube.com"
IDENTITY = ("id", "uri", "account", "visibility", "in_reply_to_id")  # a status's, kept on its history
Sleep = Callable[[float], Awaitable[None]]


# -- fetching, with the platform's rate limits ------------------------------------------------------


@dataclass
class Reader:
    """GETs for one poll or re-check: counts them and paces them by the announced rate limit."""

    fetcher: Fetcher
    source: str | None = None
    sleep: Sleep = asyncio.sleep
    fetches: int = 0
    bytes: int = 0
    status: int | None = None
    limit: RateLimit | None = None
    warnings: list[str] = field(default_factory=list)
    login: Login | None = None

    @property
    def max_wait(self) -> float:
        return self.fetcher.config.retry_max_wait

    async def get(self, url: str, kind: str) -> FetchResult | None:
        """The answer for ``url``; None when the rate limit says to stop (a warning says why)."""
        if not await self._quota(url):
            return None
        result = await self._fetch(url, kind)
        if self.login is not None and _token_refused(result):
            await self.login.renew()
            result = await self._fetch(url, kind)
        self.fetches, self.bytes, self.status = self.fetches + 1, self.bytes + len(result.body), result.status
        self.limit = parse_rate_limit(result.headers, result.fetched_at)
        if result.status == 429:
            raise SourceFetchError(url, self._refused(result), source=self.source)
        return result

    async def _fetch(self, url: str, kind: str) -> FetchResult:
        options = None
        if self.login is not None:
            options = RequestOptions(authorization=await self.login.authorization())
        try:
            return await self.fetcher.fetch(url, accept=accept_for(kind), options=options)
        except FetchError as exc:
            raise SourceFetchError(exc.url, exc.message, source=self.source) from exc

    async def _quota(self, url: str) -> bool:
        if self.limit is None or self.limit.observed_at is None:
            return True
        wait = wait_before_next(self.limit, self.limit.observed_at, ceiling=DAY)
        if wait <= 0:
            return True
        if wait > self.max_wait:
            self.warnings.append(self._stopped(url, wait))
            return False
        await self.sleep(wait)
        return True

    def _stopped(self, url: str, wait: float) -> str:
        limit = self.limit or RateLimit()
        quota = f"{limit.remaining} of {limit.limit}" if limit.limit is not None else f"{limit.remaining}"
        reset = limit.reset_at.isoformat() if limit.reset_at else "an unknown time"
        return (
            f"{url}: rate limit used up ({quota} requests left until {reset}); stopped after "
            f"{self.fetches} requests instead of waiting {wait:.0f}s (more than "
            f"retry_max_wait={self.max_wait:g}s); the rest is read on the next poll"
        )

    def _refused(self, result: FetchResult) -> str:
        after = result.header("retry-after")
        attempts = self.fetcher.config.retries + 1
        return (
            f"rate limited: HTTP 429 from {result.final_url}"
            + (f" (Retry-After: {after})" if after else "")
            + f" after {attempts} attempt{'s' if attempts > 1 else ''}; "
            "polled again on its schedule (raise STORYTRAIL_RETRIES to wait longer)"
        )


def _token_refused(result: FetchResult) -> bool:
    return result.status == 401 or (result.status == 400 and b"ExpiredToken" in result.body[:2000])


def accept_for(kind: str) -> str:
    """The Accept header for an endpoint kind (``mastodon.timeline``, ``reddit.rss``...)."""
    if kind.startswith("telegram"):
        return ACCEPT_HTML
    if kind in ("reddit.rss", "youtube.feed"):
        return ACCEPT_FEED
    return ACCEPT_JSON


def source_error(exc: SocialError, source: str | None = None) -> SourceError:
    """The SourceError for a platform failure: configuration, body, or the platform's refusal."""
    if isinstance(exc, CredentialsRequiredError | UnsupportedSourceError):
        return SourceConfigError(exc.url, str(exc), source=source)
    if isinstance(exc, MalformedResponseError):
        return SourceParseError(exc.url, str(exc), source=source)
    return SourceFetchError(exc.url, str(exc), source=source)


def parse_answer(result: FetchResult, kind: str, source: str | None = None) -> SocialPage:
    """Parse an answer; an HTTP error status gives the platform's own error, else "HTTP <n>"."""
    try:
        page = social.parse(kind, result.body, result.final_url)
    except MalformedResponseError as exc:
        if result.status >= 400:
            raise _http_error(result, source) from exc
        raise source_error(exc, source) from exc
    except SocialError as exc:
        raise source_error(exc, source) from exc
    if result.status >= 400 and not page.gone_ids:
        raise _http_error(result, source)
    return page


def _http_error(result: FetchResult, source: str | None) -> SourceFetchError:
    return SourceFetchError(result.url, f"HTTP {result.status} from {result.final_url}", source=source)


# -- polling a source -------------------------------------------------------------------------------


async def poll_social(
    fetcher: Fetcher, source: SourceSpec, *, stories: Sequence[StorySpec] = ()
) -> PollResult:
    """The adapter of every social kind (module docstring)."""
    return await read_source(fetcher, source)


async def read_source(fetcher: Fetcher, source: SourceSpec, *, sleep: Sleep = asyncio.sleep) -> PollResult:
    """Poll ``source``; ``sleep`` waits for a rate-limit reset (injected by tests)."""
    reader = Reader(fetcher, source.name, sleep)
    planned_endpoints = plan_source(source, reader.warnings)
    reader.login = login_for(fetcher, source)
    pages: list[SocialPage] = []
    for planned in planned_endpoints:
        if planned.kind == "mastodon.history":  # read only when the post was edited (jobs.social)
            continue
        first, kind = await _first_page(reader, source, planned)
        if first is None:
            break
        pages += [first, *await _older_pages(reader, source, first, kind)]
    return _result(source, reader, pages)


def plan_source(source: SourceSpec, warnings: list[str]) -> list[Endpoint]:
    """The endpoints of ``source``; an unusable URL or a login-only endpoint is a SourceConfigError."""
    names = credential_names(source)
    usable = bool(names) and source.kind in CREDENTIAL_KEYS
    try:
        planned = social.plan(source.kind, source.url, api_of(source), credentials=usable)
    except SocialError as exc:
        raise source_error(exc, source.name) from exc
    if names and not usable:
        unused = f"credentials ({', '.join(names)}) are not used by {source.kind} sources"
        warnings.append(f"{source.url}: {unused}")
    return planned


def credential_names(source: SourceSpec) -> list[str]:
    """The environment variables ``params["credentials"]`` names (their values are never read here)."""
    configured = source.params.get("credentials") or {}
    if isinstance(configured, Mapping):
        return [str(name) for name in configured.values()]
    return [str(configured)]


def api_of(source: SourceSpec) -> str | None:
    api = source.params.get("api")
    return str(api) if api else None


def max_pages(source: SourceSpec) -> int:
    pages = source.params.get("pages") or DEFAULT_PAGES.get(source.kind, 1)
    return max(1, min(int(pages), MAX_PAGES))


async def _first_page(reader: Reader, source: SourceSpec, planned: Endpoint) -> tuple[SocialPage | None, str]:
    """The first page of a planned endpoint (a Mastodon account: its statuses) and its kind."""
    url, kind = planned.url, planned.kind
    if kind == "mastodon.account_lookup":
        lookup = await reader.get(url, kind)
        if lookup is None:
            return None, kind
        url, kind = _account_statuses(lookup, source), "mastodon.timeline"
    result = await reader.get(url, kind)
    return (None if result is None else parse_answer(result, kind, source.name)), kind


def _account_statuses(result: FetchResult, source: SourceSpec) -> str:
    if result.status >= 400:
        parse_answer(result, "mastodon.timeline", source.name)  # the instance's own error, else HTTP n
        raise _http_error(result, source.name)
    try:
        account_id = mastodon.parse_account(result.body, result.final_url)
    except SocialError as exc:
        raise source_error(exc, source.name) from exc
    return mastodon.statuses_url(mastodon.api_base(source.url, api_of(source)), account_id)


async def _older_pages(reader: Reader, source: SourceSpec, page: SocialPage, kind: str) -> list[SocialPage]:
    """Further pages while the source allows; a failure here is a warning, not a lost poll."""
    older: list[SocialPage] = []
    while page.next_page and len(older) + 1 < max_pages(source):
        try:
            result = await reader.get(page.next_page, kind)
            if result is None:
                break
            page = parse_answer(result, kind, source.name)
        except SourceError as exc:
            reader.warnings.append(f"{exc} (older posts left for the next poll)")
            break
        older.append(page)
    return older


def _result(source: SourceSpec, reader: Reader, pages: list[SocialPage]) -> PollResult:
    reader.warnings.extend(warning for page in pages for warning in page.warnings)
    posts = _kept_posts([o for page in pages for o in page.observations], source, reader.warnings)
    kept = {post.url for post in posts}
    links = [c for page in pages for c in _canonical_links(page.candidates) if c.raw.get("post_url") in kept]
    return PollResult(
        candidates=[
            *named([post_candidate(post, source.kind) for post in posts], source),
            *named(links, source),
        ],
        observations=posts,
        warnings=reader.warnings,
        http_status=reader.status,
        bytes=reader.bytes,
        fetches=reader.fetches,
    )


def _kept_posts(
    observations: list[Observation], source: SourceSpec, warnings: list[str]
) -> list[Observation]:
    firsts: dict[str, Observation] = {}
    for observation in observations:
        post = canonical_post(observation, source.kind)
        if post is not None:
            firsts.setdefault(post.url, post)
    posts = list(firsts.values())
    if len(posts) > source.max_items:
        warnings.append(f"{source.url}: {len(posts) - source.max_items} posts left out (max_items)")
    return posts[: source.max_items]


def canonical_post(observation: Observation, platform: str) -> Observation | None:
    """The observation under its canonical URL (also its content's canonical URL); None if unusable.

    Reddit's RSS shows no edit time while its JSON does: the time is kept in the metadata only
    (``edited``), so a post read both ways does not flip between two versions.
    """
    url = _canonical(observation.url)
    if url is None:
        return None
    content = replace(observation.content, canonical_url=url)
    if platform == "reddit":
        content = replace(content, modified=None)
    return replace(observation, url=url, content=content)


def _canonical_links(candidates: list[Candidate]) -> list[Candidate]:
    found = []
    for candidate in candidates:
        url, post = _canonical(candidate.url), _canonical(str(candidate.raw.get("post_url", "")))
        if url is not None and url != post:
            found.append(replace(candidate, url=url, raw={**candidate.raw, "post_url": post}))
    return found


def _canonical(url: str) -> str | None:
    try:
        return canonicalize(url)
    except (InvalidURL, ValueError):
        return None


def post_candidate(post: Observation, platform: str) -> Candidate:
    """The post itself as a candidate (its text is what stories are matched on)."""
    content = post.content
    return Candidate(
        url=post.url,
        title=content.title,
        summary=content.text or None,
        published=content.published,
        updated=content.modified,
        via="social",
        raw={"post": True, "platform": platform, "gone": post.gone, "links": list(post.links)},
    )


# -- re-checking one post ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostRef:
    """What re-checking a post needs: its document URL and platform, the platform's id for it
    (Mastodon status id on the polled instance, Bluesky at:// URI), and its source's URL and API."""

    url: str
    platform: str
    post_id: str | None = None
    source_url: str | None = None
    api: str | None = None


@dataclass(frozen=True, slots=True)
class PostState:
    """What the platform says of a post now: gone, its current content, or (YouTube) only that it
    is still there (``observation`` None, ``gone`` False)."""

    url: str
    status: int
    fetched_at: datetime
    observation: Observation | None = None
    gone: bool = False
    fetches: int = 1


def recheck_endpoint(ref: PostRef) -> Endpoint:
    """The one request that shows the post ``ref`` as it is now."""
    try:
        return _recheck_endpoint(ref)
    except SocialError as exc:
        raise source_error(exc) from exc
    except (IndexError, ValueError) as exc:
        raise SourceConfigError(ref.url, f"not a {ref.platform} post URL storytrail can re-check") from exc


def _recheck_endpoint(ref: PostRef) -> Endpoint:
    if ref.platform == "mastodon":
        status_id = ref.post_id or _segments(ref.url)[-1]
        return mastodon.status_plan(mastodon.api_base(ref.source_url or ref.url, ref.api), status_id)[0]
    if ref.platform == "bluesky":
        return bluesky.thread(ref.post_id or bluesky.at_uri_of(ref.url), ref.api)
    if ref.platform == "telegram":
        channel, message_id = _segments(ref.url)[-2:]
        return telegram.post(channel, message_id, ref.api)
    if ref.platform == "reddit":
        return reddit.plan(ref.url, ref.api)[0]
    if ref.platform == "youtube":
        return endpoint(ref.api or YOUTUBE, "/oembed", "youtube.oembed", {"url": ref.url, "format": "json"})
    raise SourceConfigError(ref.url, f"posts of platform {ref.platform!r} cannot be re-checked")


def _segments(url: str) -> list[str]:
    return [s for s in urlsplit(url).path.split("/") if s]


async def read_post(fetcher: Fetcher, ref: PostRef, *, sleep: Sleep = asyncio.sleep) -> PostState:
    """Ask the platform about one post; a SourceError when it cannot say."""
    planned = recheck_endpoint(ref)
    result = await Reader(fetcher, sleep=sleep).get(planned.url, planned.kind)
    assert result is not None  # a fresh Reader never waits
    state = PostState(planned.url, result.status, result.fetched_at)
    if planned.kind == "youtube.oembed":
        return _oembed_state(state, result)
    try:
        page = parse_answer(result, planned.kind)
    except SourceError:
        if result.status in GONE_STATUSES:
            return replace(state, gone=True)
        raise
    return _page_state(state, page, ref)


def _oembed_state(state: PostState, result: FetchResult) -> PostState:
    """oEmbed answers 200 while a video is public and 404 once it is deleted; it shows no description."""
    if result.status in GONE_STATUSES:
        return replace(state, gone=True)
    if result.status >= 400:
        raise _http_error(result, None)
    return state


def _page_state(state: PostState, page: SocialPage, ref: PostRef) -> PostState:
    if page.gone_ids or any(o.gone for o in page.observations):
        return replace(state, gone=True)
    posts = [p for p in (canonical_post(o, ref.platform) for o in page.observations) if p is not None]
    mine = next((p for p in posts if p.url == ref.url), posts[0] if posts else None)
    if mine is None:
        if state.status in GONE_STATUSES:
            return replace(state, gone=True)
        raise SourceParseError(state.url, f"the answer shows no post (expected {ref.url})")
    return replace(
        state, observation=replace(mine, url=ref.url, content=replace(mine.content, canonical_url=ref.url))
    )


async def read_history(fetcher: Fetcher, ref: PostRef, current: Observation) -> list[Observation]:
    """A Mastodon post's versions, oldest first (the last one is the current text); each carries
    the status's ids (``IDENTITY``), so any version tells how to re-check the post."""
    status_id = str(current.content.metadata.get("id") or ref.post_id or _segments(ref.url)[-1])
    base = mastodon.api_base(ref.source_url or ref.url, ref.api)
    planned = mastodon.status_plan(base, status_id)[1]
    result = await Reader(fetcher).get(planned.url, planned.kind)
    assert result is not None
    if result.status >= 400:
        raise _http_error(result, None)
    try:
        page = mastodon.parse_history(
            result.body, result.final_url, document_url=ref.url, language=current.content.language
        )
    except SocialError as exc:
        raise source_error(exc) from exc
    ids = {k: current.content.metadata[k] for k in IDENTITY if k in current.content.metadata}
    return [
        replace(o, content=replace(o.content, metadata=ids | o.content.metadata)) for o in page.observations
    ]


__all__ = [
    "SOCIAL_KINDS",
    "PostRef",
    "PostState",
    "Reader",
    "accept_for",
    "api_of",
    "canonical_post",
    "credential_names",
    "max_pages",
    "parse_answer",
    "plan_source",
    "poll_social",
    "post_candidate",
    "read_history",
    "read_post",
    "read_source",
    "recheck_endpoint",
    "source_error",
]
