"""Mastodon: plan the API requests for a configured URL and read statuses, threads, searches and
edit histories into observations.

A post's document URL is its ``url`` (the web page on its home instance). Boosts are unwrapped:
the boosted post is observed, with ``boosted_by`` in its metadata. The content warning
(``spoiler_text``) is the post's title, so editing it makes a version; engagement counts go to
measurements.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scraper.core.social.common import (
    CredentialsRequiredError,
    Endpoint,
    MalformedResponseError,
    PlatformError,
    PublicTimelineDisabledError,
    SocialError,
    SocialPage,
    UnsupportedSourceError,
    anchors,
    counts,
    each,
    element_text,
    endpoint,
    expect_dict,
    expect_list,
    has_class,
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

PLATFORM = "Mastodon"
LIMIT = "40"
EXPECTED = (
    "https://INSTANCE/tags/TAG",
    "https://INSTANCE/@USER",
    "https://INSTANCE/@USER/STATUS_ID",
    "https://INSTANCE/public (or /public/local)",
    "https://INSTANCE/search?q=TEXT (needs an access token)",
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DISABLED = (
    "this instance disables public timelines for visitors without an account; "
    "configure an access token for it, or use another instance"
)


# -- planning ---------------------------------------------------------------------------------------


def api_base(url: str, api: str | None) -> str:
    """Where the API lives: ``api`` when given, else the instance named in ``url``."""
    source_parts(url, PLATFORM, EXPECTED)
    parts = urlsplit(url.strip())
    return (api or f"{parts.scheme}://{parts.netloc}").rstrip("/")


def plan(url: str, api: str | None = None, *, credentials: bool = False) -> list[Endpoint]:
    """The requests that read the account, tag, timeline or status ``url`` names."""
    _, segments, query = source_parts(url, PLATFORM, EXPECTED)
    base = api_base(url, api)
    first = segments[0] if segments else ""
    if first in ("tags", "tag") and len(segments) == 2:
        return [endpoint(base, f"/api/v1/timelines/tag/{segments[1]}", "mastodon.timeline", {"limit": LIMIT})]
    if first.startswith("@") and len(first) > 1:
        return _account_plan(base, first[1:], segments[1:], url)
    if first == "users" and len(segments) == 2:
        return _account_plan(base, segments[1], [], url)
    if first == "public" and len(segments) <= 2:
        return [_public_timeline(base, local=segments[1:] == ["local"])]
    if first == "search" and query.get("q"):
        return [_search(base, query["q"], url, credentials)]
    raise UnsupportedSourceError(url, PLATFORM, EXPECTED)


def _account_plan(base: str, acct: str, rest: list[str], url: str) -> list[Endpoint]:
    if not rest:
        return [endpoint(base, "/api/v1/accounts/lookup", "mastodon.account_lookup", {"acct": acct})]
    if len(rest) == 1 and rest[0].isdigit():
        return status_plan(base, rest[0])
    raise UnsupportedSourceError(url, PLATFORM, EXPECTED)


def status_plan(base: str, status_id: str) -> list[Endpoint]:
    """Re-checking one status: the status itself, then its edit history."""
    return [
        endpoint(base, f"/api/v1/statuses/{status_id}", "mastodon.status"),
        endpoint(base, f"/api/v1/statuses/{status_id}/history", "mastodon.history"),
    ]


def _public_timeline(base: str, *, local: bool) -> Endpoint:
    params = {"limit": LIMIT} | ({"local": "true"} if local else {})
    return endpoint(base, "/api/v1/timelines/public", "mastodon.timeline", params)


def _search(base: str, text: str, url: str, credentials: bool) -> Endpoint:
    if not credentials:
        raise CredentialsRequiredError(
            url, "Mastodon full-text search of posts needs an access token; configure one"
        )
    params = {"q": text, "type": "statuses", "limit": LIMIT}
    return endpoint(base, "/api/v2/search", "mastodon.search", params, auth=True)


def statuses_url(api: str, account_id: str) -> str:
    """Step two of an account plan: the account's statuses, once the lookup gave its id."""
    return endpoint(api, f"/api/v1/accounts/{account_id}/statuses", "mastodon.timeline", {"limit": LIMIT}).url


# -- reading ----------------------------------------------------------------------------------------


def parse_account(body: bytes, base_url: str) -> str:
    """The account id from ``/api/v1/accounts/lookup``."""
    data = _checked(_load(body, base_url), base_url)
    _gone(data, base_url)
    data = expect_dict(data, base_url, "an account")
    account_id = data.get("id")
    if not isinstance(account_id, str) or "acct" not in data:
        raise MalformedResponseError(base_url, "expected a Mastodon account with an id and acct")
    return account_id


