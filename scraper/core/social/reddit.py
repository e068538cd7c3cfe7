"""Reddit: plan RSS (no credentials) or OAuth JSON listings for a configured subreddit, search or
user, and read both into observations.

A post's document URL is its comments page (``https://www.reddit.com/r/<sub>/comments/<id>/...``);
the link it submits, and links in its self text, become candidates. Score and comment counts
(JSON only; RSS carries none) are measurements. A post whose text became ``[deleted]`` or
``[removed]`` is observed as gone.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urljoin

from scraper.core.social.common import (
    CredentialsRequiredError,
    Endpoint,
    MalformedResponseError,
    PlatformError,
    RateLimitedError,
    SocialPage,
    UnsupportedSourceError,
    anchors,
    counts,
    each,
    element_text,
    endpoint,
    expect_dict,
    expect_list,
    feed_entry_raw,
    link_candidates,
    load_json,
    merge_candidates,
    parse_time,
    soup,
    source_parts,
    unique_http,
    with_query,
)
from scraper.core.types import Candidate, Channel, Content, Observation
from scraper.core.urls import InvalidURL, canonicalize

PLATFORM = "Reddit"
WEB = "https://www.reddit.com"
OAUTH = "https://oauth.reddit.com"
LIMIT = "100"
HOSTS = ("reddit.com", "www.reddit.com", "old.reddit.com", "new.reddit.com", "np.reddit.com")
EXPECTED = (
    "https://www.reddit.com/r/SUBREDDIT",
    "https://www.reddit.com/r/SUBREDDIT/search?q=TEXT",
    "https://www.reddit.com/search?q=TEXT",
    "https://www.reddit.com/user/NAME",
    "https://www.reddit.com/r/SUBREDDIT/comments/ID/...",
)
GONE_TEXTS = ("[deleted]", "[removed]")


# -- planning ---------------------------------------------------------------------------------------


def plan(url: str, api: str | None = None, *, credentials: bool = False) -> list[Endpoint]:
    """RSS without credentials; OAuth JSON listings (``oauth.reddit.com``) with them."""
    host, segments, query = source_parts(url, PLATFORM, EXPECTED)
    if host not in HOSTS:
        raise UnsupportedSourceError(url, PLATFORM, EXPECTED)
    path, params = _listing(segments, query, url)
    if path.startswith("/comments/"):
        return [_json(path, params, api, credentials)]
    if credentials:
        return [_json(path, params, api, credentials)]
    rss_path = path + ".rss" if path.endswith("/search") else path + "/.rss"
    return [endpoint(api or WEB, rss_path, "reddit.rss", _rss_params(params))]


def _listing(segments: list[str], query: dict[str, str], url: str) -> tuple[str, dict[str, str]]:
    """The listing path (``/r/x/new``, ``/r/x/search``, ``/search``, ``/user/x/submitted``...)."""
    search = {"q": query.get("q", ""), "sort": query.get("sort", "new")} | (
        {"t": query["t"]} if "t" in query else {}
    )
    match segments:
        case ["r", sub] | ["r", sub, "new" | "hot" | "top" | "rising"]:
            return f"/r/{sub}/new", {}
        case ["r", sub, "search"] if query.get("q"):
            return f"/r/{sub}/search", search | {"restrict_sr": "1"}
        case ["search"] if query.get("q"):
            return "/search", search
        case ["user" | "u", name] | ["user" | "u", name, "submitted"]:
            return f"/user/{name}/submitted", {}
        case ["r", _, "comments", post_id, *_] | ["comments", post_id, *_]:
            return f"/comments/{post_id}", {"limit": "1"}
    raise UnsupportedSourceError(url, PLATFORM, EXPECTED)


def _rss_params(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != "restrict_sr"} | (
        {"restrict_sr": "on"} if "restrict_sr" in params else {}
    )


def _json(path: str, params: dict[str, str], api: str | None, credentials: bool) -> Endpoint:
    """An OAuth JSON listing; a single post without credentials uses the public ``.json`` page."""
    params = {"limit": LIMIT} | params | {"raw_json": "1"}
    if credentials:
        return endpoint(api or OAUTH, path, "reddit.listing", params, auth=True)
    return endpoint(api or WEB, path + "/.json", "reddit.listing", params)


# -- reading: RSS -----------------------------------------------------------------------------------


def parse_rss(body: bytes, base_url: str) -> SocialPage:
    """A subreddit, search or user Atom feed; ``next_page`` asks for entries after the last one."""
    import feedparser  # imported when a feed is read, not by every command

    feed = feedparser.parse(body)
    if not feed.entries and not str(feed.get("version", "")).startswith("atom"):
        cause = feed.get("bozo_exception") or "no Atom feed in the answer"
        raise MalformedResponseError(base_url, f"expected a Reddit RSS (Atom) feed: {cause}")
    observed = [_observe_entry(entry) for entry in feed.entries if _is_http(entry.get("link"))]
    last = str(feed.entries[-1].get("id", "")) if feed.entries else ""
    return SocialPage(
        observations=[obs for obs, _ in observed],
        candidates=merge_candidates(cands for _, cands in observed),
        next_page=with_query(base_url, after=last) if last.startswith("t3_") else None,
    )


def _is_http(link: object) -> bool:
    """A post needs a web address: an entry without an http(s) link is left out."""
    try:
        return isinstance(link, str) and bool(canonicalize(link))
    except InvalidURL:
        return False


def _observe_entry(entry: Any) -> tuple[Observation, list[Candidate]]:
    url = str(entry.get("link", ""))
    html = entry["content"][0]["value"] if entry.get("content") else str(entry.get("summary", ""))
    tree = soup(html)
    self_text = tree.select_one("div.md")
    submitted = [str(a["href"]) for a in anchors(tree) if a.get_text().strip() == "[link]"]
    links = unique_http(
        [*(str(a["href"]) for a in anchors(self_text)), *submitted] if self_text else submitted
    )
    links = [link for link in links if link.rstrip("/") != url.rstrip("/")]
    author = str(entry.get("author", "")).lstrip("/") or None
    content = Content(
        title=str(entry.get("title", "")) or None,
        byline=author,
        text=element_text(self_text) if self_text else "",
        published=parse_time(entry.get("published")),
        canonical_url=url,
        metadata=_entry_metadata(entry),
    )
    gone = content.text in GONE_TEXTS
    observation = Observation(
        url=url,
        channel=Channel.API,
        content=content,
        raw=feed_entry_raw(entry),
        gone=gone,
        links=tuple(links),
    )
    return observation, link_candidates(links, post_url=url, published=content.published, platform="reddit")


def _entry_metadata(entry: Any) -> dict[str, Any]:
    tags = entry.get("tags") or []
    return {
        "id": entry.get("id"),
        "subreddit": tags[0].get("term") if tags else None,
        "updated": entry.get("updated"),
        "tags": [],
    }


# -- reading: JSON ----------------------------------------------------------------------------------


def parse_listing(body: bytes, base_url: str) -> SocialPage:
    """A JSON ``Listing`` of posts (t3) or comments (t1), or a post page's [post, comments] pair
    (only the post is read); ``next_page`` carries ``after``."""
    data = _checked(load_json(body, base_url, PLATFORM), base_url)
    listing = expect_dict(data[0] if isinstance(data, list) and data else data, base_url, "a Listing")
    if listing.get("kind") != "Listing":
        raise MalformedResponseError(base_url, f"expected a Reddit Listing, got kind {listing.get('kind')!r}")
    listing_data = expect_dict(listing.get("data"), base_url, "Listing data")
    children = expect_list(listing_data.get("children"), base_url, "Listing children")
    skipped: list[str] = []
    observed = each(
        children, base_url, "Listing child", partial(_observe_thing, url=base_url), skipped=skipped
    )
    after = listing_data.get("after")
    return SocialPage(
        observations=[obs for obs, _ in observed],
        candidates=merge_candidates(cands for _, cands in observed),
        next_page=with_query(base_url, after=after) if isinstance(after, str) and after else None,
        warnings=skipped,
    )


def _checked(data: Any, url: str) -> Any:
    if not isinstance(data, dict) or "error" not in data:
        return data
    message = (
        f"Reddit answered {data.get('error')}: {data.get('message') or data.get('reason') or ''}".rstrip(": ")
    )
    if data["error"] in (401, 403) and data.get("reason") not in ("private", "banned", "quarantined"):
        raise CredentialsRequiredError(url, f"{message}; configure Reddit OAuth credentials")
    if data["error"] == 429:
        raise RateLimitedError(url, message)
    raise PlatformError(url, message)


def _observe_thing(child: Any, url: str) -> tuple[Observation, list[Candidate]]:
    child = expect_dict(child, url, "a Listing child")
    kind, thing = child.get("kind"), expect_dict(child.get("data"), url, "a Reddit thing")
    if kind not in ("t3", "t1"):
        raise MalformedResponseError(url, f"expected posts (t3) or comments (t1), got kind {kind!r}")
    post_url = _thing_url(thing)
    html = thing.get("selftext_html") or thing.get("body_html") or ""
    text = str((thing.get("selftext") if kind == "t3" else thing.get("body")) or "").strip()
    links = _thing_links(thing, html, post_url)
    content = _thing_content(thing, kind, element_text(soup(html)) if html else text, post_url)
    observation = Observation(
        url=post_url,
        channel=Channel.API,
        content=content,
        raw=child,
        gone=text in GONE_TEXTS or bool(thing.get("removed_by_category")),
        measurements=_counts(thing),
        links=tuple(links),
    )
    return observation, link_candidates(
        links, post_url=post_url, published=content.published, platform="reddit"
    )


def _thing_content(thing: dict[str, Any], kind: str, text: str, post_url: str) -> Content:
    return Content(
        title=thing.get("title") or None,
        byline=f"u/{thing['author']}" if thing.get("author") else None,
        text=text,
        published=parse_time(thing.get("created_utc")),
        modified=parse_time(thing.get("edited")) if thing.get("edited") else None,
        canonical_url=post_url,
        metadata=_thing_metadata(thing, kind),
    )


def _thing_url(thing: dict[str, Any]) -> str:
    if isinstance(thing.get("permalink"), str):
        return urljoin(WEB, str(thing["permalink"]).split("?", 1)[0])
    post_id = str(thing.get("link_id", "")).removeprefix("t3_")
    return f"{WEB}/r/{thing.get('subreddit')}/comments/{post_id}/comment/{thing.get('id')}/"


def _thing_links(thing: dict[str, Any], html: str, post_url: str) -> list[str]:
    in_text = [str(a["href"]) for a in anchors(soup(html))] if html else []
    submitted = [thing["url"]] if not thing.get("is_self") and isinstance(thing.get("url"), str) else []
    found = unique_http([*submitted, *in_text])
    return [link for link in found if link.rstrip("/") != post_url.rstrip("/")]


def _thing_metadata(thing: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "id": thing.get("name"),
        "kind": kind,
        "subreddit": thing.get("subreddit"),
        "domain": thing.get("domain"),
        "flair": thing.get("link_flair_text"),
        "over_18": bool(thing.get("over_18")),
        "edited": thing.get("edited") or False,
        "tags": [],
    }


def _counts(thing: dict[str, Any]) -> dict[str, float]:
    return counts(
        score=thing.get("score"),
        replies=thing.get("num_comments"),
        upvote_ratio=thing.get("upvote_ratio"),
    )
