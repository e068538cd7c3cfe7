"""YouTube: planning channel/playlist feeds and reading the videos.xml Atom feed (a real feed
from the shared corpus, recorded by feedjira)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.core.social import youtube
from scraper.core.social.common import MalformedResponseError, UnsupportedSourceError

FEED_URL = "http://www.youtube.com/feeds/videos.xml?user=google"


def feed(corpus: Path) -> bytes:
    return (corpus / "social" / "youtube" / "youtube_channel_atom_google.xml").read_bytes()


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("https://www.youtube.com/channel/UCK8sQmJBp8GCxrOtXWBpyEA", "channel_id=UCK8sQmJBp8GCxrOtXWBpyEA"),
        (
            "https://www.youtube.com/playlist?list=PLbpi6ZahtOH6Blw3RGYpWkSByi_T7Rygb",
            "playlist_id=PLbpi6ZahtOH6Blw3RGYpWkSByi_T7Rygb",
        ),
        ("https://m.youtube.com/user/Google", "user=Google"),
        ("https://www.youtube.com/feeds/videos.xml?channel_id=UCx", "channel_id=UCx"),
    ],
)
def test_plan_feed(url, query):
    [endpoint] = youtube.plan(url, None)
    assert endpoint.url == f"https://www.youtube.com/feeds/videos.xml?{query}"
    assert endpoint.kind == "youtube.feed"


def test_plan_api_overrides_the_host():
    [endpoint] = youtube.plan("https://www.youtube.com/channel/UCx", "http://127.0.0.1:8085")
    assert endpoint.url == "http://127.0.0.1:8085/feeds/videos.xml?channel_id=UCx"


def test_plan_handle_explains_what_to_use_instead():
    with pytest.raises(UnsupportedSourceError, match="channel ID") as info:
        youtube.plan("https://www.youtube.com/@Google", None)
    assert "https://www.youtube.com/@Google" in str(info.value)


@pytest.mark.parametrize(
    "url", ["https://www.youtube.com/watch?v=5shykyfmb28", "https://vimeo.com/channels/x"]
)
def test_plan_unrecognised_url(url):
    with pytest.raises(UnsupportedSourceError, match="https://www.youtube.com/channel/UC"):
        youtube.plan(url, None)


def test_videos(corpus):
    page = youtube.parse_feed(feed(corpus), FEED_URL)
    assert len(page.observations) == 15
    video = page.observations[0]
    assert video.url == "https://www.youtube.com/watch?v=5shykyfmb28"
    assert video.content.title == "The Google app: Questions Title"
    assert video.content.text.startswith("A question is the most powerful force in the world.")
    assert video.content.byline == "Google"
    assert video.content.published == datetime(2015, 5, 4, 0, 1, 27, tzinfo=UTC)
    assert video.content.modified is None  # <updated> moves with the statistics: metadata only
    assert video.content.metadata["updated"] == "2015-05-13T17:38:30+00:00"
    assert video.content.metadata["channel_id"] == "UCK8sQmJBp8GCxrOtXWBpyEA"
    assert video.measurements == {"views": 251497, "likes": 3546, "rating": 4.79}
    assert "251497" not in video.content.text


def test_description_links_are_candidates(corpus):
    page = youtube.parse_feed(feed(corpus), FEED_URL)
    assert page.observations[0].links == ("http://www.google.com/search/about/download",)
    assert page.candidates[0].url == "http://www.google.com/search/about/download"
    assert page.candidates[0].raw["post_url"] == "https://www.youtube.com/watch?v=5shykyfmb28"
    assert page.next_page is None


@pytest.mark.parametrize("body", [b"", b'{"error": "nope"}', b"<html><body>Consent required</body></html>"])
def test_not_a_feed(body):
    with pytest.raises(MalformedResponseError, match="videos.xml") as info:
        youtube.parse_feed(body, FEED_URL)
    assert FEED_URL in str(info.value)


def test_raw_entry_is_json_data(corpus):
    import json

    video = youtube.parse_feed(feed(corpus), FEED_URL).observations[0]
    assert json.loads(json.dumps(video.raw))["yt_videoid"] == "5shykyfmb28"