def parse_statuses(body: bytes, base_url: str) -> SocialPage:
    """A timeline, one status, a thread context or a v2 search result.

    A timeline (a JSON array) gives ``next_page`` (``max_id`` below its oldest item); a status
    that is gone (404 "Record not found") gives its id in ``gone_ids``.
    """
    data = _checked(_load(body, base_url), base_url)
    gone = _gone(data, base_url)
    if gone is not None:
        return gone
    statuses = _statuses_in(data, base_url)
    skipped: list[str] = []
    observed = each(statuses, base_url, "status", observe, skipped=skipped)
    return SocialPage(
        observations=[obs for obs, _ in observed],
        candidates=merge_candidates(cands for _, cands in observed),
        next_page=_next_page(data, base_url),
        warnings=skipped,
    )


def parse_history(
    body: bytes, base_url: str, *, document_url: str, language: str | None = None
) -> SocialPage:
    """``/api/v1/statuses/:id/history``: one observation per version, oldest first, so edits made
    between two polls are all recorded. ``published`` is the first version's time and
    ``modified`` each later version's time, as on the status itself."""
    data = _checked(_load(body, base_url), base_url)
    gone = _gone(data, base_url)
    if gone is not None:
        return gone
    edits = [_history_entry(edit, base_url) for edit in expect_list(data, base_url, "an edit history")]
    edits.sort(key=lambda edit: parse_time(edit.get("created_at")) or EPOCH)
    published = parse_time(edits[0].get("created_at")) if edits else None
    observed = each(
        enumerate(edits),
        base_url,
        "version",
        lambda pair: _observe_edit(
            pair[1], pair[0], document_url=document_url, language=language, published=published
        ),
    )
    return SocialPage(
        observations=[obs for obs, _ in observed],
        candidates=merge_candidates(cands for _, cands in observed),
    )


def _load(body: bytes, url: str) -> Any:
    """The JSON of ``body``; an empty answer from a timeline is an instance closed to guests."""
    if not body.strip() and "/timelines/" in url:
        raise PublicTimelineDisabledError(url, f"{DISABLED} (it sent an empty answer)")
    return load_json(body, url, PLATFORM)


def _checked(data: Any, url: str) -> Any:
    """``data`` unless it is an error that means "log in first"."""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        error = data["error"]
        lowered = error.lower()
        if "requires an authenticated user" in lowered:
            raise PublicTimelineDisabledError(url, f"{DISABLED} (the instance said {error!r})")
        if "access token" in lowered or "unauthorized" in lowered:
            raise CredentialsRequiredError(url, f"the instance refused the access token: {error}")
        if error != "Record not found":
            raise PlatformError(url, f"the Mastodon instance answered with an error: {error}")
    return data


def _statuses_in(data: Any, url: str) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [_status(item, url) for item in data]
    data = expect_dict(data, url, "statuses")
    if "ancestors" in data or "descendants" in data:
        return [_status(s, url) for key in ("ancestors", "descendants") for s in data.get(key) or []]
    if "statuses" in data:
        return [_status(s, url) for s in expect_list(data["statuses"], url, "statuses")]
    return [_status(data, url)]


def _status(item: Any, url: str) -> dict[str, Any]:
    if not isinstance(item, dict) or "id" not in item or "content" not in item or "account" not in item:
        keys = sorted(item)[:8] if isinstance(item, dict) else type(item).__name__
        raise MalformedResponseError(url, f"expected Mastodon statuses (id, content, account), got {keys}")
    return item


def _history_entry(item: Any, url: str) -> dict[str, Any]:
    if not isinstance(item, dict) or "content" not in item or "created_at" not in item:
        raise MalformedResponseError(
            url, "expected a Mastodon edit history (content, created_at per version)"
        )
    if "id" in item and "url" in item:
        raise MalformedResponseError(
            url, "got statuses where an edit history (/statuses/:id/history) was expected"
        )
    return item


def _next_page(data: Any, url: str) -> str | None:
    if not isinstance(data, list) or not data:
        return None
    oldest = min((str(item["id"]) for item in data), key=lambda i: (len(i), i))
    return with_query(url, max_id=oldest)


def _gone(data: Any, url: str) -> SocialPage | None:
    """A status endpoint's 404 ("Record not found") means the status is gone; elsewhere it is an error."""
    if not (isinstance(data, dict) and data.get("error") == "Record not found"):
        return None
    status_id = _status_id(url)
    if status_id is None:
        raise PlatformError(url, "the Mastodon instance answered 'Record not found'")
    return SocialPage(gone_ids=[status_id])


def _status_id(url: str) -> str | None:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[segments.index("statuses") + 1] if "statuses" in segments[:-1] else None


