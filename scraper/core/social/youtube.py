"""YouTube: plan the public Atom feed of a channel or playlist and read its videos.

A video's document URL is ``https://www.youtube.com/watch?v=<id>``; its title and description
are the content. Views and ratings are measurements. The feed's ``<updated>`` moves with the
statistics, so it goes to ``metadata["updated"]``, never to ``Content.modified`` (an edit of
the title or description still shows up as a change of the content).
"""

from __future__ import annotations

from typing import Any

from scraper.core.social.common import (
    Endpoint,
    MalformedResponseError,
    SocialPage,
    UnsupportedSourceError,
    counts,
    endpoint,
    feed_entry_raw,
    link_candidates,
    merge_candidates,
    parse_time,
    source_parts,
    urls_in_text,
)
from scraper.core.types import Candidate, Channel, Content, Observation

PLATFORM = "YouTube"
WEB = "https://www.youtube.com"
HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com")
EXPECTED = (
    "https://www.youtube.com/channel/UC...",
    "https://www.youtube.com/playlist?list=PL...",
    "https://www.youtube.com/user/NAME",
    "https://www.youtube.com/feeds/videos.xml?channel_id=UC...",
)
HANDLE_HINT = (
    "YouTube @handles cannot be read without fetching the channel page; use the channel URL "
    "https://www.youtube.com/channel/UC... (About > Share channel > Copy channel ID)"
)
FEED_KEYS = ("channel_id", "playlist_id", "user")


def plan(url: str, api: str | None = None, *, credentials: bool = False) -> list[Endpoint]:
    """The videos.xml feed of the channel, playlist or user ``url`` names."""
    host, segments, query = source_parts(url, PLATFORM, EXPECTED)
    if host not in HOSTS:
        raise UnsupportedSourceError(url, PLATFORM, EXPECTED)
    params = _feed_params(segments, query)
    if params is None:
        handle = bool(segments) and segments[0].startswith("@")
        raise UnsupportedSourceError(url, PLATFORM, [*EXPECTED, HANDLE_HINT] if handle else EXPECTED)
    return [endpoint(api or WEB, "/feeds/videos.xml", "youtube.feed", params)]


def _feed_params(segments: list[str], query: dict[str, str]) -> dict[str, str] | None:
    match segments:
        case ["channel", channel_id] if channel_id.startswith("UC"):
            return {"channel_id": channel_id}
        case ["playlist"] if query.get("list"):
            return {"playlist_id": query["list"]}
        case ["user", name]:
            return {"user": name}
        case ["feeds", "videos.xml"]:
            found = {key: query[key] for key in FEED_KEYS if query.get(key)}
            return found or None
    return None


def parse_feed(body: bytes, base_url: str) -> SocialPage:
    """A channel or playlist Atom feed (the latest 15 videos; the feed has no further pages)."""
    import feedparser  # imported when a feed is read, not by every command

    feed = feedparser.parse(body)
    if not feed.entries and not str(feed.get("version", "")).startswith("atom"):
        cause = feed.get("bozo_exception") or "no Atom feed in the answer"
        raise MalformedResponseError(base_url, f"expected a YouTube videos.xml (Atom) feed: {cause}")
    observed = [_observe(entry) for entry in feed.entries if entry.get("yt_videoid")]
    return SocialPage(
        observations=[obs for obs, _ in observed],
        candidates=merge_candidates(cands for _, cands in observed),
    )


def _observe(entry: Any) -> tuple[Observation, list[Candidate]]:
    video_id = str(entry["yt_videoid"])
    url = f"{WEB}/watch?v={video_id}"
    description = str(entry.get("summary", "")).strip()
    links = urls_in_text(description)
    content = Content(
        title=str(entry.get("title", "")) or None,
        byline=str(entry.get("author", "")) or None,
        text=description,
        published=parse_time(entry.get("published")),
        canonical_url=url,
        metadata=_metadata(entry, video_id),
    )
    observation = Observation(
        url=url,
        channel=Channel.API,
        content=content,
        raw=feed_entry_raw(entry),
        measurements=_counts(entry),
        links=tuple(links),
    )
    return observation, link_candidates(links, post_url=url, published=content.published, platform="youtube")


def _metadata(entry: Any, video_id: str) -> dict[str, Any]:
    thumbnails = entry.get("media_thumbnail") or []
    return {
        "id": video_id,
        "channel_id": entry.get("yt_channelid"),
        "updated": entry.get("updated"),
        "thumbnail": thumbnails[0].get("url") if thumbnails else None,
        "tags": [],
    }


def _counts(entry: Any) -> dict[str, float]:
    rating = entry.get("media_starrating") or {}
    statistics = entry.get("media_statistics") or {}
    return counts(views=statistics.get("views"), likes=rating.get("count"), rating=rating.get("average"))
