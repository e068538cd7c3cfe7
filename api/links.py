"""Paths on this server for every resource, built in one place (JSON ``links`` and HTML hrefs)."""

from __future__ import annotations

from urllib.parse import quote, quote_plus


def _q(**params: object) -> str:
    """The query string of ``params`` (None left out), as ``urlencode`` writes it. A timeline page
    builds hundreds of these: a number or a plain ASCII word (a channel, a format) goes as it is,
    anything else through ``quote_plus`` (urlencode's own quoting)."""
    pairs = [f"{k}={_value(v)}" for k, v in params.items() if v is not None]
    return "?" + "&".join(pairs) if pairs else ""


def _value(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return text if text.isascii() and text.isalnum() else quote_plus(text)


def story_links(slug: str) -> dict[str, str]:
    s = quote(slug, safe="")
    return {
        "self": f"/api/stories/{s}",
        "timeline": f"/api/stories/{s}/timeline",
        "html": f"/stories/{s}",
        "atom": f"/feeds/stories/{s}.atom",
    }


def document_links(document_id: int, url: str) -> dict[str, str]:
    return {
        "self": f"/api/documents/{document_id}",
        "versions": f"/api/documents/{document_id}/versions",
        "html": f"/documents/{document_id}",
        "original": url,
    }


def version_path(document_id: int, channel: str, seq: int, *, html: bool = False) -> str:
    prefix = "" if html else "/api"
    return f"{prefix}/documents/{document_id}/versions/{seq}{_q(channel=channel)}"


def screenshot_path(document_id: int, channel: str, seq: int) -> str:
    return f"/api/documents/{document_id}/versions/{seq}/screenshot.png{_q(channel=channel)}"


def diff_path(
    document_id: int,
    channel: str,
    to_seq: int,
    *,
    from_seq: int | None = None,
    html: bool = False,
    fmt: str | None = None,
    view: str | None = None,
) -> str:
    prefix = "" if html else "/api"
    query = _q(channel=channel, **{"from": from_seq}, to=to_seq, format=fmt, view=view)
    return f"{prefix}/documents/{document_id}/diff{query}"


def version_links(document_id: int, channel: str, seq: int, *, first: bool) -> dict[str, str]:
    links = {
        "self": version_path(document_id, channel, seq),
        "html": version_path(document_id, channel, seq, html=True),
        "document": f"/api/documents/{document_id}",
    }
    if not first:
        links["diff"] = diff_path(document_id, channel, seq)
        links["diff_html"] = diff_path(document_id, channel, seq, html=True)
    return links
