"""Telegram public channels: plan ``t.me/s/<channel>`` preview pages and read their messages.

A message's document URL is ``https://t.me/<channel>/<id>`` (from ``data-post``). The preview
shows no edit time, only an "edited" marker (``metadata["edited"]``); views are a measurement.
Older messages are on ``?before=<id>`` pages (``next_page``). Re-checking one message uses its
embed page (``t.me/<channel>/<id>?embed=1``), which says "Post not found" once it is deleted.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from scraper.core.social.common import (
    Endpoint,
    MalformedResponseError,
    PlatformError,
    SocialPage,
    UnsupportedSourceError,
    anchors,
    as_number,
    element_text,
    endpoint,
    has_class,
    link_candidates,
    merge_candidates,
    parse_time,
    soup,
    source_parts,
    unique_http,
    with_query,
)
from scraper.core.types import Candidate, Channel, Content, Observation
from scraper.core.urls import InvalidURL, join_url

if TYPE_CHECKING:
    from bs4 import Tag

PLATFORM = "Telegram"
WEB = "https://t.me"
HOSTS = ("t.me", "www.t.me", "telegram.me", "www.telegram.me")
EXPECTED = ("https://t.me/s/CHANNEL", "https://t.me/CHANNEL", "https://t.me/CHANNEL/MESSAGE_ID")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,}$")
NOT_CHANNELS = frozenset({"joinchat", "addstickers", "share", "proxy", "socks", "login", "iv", "c"})
SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9}


# -- planning ---------------------------------------------------------------------------------------


def plan(url: str, api: str | None = None, *, credentials: bool = False) -> list[Endpoint]:
    """The preview page of the channel ``url`` names, or the embed page of one message."""
    host, segments, _ = source_parts(url, PLATFORM, EXPECTED)
    if segments[:1] == ["s"]:
        segments = segments[1:]
    if host not in HOSTS or not segments or not _is_channel(segments[0]):
        raise UnsupportedSourceError(url, PLATFORM, EXPECTED)
    if len(segments) == 1:
        return [endpoint(api or WEB, f"/s/{segments[0]}", "telegram.preview")]
    if len(segments) == 2 and segments[1].isdigit():
        return [post(segments[0], segments[1], api)]
    raise UnsupportedSourceError(url, PLATFORM, EXPECTED)


def post(channel: str, message_id: str, api: str | None = None) -> Endpoint:
    """The embed page of one message, for re-checking it."""
    return endpoint(api or WEB, f"/{channel}/{message_id}", "telegram.post", {"embed": "1", "mode": "tme"})


def _is_channel(name: str) -> bool:
    return bool(NAME.match(name)) and name.lower() not in NOT_CHANNELS


# -- reading ----------------------------------------------------------------------------------------


def parse_preview(body: bytes, base_url: str) -> SocialPage:
    """A ``t.me/s/<channel>`` page (or a one-message embed page): its messages, their links, the
    URL of the page of older messages, and the message ids reported as not found."""
    page = _page_soup(body, base_url)
    if page.select_one(".tgme_widget_message_error"):
        return _gone(_message_id_of(base_url))
    messages = [
        m for m in page.select(".tgme_widget_message[data-post]") if not has_class(m, "service_message")
    ]
    if not messages and not page.select_one(".tgme_channel_history"):
        raise PlatformError(
            base_url, "no public preview: the channel does not exist, is private, or hides it"
        )
    observed = [observe(message) for message in messages]
    return SocialPage(
        observations=[obs for obs, _ in observed],
        candidates=merge_candidates(cands for _, cands in observed),
        next_page=_older(page, base_url),
    )


def _page_soup(body: bytes, url: str) -> Any:
    text = body.decode("utf-8", errors="replace")
    if "<" not in text or "tgme" not in text:
        start = text.strip()[:60]
        raise MalformedResponseError(url, f"expected a Telegram preview page (HTML), got {start!r}")
    return soup(text)


def _gone(data_post: str) -> SocialPage:
    content = Content(metadata={"gone_reason": "not found"})
    tombstone = Observation(url=f"{WEB}/{data_post}", channel=Channel.API, content=content, gone=True)
    return SocialPage(observations=[tombstone], gone_ids=[data_post])


def _message_id_of(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s and s != "s"]
    return "/".join(segments[-2:])


def _older(page: Any, url: str) -> str | None:
    more = page.select_one("a.tme_messages_more[data-before]")
    if more is None:
        return None
    href = more.get("href")
    if isinstance(href, str) and href:
        try:
            return join_url(url, href)
        except InvalidURL:
            pass
    return with_query(url, before=str(more["data-before"]))


def observe(message: Tag) -> tuple[Observation, list[Candidate]]:
    """One message of a preview page and the links it carries."""
    channel, _, message_id = str(message["data-post"]).partition("/")
    url = f"{WEB}/{channel}/{message_id}"
    body = _text_element(message)
    preview = message.select_one("a.tgme_widget_message_link_preview[href]")
    links = unique_http([*_links(body), *([str(preview["href"])] if preview else [])])
    content = Content(
        byline=_first_text(message, ".tgme_widget_message_owner_name", ".tgme_widget_message_from_author"),
        text=element_text(body) if body else "",
        published=_time(message),
        canonical_url=url,
        metadata=_metadata(message, body, channel, message_id),
    )
    views = _views(message)
    observation = Observation(
        url=url,
        channel=Channel.API,
        content=content,
        raw={"data_post": f"{channel}/{message_id}", "html": str(message)},
        measurements={"views": views} if views is not None else {},
        links=tuple(links),
    )
    return observation, _candidates(links, preview, url, content)


def _text_element(message: Tag) -> Tag | None:
    """The message's own text (not the quoted text of the message it replies to)."""
    for element in message.select(".tgme_widget_message_text"):
        if element.find_parent(class_="tgme_widget_message_reply") is None:
            return element
    return None


