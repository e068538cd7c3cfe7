"""Mastodon: planning, statuses, threads, edit histories and errors.

Real responses come from the shared corpus (Mastodon.py's recorded cassettes); the Valdai tag
timeline, edit history and error bodies are our own fixtures (tests/fixtures/social/).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from scraper.core.social import mastodon
from scraper.core.social.common import (
    CredentialsRequiredError,
    MalformedResponseError,
    PlatformError,
    PublicTimelineDisabledError,
    UnsupportedSourceError,
)
from scraper.core.types import Channel

FIXTURES = Path(__file__).parent / "fixtures" / "social"
TAG_URL = "http://127.0.0.1:8081/api/v1/timelines/tag/Valdai?limit=40"
HISTORY_URL = "http://127.0.0.1:8081/api/v1/statuses/115803101993300777/history"
EDITED_POST = "https://mastodon.social/@osint_nord/115803101993300777"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def cassette(corpus: Path, name: str, index: int) -> tuple[str, bytes]:
    """(request URI, response body) of one interaction of a Mastodon.py cassette."""
    interactions = yaml.safe_load((corpus / "social" / "mastodon-py" / name).read_text())["interactions"]
    interaction = interactions[index]
    return interaction["request"]["uri"], interaction["response"]["body"]["string"].encode()


# -- planning ---------------------------------------------------------------------------------------


def test_plan_tag_timeline_on_the_instance_named_in_the_url():
    [endpoint] = mastodon.plan("https://mastodon.social/tags/Valdai", None)
    assert endpoint.url == "https://mastodon.social/api/v1/timelines/tag/Valdai?limit=40"
    assert endpoint.kind == "mastodon.timeline"
    assert endpoint.params == {"limit": "40"}


def test_plan_api_base_overrides_the_host():
    [endpoint] = mastodon.plan("https://mastodon.social/tags/Valdai", "http://127.0.0.1:8081/")
    assert endpoint.url == TAG_URL


def test_plan_account_is_a_lookup_then_its_statuses():
    [lookup] = mastodon.plan("https://mastodon.social/@newsdesk_eu@kyiv.social", None)
    assert lookup.kind == "mastodon.account_lookup"
    assert lookup.url == "https://mastodon.social/api/v1/accounts/lookup?acct=newsdesk_eu%40kyiv.social"
    base = mastodon.api_base("https://mastodon.social/@newsdesk_eu", None)
    assert mastodon.statuses_url(base, "109301122334455667") == (
        "https://mastodon.social/api/v1/accounts/109301122334455667/statuses?limit=40"
    )


def test_plan_one_status_reads_it_and_its_history():
    endpoints = mastodon.plan("https://mastodon.social/@osint_nord/115803101993300777", None)
    assert [e.kind for e in endpoints] == ["mastodon.status", "mastodon.history"]
    assert endpoints[1].url.endswith("/api/v1/statuses/115803101993300777/history")


def test_plan_public_local_timeline():
    [endpoint] = mastodon.plan("https://mastodon.social/public/local", None)
    assert endpoint.url == "https://mastodon.social/api/v1/timelines/public?limit=40&local=true"


def test_plan_search_needs_credentials():
    with pytest.raises(CredentialsRequiredError, match="access token"):
        mastodon.plan("https://mastodon.social/search?q=Valdai", None)
    [endpoint] = mastodon.plan("https://mastodon.social/search?q=Valdai", None, credentials=True)
    assert endpoint.needs_credentials
    assert endpoint.params == {"q": "Valdai", "type": "statuses", "limit": "40"}


@pytest.mark.parametrize(
    "url",
    ["https://mastodon.social/about", "https://mastodon.social/", "mastodon.social/tags/x", "ftp://a/tags/b"],
)
def test_plan_unrecognised_url_names_it_and_the_expected_forms(url):
    with pytest.raises(UnsupportedSourceError) as info:
        mastodon.plan(url, None)
    assert url in str(info.value)
    assert "https://INSTANCE/tags/TAG" in str(info.value)


# -- statuses (real responses) ----------------------------------------------------------------------


def test_status_with_spoiler_edit_media_and_hashtag(corpus):
    uri, body = cassette(corpus, "test_entity_status.yaml", 0)
    [post] = mastodon.parse_statuses(body, uri).observations
    assert post.url == "https://icosahedron.website/@halcy/110446222386355655"
    assert post.channel is Channel.API
    assert post.content.title == "test post for mastodon.py stuff"
    assert post.content.text.startswith("@halcy you're a doo-doo head\n\nedit: editing this")
    assert post.content.published == datetime(2023, 5, 28, 12, 6, 50, tzinfo=UTC)
    assert post.content.modified == datetime(2023, 5, 28, 12, 9, 44, tzinfo=UTC)
    assert post.content.language == "de"
    assert post.content.metadata["tags"] == ["ThisIsAHashtag"]
    assert post.content.metadata["media"][0]["description"] == "a furry cube breakdancing"
    assert post.measurements == {"replies": 0, "reposts": 0, "likes": 1, "quotes": 0}
    assert post.links == ()  # a mention and a hashtag, no web link


def test_link_with_preview_card_becomes_a_candidate(corpus):
    uri, body = cassette(corpus, "test_entity_previewcard.yaml", 2)
    page = mastodon.parse_statuses(body, uri)
    link = "https://soundcloud.com/wakarangirl/popstars-dj-wakaran-girl-khard-bass-flex-1"
    assert page.observations[0].links == (link,)
    [candidate] = page.candidates
    assert candidate.url == link
    assert candidate.title == "K/DA - POP/STARS (DJ WAKARAN GIRL Хард Басс FLEX)"
    assert candidate.via == "social"
    assert candidate.raw["post_url"] == "https://mastodon.social/@halcy/110447098625216345"
    assert page.observations[0].content.text.startswith(link + " link to soundcloud")


def test_thread_context_gives_ancestors_then_descendants(corpus):
    uri, body = cassette(corpus, "test_entity_context.yaml", 0)
    page = mastodon.parse_statuses(body, uri)
    assert [o.content.text for o in page.observations] == ["first status", "final status"]
    assert page.next_page is None


def test_tag_timeline_pages_by_max_id(corpus):
    uri, body = cassette(corpus, "test_hashtag_tl.yaml", 2)
    page = mastodon.parse_statuses(body, uri)
    [post] = page.observations
    assert post.content.text == "#hoot (hashtag toot)"
    assert post.content.metadata["tags"] == ["hoot"]
    assert page.next_page == "http://localhost:3000/api/v1/timelines/tag/hoot?max_id=117020593741189701"


def test_v2_search_result_statuses(corpus):
    uri, body = cassette(corpus, "test_entity_searchv2.yaml", 2)
    data = json.loads(body)
    page = mastodon.parse_statuses(body, uri)
    assert len(page.observations) == len(data["statuses"])
    assert [o.url for o in page.observations] == [s["url"] or s["uri"] for s in data["statuses"]]


def test_quote_fallback_is_not_text_but_its_link_is_kept(corpus):
    uri, body = cassette(corpus, "test_entity_quote.yaml", 0)
    [post] = mastodon.parse_statuses(body, uri).observations
    assert "RE:" not in post.content.text
    assert "https://bsky.app/profile/did:plc:5syfqzormjkutgo5hi2u2gpr/post/3lwlumdwf522i" in post.links


def test_history_ends_with_the_current_status(corpus):
    """The last version of an edit history is the status as it reads now."""
    status_uri, status_body = cassette(corpus, "test_entity_status.yaml", 0)
    [current] = mastodon.parse_statuses(status_body, status_uri).observations
    uri, body = cassette(corpus, "test_entity_statusedit.yaml", 0)
    versions = mastodon.parse_history(body, uri, document_url=current.url, language="de").observations
    assert [v.content.metadata["edit_index"] for v in versions] == [0, 1]
    assert versions[0].content.text == "@halcy you're a doo-doo head"
    assert versions[0].content.modified is None
    for name in ("title", "byline", "text", "published", "modified", "canonical_url", "language"):
        assert getattr(versions[-1].content, name) == getattr(current.content, name), name


# -- our own fixtures -------------------------------------------------------------------------------


def test_tag_timeline_fixture_observations():
    page = mastodon.parse_statuses(fixture("mastodon_tag_valdai.json"), TAG_URL)
    first, boosted, edited = page.observations
    assert first.url == "https://mastodon.social/@newsdesk_eu/115803337502914563"
    assert first.content.byline == "EU Newsdesk (@newsdesk_eu)"
    assert first.content.text.startswith("Russia says Ukraine fired 91 drones at Putin's residence")
    assert first.content.metadata["tags"] == ["Valdai", "Ukraine"]
    assert first.content.metadata["media"][0]["description"].startswith("Map of the Novgorod region")
    assert first.measurements == {"replies": 14, "reposts": 57, "likes": 102, "quotes": 3}
    assert edited.content.title == "unverified claim"
    assert edited.content.modified == datetime(2025, 12, 30, 8, 2, 45, 551000, tzinfo=UTC)


def test_engagement_counts_never_enter_the_content():
    page = mastodon.parse_statuses(fixture("mastodon_tag_valdai.json"), TAG_URL)
    first = page.observations[0]
    assert "102" not in first.content.text
    assert not {"likes", "favourites_count", "reblogs_count"} & set(first.content.metadata)


def test_boost_is_unwrapped_to_the_boosted_post():
    boosted = mastodon.parse_statuses(fixture("mastodon_tag_valdai.json"), TAG_URL).observations[1]
    assert boosted.url == "https://kyiv.social/@factcheck/115803389870000123"
    assert boosted.content.byline == "Factcheck UA (@factcheck@kyiv.social)"
    assert boosted.content.text.startswith("Жодних підтверджень атаки")
    assert boosted.content.language == "uk"
    assert boosted.content.metadata["boosted_by"] == "lake_watcher"
    assert boosted.measurements["reposts"] == 211


def test_candidates_skip_mentions_and_hashtags_and_carry_the_card():
    page = mastodon.parse_statuses(fixture("mastodon_tag_valdai.json"), TAG_URL)
    assert [c.url for c in page.candidates] == [
        "https://news.example/2025/12/29/putin-residence-drone-claim",
        "https://factcheck.example/valdai-claim",
    ]
    card = page.candidates[0]
    assert card.title == "Kremlin says Ukraine targeted Putin's Valdai residence"
    assert (card.summary or "").startswith("Moscow will revise its stance")
    assert card.published == datetime(2025, 12, 29, 18, 20, 11, 402000, tzinfo=UTC)


def test_next_page_is_below_the_oldest_timeline_item():
    page = mastodon.parse_statuses(fixture("mastodon_tag_valdai.json"), TAG_URL)
    assert page.next_page == TAG_URL + "&max_id=115803101993300777"


def test_edit_history_gives_every_version_in_order():
    page = mastodon.parse_history(
        fixture("mastodon_history_valdai.json"), HISTORY_URL, document_url=EDITED_POST
    )
    texts = [o.content.text for o in page.observations]
    assert texts[0] == "Kremlin claims a drone attack on the Valdai residence. No footage so far."
    assert '"several dozen"' in texts[1]
    assert texts[2].startswith("Kremlin now says 91 drones")
    assert {o.url for o in page.observations} == {EDITED_POST}
    assert [o.content.modified for o in page.observations] == [
        None,
        datetime(2025, 12, 29, 19, 45, 12, tzinfo=UTC),
        datetime(2025, 12, 30, 8, 2, 45, 551000, tzinfo=UTC),
    ]
    assert {o.content.published for o in page.observations} == {
        datetime(2025, 12, 29, 17, 20, 7, 118000, tzinfo=UTC)
    }
    assert [o.content.title for o in page.observations] == [None, None, "unverified claim"]


def test_edit_history_keeps_links_that_later_versions_dropped():
    page = mastodon.parse_history(
        fixture("mastodon_history_valdai.json"), HISTORY_URL, document_url=EDITED_POST
    )
    assert [c.url for c in page.candidates] == ["https://wire.example/tass-valdai-first-report"]


def test_edit_history_out_of_order_is_sorted():
    edits = json.loads(fixture("mastodon_history_valdai.json"))
    body = json.dumps(list(reversed(edits))).encode()
    page = mastodon.parse_history(body, HISTORY_URL, document_url=EDITED_POST)
    assert page.observations[0].content.text.startswith("Kremlin claims a drone attack")


def test_history_of_a_deleted_status_reports_it_gone():
    page = mastodon.parse_history(fixture("mastodon_not_found.json"), HISTORY_URL, document_url=EDITED_POST)
    assert page.gone_ids == ["115803101993300777"]
    assert page.observations == []


def test_deleted_status_reports_its_id_gone():
    url = "http://127.0.0.1:8081/api/v1/statuses/115803101993300777"
    assert mastodon.parse_statuses(fixture("mastodon_not_found.json"), url).gone_ids == ["115803101993300777"]


def test_account_lookup_gives_the_id(corpus):
    uri, body = cassette(corpus, "test_entity_status.yaml", 1)
    account = json.dumps(json.loads(body)["account"]).encode()
    assert (
        mastodon.parse_account(account, "https://mastodon.social/api/v1/accounts/lookup?acct=halcy") == "43"
    )


# -- errors -----------------------------------------------------------------------------------------


def test_disabled_public_timeline_says_to_configure_a_token():
    with pytest.raises(PublicTimelineDisabledError) as info:
        mastodon.parse_statuses(fixture("mastodon_timeline_disabled.json"), TAG_URL)
    message = str(info.value)
    assert TAG_URL in message
    assert "disables public timelines" in message
    assert "configure an access token" in message


def test_empty_answer_from_a_timeline_is_a_disabled_timeline():
    with pytest.raises(PublicTimelineDisabledError, match="empty answer"):
        mastodon.parse_statuses(b"", TAG_URL)


def test_invalid_token_is_a_credentials_error():
    with pytest.raises(CredentialsRequiredError, match="access token is invalid"):
        mastodon.parse_statuses(fixture("mastodon_invalid_token.json"), TAG_URL)


def test_malformed_json_names_the_url_and_cause():
    with pytest.raises(MalformedResponseError) as info:
        mastodon.parse_statuses(fixture("mastodon_malformed.json"), TAG_URL)
    assert TAG_URL in str(info.value)
    assert "malformed JSON" in str(info.value)


def test_a_history_is_not_a_timeline_and_vice_versa():
    with pytest.raises(MalformedResponseError, match="statuses"):
        mastodon.parse_statuses(fixture("mastodon_history_valdai.json"), TAG_URL)
    with pytest.raises(MalformedResponseError, match="edit history"):
        mastodon.parse_history(fixture("mastodon_tag_valdai.json"), HISTORY_URL, document_url=EDITED_POST)


def test_other_error_bodies_are_platform_errors(corpus):
    uri, body = cassette(corpus, "test_timeline_link_fails.yaml", 1)
    assert json.loads(body) == {"error": "Record not found"}
    with pytest.raises(PlatformError, match="Record not found") as info:
        mastodon.parse_statuses(body, uri)  # a 404 that is not about a status: an error, not a deletion
    assert uri in str(info.value)
    with pytest.raises(PlatformError, match="Record not found"):
        mastodon.parse_account(body, "https://mastodon.social/api/v1/accounts/lookup?acct=nobody")
    with pytest.raises(PlatformError, match="Validation failed"):
        mastodon.parse_statuses(b'{"error":"Validation failed: Text can\'t be blank"}', TAG_URL)
