"""Bluesky: plan AppView requests for a configured URL and read feeds, post lists and threads.

A post's document URL is ``https://bsky.app/profile/<handle>/post/<rkey>`` (the author's DID
when the handle is invalid). Reposts are unwrapped to the original post, with ``reposted_by`` in
its metadata. Links come from the text's link facets and from an external embed (with its card
title and description); engagement counts go to measurements.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from scraper.core.social.common import (
    CredentialsRequiredError,
    Endpoint,
    MalformedResponseError,
    PlatformError,
    RateLimitedError,
    SocialPage,
    UnsupportedSourceError,
    counts,
    each,
    endpoint,
    expect_dict,
    expect_list,
    link_candidates,
    load_json,
    merge_candidates,
    parse_time,
    query_param,
    source_parts,
    unique_http,
    with_query,
)
from scraper.core.types import Candidate, Channel, Content, Observation

PLATFORM = "Bluesky"
PUBLIC_API = "https://public.api.bsky.app"
AUTH_API = "https://bsky.social"
WEB = "https://bsky.app"
LIMIT = "100"
HOSTS = ("bsky.app", "www.bsky.app", "staging.bsky.app")
EXPECTED = (
    "https://bsky.app/profile/HANDLE",
    "https://bsky.app/profile/HANDLE/post/RKEY",
    "https://bsky.app/search?q=TEXT (needs credentials)",
    "https://bsky.app/hashtag/TAG (needs credentials)",
)
AUTH_ERRORS = ("AuthMissing", "AuthenticationRequired", "InvalidToken", "ExpiredToken", "AccountTakedown")
SEARCH_NEEDS_LOGIN = (
    "Bluesky post search (app.bsky.feed.searchPosts) is not open to anonymous readers; "
    "configure credentials for this source, or follow accounts instead"
)


# -- planning ---------------------------------------------------------------------------------------


def plan(url: str, api: str | None = None, *, credentials: bool = False) -> list[Endpoint]:
    """The requests that read the profile, post, search or hashtag ``url`` names."""
    host, segments, query = source_parts(url, PLATFORM, EXPECTED)
    if host not in HOSTS or not segments:
        raise UnsupportedSourceError(url, PLATFORM, EXPECTED)
    if segments[0] == "profile" and len(segments) == 2:
        return [author_feed(segments[1], api)]
    if segments[0] == "profile" and len(segments) == 4 and segments[2] == "post":
        return [thread(at_uri(segments[1], segments[3]), api)]
    if segments == ["search"] and query.get("q"):
        return [_search(query["q"], url, api, credentials)]
    if segments[0] == "hashtag" and len(segments) == 2:
        return [_search(f"#{segments[1]}", url, api, credentials)]
    raise UnsupportedSourceError(url, PLATFORM, EXPECTED)


def author_feed(actor: str, api: str | None = None) -> Endpoint:
    params = {"actor": actor, "limit": LIMIT}
    return endpoint(api or PUBLIC_API, "/xrpc/app.bsky.feed.getAuthorFeed", "bluesky.feed", params)


def thread(uri: str, api: str | None = None) -> Endpoint:
    """getPostThread for re-checking one post (its parents and replies are not requested)."""
    params = {"uri": uri, "depth": "0", "parentHeight": "0"}
    return endpoint(api or PUBLIC_API, "/xrpc/app.bsky.feed.getPostThread", "bluesky.thread", params)


def _search(text: str, url: str, api: str | None, credentials: bool) -> Endpoint:
    if not credentials:
        raise CredentialsRequiredError(url, SEARCH_NEEDS_LOGIN)
    params = {"q": text, "sort": "latest", "limit": LIMIT}
    return endpoint(api or AUTH_API, "/xrpc/app.bsky.feed.searchPosts", "bluesky.feed", params, auth=True)


def at_uri(actor: str, rkey: str) -> str:
    return f"at://{actor}/app.bsky.feed.post/{rkey}"


def post_url(uri: str, handle: str | None = None) -> str:
    """The bsky.app URL of the post ``at://<did>/app.bsky.feed.post/<rkey>``."""
    authority, _, rkey = uri.removeprefix("at://").partition("/app.bsky.feed.post/")
    actor = handle if handle and handle != "handle.invalid" else authority
    return f"{WEB}/profile/{quote(actor, safe=':.')}/post/{rkey}"


