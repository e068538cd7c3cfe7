"""Which request settings a document's page fetch uses: those of the source that found it.

A source's headers, cookies, auth, proxy and user agent (scraper.http_options) apply to its own
URL and to the pages it found on the same host; a page on another host gets the Fetcher's
defaults, so a feed's bearer token never travels to the sites the feed links to.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from jobs.services import Services
from scraper.http import FetchError
from scraper.http_options import RequestOptions, RequestOptionsError, has_options, options_from_params
from storage import discovery as disc
from storage.models import Document


class BadRequestOptions(FetchError):  # noqa: N818 (a FetchError like the others)
    """A source's request settings cannot be used (missing variable, unreadable cookie file...)."""


def document_options(svc: Services, document_id: int) -> RequestOptions | None:
    """The request options for fetching this document's page; None: the Fetcher's defaults."""
    with svc.session() as session:
        doc = session.get(Document, document_id)
        if doc is None or doc.source_id is None:
            return None
        source = disc.get_source_by_id(session, source_id=doc.source_id)
        params, source_url, name, url = dict(source.params or {}), source.url, source.name, doc.url
    if not has_options(params) or not same_host(url, source_url):
        return None
    try:
        return options_from_params(params)
    except RequestOptionsError as exc:
        raise BadRequestOptions(url, f"source {name}: {exc}") from None


def same_host(url: str, other: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == (urlsplit(other).hostname or "").lower()
