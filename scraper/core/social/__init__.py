"""Social sources, pure part: which requests read a configured source (``plan``) and what a
platform's answer holds (``parse``): posts as observations, linked URLs as candidates.

Fetching, credentials and storage live elsewhere (scraper.sources, storage). Two steps need the
platform module itself: a Mastodon account (``mastodon.parse_account`` then
``mastodon.statuses_url``) and a Mastodon edit history (``mastodon.parse_history``, which needs
the post's document URL).
"""

from __future__ import annotations

from collections.abc import Callable

from scraper.core.social import bluesky, mastodon, reddit, telegram, youtube
from scraper.core.social.common import (
    CredentialsRequiredError,
    Endpoint,
    MalformedResponseError,
    PlatformError,
    PublicTimelineDisabledError,
    RateLimitedError,
    SocialError,
    SocialPage,
    UnsupportedSourceError,
)

Planner = Callable[..., list[Endpoint]]
Parser = Callable[[bytes, str], SocialPage]

PLANNERS: dict[str, Planner] = {
    "mastodon": mastodon.plan,
    "bluesky": bluesky.plan,
    "telegram": telegram.plan,
    "reddit": reddit.plan,
    "youtube": youtube.plan,
}

PARSERS: dict[str, Parser] = {
    "mastodon.timeline": mastodon.parse_statuses,
    "mastodon.status": mastodon.parse_statuses,
    "mastodon.search": mastodon.parse_statuses,
    "bluesky.feed": bluesky.parse_feed,
    "bluesky.thread": bluesky.parse_thread,
    "telegram.preview": telegram.parse_preview,
    "telegram.post": telegram.parse_preview,
    "reddit.rss": reddit.parse_rss,
    "reddit.listing": reddit.parse_listing,
    "youtube.feed": youtube.parse_feed,
}


def plan(kind: str, url: str, api: str | None = None, *, credentials: bool = False) -> list[Endpoint]:
    """The requests that read the source ``url`` of kind ``kind`` (mastodon, bluesky, ...)."""
    planner = PLANNERS.get(kind)
    if planner is None:
        raise SocialError(url, f"unknown social source kind {kind!r}; expected one of {', '.join(PLANNERS)}")
    return planner(url, api, credentials=credentials)


def parse(endpoint_kind: str, body: bytes, base_url: str) -> SocialPage:
    """Read the answer to an endpoint of kind ``endpoint_kind`` fetched from ``base_url``."""
    parser = PARSERS.get(endpoint_kind)
    if parser is None:
        raise SocialError(base_url, f"no page parser for endpoint kind {endpoint_kind!r} (see mastodon.*)")
    return parser(body, base_url)


__all__ = [
    "PARSERS",
    "PLANNERS",
    "CredentialsRequiredError",
    "Endpoint",
    "MalformedResponseError",
    "PlatformError",
    "PublicTimelineDisabledError",
    "RateLimitedError",
    "SocialError",
    "SocialPage",
    "UnsupportedSourceError",
    "bluesky",
    "mastodon",
    "parse",
    "plan",
    "reddit",
    "telegram",
    "youtube",
]
