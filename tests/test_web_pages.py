"""The HTML pages: story list, timeline, document history, version, diff (inline and side by side),
search; archived markup shown as text everywhere; the diff HTML from render() checked before it is
embedded."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from api import diffs
from api.diffs import UnsafeDiffHTMLError, embeddable
from scraper.core.diff import diff_texts
from scraper.core.diff_render import render
from tests.fixtures.reading.story import A_TITLE_1, A_TITLE_2, B_TITLE, HOSTILE, ONLY_IN_V1, build_story
from tests.fixtures.web.app import client

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def arc(server, services, clock):
    return await build_story(server, services, clock)


@pytest.fixture
def web(engine, db_url, clock):
    with client(engine, db_url, clock) as c:
        yield c


def doc_id(web, url: str) -> int:
    return web.get("/api/documents/by-url", params={"url": url}).json()["id"]


def parse(response) -> lxml_html.HtmlElement:
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    return lxml_html.fromstring(response.text)


def text_of(tree, xpath: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in tree.xpath(xpath)]


def assert_inert(tree: lxml_html.HtmlElement) -> None:
    """Nothing that could run or load: no script, no inline style, no event handler, no image."""
    assert tree.xpath("//script | //style | //img | //iframe | //object | //embed") == []
    assert tree.xpath("//@style") == []
    assert [a for a in tree.xpath("//@*") if a.attrname.lower().startswith("on")] == []


async def test_story_list(arc, web):
    tree = parse(web.get("/"))
    [row] = tree.xpath("//table[@class='list']/tbody/tr")
    link = row.xpath(".//a")[0]
    assert (
        link.get("href") == "/stories/valdai"
        and link.text == "Alleged drone attack on Putin's Valdai residence"
    )
    assert [td.text for td in row.xpath("td[@class='num']")] == ["2", "7"]
    assert row.xpath(".//time")[0].get("datetime") == "2025-12-30T00:00:00Z"
    assert_inert(tree)


async def test_story_timeline_page(arc, web):
    a = doc_id(web, arc.url_a)
    tree = parse(web.get("/stories/valdai", params={"order": "asc"}))  # newest first by default
    events = tree.xpath("//ol[@id='timeline']/li")
    assert [e.xpath(".//span[contains(@class,'kind')]")[0].text for e in events] == [
        "discovered",
        "captured",
        "discovered",
        "captured",
        "headline",
        "changed",
        "deleted",
        "reverted",
        "restored",
    ]
    headline = events[4]
    assert headline.xpath(".//a[@class='diff-link']/@href") == [f"/documents/{a}/diff?channel=page&to=2"]
    assert f"(was: “{A_TITLE_1}”)" in " ".join(headline.text_content().split())
    assert events[1].xpath(".//a[@class='diff-link']") == []  # a first capture: nothing to compare
    assert text_of(tree, "//table[@id='documents']/tbody/tr/td[2]/a") == [A_TITLE_2, B_TITLE]
    assert tree.xpath("//link[@type='application/atom+xml']/@href") == ["/feeds/stories/valdai.atom"]
    assert_inert(tree)


async def test_timeline_form_as_of_and_window(arc, web):
    at = (arc.times["a1"]).strftime("%Y-%m-%dT%H:%M")  # what <input type=datetime-local> sends
    early = parse(web.get("/stories/valdai", params={"at": at, "since": "", "until": "", "order": "asc"}))
    assert len(early.xpath("//ol[@id='timeline']/li")) == 2
    assert "as a reader saw it at 2025-12-29 19:00 UTC" in early.text_content()
    newest = parse(web.get("/stories/valdai", params={"order": "desc"}))
    assert newest.xpath("//ol[@id='timeline']/li[1]//span[contains(@class,'kind')]")[0].text == "restored"
    bad = web.get("/stories/valdai", params={"at": "last tuesday"})
    assert bad.status_code == 422 and "not a time" in parse(bad).xpath("//p[@class='error']")[0].text


async def test_document_history_page(arc, web):
    a = doc_id(web, arc.url_a)
    tree = parse(web.get(f"/documents/{a}"))
    rows = tree.xpath("//table[@id='versions']/tbody/tr")
    assert [r.xpath("td[1]/a")[0].text for r in rows] == ["page v1", "page v2", "page v3", "page v4"]
    assert [len(r.xpath(".//a[@class='diff-link']")) for r in rows] == [0, 1, 1, 1]
    original = tree.xpath("//a[@class='original']")[0]
    assert original.get("href") == arc.url_a and "noreferrer" in original.get("rel")
    assert text_of(tree, "//p[@class='crumbs']/a") == [
        "Stories",
        "Alleged drone attack on Putin's Valdai residence",
    ]


async def test_version_page(arc, web):
    a = doc_id(web, arc.url_a)
    tree = parse(web.get(f"/documents/{a}/versions/1"))
    assert tree.xpath("//article/h1")[0].text == A_TITLE_1
    assert any(ONLY_IN_V1 in p for p in text_of(tree, "//article/p"))
    assert tree.xpath("//a[@rel='next']/@href") == [f"/documents/{a}/versions/2?channel=page"]
    assert tree.xpath("//a[@rel='prev']") == []
    assert web.get(f"/documents/{a}/versions/9").status_code == 404


async def test_diff_page_inline_and_side_by_side(arc, web):
    a = doc_id(web, arc.url_a)
    inline = parse(web.get(f"/documents/{a}/diff", params={"from": 1, "to": 2}))
    assert (
        inline.xpath("//p[@id='summary']")[0].text
        == "headline rewritten; 2 sentences added; 2 sentences removed"
    )
    deleted = text_of(inline, "//div[@id='diff']//article//del")
    inserted = text_of(inline, "//div[@id='diff']//article//ins")
    assert "Moscow described it as a deliberate attack on the head of state." in deleted
    assert "Kyiv called the claim a fabrication meant to derail peace talks." in inserted
    assert inline.xpath("//select[@name='from']/option[@selected]/@value") == ["1"]
    assert_inert(inline)
    side = parse(web.get(f"/documents/{a}/diff", params={"from": 1, "to": 2, "view": "side"}))
    rows = side.xpath("//div[@id='diff']//table[@class='side']/tr")
    assert len(rows) >= 3 and rows[0].xpath("th")[1].text.startswith("page v2")
    assert "Kyiv called the claim a fabrication meant to derail peace talks." in text_of(
        side, "//table[@class='side']//ins"
    )
    assert_inert(side)
    assert web.get(f"/documents/{a}/diff", params={"view": "sideways"}).status_code == 422
    first = web.get(f"/documents/{a}/diff", params={"to": 1})
    assert first.status_code == 422 and "nothing to compare" in first.text


async def test_archived_markup_is_text_on_every_page(arc, web):
    b = doc_id(web, arc.url_b)
    pages = [
        "/",
        "/stories/valdai",
        f"/documents/{b}",
        f"/documents/{b}/versions/1",
        f"/documents/{b}/versions/3",
        f"/documents/{b}/diff",
        f"/documents/{b}/diff?view=side",
        "/search?q=markup",
        "/search?q=verbatim&all_versions=true",
    ]
    for path in pages:
        tree = parse(web.get(path))
        assert_inert(tree)
        if "/versions/" in path or "/diff" in path:  # text shown whole (search snippets vary by backend)
            assert HOSTILE[0] in tree.text_content(), path  # shown, as text
    title = parse(web.get(f"/documents/{b}/versions/1")).xpath("//article/h1")[0].text
    assert title == B_TITLE  # "</style>" in a title stays text


async def test_search_page(arc, web):
    tree = parse(web.get("/search", params={"q": "Valdai"}))
    hits = tree.xpath("//ol[@id='hits']/li")
    assert len(hits) == 2 and all(h.xpath(".//mark")[0].text == "Valdai" for h in hits)
    assert tree.xpath("//input[@name='q']/@value") == ["Valdai"]
    assert parse(web.get("/search", params={"q": "deliberate"})).xpath("//ol[@id='hits']/li") == []
    old = parse(web.get("/search", params={"q": "deliberate", "all_versions": "true"})).xpath(
        "//ol[@id='hits']/li"
    )
    assert len(old) == 1
    empty = parse(web.get("/search"))
    assert empty.xpath("//ol[@id='hits']") == [] and empty.xpath("//form[@role='search']")
    problem = parse(web.get("/search", params={"q": "-Valdai"}))
    assert "no word to look for" in problem.xpath("//p[@class='error']")[0].text
    assert web.get("/search", params={"q": "Valdai", "story": "nope"}).status_code == 404


async def test_lookup_by_url_and_error_pages(arc, web):
    a = doc_id(web, arc.url_a)
    found = web.get("/documents", params={"url": arc.url_a}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/documents/{a}"
    missing = web.get("/stories/nope")
    assert missing.status_code == 404 and "no story with slug 'nope'" in parse(missing).text_content()
    assert web.get("/documents/abc").status_code == 422 and parse(web.get("/documents/abc")).xpath("//h1")
    assert web.get("/documents", params={"url": "https://news.example/never"}).status_code == 404


async def test_api_index_page(arc, web):
    tree = parse(web.get("/api"))
    paths = text_of(tree, "//table/tbody/tr/td[2]")
    assert "/api/documents/{document_id}/diff" in paths and "/feeds/changes.atom" in paths
    assert "Writes are disabled" in tree.text_content()


async def test_diff_page_shows_text_when_the_html_is_refused(arc, web, monkeypatch):
    a = doc_id(web, arc.url_a)

    def refuse(page: str):
        raise UnsafeDiffHTMLError("the rendered diff holds a <script> element")

    monkeypatch.setattr("api.routes_pages.embeddable", refuse)
    tree = parse(web.get(f"/documents/{a}/diff"))
    assert "- The Kremlin said it would revise its stance" in tree.xpath("//div[@id='diff']/pre")[0].text


# -- the diff HTML from render(), checked -------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<p>fine</p><script>alert(1)</script>",
        '<p onclick="alert(1)">x</p>',
        '<p><a href="javascript:alert(1)">x</a></p>',
        '<p><img src="x"></p>',
        "<p>x</p><!-- a comment -->",
        '<p style="background:url(x)">x</p>',
    ],
)
def test_embeddable_refuses_markup_the_renderer_never_writes(body):
    with pytest.raises(UnsafeDiffHTMLError):
        embeddable(f"<html><body>{body}</body></html>")


def test_embeddable_needs_a_body():
    with pytest.raises(UnsafeDiffHTMLError):
        embeddable("<p>no body</p>")


MARKUP = st.sampled_from(
    [*HOSTILE, "<b>", "&amp;", '"', "'", "<!--", "]]>", "<style>", "javascript:", "<a href=x>"]
)
WORDS = st.lists(
    st.one_of(st.sampled_from(["drone", "Valdai", "Kremlin", "91", "said"]), MARKUP), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(old=st.lists(WORDS, min_size=1, max_size=4), new=st.lists(WORDS, min_size=1, max_size=4))
def test_rendered_diff_html_is_always_embeddable(old, new):
    old_text = "\n\n".join(" ".join(p) + "." for p in old)
    new_text = "\n\n".join(" ".join(p) + "." for p in new)
    diff = diff_texts(old_text, new_text)
    for fmt in ("html", "html-side"):
        fragment = embeddable(render(diff, fmt, old_label="<b>old</b>", new_label="new <script>"))
        tree = lxml_html.fromstring(f"<div>{fragment}</div>")
        assert_inert(tree)
        assert tree.xpath("//a | //b | //style") == []


def test_style_hashes_match_the_inline_style():
    import base64
    import hashlib

    page = render(diff_texts("a b.", "a c."), "html")
    css = page.split("<style>", 1)[1].split("</style>", 1)[0]
    expected = "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
    assert diffs.style_hashes(page) == [expected]


def test_templates_and_static_files_are_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    files = [
        p for folder in ("templates", "static") for p in (ROOT / "api" / folder).iterdir() if p.is_file()
    ]
    assert files and all(any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns) for p in files)


def test_search_groups_an_articles_channels_into_one_hit(engine, web):
    from datetime import UTC, datetime

    from sqlmodel import Session

    from storage import documents as docs

    at = datetime(2025, 12, 29, 19, tzinfo=UTC)
    with Session(engine) as s:
        doc, _ = docs.get_or_create_document(s, url="https://news.example/valdai", now=at)
        for channel, title in (("feed", "Valdai claim"), ("page", "Valdai claim, denied")):
            docs.add_version(s, document_id=doc.id, channel=channel, seq=1, observed_at=at,
                             last_confirmed_at=at, content_hash=channel, title=title,
                             text="Drones near Valdai.")  # fmt: skip
        s.commit()
    [hit] = parse(web.get("/search", params={"q": "Valdai"})).xpath("//ol[@id='hits']/li")
    also = hit.xpath(".//a[@class='also']/text()")
    assert len(also) == 1 and also[0] in ("feed v1", "page v1")
