"""The write pages in a real browser (headless Chromium through Playwright) against `storytrail
serve` with an API token: log in, add a story after checking its query, no JavaScript needed.
Skipped where /usr/bin/chromium is absent."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.web.app import TOKEN
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, _wait_ready, free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium not installed (apt-get install -y chromium)"
    ),
]


@pytest.fixture
def serve_writable(tmp_path: Path, db_url: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTRAIL_")}
    env |= {"PYTHONPATH": str(ROOT), "STORYTRAIL_API_TOKEN": TOKEN}
    command = [sys.executable, "-c", "from jobs.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--db", db_url]  # fmt: skip
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


async def test_log_in_and_add_a_story_in_a_real_browser(serve_writable):
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(java_script_enabled=False)  # nothing here needs it
        page = await context.new_page()
        await page.goto(f"{serve_writable}/manage")
        assert page.url.endswith("/login")
        await page.fill("input[name=token]", TOKEN)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/manage")
        [cookie] = [c for c in await context.cookies() if c["name"] == "storytrail_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        await page.click("text=Add a story")
        await page.fill("input[name=slug]", "valdai")
        await page.fill("input[name=title]", "Valdai residence claim")
        await page.fill("input[name=query]", "Putin AND (")
        await page.click("button[value=check]")
        assert "invalid story query" in await page.locator("p.error").inner_text()
        await page.fill("input[name=query]", "(Putin OR Kremlin) AND drone*")
        await page.click("button[value=check]")
        assert "the query is valid" in await page.locator("p.notice").inner_text()
        await page.click("button[value=save]")
        await page.wait_for_url("**/manage?done=**")
        assert "Valdai residence claim" in await page.locator("main").inner_text()
        await page.goto(f"{serve_writable}/stories/valdai")
        assert await page.title() == "Valdai residence claim · storytrail"
        await browser.close()
