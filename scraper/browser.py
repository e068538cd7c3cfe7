"""Rendering pages in headless Chromium (Playwright's async API), under the Fetcher's rules.

``BrowserFetcher.fetch(url)``::

    the page itself   fetched by the Fetcher (scraper.http): robots.txt, politeness, address
                      guard, redirects, conditional GET, size and time limits, request options;
                      that raw network response is the evidence kept (``Rendered.response``)
    not 2xx HTML      returned as it is, nothing rendered (304, 404, a PDF...)
    render            a fresh browser context (no cookies shared between pages, service workers
                      blocked) in one Chromium per process, at most ``pages`` at once; the page's
                      own document is served from the response above; EVERY other request the page
                      makes (scripts, XHR, images, frames) goes through the address guard first,
                      and a refused one is aborted and listed in ``Rendered.blocked``
    wait              the load event, then up to ``settle`` seconds for the network to go quiet;
                      everything within ``render_timeout`` (else FetchTimeout)
    result            the rendered DOM (``Rendered.html``, capped at max_body_bytes) and, when
                      asked, a full-page PNG (capped at ``screenshot_max_bytes``; a taller page is
                      cut at ``max_screenshot_height`` pixels)

Chromium is the system's (Debian: ``apt-get install -y chromium``, /usr/bin/chromium); Playwright
never downloads a browser here. Without Playwright or Chromium, BrowserUnavailable says how to
install them. This module does not import httpx: the network is the Fetcher's.

Not covered by the guard: WebSocket connections (Playwright cannot route them; pages that need
them render without); subresources skip robots.txt and per-host spacing, as any browser's
requisites do, but share the time budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any

from scraper.http import (
    BadResponse,
    BodyTooLarge,
    Fetcher,
    FetchError,
    FetchResult,
    FetchTimeout,
)
from scraper.http_options import RequestOptions

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--dns-prefetch-disable",
)
INSTALL_HINT = (
    "install Playwright with the browser extra (pip install 'storytrail[browser]') "
    "and Debian's Chromium (apt-get install -y chromium)"
)
_DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection"})
_LOCAL_SCHEMES = ("data:", "blob:", "about:")
UTF8_BOM = b"\xef\xbb\xbf"


class BrowserUnavailable(FetchError):  # noqa: N818 (a FetchError like the others)
    """Playwright or Chromium is missing; the message says how to install them."""


@dataclass(frozen=True)
class RenderedPage(FetchResult):
    """A rendered page as the pipeline reads it: the body is the rendered DOM; ``network`` is the
    response as the server sent it (the evidence), ``screenshot`` a PNG when one was asked for."""

    network: FetchResult | None = None
    screenshot: bytes | None = field(default=None, repr=False)
    blocked: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered:
    response: FetchResult  # the raw network response of the page: the evidence
    html: str | None = None  # the rendered DOM; None when nothing was rendered
    screenshot: bytes | None = field(default=None, repr=False)
    blocked: tuple[str, ...] = ()  # requests of the page refused by the address guard
    warnings: tuple[str, ...] = ()

    def as_fetch_result(self) -> FetchResult:
        """The response with the rendered DOM as its body (what extraction reads)."""
        if self.html is None:
            return self.response
        values = {f.name: getattr(self.response, f.name) for f in fields(self.response)}
        # a BOM: the DOM is UTF-8 whatever charset the response's headers (kept as they were) name
        values |= {"body": UTF8_BOM + self.html.encode("utf-8"), "known_charset": "utf-8-sig"}
        return RenderedPage(**values, network=self.response, screenshot=self.screenshot, blocked=self.blocked)


def chromium_path() -> str:
    return os.environ.get("STORYTRAIL_CHROMIUM") or CHROMIUM


def browser_problem(executable: str | None = None) -> str | None:
    """Why the browser fetcher cannot run here (one line), or None when it can."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return f"Playwright is not installed; {INSTALL_HINT}"
    path = executable or chromium_path()
    if not os.access(path, os.X_OK):
        return f"Chromium not found at {path}; {INSTALL_HINT} (the browser is never downloaded)"
    return None


