"""extract() on small pages written for these tests (tests/fixtures/extract), and the pool."""

from __future__ import annotations

import os
import pickle
import signal
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from scraper.core.extract import (
    EXTRACTOR_NAME,
    EXTRACTOR_VERSION,
    EmptyDocumentError,
    ExtractionError,
    InvalidSelectorError,
    NoContentError,
    NotHTMLError,
    extract,
    parse_date,
    trim_site_name,
)
from scraper.core.fingerprint import content_hash
from scraper.core.types import Content, Extracted
from scraper.extractpool import ExtractorPool, WorkerCrashedError

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
ARTICLE_URL = "https://news.example/2025/12/30/valdai-residence-claim?utm_source=twitter"


def page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def article() -> Content:
    return extract(page("news_article.html"), ARTICLE_URL).content


def test_extractor_identity() -> None:
    result = extract(page("news_article.html"), ARTICLE_URL)
    assert result.extractor == EXTRACTOR_NAME == "trafilatura"
    assert result.extractor_version == EXTRACTOR_VERSION
    assert "+st" in EXTRACTOR_VERSION


def test_news_article_metadata(article: Content) -> None:
    assert article.title == "Kremlin says Ukraine targeted Putin's Valdai residence"
    assert article.byline == "Anna Example; Piotr Sample"  # the organisation author is dropped
    assert article.published == datetime(2025, 12, 30, 6, 15, tzinfo=UTC)  # JSON-LD, +02:00 -> UTC
    assert article.modified == datetime(2025, 12, 31, 8, 0, tzinfo=UTC)
    assert article.canonical_url == "https://news.example/2025/12/30/valdai-residence-claim?id=7"
    assert article.language == "en-GB"
    assert article.description is not None and article.description.startswith("Moscow says 91 drones")
    assert article.metadata["sitename"] == "Example News"
    assert article.metadata["schema_type"] == "NewsArticle"
    assert article.metadata["published_local"] == "2025-12-30T08:15:00+02:00"
    assert article.metadata["published_from"] == "markup"


def test_news_article_text(article: Content) -> None:
    paragraphs = article.text.split("\n\n")
    assert any(p.startswith("Russia said on Monday that Ukraine had fired 91") for p in paragraphs)
    assert paragraphs[-1].endswith("most drones Ukraine is known to operate.")
    assert all(p == p.strip() and p for p in paragraphs)
    for boilerplate in ("Home", "Most read", "Storm closes airports", "All rights reserved"):
        assert boilerplate not in article.text


def test_meta_tags_only() -> None:
    content = extract(page("meta_only.html"), "https://zeitung.example/politik/x?ref=rss").content
    assert content.title == "Drohnenangriff: Moskau erhebt schwere Vorwürfe"
    assert content.byline == "Max Mustermann"
    assert content.published == datetime(2025, 12, 29, 21, 40, tzinfo=UTC)  # naive -> UTC
    assert content.modified == datetime(2025, 12, 30, 6, 5, tzinfo=UTC)
    assert content.canonical_url == "https://zeitung.example/politik/drohnen-valdai-123.html"
    assert content.language == "de"
    assert "91 Drohnen" in content.text
    assert "Impressum" not in content.text


def test_malformed_html_does_not_crash() -> None:
    content = extract(page("malformed.html")).content
    assert content.title == "Broken page: drones over Valdai"
    assert "First paragraph of a page whose markup is broken" in content.text
    assert "Third paragraph after stray closing tags" in content.text


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><p>unclosed <b>bold <i>italic</p></div></span>" * 50,
        "<html><head><title>x</title><script>var s = '</scr' + 'ipt>';</script></head><body><p>Body.</p>",
        '<!DOCTYPE html><html><body><p class="a b" class=c>dup attrs</p><svg><p>svg p</svg>' + "<" * 200,
        "<html>\x00<body>nul byte <p>in the middle of a page that is otherwise plain text</p></body></html>",
    ],
)
def test_odd_markup_gives_content_or_a_typed_error(html: str) -> None:
    try:
        result = extract(html, "https://odd.example/")
    except ExtractionError as error:
        assert "https://odd.example/" in str(error)
    else:
        assert isinstance(result.content, Content)


def test_remove_selectors() -> None:
    html = page("news_article.html")
    stamp = "This story was last refreshed 12 minutes ago"
    assert stamp in extract(html, ARTICLE_URL).content.text
    cleaned = extract(html, ARTICLE_URL, remove_selectors=["p.live-stamp", "nav"]).content
    assert stamp not in cleaned.text
    assert "Russia said on Monday" in cleaned.text


def test_invalid_selector_names_it() -> None:
    with pytest.raises(InvalidSelectorError, match=r"'p\[unclosed'"):
        extract(page("news_article.html"), ARTICLE_URL, remove_selectors=["p[unclosed"])


def test_title_without_text_is_content() -> None:
    content = extract(page("title_only.html")).content
    assert content.title == "Live: Kremlin reaction to drone claim"
    assert content.text == ""


