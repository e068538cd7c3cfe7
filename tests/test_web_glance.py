"""The story at a glance: the lane picture (SVG, no script), the merged timeline entries, the
filters by kind and significance, and a document's headline evolution, through the test client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from api.glance import edit_class, merge_channels
from jobs.pipeline import check_url
from storage import catalog
from tests.fixtures.reading.story import build_story, page
from tests.fixtures.web.app import client
from tests.test_web_pages import assert_inert, doc_id, parse, text_of

SLUG = "valdai-glance"
TITLE_1 = "Alleged drone attack on Putin's Valdai residence"
TITLE_2 = "Drone attack on Putin's Valdai residence"
BODY_1 = [
    "Russia said on Monday that Ukraine had launched 91 long-range drones at the state residence "
    "near Valdai, in the Novgorod region.",
    "Kyiv called the claim a fabrication meant to derail peace talks.",
]
BODY_2 = [BODY_1[0].replace("91", "89"), BODY_1[1]]


@pytest.fixture
async def revised(server, services, clock) -> str:
    """One article: v1; v2 with "Alleged" dropped from the headline and 91 -> 89; v3 back to v1."""
    with services.session() as s:
        catalog.upsert_story(s, slug=SLUG, now=clock(), title="Valdai", query="Valdai")
        s.commit()
    url = server.url("/news/drones")
    for title, body in ((TITLE_1, BODY_1), (TITLE_2, BODY_2), (TITLE_1, BODY_1)):
        server.route("/news/drones", page(title, body))
        report = await check_url(services, url, story_slug=SLUG)
        assert report.outcome.value == "new_version", report
        clock.advance(minutes=45)
    return url


@pytest.fixture
def web(engine, db_url, clock):
    with client(engine, db_url, clock) as c:
        yield c


async def test_the_picture_comes_first_and_shows_the_revision(revised, web):
    a = doc_id(web, revised)
    tree = parse(web.get(f"/stories/{SLUG}"))
    [svg] = tree.xpath("//figure[@id='glance']/svg")
    main = tree.xpath("//main")[0]
    assert main.index(tree.xpath("//figure[@id='glance']")[0]) < main.index(tree.xpath("//h2")[0])
    marks = svg.xpath(".//a[contains(@class,'mark')]")
    assert len(marks) == 3
    # v2 and the revert: "alleged" dropped from / put back in the headline (hedging 0.5)
    hedged = svg.xpath(".//a[contains(@class,'mark-hedging')]")
    assert [m.get("href") for m in hedged] == [f"/documents/{a}/diff?channel=page&to={n}" for n in (2, 3)]
    number = hedged[:1]
    labels = text_of(tree, "//figure[@id='glance']//text[@class='label']")
    assert "reverted to v1" in labels
    tooltip = " ".join(number[0].xpath("./title")[0].text_content().split())
    assert "91 -> 89" in tooltip and "significance" in tooltip
    assert svg.xpath(".//path[contains(@d,'Z')]")  # the revert's diamond
    assert text_of(tree, "//figure[@id='glance']//text[@class='outlet']") == ["127.0.0.1"]
    assert_inert(tree)


async def test_number_label_is_visible(revised, web):
    text = web.get(f"/stories/{SLUG}").text
    # the heaviest class of v2 is hedging or the headline; the number change has its own mark text
    assert "91 -&gt; 89" in text
    assert "hedge &#34;alleged&#34; removed from the headline" in text or "alleged" in text


async def test_deleted_restored_and_reverted_are_marked(server, services, clock, web):
    arc = await build_story(server, services, clock)
    tree = parse(web.get(f"/stories/{arc.slug}"))
    classes = [m.get("class") for m in tree.xpath("//figure[@id='glance']//a[contains(@class,'mark')]")]
    assert "mark mark-deleted" in classes
    labels = text_of(tree, "//figure[@id='glance']//text[@class='label']")
    assert {"deleted", "restored", "reverted to v2"} <= set(labels)
    assert (
        "Kremlin to revise stance &lt;/style&gt; after residence claim"
        in web.get(f"/stories/{arc.slug}").text
    )
    assert_inert(tree)


async def test_timeline_is_newest_first_and_filters(revised, web):
    tree = parse(web.get(f"/stories/{SLUG}"))
    kinds = text_of(tree, "//ol[@id='timeline']/li/span[contains(@class,'kind')]")
    assert kinds == ["reverted", "headline", "captured", "discovered"]
    only = parse(web.get(f"/stories/{SLUG}", params={"kind": "headline"}))
    assert text_of(only, "//ol[@id='timeline']/li/span[contains(@class,'kind')]") == ["headline"]
    heavy = parse(web.get(f"/stories/{SLUG}", params={"min_significance": "0.5"}))
    what = text_of(heavy, "//ol[@id='timeline']/li/div[@class='what']")
    assert what and all(float(w.rsplit("significance ", 1)[1]) >= 0.5 for w in what)
    assert heavy.xpath("//input[@name='min_significance']/@value") == ["0.5"]
    for params, message in (
        ({"kind": "nonsense"}, "not an event kind"),
        ({"min_significance": "2"}, "from 0 to 1"),
    ):
        bad = web.get(f"/stories/{SLUG}", params=params)
        assert bad.status_code == 422 and message in parse(bad).xpath("//p[@class='error']")[0].text


async def test_headline_evolution(revised, web):
    a = doc_id(web, revised)
    tree = parse(web.get(f"/documents/{a}/headlines"))
    items = tree.xpath("//ol[@id='headlines-page']/li")
    assert len(items) == 3
    assert text_of(tree, "//ol[@id='headlines-page']/li[2]//del") == ["Alleged drone"]
    assert text_of(tree, "//ol[@id='headlines-page']/li[2]//ins") == ["Drone"]
    assert text_of(tree, "//ol[@id='headlines-page']/li[3]//ins") == ["Alleged drone"]
    assert "reverted" in text_of(tree, "//ol[@id='headlines-page']/li[3]")[0]
    assert_inert(tree)


# -- pieces -----------------------------------------------------------------------------------

T0 = datetime(2025, 12, 30, 9, 0, tzinfo=UTC)


def event(
    doc: int, channel: str | None, minutes: int, significance: float | None = 0.4, kind: str = "changed"
):
    return SimpleNamespace(document_id=doc, channel=channel, seq=1, at=T0 + timedelta(minutes=minutes),
                           significance=significance, kind=kind, summary=f"{channel} edit")  # fmt: skip


def test_feed_and_page_events_of_one_article_are_one_entry() -> None:
    feed, page_, other = event(1, "feed", 0, 0.3), event(1, "page", 20, 0.7), event(2, "page", 10)
    entries = merge_channels([feed, other, page_])
    assert [len(e.events) for e in entries] == [2, 1]
    assert entries[0].main is page_ and entries[0].significance == 0.7
    apart = merge_channels([event(1, "feed", 0), event(1, "page", 300)])
    assert len(apart) == 2  # too far apart in time
    twice = merge_channels([event(1, "page", 0), event(1, "page", 10)])
    assert len(twice) == 2  # two versions of one channel are two edits
    found = merge_channels([event(1, None, 0, None, "discovered"), event(1, "page", 1)])
    assert len(found) == 2


def test_edit_class_reads_stored_summaries() -> None:
    assert edit_class({"classes": [{"class": "number", "weight": 0.4, "reason": "x"}]}) == "number"
    assert edit_class({"summary": "headline rewritten"}) == "headline"  # stored before classes existed
    assert edit_class({}) == "other"
