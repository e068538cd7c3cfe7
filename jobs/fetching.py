"""How a document's page is fetched: with which request settings, plainly or in a browser.

Request settings (headers, cookies, auth, proxy, user agent; scraper.http_options) are those of the
source that found the document, for pages on the source's own host; a page on another host gets
the Fetcher's defaults, so a feed's bearer token never travels to the sites the feed links to.

The browser (scraper.browser) renders the page when its source says ``fetcher = "browser"``,
when a story it belongs to does, or for ``storytrail check --browser`` (``Services.render_all``).
``screenshot = true`` (source or story) keeps a full-page PNG with each new version. One
BrowserFetcher (one Chromium) per Services, started on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jobs.services import Services
from scraper.browser import BrowserFetcher, RenderedPage
from scraper.http import FetchError, FetchResult
from scraper.http_options import RequestOptions, RequestOptionsError, has_options, options_from_params
from storage import captures
from storage import discovery as disc
from storage.models import Document

if TYPE_CHECKING:
    from jobs.capture import CheckReport

FETCHERS = ("http", "browser")


class BadRequestOptions(FetchError):  # noqa: N818 (a FetchError like the others)
    """A source's request settings cannot be used (missing variable, unreadable cookie file...)."""


@dataclass(frozen=True)
class PagePlan:
    options: RequestOptions | None = None
    browser: bool = False
    screenshot: bool = False


def plan_page(svc: Services, document_id: int) -> PagePlan:
    """The request options and the fetcher for this document's page (its own read of the database;
    a check that read its settings already uses :func:`page_plan`)."""
    with svc.session() as session:
        doc = session.get(Document, document_id)
        if doc is None:
            return PagePlan(browser=svc.render_all)
        stories = captures.story_settings_of(session, document_id=document_id)
        params: dict[str, Any] = {}
        source_url = name = ""
        if doc.source_id is not None:
            source = disc.get_source_by_id(session, source_id=doc.source_id)
            params, source_url, name = dict(source.params or {}), source.url, source.name
        url = doc.url
    return page_plan(svc, url, params, source_url, name, stories)


def page_plan(
    svc: Services,
    url: str,
    params: dict[str, Any],
    source_url: str,
    name: str,
    stories: Sequence[dict[str, Any]],
) -> PagePlan:
    """The request options and the fetcher, from settings already read."""
    settings = [params, *stories]
    browser = svc.render_all or any(s.get("fetcher") == "browser" for s in settings)
    screenshot = any(bool(s.get("screenshot")) for s in settings)
    return PagePlan(_options(url, params, source_url, name), browser, screenshot and browser)


def _options(url: str, params: dict[str, Any], source_url: str, name: str) -> RequestOptions | None:
    if not has_options(params) or not same_host(url, source_url):
        return None
    try:
        return options_from_params(params)
    except RequestOptionsError as exc:
        raise BadRequestOptions(url, f"source {name}: {exc}") from None


def same_host(url: str, other: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == (urlsplit(other).hostname or "").lower()


def browser_of(svc: Services) -> BrowserFetcher:
    if svc.browser is None:
        cfg = svc.settings
        svc.browser = BrowserFetcher(
            svc.fetcher,
            executable=cfg.chromium,
            pages=cfg.browser_pages,
            screenshot_max_bytes=cfg.screenshot_max_bytes,
        )
    browser: BrowserFetcher = svc.browser
    return browser


async def fetch_page(
    svc: Services,
    document_id: int,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    plan: PagePlan | None = None,
) -> FetchResult:
    """The page as the pipeline reads it: a FetchResult (a RenderedPage when rendered)."""
    plan = plan or plan_page(svc, document_id)
    if not plan.browser:
        return await svc.fetcher.fetch(url, etag=etag, last_modified=last_modified, options=plan.options)
    rendered = await browser_of(svc).fetch(
        url, etag=etag, last_modified=last_modified, options=plan.options, screenshot=plan.screenshot
    )
    return rendered.as_fetch_result()


def has_evidence(result: FetchResult) -> bool:
    """A rendered page with its network response: :func:`keep_capture` has something to keep
    (for any other result the check skips the writer round trip)."""
    return isinstance(result, RenderedPage) and result.network is not None


def keep_capture(svc: Services, report: CheckReport, result: FetchResult) -> CheckReport:
    """After the pipeline recorded a rendered page: its network response, its screenshot."""
    if not isinstance(result, RenderedPage) or result.network is None or report.document_id is None:
        return report
    with svc.session() as session:
        captures.keep_network_response(
            session, document_id=report.document_id, body=result.network.body, now=result.fetched_at
        )
        if report.outcome.value == "new_version" and report.seq is not None and result.screenshot:
            sha = captures.keep_screenshot(
                session, document_id=report.document_id, channel="page", seq=report.seq,
                png=result.screenshot, now=result.fetched_at,
            )  # fmt: skip
            report.details["screenshot_sha256"] = sha
        session.commit()
    if result.blocked:
        report.details["blocked"] = list(result.blocked)
    report.details["rendered"] = True
    return report