def test_no_title_and_no_text_is_an_error() -> None:
    with pytest.raises(NoContentError, match="https://empty.example/"):
        extract("<html><head></head><body><div></div></body></html>", "https://empty.example/")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ((FIXTURES / "not_html.png").read_bytes(), NotHTMLError),
        ('{"headline": "not a page", "items": [1, 2, 3]}', NotHTMLError),
        ("Plain text, no markup at all.\nSecond line.", NotHTMLError),
        (b"", EmptyDocumentError),
        ("  \n\t ", EmptyDocumentError),
    ],
)
def test_bodies_that_are_not_html(body: str | bytes, error: type[ExtractionError]) -> None:
    with pytest.raises(error) as raised:
        extract(body, "https://files.example/logo.png")
    assert isinstance(raised.value, ExtractionError)
    assert "https://files.example/logo.png" in str(raised.value)


def test_bytes_and_str_give_the_same_content() -> None:
    html = page("meta_only.html")
    assert extract(html.encode("utf-8")) == extract(html)


def test_extraction_is_deterministic() -> None:
    html = page("news_article.html")
    assert extract(html, ARTICLE_URL) == extract(html, ARTICLE_URL)


@pytest.mark.parametrize("name", ["news_article.html", "meta_only.html", "malformed.html", "title_only.html"])
def test_dates_are_aware_utc(name: str) -> None:
    content = extract(page(name)).content
    for moment in (content.published, content.modified):
        assert moment is None or moment.utcoffset() == timedelta(0)


def test_typography_and_whitespace_do_not_make_a_version() -> None:
    html = page("news_article.html")
    retyped = (
        html.replace("Ukraine's foreign minister", "Ukraine’s foreign\u00a0minister")
        .replace('"a complete fabrication"', "\u201ca complete\u200b fabrication\u201d")
        .replace("overnight, and that", "overnight,   \n  and that")
    )
    assert retyped != html
    original = content_hash(extract(html, ARTICLE_URL).content)
    assert content_hash(extract(retyped, ARTICLE_URL).content) == original
    edited = html.replace("fired 91 long-range drones", "fired 19 long-range drones")
    assert content_hash(extract(edited, ARTICLE_URL).content) != original


@pytest.mark.parametrize(
    ("stated", "expected"),
    [
        ("2025-12-30T08:15:00+02:00", datetime(2025, 12, 30, 8, 15, tzinfo=timezone(timedelta(hours=2)))),
        ("2025-12-30T06:15:00Z", datetime(2025, 12, 30, 6, 15, tzinfo=UTC)),
        ("Tue Dec 30 07:15:00 CET 2025", datetime(2025, 12, 30, 7, 15, tzinfo=timezone(timedelta(hours=1)))),
        ("Tue, 30 Dec 2025 06:15:00 +0000", datetime(2025, 12, 30, 6, 15, tzinfo=UTC)),
        ("2025-12-30", datetime(2025, 12, 30)),
        ("December 30", None),  # no year: never filled in from the clock
        ("yesterday-ish", None),
        ("", None),
    ],
)
def test_parse_date(stated: str, expected: datetime | None) -> None:
    assert parse_date(stated) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Kremlin revises stance | Example News", "Kremlin revises stance"),
        ("Example News - Kremlin revises stance", "Kremlin revises stance"),
        ("Kremlin revises stance - Example News | World | Europe", "Kremlin revises stance"),
        (
            "Trump attacks Example News coverage - live updates",
            "Trump attacks Example News coverage - live updates",
        ),
        ("Example News", "Example News"),
    ],
)
def test_site_name_is_trimmed_from_titles(title: str, expected: str) -> None:
    assert trim_site_name(title, ["examplenews"]) == expected


def test_errors_survive_pickling() -> None:
    error = NotHTMLError("https://x.example/", "binary")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotHTMLError and str(copy) == str(error) and copy.url == "https://x.example/"


# --- the process pool ---------------------------------------------------------------------------


async def test_pool_matches_inline() -> None:
    html = page("news_article.html")
    async with ExtractorPool(0) as inline, ExtractorPool(1) as pooled:
        expected = await inline.extract(html, ARTICLE_URL, ["p.live-stamp"])
        got = await pooled.extract(html, ARTICLE_URL, ["p.live-stamp"])
        got_bytes = await pooled.extract(html.encode(), ARTICLE_URL, ["p.live-stamp"])
    assert isinstance(got, Extracted)
    assert got == expected == got_bytes == extract(html, ARTICLE_URL, remove_selectors=["p.live-stamp"])


async def test_pool_raises_the_extraction_error() -> None:
    async with ExtractorPool(1) as pool:
        with pytest.raises(NotHTMLError, match="https://files.example/x"):
            await pool.extract((FIXTURES / "not_html.png").read_bytes(), "https://files.example/x")
        assert (await pool.extract(page("title_only.html"), None)).content.title  # still usable


async def test_closed_pool_refuses_work() -> None:
    pool = ExtractorPool(0)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        await pool.extract(page("title_only.html"), None)


def test_pool_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="workers must be 0"):
        ExtractorPool(-1)
    with ExtractorPool(1) as pool:
        assert pool.workers == 1


async def test_pool_recovers_from_a_dead_worker() -> None:
    async with ExtractorPool(1) as pool:
        await pool.extract(page("title_only.html"), None)  # the worker is up
        executor = pool._executor
        assert executor is not None
        for pid in list(executor._processes):  # white-box: kill the worker as the OOM killer would
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerCrashedError, match="https://crash.example/"):
            await pool.extract(page("title_only.html"), "https://crash.example/")
        assert (await pool.extract(page("title_only.html"), None)).content.title