def at_uri_of(url: str) -> str:
    """The at:// URI of a ``https://bsky.app/profile/<actor>/post/<rkey>`` URL."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) != 4 or segments[0] != "profile" or segments[2] != "post":
        raise UnsupportedSourceError(url, PLATFORM, EXPECTED[1:2])
    return at_uri(segments[1], segments[3])


# -- reading ----------------------------------------------------------------------------------------


def parse_feed(body: bytes, base_url: str) -> SocialPage:
    """getAuthorFeed, getFeed, getListFeed, getTimeline (``feed``) or searchPosts, getPosts,
    getQuotes (``posts``); ``next_page`` carries the ``cursor``."""
    data = _checked(load_json(body, base_url, PLATFORM), base_url)
    skipped: list[str] = []
    if "feed" in data:
        observed = each(
            expect_list(data["feed"], base_url, "feed"),
            base_url,
            "feed item",
            lambda item: observe(
                _post(expect_dict(item, base_url, "a feed item").get("post"), base_url), item
            ),
            skipped=skipped,
        )
    elif "posts" in data:
        posts = expect_list(data["posts"], base_url, "posts")
        observed = each(posts, base_url, "post", lambda post: observe(_post(post, base_url)), skipped=skipped)
    else:
        raise MalformedResponseError(
            base_url, f"expected a Bluesky feed or post list, got keys {sorted(data)[:8]}"
        )
    return _page(observed, data, base_url, skipped)


def parse_thread(body: bytes, base_url: str) -> SocialPage:
    """getPostThread: the post itself, or its at:// URI in ``gone_ids`` (and a gone observation)
    when the thread says it is not found or blocked, or the AppView answers NotFound."""
    data = load_json(body, base_url, PLATFORM)
    if isinstance(data, dict) and data.get("error") == "NotFound":
        return _gone(query_param(base_url, "uri") or base_url, "not found")
    thread_view = expect_dict(_checked(data, base_url).get("thread"), base_url, "a thread")
    kind = str(thread_view.get("$type", ""))
    if thread_view.get("notFound") or kind.endswith("#notFoundPost"):
        return _gone(str(thread_view.get("uri")), "not found")
    if thread_view.get("blocked") or kind.endswith("#blockedPost"):
        return _gone(str(thread_view.get("uri")), "blocked")
    observed = each(
        [thread_view], base_url, "thread", lambda view: observe(_post(view.get("post"), base_url))
    )
    return _page(observed, {}, base_url)


def _checked(data: Any, url: str) -> dict[str, Any]:
    answer = expect_dict(data, url, "a Bluesky answer")
    error = answer.get("error")
    if not isinstance(error, str):
        return answer
    message = f"Bluesky answered {error}: {answer.get('message') or 'no message'}"
    if error in AUTH_ERRORS:
        raise CredentialsRequiredError(url, message)
    if error == "RateLimitExceeded":
        raise RateLimitedError(url, message)
    raise PlatformError(url, message)


def _post(post: Any, url: str) -> dict[str, Any]:
    if not isinstance(post, dict) or "uri" not in post or not isinstance(post.get("record"), dict):
        raise MalformedResponseError(url, "expected a Bluesky post view (uri, record)")
    return post


def _gone(uri: str, reason: str) -> SocialPage:
    content = Content(metadata={"uri": uri, "gone_reason": reason})
    tombstone = Observation(url=post_url(uri), channel=Channel.API, content=content, gone=True)
    return SocialPage(observations=[tombstone], gone_ids=[uri])


def _page(
    observed: list[tuple[Observation, list[Candidate]]],
    data: dict[str, Any],
    url: str,
    skipped: list[str] | None = None,
) -> SocialPage:
    first: dict[str, tuple[Observation, list[Candidate]]] = {}
    for obs, cands in observed:
        first.setdefault(obs.url, (obs, cands))
    kept = list(first.values())
    cursor = data.get("cursor")
    return SocialPage(
        observations=[obs for obs, _ in kept],
        candidates=merge_candidates(cands for _, cands in kept),
        next_page=with_query(url, cursor=cursor) if isinstance(cursor, str) and cursor and kept else None,
        warnings=list(skipped or ()),
    )


def observe(post: dict[str, Any], item: dict[str, Any] | None = None) -> tuple[Observation, list[Candidate]]:
    """One post view (from a feed item, when given, also who reposted it and what it replies to)."""
    record, author = post["record"], post.get("author") or {}
    url = post_url(post["uri"], author.get("handle"))
    external = _external(record.get("embed"))
    links = unique_http([*_facet_links(record), *([external["uri"]] if external else [])])
    langs = record.get("langs") or []
    content = Content(
        byline=_byline(author),
        text=record.get("text") or "",
        published=parse_time(record.get("createdAt")),
        canonical_url=url,
        language=langs[0] if langs and isinstance(langs[0], str) else None,
        metadata=_metadata(post, record, item or {}),
    )
    observation = Observation(
        url=url,
        channel=Channel.API,
        content=content,
        raw=item or post,
        measurements=_counts(post),
        links=tuple(links),
    )
    return observation, _candidates(links, external, url, content)


def _external(embed: Any) -> dict[str, Any] | None:
    """The external link card of a post's embed (also inside a record-with-media embed)."""
    if not isinstance(embed, dict):
        return None
    external = embed.get("external") or (embed.get("media") or {}).get("external")
    return external if isinstance(external, dict) and isinstance(external.get("uri"), str) else None


