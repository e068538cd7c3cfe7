"""Source adapters on their own: the registry, one shape for every kind, site discovery, and
the pure helpers. A real Fetcher against a local server; no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import scraper.sources
from jobs.discovery import candidate_text, slug_words
from scraper.core.types import Candidate
from scraper.http import FetchConfig, Fetcher
from scraper.sources import (
    PollResult,
    SourceFetchError,
    SourceParseError,
    SourceSpec,
    StorySpec,
    UnknownKindError,
    Validators,
    adapter_for,
    kinds,
    register,
)
from scraper.sources.base import SourceError, first_per_url, newest_first
from scraper.sources.discover import discover_sources
from scraper.sources.feed import poll_feed
from scraper.sources.sitemap import poll_sitemap
from tests.test_poll import fixture_bytes


@pytest.fixture
async def fetcher():
    async def no_dns(host: str) -> list[str]:
        raise OSError(f"no DNS in tests ({host})")

    config = FetchConfig(
        allow_hosts=("127.0.0.1", "localhost"), per_host_delay=0.0, retries=0, total_timeout=5.0
    )
    async with Fetcher(config, resolve=no_dns) as f:
        yield f


def spec(kind: str, url: str, **params: object) -> SourceSpec:
    return SourceSpec(name="src", kind=kind, url=url, params=params)


# --- the registry -------------------------------------------------------------------------------------


def test_every_builtin_kind_has_an_adapter():
    assert {"feed", "sitemap", "page", "search"} <= set(kinds())
    assert adapter_for("feed") is poll_feed and adapter_for("sitemap") is poll_sitemap
    for kind in ("page", "search"):
        assert callable(adapter_for(kind))


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(UnknownKindError) as raised:
        adapter_for("carrier-pigeon")
    assert "'carrier-pigeon'" in str(raised.value) and "feed" in str(raised.value)


async def test_a_registered_adapter_is_used_for_its_kind(monkeypatch, fetcher):
    monkeypatch.setattr(scraper.sources, "_registered", dict(scraper.sources._registered))

    async def poll_pigeon(fetcher, source, *, stories):
        return PollResult(candidates=[Candidate(url=f"https://coop.example/{s.slug}") for s in stories])

    register("pigeon", poll_pigeon)
    adapter = adapter_for("pigeon")
    result = await adapter(fetcher, spec("pigeon", "https://coop.example/"), stories=[StorySpec("a", "q")])
    assert [c.url for c in result.candidates] == ["https://coop.example/a"] and "pigeon" in kinds()


def test_source_error_text_names_source_url_and_cause():
    error = SourceParseError("http://n.example/rss", "not a usable feed: empty", source="world")
    assert str(error) == "http://n.example/rss: not a usable feed: empty" and error.source == "world"
    again = SourceFetchError("http://n.example/rss", "http://n.example/rss: timed out")
    assert str(again) == "http://n.example/rss: timed out" and isinstance(again, SourceError)


# --- adapters return plain values ---------------------------------------------------------------------


async def test_feed_adapter_returns_named_candidates_and_aligned_observations(server, fetcher):
    server.route(
        "/rss.xml",
        fixture_bytes("good/rss.xml", base=server.base),
        content_type="application/rss+xml",
        headers={"ETag": '"e1"', "Last-Modified": "Tue, 30 Dec 2025 10:00:00 GMT"},
    )
    result = await poll_feed(fetcher, spec("feed", server.url("/rss.xml")))
    assert [c.source_name for c in result.candidates] == ["src"] * 3
    assert [o.url for o in result.observations] == [c.url for c in result.candidates]
    assert result.validators == Validators('"e1"', "Tue, 30 Dec 2025 10:00:00 GMT")
    assert result.candidates[0].url.endswith("/2026/01/02/kyiv-winter-power-cuts")  # newest first
    capped = await poll_feed(fetcher, spec("feed", server.url("/rss.xml"), max_items=2))
    assert len(capped.candidates) == 2 == len(capped.observations)
    assert "1 older entries left out (max_items = 2)" in capped.warnings[0]


async def test_feed_adapter_errors_are_typed(server, fetcher):
    server.route("/empty", b"", content_type="application/rss+xml")
    server.route("/gone", b"", status=410)
    with pytest.raises(SourceParseError, match="the response body is empty"):
        await poll_feed(fetcher, spec("feed", server.url("/empty")))
    with pytest.raises(SourceFetchError, match="HTTP 410"):
        await poll_feed(fetcher, spec("feed", server.url("/gone")))


async def test_sitemap_adapter_reads_a_plain_text_sitemap(server, fetcher):
    server.route(
        "/sitemap.txt",
        f"{server.base}/2025/12/30/a-b-c\n{server.base}/2025/12/31/d-e-f\n",
        content_type="text/plain",
    )
    result = await poll_sitemap(fetcher, spec("sitemap", server.url("/sitemap.txt")))
    assert [c.url for c in result.candidates] == [
        server.url("/2025/12/30/a-b-c"),
        server.url("/2025/12/31/d-e-f"),
    ]


async def test_sitemap_source_at_a_site_root_without_robots_sitemaps_tries_sitemap_xml(server, fetcher):
    server.route(
        "/sitemap.xml",
        fixture_bytes("good/sitemap_month.xml", base=server.base),
        content_type="application/xml",
    )
    result = await poll_sitemap(fetcher, spec("sitemap", server.url("/")))
    assert len(result.candidates) == 3 and "robots.txt lists no Sitemap: lines" in result.warnings[0]


# --- discovery ------------------------------------------------------------------------------------------


async def test_discover_finds_announced_feeds_robots_sitemaps_and_the_page(server, fetcher):
    base = server.base
    server.route("/", fixture_bytes("good/front.html", base=base))
    server.route("/rss.xml", fixture_bytes("good/rss.xml", base=base), content_type="application/rss+xml")
    server.route("/atom.xml", fixture_bytes("good/atom.xml", base=base), content_type="application/atom+xml")
    server.route(
        "/robots.txt",
        f"Sitemap: {base}/sitemap_index.xml\nSitemap: {base}/missing.xml\n",
        content_type="text/plain",
    )
    server.route("/sitemap_index.xml", fixture_bytes("good/sitemap_index.xml", base=base))
    found = await discover_sources(fetcher, server.url("/"))
    offers = {(o.kind, o.url): o for o in found.offers}
    assert set(offers) == {
        ("page", server.url("/")),
        ("feed", server.url("/rss.xml")),
        ("feed", server.url("/atom.xml")),
        ("sitemap", server.url("/sitemap_index.xml")),
    }
    assert offers[("feed", server.url("/rss.xml"))].title == "Ledger World"
    assert offers[("feed", server.url("/rss.xml"))].items == 3
    assert offers[("feed", server.url("/atom.xml"))].found_by == "<link rel=alternate>"
    assert offers[("sitemap", server.url("/sitemap_index.xml"))].found_by == "robots.txt"
    assert any("missing.xml" in w and "HTTP 404" in w for w in found.warnings)
    assert server.hits("/feed") == 0  # announced feeds found: no probing


async def test_discover_probes_common_paths_when_nothing_is_announced(server, fetcher):
    server.route("/", "<html><body><p>Hello</p></body></html>")
    server.route("/feed", fixture_bytes("good/rss.xml", base=server.base), content_type="application/rss+xml")
    server.route("/sitemap.xml", fixture_bytes("good/sitemap_month.xml", base=server.base))
    found = await discover_sources(fetcher, server.url("/"))
    assert [(o.kind, o.url, o.found_by) for o in found.offers] == [
        ("feed", server.url("/feed"), "common path"),
        ("sitemap", server.url("/sitemap.xml"), "common path"),
    ]
    assert found.warnings == []


async def test_discover_a_feed_url_offers_it_alone(server, fetcher):
    server.route(
        "/feed.json", fixture_bytes("good/feed.json", base=server.base), content_type="application/feed+json"
    )
    found = await discover_sources(fetcher, server.url("/feed.json"))
    assert [(o.kind, o.found_by, o.items) for o in found.offers] == [("feed", "the URL itself", 2)]


async def test_discover_a_dead_url_is_an_error_naming_it(server, fetcher):
    with pytest.raises(SourceFetchError, match="HTTP 404"):
        await discover_sources(fetcher, server.url("/nothing"))


# --- pure helpers -----------------------------------------------------------------------------------------

NOW = datetime(2025, 12, 30, tzinfo=UTC)
dates = st.one_of(st.none(), st.integers(0, 1000).map(lambda h: NOW - timedelta(hours=h)))
candidates = st.lists(
    st.builds(Candidate, url=st.integers(0, 50).map(lambda i: f"https://n.example/{i}"), updated=dates),
    max_size=30,
)


@given(candidates, st.integers(0, 40))
def test_newest_first_keeps_the_newest_and_counts_the_rest(items, limit):
    kept, cut = newest_first(items, limit)
    assert len(kept) == min(limit, len(items)) and cut == len(items) - len(kept)
    dated = [c.updated for c in kept if c.updated]
    assert dated == sorted(dated, reverse=True)
    assert all(c.updated for c in kept[: len(dated)])  # undated ones come last
    all_dated = sorted((c.updated for c in items if c.updated), reverse=True)
    assert dated == all_dated[: len(dated)]


@given(candidates)
def test_first_per_url_keeps_order_and_first_occurrences(items):
    unique = first_per_url(items)
    assert [c.url for c in unique] == list(dict.fromkeys(c.url for c in items))
    assert all(any(c is item for item in items) for c in unique)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://n.example/2025/12/30/putin-residence-drone-claim", "putin residence drone claim"),
        ("https://n.example/world/europe/kremlin_peace_talks.html", "kremlin peace talks"),
        ("https://n.example/news/123456789", None),
        ("https://n.example/", None),
        ("https://n.example/a/valdai-residence-claim/amp", "valdai residence claim"),
    ],
)
def test_slug_words(url, words):
    assert slug_words(url) == words


@given(st.text(max_size=80))
def test_slug_words_never_fails(path):
    result = slug_words("https://n.example/" + path)
    assert result is None or len(result.split()) >= 2


def test_candidate_text_falls_back_to_the_url_words():
    text = candidate_text(None, None, "https://n.example/2025/12/30/putin-residence-drone-claim")
    assert "putin" in text.fields.vocabulary and "residence" in text.fields.vocabulary
    titled = candidate_text("Kremlin talks", None, "https://n.example/2025/12/30/putin-residence-drone-claim")
    assert "putin" not in titled.fields.vocabulary
