"""markdown, html and atom exports of a real archive, read back by a Markdown renderer, an HTML
parser and feedparser; archived markup must come out as text, never as markup."""

from __future__ import annotations

from html.parser import HTMLParser

import feedparser
from markdown_it import MarkdownIt

from storage.export.html import CSS
from tests.fixtures.reading.story import (
    A_TITLE_2,
    B_TITLE,
    HOSTILE,
    ONLY_IN_V1,
    STORY_TITLE,
    build_story,
    export_file,
)


async def test_markdown_report(server, services, engine, clock, tmp_path):
    await build_story(server, services, clock)
    result = export_file(engine, "markdown", tmp_path / "story.md")
    text = (tmp_path / "story.md").read_text(encoding="utf-8")
    assert result.records == 7
    assert text.startswith(f"# {STORY_TITLE}\n")
    timeline = text.split("## Timeline", 1)[1].split("## Documents", 1)[0]
    rows = [line for line in timeline.splitlines() if line.startswith("| 2025-")]
    assert [row.split(" | ")[1] for row in rows] == [
        "discovered", "first captured", "discovered", "first captured", "headline changed", "changed",
        "deleted", "reverted", "restored",
    ]  # fmt: skip
    documents = text.split("## Documents", 1)[1]
    assert documents.index("residence-claim") < documents.index("kremlin-stance")
    assert "#### page v2 · headline changed" in documents and "##### Changes: page v1" in documents
    assert ONLY_IN_V1 in documents  # first version's text, then its removal in v2's diff
    assert "Gone (HTTP 404)" in documents and "Back to the content of version 2." in documents
    html = MarkdownIt("commonmark").enable("table").render(text)
    page = Page.parse(html)
    assert not page.tags & {"script", "img", "style"} and not page.event_attributes
    assert all(h in page.text for h in HOSTILE)


async def test_html_report_is_self_contained_and_escaped(server, services, engine, clock, tmp_path):
    arc = await build_story(server, services, clock)
    export_file(engine, "html", tmp_path / "story.html")
    page = Page.parse((tmp_path / "story.html").read_text(encoding="utf-8"))
    assert "script" not in page.tags and not page.event_attributes
    assert page.tags.isdisjoint({"img", "iframe", "link", "object", "embed", "base", "form"})
    assert page.styles == [CSS]  # one style element, ours: the archived "</style>" did not end it
    assert all(href.startswith("#doc-") for href in page.hrefs)  # no external resource or link
    assert "default-src 'none'" in page.csp
    for hostile in HOSTILE:
        assert hostile in page.text  # archived markup is shown as text
    assert B_TITLE in page.text and A_TITLE_2 in page.text and ONLY_IN_V1 in page.text
    assert arc.url_a in page.text
    assert {"del", "ins"} <= page.tags  # the diffs are rendered inline


async def test_atom_feed(server, services, engine, clock, tmp_path):
    arc = await build_story(server, services, clock)
    export_file(engine, "atom", tmp_path / "one.atom")
    export_file(engine, "atom", tmp_path / "two.atom")
    feed = feedparser.parse((tmp_path / "one.atom").read_bytes())
    again = feedparser.parse((tmp_path / "two.atom").read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.id == "tag:storytrail,2025:story/valdai"
    entries = feed.entries
    assert len(entries) == 7 and len({e.id for e in entries}) == 7
    assert [e.id for e in entries] == [e.id for e in again.entries]  # stable ids
    assert all(e.id.startswith("tag:storytrail,2025:version/") for e in entries)
    times = [e.updated_parsed for e in entries]
    assert times == sorted(times, reverse=True) and feed.feed.updated == "2025-12-30T00:00:00Z"
    newest = entries[0]
    assert newest.link == arc.url_b and newest.tags[0].term == "restored" and "restored" in newest.title
    headline = next(e for e in entries if e.tags[0].term == "headline")
    assert "headline" in headline.summary and A_TITLE_2 in headline.title
    assert "Russia says drones targeted Putin residence" in headline.content[0].value
    first_b = next(e for e in entries if e.link == arc.url_b and e.tags[0].term == "captured")
    assert HOSTILE[0] in first_b.content[0].value and first_b.content[0].type == "text/plain"


class Page(HTMLParser):
    """What an HTML page holds: its tags, event-handler attributes, links, style and visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.event_attributes: list[tuple[str, str]] = []
        self.hrefs: list[str] = []
        self.styles: list[str] = []
        self.csp = ""
        self._chunks: list[str] = []
        self._in_style = False

    @classmethod
    def parse(cls, html: str) -> Page:
        page = cls()
        page.feed(html)
        page.close()
        return page

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name.startswith("on"):
                self.event_attributes.append((name, value or ""))
            if name in ("href", "src"):
                self.hrefs.append(value or "")
        values = dict(attrs)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = values.get("content") or ""

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        else:
            self._chunks.append(data)