def observe(status: dict[str, Any]) -> tuple[Observation, list[Candidate]]:
    """One status (a boost is unwrapped to the boosted post) and the links it carries."""
    post = status.get("reblog") or status
    url = post.get("url") or post.get("uri") or ""
    content, links = _content(post, url=url, language=post.get("language"))
    content = replace(content, metadata=content.metadata | _status_metadata(status, post))
    observation = Observation(
        url=url,
        channel=Channel.API,
        content=content,
        raw=status,
        measurements=_counts(post),
        links=tuple(links),
    )
    return observation, _candidates(links, post, url, content)


def _observe_edit(
    edit: dict[str, Any], index: int, *, document_url: str, language: str | None, published: datetime | None
) -> tuple[Observation, list[Candidate]]:
    content, links = _content(edit, url=document_url, language=language)
    modified = parse_time(edit.get("created_at")) if index else None
    content = replace(
        content, published=published, modified=modified, metadata=content.metadata | {"edit_index": index}
    )
    observation = Observation(
        url=document_url, channel=Channel.API, content=content, raw=edit, links=tuple(links)
    )
    return observation, _candidates(links, edit, document_url, content)


def _content(post: dict[str, Any], *, url: str, language: str | None) -> tuple[Content, list[str]]:
    tree = soup(post.get("content") or "")
    links = _links(tree, post)
    for fallback in tree.select(".quote-inline"):
        fallback.decompose()
    content = Content(
        title=post.get("spoiler_text") or None,
        byline=_byline(post.get("account")),
        text=element_text(tree),
        published=parse_time(post.get("created_at")),
        modified=parse_time(post.get("edited_at")),
        canonical_url=url,
        language=language,
        metadata=_post_metadata(post, tree),
    )
    return content, links


def _links(tree: Any, post: dict[str, Any]) -> list[str]:
    """Links in the text that are neither mentions nor hashtags, then the preview card's."""
    hrefs = [str(a["href"]) for a in anchors(tree) if not has_class(a, "mention", "hashtag", "u-url")]
    card = post.get("card") or {}
    return unique_http([*hrefs, *([card["url"]] if isinstance(card.get("url"), str) else [])])


def _byline(account: Any) -> str | None:
    if not isinstance(account, dict):
        return None
    name, acct = (account.get("display_name") or "").strip(), account.get("acct")
    return f"{name} (@{acct})" if name and acct else name or (f"@{acct}" if acct else None)


def _post_metadata(post: dict[str, Any], tree: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "tags": _tags(post, tree),
        "media": [_media(m) for m in post.get("media_attachments") or [] if isinstance(m, dict)],
        "sensitive": bool(post.get("sensitive")),
    }
    if post.get("spoiler_text"):
        metadata["spoiler_text"] = post["spoiler_text"]
    if isinstance(post.get("poll"), dict):
        metadata["poll"] = [o.get("title") for o in post["poll"].get("options") or [] if isinstance(o, dict)]
    return metadata


def _tags(post: dict[str, Any], tree: Any) -> list[str]:
    named = [
        t["name"] for t in post.get("tags") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)
    ]
    written = [a.get_text().lstrip("#") for a in anchors(tree) if has_class(a, "hashtag")]
    return list(dict.fromkeys(written or named))


def _media(attachment: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": attachment.get("type"),
        "url": attachment.get("remote_url") or attachment.get("url"),
        "description": attachment.get("description"),
    }


def _status_metadata(status: dict[str, Any], post: dict[str, Any]) -> dict[str, Any]:
    account = post.get("account") or {}
    metadata = {
        "id": post.get("id"),
        "uri": post.get("uri"),
        "account": account.get("acct"),
        "visibility": post.get("visibility"),
        "in_reply_to_id": post.get("in_reply_to_id"),
        "edited_at": post.get("edited_at"),
    }
    if status.get("reblog"):
        metadata["boosted_by"] = (status.get("account") or {}).get("acct")
        metadata["boost_id"] = status.get("id")
    if isinstance(post.get("card"), dict):
        metadata["card"] = {k: post["card"].get(k) for k in ("url", "title", "description", "provider_name")}
    return metadata


def _counts(post: dict[str, Any]) -> dict[str, float]:
    return counts(
        replies=post.get("replies_count"),
        reposts=post.get("reblogs_count"),
        likes=post.get("favourites_count"),
        quotes=post.get("quotes_count"),
    )


def _candidates(links: list[str], post: dict[str, Any], url: str, content: Content) -> list[Candidate]:
    card = post.get("card") if isinstance(post.get("card"), dict) else {}

    def details(link: str) -> tuple[str | None, str | None]:
        if card and card.get("url") == link:
            return card.get("title") or None, card.get("description") or None
        return None, None

    return link_candidates(
        links, post_url=url, published=content.published, platform="mastodon", details=details
    )


__all__ = [
    "SocialError",
    "api_base",
    "observe",
    "parse_account",
    "parse_history",
    "parse_statuses",
    "plan",
    "status_plan",
    "statuses_url",
]
