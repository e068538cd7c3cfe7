"""The browser fetcher: Chromium renders what script writes, every request of the page passes the
address guard, the raw network response stays the evidence. Skipped without Playwright/Chromium."""

from __future__ import annotations

import pytest

from scraper.browser import BrowserFetcher, BrowserUnavailable, browser_problem
from scraper.http import FetchConfig, Fetcher
from tests.localserver import LocalServer

LOCAL = {"allow_hosts": ("127.0.0.1",), "per_host_delay": 0.0, "connect_timeout": 2.0, "read_timeout": 5.0}
ARTICLE = (
    "Russia said Ukraine fired 91 long-range drones at the presidential residence in the Novgorod "
    "region. Kyiv called the claim a fabrication meant to derail peace talks."
)
SCRIPTED = """<!doctype html><html><head><title>Valdai claim</title></head><body>
<main id="app">Loading…</main>
<script src="/app.js"></script>
<img src="http://169.254.169.254/latest/meta-data/iam.png">
</body></html>"""
APP_JS = f"""document.getElementById('app').innerHTML =
  '<article><h1>Russia claims drone attack on Putin residence</h1><p>{ARTICLE}</p>' +
  '<p>{ARTICLE}</p></article>';
fetch('http://10.20.30.40/track').catch(() => null);"""

needs_browser = pytest.mark.skipif(browser_problem() is not None, reason=browser_problem() or "")
pytestmark = [pytest.mark.browser]


def scripted_site(server: LocalServer) -> str:
    server.route("/scripted", SCRIPTED)
    server.route("/app.js", APP_JS, content_type="application/javascript")
    return server.url("/scripted")


@needs_browser
async def test_script_written_text_is_rendered_and_refused_requests_are_blocked(server: LocalServer) -> None:
    url = scripted_site(server)
    async with Fetcher(FetchConfig(**LOCAL)) as fetcher:  # type: ignore[arg-type]
        plain = await fetcher.fetch(url)
        async with BrowserFetcher(fetcher, settle=0.5) as browser:
            rendered = await browser.fetch(url, screenshot=True)
            again = await browser.fetch(url)
            assert browser.launches == 1  # one Chromium, reused
    assert ARTICLE not in plain.text and "Loading" in plain.text
    assert rendered.html is not None and ARTICLE in rendered.html
    assert rendered.response.body == plain.body  # the raw network response is the evidence
    assert "http://169.254.169.254/latest/meta-data/iam.png" in rendered.blocked
    assert "http://10.20.30.40/track" in rendered.blocked
    assert server.hits("/app.js") == 2 and server.hits("/scripted") == 3  # robots.txt aside
    assert rendered.screenshot is not None and rendered.screenshot.startswith(b"\x89PNG")
    assert again.html is not None and ARTICLE in again.html
    as_result = rendered.as_fetch_result()
    assert ARTICLE in as_result.text and as_result.url == url


@needs_browser
async def test_not_found_is_not_rendered(server: LocalServer) -> None:
    fetcher = Fetcher(FetchConfig(**LOCAL))  # type: ignore[arg-type]
    async with fetcher, BrowserFetcher(fetcher) as browser:
        missing = await browser.fetch(server.url("/missing"))
        assert browser.launches == 0
    assert missing.html is None and missing.response.status == 404


async def test_missing_chromium_is_one_clear_error(server: LocalServer, tmp_path) -> None:
    server.route("/a", "<p>a</p>")
    async with Fetcher(FetchConfig(**LOCAL)) as fetcher:  # type: ignore[arg-type]
        browser = BrowserFetcher(fetcher, executable=str(tmp_path / "no-chromium"))
        with pytest.raises(BrowserUnavailable, match="apt-get install -y chromium"):
            await browser.fetch(server.url("/a"))


# --------------------------------------------------------------------------- through the pipeline

VERSION_2 = "The Kremlin said it would revise its stance in the peace talks after the alleged attack."


def scripted_v2(server: LocalServer) -> None:
    server.route(
        "/app.js", APP_JS.replace(ARTICLE, f"{ARTICLE} {VERSION_2}"), content_type="application/javascript"
    )