class BrowserFetcher:
    """One Chromium per process, reused across pages; see the module docstring."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        executable: str | None = None,
        pages: int = 2,
        render_timeout: float | None = None,
        settle: float = 2.0,
        screenshot_max_bytes: int = 8 * 1024 * 1024,
        max_screenshot_height: int = 16000,
        viewport: tuple[int, int] = (1280, 900),
    ) -> None:
        if pages < 1:
            raise ValueError(f"pages must be at least 1, not {pages}")
        self.fetcher = fetcher
        self.executable = executable or chromium_path()
        self.render_timeout = render_timeout or fetcher.config.total_timeout
        self.settle, self.viewport = settle, viewport
        self.screenshot_max_bytes, self.max_screenshot_height = screenshot_max_bytes, max_screenshot_height
        self._slots = asyncio.Semaphore(pages)
        self._start_lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self.launches = 0

    async def __aenter__(self) -> BrowserFetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    # ---- public

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        options: RequestOptions | None = None,
        screenshot: bool = False,
    ) -> Rendered:
        """Fetch ``url`` with the Fetcher, then render it (module docstring)."""
        response = await self.fetcher.fetch(url, etag=etag, last_modified=last_modified, options=options)
        if not (200 <= response.status < 300) or not _is_html(response.content_type):
            return Rendered(response)
        browser = await self._ensure_browser(url)
        async with self._slots:
            return await self._render(browser, response, options, screenshot)

    # ---- browser

    async def _ensure_browser(self, url: str) -> Any:
        async with self._start_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            problem = browser_problem(self.executable)
            if problem:
                raise BrowserUnavailable(url, problem)
            from playwright.async_api import Error, async_playwright

            try:
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=self.executable, args=list(CHROMIUM_ARGS), headless=True
                )
            except Error as exc:
                raise BrowserUnavailable(
                    url, f"Chromium at {self.executable} did not start: {_first(exc)}"
                ) from exc
            self.launches += 1
            return self._browser

    async def _render(
        self, browser: Any, response: FetchResult, options: RequestOptions | None, screenshot: bool
    ) -> Rendered:
        from playwright.async_api import Error
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        agent = (options.user_agent if options else None) or self.fetcher.config.user_agent
        width, height = self.viewport
        context = await browser.new_context(
            user_agent=agent, service_workers="block", viewport={"width": width, "height": height}
        )
        gate = _Gate(self.fetcher, response)
        try:
            await context.route("**/*", gate.handle)
            page = await context.new_page()
            async with asyncio.timeout(self.render_timeout):
                await page.goto(response.final_url, wait_until="load", timeout=self.render_timeout * 1000)
                await self._settle(page, PlaywrightTimeout)
                html = await page.content()
                self._check_size(response, html)
                shot, warnings = (await self._screenshot(page)) if screenshot else (None, ())
        except TimeoutError as exc:
            raise FetchTimeout(response.url, f"not rendered within {self.render_timeout:g}s") from exc
        except PlaywrightTimeout as exc:
            raise FetchTimeout(response.url, f"not rendered within {self.render_timeout:g}s") from exc
        except Error as exc:
            raise BadResponse(response.url, f"the browser could not render the page: {_first(exc)}") from exc
        finally:
            await context.close()
        return Rendered(response, html, shot, tuple(gate.blocked), tuple(warnings))

    async def _settle(self, page: Any, timeout_error: type[Exception]) -> None:
        with contextlib.suppress(timeout_error):  # a page that keeps polling: take it as it is now
            await page.wait_for_load_state("networkidle", timeout=self.settle * 1000)

    def _check_size(self, response: FetchResult, html: str) -> None:
        cap = self.fetcher.config.max_body_bytes
        if len(html.encode("utf-8")) > cap:
            raise BodyTooLarge(response.url, f"the rendered page is larger than max_body_bytes={cap}")

    async def _screenshot(self, page: Any) -> tuple[bytes | None, list[str]]:
        height = await page.evaluate("() => document.documentElement.scrollHeight")
        width = self.viewport[0]
        clip = None
        warnings = []
        if isinstance(height, int | float) and height > self.max_screenshot_height:
            clip = {"x": 0, "y": 0, "width": width, "height": self.max_screenshot_height}
            warnings.append(
                f"screenshot cut at {self.max_screenshot_height}px (the page is {int(height)}px tall)"
            )
        png: bytes = await page.screenshot(full_page=True, type="png", clip=clip, animations="disabled")
        if len(png) > self.screenshot_max_bytes:
            warnings.append(
                f"screenshot not kept: {len(png)} bytes > screenshot_max_bytes={self.screenshot_max_bytes}"
            )
            return None, warnings
        return png, warnings


class _Gate:
    """Every request of the page: its own document from the Fetcher's response, others guarded."""

    def __init__(self, fetcher: Fetcher, response: FetchResult) -> None:
        self.fetcher, self.response = fetcher, response
        self.served = False
        self.blocked: list[str] = []

    async def handle(self, route: Any) -> None:
        request = route.request
        url: str = request.url
        if not self.served and request.is_navigation_request() and url == self.response.final_url:
            self.served = True
            headers = {k: v for k, v in self.response.headers if k.lower() not in _DROPPED}
            await route.fulfill(status=self.response.status, headers=headers, body=self.response.body)
            return
        if url.startswith(_LOCAL_SCHEMES):
            await route.continue_()
            return
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.blocked.append(url)  # the page navigating itself away: not followed
            await route.abort("blockedbyclient")
            return
        try:
            await self.fetcher.check_address(url)
        except FetchError:
            self.blocked.append(url)
            await route.abort("blockedbyclient")
            return
        await route.continue_()


def _is_html(content_type: str | None) -> bool:
    mime = (content_type or "text/html").split(";")[0].strip().lower()
    return mime in ("text/html", "application/xhtml+xml")


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
