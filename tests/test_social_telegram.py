"""Telegram public channels: planning and reading t.me/s preview pages.

No real preview page is in the shared corpus (see its MANIFEST), so the pages are our own
fixtures, written after the markup t.me serves (tgme_widget_message, data-post, time, views,
the "edited" marker in the meta line, the "before" link to older messages).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.core.social import telegram
from scraper.core.social.common import (
    MalformedResponseError,
    PlatformError,
    SocialPage,
    UnsupportedSourceError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "social"
PAGE_URL = "http://127.0.0.1:8083/s/valdaiwatch"


def page(name: str = "telegram_channel_preview.html", url: str = PAGE_URL) -> SocialPage:
    return telegram.parse_preview((FIXTURES / name).read_bytes(), url)


# -- planning ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://t.me/s/valdaiwatch", "https://t.me/valdaiwatch", "https://telegram.me/valdaiwatch/"],
)
def test_plan_channel_preview(url):
    [endpoint] = telegram.plan(url, None)
    assert endpoint.url == "https://t.me/s/valdaiwatch"
    assert endpoint.kind == "telegram.preview"


def test_plan_api_overrides_the_host():
    [endpoint] = telegram.plan("https://t.me/valdaiwatch", "http://127.0.0.1:8083")
    assert endpoint.url == PAGE_URL


def test_plan_one_message_uses_its_embed_page():
    [endpoint] = telegram.plan("https://t.me/valdaiwatch/1200", None)
    assert endpoint.url == "https://t.me/valdaiwatch/1200?embed=1&mode=tme"
    assert endpoint.kind == "telegram.post"


@pytest.mark.parametrize(
    "url",
    ["https://t.me/joinchat/AAAAAEk", "https://t.me/+AbCdEf", "https://example.com/s/x", "https://t.me/"],
)
def test_plan_unrecognised_url(url):
    with pytest.raises(UnsupportedSourceError, match="https://t.me/s/CHANNEL"):
        telegram.plan(url, None)


# -- preview pages ----------------------------------------------------------------------------------


def test_messages_are_observed_with_their_post_urls():
    observed = page().observations
    assert [o.url for o in observed] == [
        "https://t.me/valdaiwatch/1198",
        "https://t.me/valdaiwatch/1200",
        "https://t.me/valdaiwatch/1201",
        "https://t.me/valdaiwatch/1202",
    ]  # 1199 is a service message ("Channel photo updated"), not a post


def test_message_text_time_author_and_views():
    post = page().observations[1]
    assert post.content.text.startswith(
        "Lavrov: Kyiv launched 91 long-range drones at the presidential residence"
    )
    assert '"revise its negotiating position".\n\nFull statement:' in post.content.text
    assert post.content.published == datetime(2025, 12, 29, 18, 7, tzinfo=UTC)
    assert post.content.byline == "Valdai Watch"
    assert post.measurements == {"views": 12400.0}
    assert post.content.metadata["tags"] == ["Valdai", "Novgorod"]
    assert "12.4K" not in post.content.text


@pytest.mark.parametrize(("index", "views"), [(0, 31900.0), (2, 987.0), (3, 1_200_000.0)])
def test_view_counts(index, views):
    assert page().observations[index].measurements["views"] == views


def test_linked_article_is_a_candidate_with_the_preview_card():
    result = page()
    [candidate] = result.candidates
    assert (
        candidate.url
        == "https://news.example/2025/12/29/lavrov-drones-novgorod-residence?utm_source=telegram"
    )
    assert candidate.title == "Russia says Ukraine attacked Putin residence with 91 drones"
    assert (candidate.summary or "").startswith("Foreign minister Sergei Lavrov said")
    assert candidate.raw["post_url"] == "https://t.me/valdaiwatch/1200"
    assert result.observations[1].links == (candidate.url,)


def test_hashtags_and_mentions_are_not_links():
    forwarded = page().observations[0]
    assert forwarded.links == ()
    assert forwarded.content.metadata["tags"] == ["Valdai"]
    assert forwarded.content.metadata["forwarded_from"] == "https://t.me/novgorod_daily/5521"
    assert forwarded.content.text.startswith("🚨 Residents near #Valdai")


def test_edited_marker():
    edited = [o.content.metadata["edited"] for o in page().observations]
    assert edited == [False, False, True, False]


def test_reply_quote_is_not_the_message_text():
    reply = page().observations[2]
    assert reply.content.text.startswith("Correction: the figure of 91 drones")
    assert "Lavrov" not in reply.content.text
    assert reply.content.metadata["in_reply_to"] == "https://t.me/valdaiwatch/1200"


def test_photo_is_media_metadata():
    photo = page().observations[3]
    assert photo.content.metadata["media"] == [
        {
            "type": "photo",
            "url": "https://cdn4.cdn-telegram.org/file/valdai-road-checkpoint.jpg",
            "description": None,
        }
    ]


def test_older_messages_page_stays_on_the_same_host():
    assert page().next_page == "http://127.0.0.1:8083/s/valdaiwatch?before=1198"


def test_deleted_message_embed_is_gone():
    result = page("telegram_post_not_found.html", "http://127.0.0.1:8083/valdaiwatch/1203?embed=1&mode=tme")
    assert result.gone_ids == ["valdaiwatch/1203"]
    [tombstone] = result.observations
    assert tombstone.gone and tombstone.url == "https://t.me/valdaiwatch/1203"


def test_a_page_without_messages_or_history_has_no_public_preview():
    body = b'<html><body><div class="tgme_page"><div class="tgme_page_title">Valdai</div></div></body></html>'
    with pytest.raises(PlatformError, match="no public preview"):
        telegram.parse_preview(body, PAGE_URL)


@pytest.mark.parametrize("body", [b"", b'{"ok": false}', b"<html><body>Bad gateway</body></html>"])
def test_not_a_preview_page(body):
    with pytest.raises(MalformedResponseError, match="Telegram preview page") as info:
        telegram.parse_preview(body, PAGE_URL)
    assert PAGE_URL in str(info.value)