def _features(record: dict[str, Any]) -> list[dict[str, Any]]:
    facets = record.get("facets") or []
    return [
        f
        for facet in facets
        if isinstance(facet, dict)
        for f in facet.get("features") or []
        if isinstance(f, dict)
    ]


def _facet_links(record: dict[str, Any]) -> list[str]:
    return [f["uri"] for f in _features(record) if str(f.get("$type", "")).endswith("#link") and "uri" in f]


def _tags(record: dict[str, Any]) -> list[str]:
    tags = [f["tag"] for f in _features(record) if str(f.get("$type", "")).endswith("#tag") and "tag" in f]
    return list(dict.fromkeys([*tags, *(record.get("tags") or [])]))


def _byline(author: dict[str, Any]) -> str | None:
    name, handle = (author.get("displayName") or "").strip(), author.get("handle")
    return f"{name} (@{handle})" if name and handle else name or (f"@{handle}" if handle else None)


def _metadata(post: dict[str, Any], record: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "uri": post.get("uri"),
        "cid": post.get("cid"),
        "author_did": (post.get("author") or {}).get("did"),
        "indexed_at": post.get("indexedAt"),
        "tags": _tags(record),
        "media": _media(record.get("embed")),
    }
    reason = item.get("reason") or {}
    if str(reason.get("$type", "")).endswith("#reasonRepost"):
        metadata["reposted_by"] = (reason.get("by") or {}).get("handle")
    reply = record.get("reply") or {}
    if isinstance(reply.get("parent"), dict):
        metadata["in_reply_to"] = reply["parent"].get("uri")
    return metadata


def _media(embed: Any) -> list[dict[str, Any]]:
    if not isinstance(embed, dict):
        return []
    images = embed.get("images") or (embed.get("media") or {}).get("images") or []
    return [
        {"type": "image", "description": image.get("alt") or None}
        for image in images
        if isinstance(image, dict)
    ]


def _counts(post: dict[str, Any]) -> dict[str, float]:
    return counts(
        replies=post.get("replyCount"),
        reposts=post.get("repostCount"),
        likes=post.get("likeCount"),
        quotes=post.get("quoteCount"),
    )


def _candidates(
    links: list[str], external: dict[str, Any] | None, url: str, content: Content
) -> list[Candidate]:
    def details(link: str) -> tuple[str | None, str | None]:
        if external and external.get("uri") == link:
            return external.get("title") or None, external.get("description") or None
        return None, None

    return link_candidates(
        links, post_url=url, published=content.published, platform="bluesky", details=details
    )
