"""A real browser (headless Chromium through Playwright) against `storytrail serve` in a subprocess:
open a story, follow a link to a diff, see the inserted and deleted text; an archived page whose
title and body hold script and event-handler markup runs nothing.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped where /usr/bin/chromium is
absent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobs.pipeline import check_url
from storage import catalog
from tests.fixtures.web.app import HOSTILE_SENTENCE, HOSTILE_TITLE, hostile_page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
ADDED = "Kyiv called the claim a fabrication meant to derail peace talks."
REMOVED = "According to the defence ministry, all of the drones were intercepted and no one was hurt."

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium not installed (apt-get install -y chromium)"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path, db_url: str) -> Iterator[str]:
    """`storytrail serve` on 127.0.0.1 in a subprocess, over the test database; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [
        sys.executable,
        "-c",
        "from jobs.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        db_url,
    ]
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, base, tmp_path / "serve.log")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _wait_ready(proc: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"storytrail serve exited ({proc.returncode}): {log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"storytrail serve did not answer within 60 s: {log.read_text()}")


async def archive_hostile_story(server, services, clock) -> str:
    """A story with one article in two versions; its title and body hold markup as text."""
    with services.session() as s:
        catalog.upsert_story(s, slug="valdai", now=clock(), title="Valdai residence claim", query="Valdai")
        s.commit()
    url = server.url("/news/hostile")
    server.route("/news/hostile", hostile_page())
    assert (await check_url(services, url, story_slug="valdai")).seq == 1
    clock.advance(hours=1)
    server.route("/news/hostile", hostile_page(extra=ADDED).replace(REMOVED, ""))
    assert (await check_url(services, url, story_slug="valdai")).seq == 2
    return url


async def test_story_to_diff_in_a_real_browser(server, services, clock, serve, tmp_path):
    from playwright.async_api import async_playwright

    await archive_hostile_story(server, services, clock)
    dialogs: list[str] = []
    console: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))

        await page.goto(f"{serve}/stories/valdai")
        assert await page.title() == "Valdai residence claim · storytrail"
        assert await page.locator("ol#timeline li").count() == 3  # new coverage, first version, change
        await page.locator("a.diff-link").first.click()
        await page.wait_for_url("**/diff?**")
        assert ADDED in await page.locator("#diff ins").all_inner_texts()
        assert REMOVED in await page.locator("#diff del").all_inner_texts()
        assert await page.locator("#summary").inner_text()
        diff_title = await page.title()
        shot = tmp_path / "diff.png"
        await page.screenshot(path=str(shot), full_page=True)

        await page.locator("a", has_text="side by side").first.click()
        await page.wait_for_url("**view=side**")
        assert ADDED in " ".join(await page.locator("#diff table.side ins").all_inner_texts())

        await page.goto(f"{serve}/documents/1/versions/1")
        assert await page.locator("article h1").inner_text() == HOSTILE_TITLE
        assert HOSTILE_SENTENCE in await page.locator("article").inner_text()
        for _ in range(2):  # give anything that would run a chance to
            await page.wait_for_timeout(100)
        state = await page.evaluate(
            "() => ({title: document.title, pwned: document.body.dataset.pwned ?? null,"
            " scripts: document.scripts.length, images: document.images.length})"
        )
        await browser.close()

    assert dialogs == []
    assert state == {
        "title": f"{HOSTILE_TITLE} (page v1) · storytrail",
        "pwned": None,
        "scripts": 0,
        "images": 0,
    }
    assert diff_title == f"Changes: {HOSTILE_TITLE} · storytrail"  # the markup as text; the title untouched
    assert [m for m in console if m.startswith(("error", "pageerror"))] == []  # no CSP violation either
    assert not any(r.endswith("/x") for r in requests)  # <img src=x> never loaded
    assert shot.exists() and shot.stat().st_size > 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_pages_fit_a_phone_screen(server, services, clock, serve, tmp_path):
    from playwright.async_api import async_playwright

    await archive_hostile_story(server, services, clock)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2)
        widths = {}
        for path in (
            "/",
            "/stories/valdai",
            "/documents/1",
            "/documents/1/diff",
            "/documents/1/versions/2",
            "/search?q=Valdai",
        ):
            await page.goto(serve + path)
            widths[path] = await page.evaluate("() => document.documentElement.scrollWidth")
        await page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        await browser.close()
    assert all(width <= 375 for width in widths.values()), str(widths)  # no sideways scrolling of the page
    assert (tmp_path / "phone.png").stat().st_size > 0