@needs_browser
async def test_pipeline_archives_rendered_text_with_screenshots_and_network_evidence(
    server, services, clock, tmp_path
):
    from sqlmodel import select

    from jobs.pipeline import check_url
    from storage import blobs, captures
    from storage import documents as docs
    from storage.models import Check

    url = scripted_site(server)
    plain = await check_url(services, url)
    assert plain.outcome.value in ("suspect", "error", "new_version")  # no article text without a browser
    with services.session() as s:
        doc = docs.get_document(s, url=url)
        assert all(ARTICLE not in v.text for v in docs.list_versions(s, document_id=doc.id, channel="page"))
    with services.session() as s:
        from storage import catalog

        settings = {"fetcher": "browser", "screenshot": True}
        story = catalog.upsert_story(s, slug="valdai", now=clock(), title="Valdai", query="drone",
                                     seeds=[], languages=[], settings=settings)[0]  # fmt: skip
        catalog.link_story_document(s, story_id=story.id, document_id=doc.id, now=clock(), via="manual",
                                    reason="test", source_id=None)  # fmt: skip
        s.commit()
    clock.advance(minutes=10)
    first = await check_url(services, url)
    assert first.outcome.value == "new_version" and first.details.get("rendered"), first
    assert "http://169.254.169.254/latest/meta-data/iam.png" in first.details["blocked"]
    clock.advance(minutes=10)
    scripted_v2(server)
    second = await check_url(services, url)
    assert second.outcome.value == "new_version", second
    with services.session() as s:
        versions = docs.list_versions(s, document_id=doc.id, channel="page")
        rendered = [v for v in versions if ARTICLE in v.text]
        assert len(rendered) == 2 and VERSION_2 in rendered[-1].text
        shots = [v.screenshot_sha256 for v in rendered]
        assert all(shots) and shots[0] != shots[1]
        png = captures.screenshot_png(s, sha256=shots[1])
        assert png is not None and png.startswith(b"\x89PNG")
        check = s.exec(select(Check).where(Check.version_id == rendered[-1].id)).one()
        assert check.network_sha256 and check.network_sha256 != check.raw_sha256
        assert blobs.get_blob(s, sha256=check.network_sha256) == SCRIPTED.encode()
        doc_id = doc.id

    # shown: the version page and the diff (before/after), the PNG from the API with our CSP
    from fastapi.testclient import TestClient

    from api.app import create_app

    client = TestClient(create_app(services.settings, services.engine, clock=clock))
    v2 = rendered[-1].seq
    shot = client.get(f"/api/documents/{doc_id}/versions/{v2}/screenshot.png?channel=page")
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/png"
    assert shot.content == png and "script-src 'none'" in shot.headers["content-security-policy"]
    diff = client.get(f"/documents/{doc_id}/diff?from={rendered[0].seq}&to={v2}")
    assert diff.status_code == 200 and 'id="screenshots"' in diff.text
    for v in rendered:
        assert f"/api/documents/{doc_id}/versions/{v.seq}/screenshot.png?channel=page" in diff.text
    assert 'id="screenshot"' in client.get(f"/documents/{doc_id}/versions/{v2}").text
    assert client.get(f"/api/documents/{doc_id}/versions/99/screenshot.png").status_code == 404

    # WACZ: the network response as the response payload, the DOM and the PNG as resources
    import gzip
    import zipfile

    from tests.fixtures.reading.story import export_file
    from tests.test_export_archive import read_warc

    path = tmp_path / "valdai.wacz"
    export_file(services.engine, "wacz", path)
    with zipfile.ZipFile(path) as z:
        (tmp_path / "inner.warc").write_bytes(gzip.decompress(z.read("archive/valdai.warc.gz")))
    records = read_warc(tmp_path / "inner.warc")
    resources = {r["headers"]["WARC-Target-URI"]: r for r in records if r["type"] == "resource"}
    assert resources[f"urn:screenshot:{url}"]["payload"] == png
    assert ARTICLE in resources[f"urn:rendered:{url}"]["payload"].decode()
    responses = [r for r in records if r["type"] == "response" and r["headers"]["WARC-Target-URI"] == url]
    assert responses and all(r["payload"] == SCRIPTED.encode() for r in responses)


# --------------------------------------------------------------------------- the command line


@needs_browser
def test_cli_check_browser_archives_the_script_written_text(server: LocalServer, tmp_path) -> None:
    import json

    from tests.test_cli import cli

    url = scripted_site(server)
    db = f"sqlite:///{tmp_path / 'st.db'}"
    ok = cli("check", url, "--browser", "--json", "--db", db, cwd=tmp_path)
    report = json.loads(ok.stdout)
    assert report["outcome"] == "new_version" and report["details"]["rendered"] is True
    assert "http://169.254.169.254/latest/meta-data/iam.png" in report["details"]["blocked"]
    shown = json.loads(cli("show", url, "--json", "--db", db, cwd=tmp_path).stdout)
    assert ARTICLE in shown["text"]


def test_cli_check_browser_without_chromium_is_one_line(tmp_path) -> None:
    from tests.test_cli import assert_one_line_error, cli

    env = {"STORYTRAIL_CHROMIUM": str(tmp_path / "no-chromium")}
    db = f"sqlite:///{tmp_path / 'st.db'}"
    proc = cli("check", "http://127.0.0.1:9/", "--browser", "--db", db, cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 1
    assert_one_line_error(proc, "--browser", "apt-get install -y chromium")