def _links(body: Tag | None) -> list[str]:
    """Web links in the text, not hashtags (``?q=%23tag``) or @mentions."""
    if body is None:
        return []
    return [str(a["href"]) for a in anchors(body) if not a.get_text().strip().startswith(("#", "@"))]


def _tags(body: Tag | None) -> list[str]:
    if body is None:
        return []
    hrefs = [unquote(str(a["href"])) for a in anchors(body)]
    return list(dict.fromkeys(href.split("#", 1)[1] for href in hrefs if href.startswith("?q=#")))


def _first_text(message: Tag, *selectors: str) -> str | None:
    for selector in selectors:
        element = message.select_one(selector)
        if element is not None and element.get_text().strip():
            return element.get_text().strip()
    return None


def _time(message: Tag) -> datetime | None:
    stamp = message.select_one(".tgme_widget_message_date time[datetime]")
    return parse_time(stamp["datetime"]) if stamp else None


def _views(message: Tag) -> float | None:
    """``"12.4K"`` -> 12400.0."""
    text = (_first_text(message, ".tgme_widget_message_views") or "").replace(",", "")
    scale = SUFFIXES.get(text[-1:].upper())
    number = as_number(text[:-1] if scale else text)
    return None if number is None else number * (scale or 1.0)


def _edited(message: Tag) -> bool:
    meta = message.select_one(".tgme_widget_message_meta")
    if meta is None:
        return False
    loose = [str(node) for node in meta.children if isinstance(node, str)]
    return "edited" in " ".join(loose).lower() or meta.select_one(".tgme_widget_message_edited") is not None


def _metadata(message: Tag, body: Tag | None, channel: str, message_id: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "channel": channel,
        "id": message_id,
        "edited": _edited(message),
        "tags": _tags(body),
        "media": _media(message),
    }
    forwarded = message.select_one("a.tgme_widget_message_forwarded_from_name[href]")
    if forwarded is not None:
        metadata["forwarded_from"] = str(forwarded["href"])
    reply = message.select_one("a.tgme_widget_message_reply[href]")
    if reply is not None:
        metadata["in_reply_to"] = str(reply["href"])
    return metadata


def _media(message: Tag) -> list[dict[str, Any]]:
    kinds = {"tgme_widget_message_photo_wrap": "photo", "tgme_widget_message_video_player": "video"}
    found = []
    for css, kind in kinds.items():
        for element in message.select(f".{css}"):
            style = str(element.get("style") or "")
            image = re.search(r"url\(['\"]?([^'\")]+)", style)
            found.append({"type": kind, "url": image.group(1) if image else None, "description": None})
    return found


def _candidates(links: list[str], preview: Tag | None, url: str, content: Content) -> list[Candidate]:
    def details(link: str) -> tuple[str | None, str | None]:
        if preview is not None and str(preview["href"]) == link:
            title = _first_text(preview, ".link_preview_title")
            return title, _first_text(preview, ".link_preview_description")
        return None, None

    return link_candidates(
        links, post_url=url, published=content.published, platform="telegram", details=details
    )
