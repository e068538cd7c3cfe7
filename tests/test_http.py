"""scraper.http: the Fetcher against real servers on 127.0.0.1, and its pure decisions.

Time is fake (tests.hostile.FakeTime): every politeness wait and retry back-off is recorded in
``fake.sleeps`` instead of being slept. Nothing here reaches the internet: addresses such as
10.0.0.1 or 169.254.169.254 only ever come out of an injected resolver, and the tests assert that
no request was sent to them.
"""

from __future__ import annotations

import asyncio
import gzip
import pickle
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.http import (
    ACCEPT_ENCODING,
    BadResponse,
    BadURL,
    BlockedAddress,
    BodyReader,
    BodyTooLarge,
    ConnectFailed,
    FetchConfig,
    Fetcher,
    FetchError,
    FetchResult,
    FetchTimeout,
    RobotsDenied,
    Throttled,
    TooManyRedirects,
    blocked_reason,
    is_blocked_ip,
    next_start,
    parse_allow,
    parse_retry_after,
    redirect_message,
    retry_delay,
    robots_token,
    robots_ttl,
    robots_url,
    should_retry,
)
from tests.hostile import (
    START,
    ConcurrencyProbe,
    FakeTime,
    RecordingTransport,
    closed_port,
    fake_dns,
    gzip_bomb,
)
from tests.localserver import LocalServer, Reply, Request

FIXTURES = Path(__file__).parent / "fixtures" / "http"
LOCAL = {"allow_hosts": ("127.0.0.1",), "per_host_delay": 0.0, "connect_timeout": 2.0, "read_timeout": 2.0}


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def fetcher(fake: FakeTime, transport: httpx.AsyncBaseTransport | None = None, **config: Any) -> Fetcher:
    resolve = config.pop("resolve", None)
    cfg = FetchConfig(**{**LOCAL, **config})
    return Fetcher(cfg, clock=fake.clock, sleep=fake.sleep, transport=transport, resolve=resolve)


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, body.encode(), {"Content-Type": "text/html; charset=utf-8", **(headers or {})})


# --------------------------------------------------------------------------- plain fetches


async def test_plain_200_sends_our_user_agent(server: LocalServer, fake: FakeTime) -> None:
    server.route("/a", "<p>Valdai</p>")
    async with fetcher(fake, user_agent="storytrail-test/9 (+https://example.org)") as f:
        result = await f.fetch(server.url("/a"))
    assert result.status == 200
    assert result.body == b"<p>Valdai</p>"
    assert result.text == "<p>Valdai</p>"
    assert result.charset == "utf-8"
    assert result.final_url == result.url == server.url("/a")
    assert result.redirects == ()
    assert result.http_version == "HTTP/1.1"
    assert result.fetched_at == START and result.fetched_at.tzinfo is not None
    assert result.header("CONTENT-TYPE") == "text/html; charset=utf-8"
    page = [r for r in server.requests if r.path == "/a"][0]
    assert page.headers["user-agent"] == "storytrail-test/9 (+https://example.org)"
    assert page.headers["accept-encoding"] == ACCEPT_ENCODING
    assert all(r.headers["user-agent"].startswith("storytrail-test/9") for r in server.requests)
    assert ("User-Agent", "storytrail-test/9 (+https://example.org)") in result.request_headers


async def test_connections_are_kept_alive_and_the_peer_is_known_even_for_a_304(
    server: LocalServer, fake: FakeTime
) -> None:
    """The default transport (scraper.http_transport, aiohttp) keeps one connection for a host's
    requests and tells the address guard where each went: a 304 gives its connection back to the
    pool before the Fetcher sees it, so the peer is taken when the connection is handed out."""
    from scraper.http_transport import AiohttpTransport

    server.route("/k", "<p>Valdai</p>")
    server.route("/n", handler=lambda req: Reply(status=304, headers={"ETag": '"v1"'}))
    async with fetcher(fake) as f:
        transport = f._client._transport  # type: ignore[attr-defined]
        assert isinstance(transport, AiohttpTransport)
        first = await f.fetch(server.url("/k"))
        second = await f.fetch(server.url("/k"))
        request = f._client.build_request("GET", server.url("/n"))
        answer = await f._client.send(request, stream=True)
        await answer.aclose()
        pooled = sum(len(c) for c in transport._session.connector._conns.values())  # type: ignore[union-attr]
    assert first.body == second.body == b"<p>Valdai</p>"
    assert answer.status_code == 304
    assert answer.extensions["network_stream"].get_extra_info("server_addr")[0] == "127.0.0.1"
    assert answer.extensions["http_version"] == b"HTTP/1.1"
    assert pooled == 1  # every request on one kept-alive connection


def test_through_a_proxy_the_pool_streams_look_their_socket_up_once() -> None:
    """Through a proxy the transport is httpcore's, its pool's streams scraper.http._Stream (a
    renamed httpcore attribute would drop the wrapper silently: this says so); a closed
    connection counts as readable (expired)."""
    from scraper.http import _Backend, _readable, _transport

    transport = _transport(FetchConfig(**LOCAL), "http://127.0.0.1:9")
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    assert isinstance(transport._pool._network_backend, _Backend)  # type: ignore[attr-defined]
    assert _readable(None) is True


async def test_404_is_a_result_not_an_error(server: LocalServer, fake: FakeTime) -> None:
    async with fetcher(fake) as f:
        result = await f.fetch(server.url("/missing"))
    assert result.status == 404
    assert result.body == b"not found"


async def test_conditional_get_returns_304(server: LocalServer, fake: FakeTime) -> None:
    def handler(req: Request) -> Reply:
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        return html("<p>v1</p>", headers={"ETag": '"v1"', "Last-Modified": "Tue, 30 Dec 2025 10:00:00 GMT"})

    server.route("/story", handler=handler)
    async with fetcher(fake) as f:
        first = await f.fetch(server.url("/story"))
        second = await f.fetch(server.url("/story"), etag=first.etag, last_modified=first.last_modified)
    assert (first.status, first.etag, first.last_modified) == (200, '"v1"', "Tue, 30 Dec 2025 10:00:00 GMT")
    assert second.status == 304
    assert second.body == b""
    sent = [r for r in server.requests if r.path == "/story"][1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Tue, 30 Dec 2025 10:00:00 GMT"


async def test_accept_header_can_be_chosen(server: LocalServer, fake: FakeTime) -> None:
    server.route("/feed", "<rss/>", content_type="application/rss+xml")
    async with fetcher(fake) as f:
        await f.fetch(server.url("/feed"), accept="application/rss+xml")
    assert [r for r in server.requests if r.path == "/feed"][0].headers["accept"] == "application/rss+xml"


async def test_wrong_charset_declaration_is_decoded_correctly(server: LocalServer, fake: FakeTime) -> None:
    utf8 = (FIXTURES / "utf8-no-meta.html").read_bytes()
    cp1252 = (FIXTURES / "cp1252-meta.html").read_bytes()
    server.route("/utf8", utf8, content_type="text/html; charset=iso-8859-1")
    server.route("/cp1252", cp1252, content_type="text/html; charset=utf-8")
    async with fetcher(fake) as f:
        utf8_result = await f.fetch(server.url("/utf8"))
        cp1252_result = await f.fetch(server.url("/cp1252"))
    assert utf8_result.charset == "utf-8"
    assert "Путин — Валдай" in utf8_result.text
    assert cp1252_result.charset == "cp1252"
    assert "Noël à Valdaï" in cp1252_result.text


def test_result_text_without_charset_uses_decode_html() -> None:
    result = FetchResult(
        url="http://x/", final_url="http://x/", status=200, body="Путин".encode(),
        headers=(("content-type", "text/html; charset=latin1"),), fetched_at=START,
        elapsed=0.0, http_version="HTTP/1.1", request_headers=(),
    )  # fmt: skip
    assert result.text == "Путин"
    assert result.etag is None


# --------------------------------------------------------------------------- robots.txt


async def test_robots_denies_and_the_page_is_never_requested(server: LocalServer, fake: FakeTime) -> None:
    server.route("/robots.txt", (FIXTURES / "robots-crawl-delay.txt").read_bytes(), content_type="text/plain")
    server.route("/private/secret", "<p>secret</p>")
    async with fetcher(fake) as f:
        with pytest.raises(RobotsDenied) as caught:
            await f.fetch(server.url("/private/secret"))
        assert await f.robots_allowed(server.url("/private/secret")) is False
        assert await f.robots_allowed(server.url("/public")) is True
    assert server.hits("/private/secret") == 0
    robots = server.url("/robots.txt")
    assert (
        str(caught.value)
        == f"{server.url('/private/secret')}: disallowed by {robots} for user-agent storytrail"
    )


async def test_robots_can_be_skipped(server: LocalServer, fake: FakeTime) -> None:
    server.route("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    server.route("/a", "<p>a</p>")
    async with fetcher(fake) as f:
        assert (await f.fetch(server.url("/a"), robots=False)).status == 200
    async with fetcher(fake, respect_robots=False) as f:
        assert (await f.fetch(server.url("/a"))).status == 200
        assert await f.robots_allowed(server.url("/a")) is True
    assert server.hits("/robots.txt") == 0


async def test_robots_fetched_once_per_host_and_again_after_ttl(server: LocalServer, fake: FakeTime) -> None:
    server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    for name in "abcd":
        server.route(f"/{name}", f"<p>{name}</p>")
    async with fetcher(fake) as f:
        await asyncio.gather(*(f.fetch(server.url(f"/{n}")) for n in "abc"))
        assert server.hits("/robots.txt") == 1
        fake.advance(robots_ttl(200) + 1)
        await f.fetch(server.url("/d"))
    assert server.hits("/robots.txt") == 2


async def test_robots_404_allows_everything(server: LocalServer, fake: FakeTime) -> None:
    server.route("/a", "<p>a</p>")
    async with fetcher(fake) as f:
        assert (await f.fetch(server.url("/a"))).status == 200
        assert await f.sitemaps_from_robots(server.url("/")) == []
        assert await f.crawl_delay(server.url("/")) is None
    assert server.hits("/robots.txt") == 1


async def test_robots_5xx_disallows_the_site_for_a_while(server: LocalServer, fake: FakeTime) -> None:
    server.route("/robots.txt", "down", status=503)
    server.route("/a", "<p>a</p>")
    async with fetcher(fake, retries=1) as f:
        with pytest.raises(RobotsDenied, match=r"answered HTTP 503.*RFC 9309"):
            await f.fetch(server.url("/a"))
        server.route("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        with pytest.raises(RobotsDenied):
            await f.fetch(server.url("/a"))  # still cached
        fake.advance(robots_ttl(503) + 1)
        assert (await f.fetch(server.url("/a"))).status == 200
    assert server.hits("/robots.txt") == 3  # 503, its one retry, then the 200 after the TTL
    assert server.hits("/a") == 1


async def test_crawl_delay_spaces_requests(server: LocalServer, fake: FakeTime) -> None:
    server.route("/robots.txt", (FIXTURES / "robots-crawl-delay.txt").read_bytes(), content_type="text/plain")
    for name in "abc":
        server.route(f"/{name}", f"<p>{name}</p>")
    async with fetcher(fake, per_host_delay=0.5) as f:
        for name in "abc":
            await f.fetch(server.url(f"/{name}"))
        assert await f.crawl_delay(server.url("/")) == 5.0
        assert await f.sitemaps_from_robots(server.url("/")) == [
            "http://news.example/sitemap.xml",
            "http://news.example/news-sitemap.xml",
        ]
    assert fake.sleeps == [5.0, 5.0, 5.0]


async def test_per_host_delay_without_crawl_delay(server: LocalServer, fake: FakeTime) -> None:
    for name in "abc":
        server.route(f"/{name}", f"<p>{name}</p>")
    async with fetcher(fake, per_host_delay=0.5) as f:
        for name in "abc":
            await f.fetch(server.url(f"/{name}"))
    assert fake.sleeps == [0.5, 0.5, 0.5]  # robots.txt, then a, b, c: each 0.5 s after the last


# --------------------------------------------------------------------------- size caps


async def test_content_length_over_the_cap_is_refused_early(server: LocalServer, fake: FakeTime) -> None:
    server.route("/big", b"x" * 2000)
    server.route("/exact", b"x" * 1000)
    async with fetcher(fake, max_body_bytes=1000) as f:
        with pytest.raises(BodyTooLarge, match="Content-Length 2000 exceeds max_body_bytes=1000"):
            await f.fetch(server.url("/big"))
        assert len((await f.fetch(server.url("/exact"))).body) == 1000


async def test_chunked_body_over_the_cap(server: LocalServer, fake: FakeTime) -> None:
    server.route("/stream", handler=lambda _r: Reply(body=iter([b"y" * 300] * 10)))
    async with fetcher(fake, max_body_bytes=1000) as f:
        with pytest.raises(BodyTooLarge, match="larger than max_body_bytes=1000"):
            await f.fetch(server.url("/stream"))


async def test_gzip_bomb_10mb(server: LocalServer, fake: FakeTime) -> None:
    bomb = gzip.compress(bytes(10 * 1024 * 1024))
    assert len(bomb) < 20 * 1024
    server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    async with fetcher(fake, max_body_bytes=1024 * 1024) as f:
        with pytest.raises(BodyTooLarge, match="after decompression"):
            await f.fetch(server.url("/bomb"))


async def test_gzip_bomb_1gb_is_stopped_without_growing_memory(server: LocalServer, fake: FakeTime) -> None:
    server.route(
        "/bomb", handler=lambda _r: Reply(body=gzip_bomb(1024**3), headers={"Content-Encoding": "gzip"})
    )
    tracemalloc.start()
    try:
        async with fetcher(fake, max_body_bytes=1024 * 1024) as f:
            with pytest.raises(BodyTooLarge):
                await f.fetch(server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # a 1 GB body, a 1 MB cap: memory stays near the cap


async def test_gzip_and_deflate_bodies_are_decoded(server: LocalServer, fake: FakeTime) -> None:
    text = b"<p>" + b"Valdai " * 500 + b"</p>"
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    server.route("/gz", gzip.compress(text), headers={"Content-Encoding": "gzip"})
    server.route("/zlib", zlib.compress(text), headers={"Content-Encoding": "deflate"})
    server.route(
        "/raw", raw_deflate.compress(text) + raw_deflate.flush(), headers={"Content-Encoding": "deflate"}
    )
    server.route(
        "/two", gzip.compress(text[:100]) + gzip.compress(text[100:]), headers={"Content-Encoding": "gzip"}
    )
    async with fetcher(fake) as f:
        for path in ("/gz", "/zlib", "/raw", "/two"):
            assert (await f.fetch(server.url(path))).body == text, path


@pytest.mark.parametrize(
    ("body", "encoding", "match"),
    [
        (b"this is not gzip at all", "gzip", "corrupt gzip body"),
        (gzip.compress(b"<p>" * 1000, mtime=0)[:-30], "gzip", "truncated"),
        (b"\x78\x9c garbage", "deflate", "corrupt deflate body"),
        (b"whatever", "compress", "unsupported Content-Encoding 'compress'"),
    ],
)
async def test_corrupt_or_unsupported_compression_is_bad_response(
    server: LocalServer, fake: FakeTime, body: bytes, encoding: str, match: str
) -> None:
    server.route("/c", body, headers={"Content-Encoding": encoding})
    async with fetcher(fake) as f:
        with pytest.raises(BadResponse, match=match):
            await f.fetch(server.url("/c"))


# --------------------------------------------------------------------------- redirects


async def test_redirects_are_followed(server: LocalServer, fake: FakeTime) -> None:
    server.route("/r1", status=301, headers={"Location": "/r2"})
    server.route("/r2", status=302, headers={"Location": server.url("/final")})
    server.route("/final", "<p>final</p>")
    async with fetcher(fake, max_redirects=2) as f:
        result = await f.fetch(server.url("/r1"))
    assert (result.status, result.final_url) == (200, server.url("/final"))
    assert result.redirects == (server.url("/r2"),)


async def test_redirect_loop(server: LocalServer, fake: FakeTime) -> None:
    server.route("/a", status=302, headers={"Location": "/b"})
    server.route("/b", status=302, headers={"Location": "/a"})
    async with fetcher(fake) as f:
        with pytest.raises(TooManyRedirects, match="redirect loop") as caught:
            await f.fetch(server.url("/a"))
    assert f"{server.url('/a')} -> {server.url('/b')} -> {server.url('/a')}" in str(caught.value)
    assert server.hits("/a") + server.hits("/b") == 6  # max_redirects=5: six responses, then stop


async def test_too_many_redirects(server: LocalServer, fake: FakeTime) -> None:
    for i in range(10):
        server.route(f"/c{i}", status=307, headers={"Location": f"/c{i + 1}"})
    async with fetcher(fake, max_redirects=3) as f:
        with pytest.raises(TooManyRedirects, match="more than 3 redirects") as caught:
            await f.fetch(server.url("/c0"))
    assert str(caught.value).endswith(server.url("/c4"))
    assert server.hits("/c4") == 0


async def test_redirect_without_location_is_returned(server: LocalServer, fake: FakeTime) -> None:
    server.route("/odd", "moved, somewhere", status=302)
    async with fetcher(fake) as f:
        assert (await f.fetch(server.url("/odd"))).status == 302


async def test_redirect_to_a_private_address_is_blocked(server: LocalServer, fake: FakeTime) -> None:
    server.route("/to-metadata", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    server.route("/to-intranet", status=302, headers={"Location": "http://intranet.test/admin"})
    transport = RecordingTransport()
    dns = fake_dns({"intranet.test": ["10.0.0.1"]})
    async with fetcher(fake, transport, resolve=dns) as f:
        with pytest.raises(BlockedAddress, match="169.254.169.254 is a link-local address"):
            await f.fetch(server.url("/to-metadata"))
        with pytest.raises(BlockedAddress, match="intranet.test resolves to 10.0.0.1, a private address"):
            await f.fetch(server.url("/to-intranet"))
    assert all(url.startswith(server.base) for url in transport.seen)


async def test_redirect_to_a_scheme_we_do_not_fetch(server: LocalServer, fake: FakeTime) -> None:
    server.route("/ftp", status=301, headers={"Location": "ftp://files.example/x"})
    async with fetcher(fake) as f:
        with pytest.raises(BadURL, match="only http and https"):
            await f.fetch(server.url("/ftp"))


# --------------------------------------------------------------------------- timeouts, failures


async def test_slow_server_times_out(server: LocalServer, fake: FakeTime) -> None:
    server.route("/slow", handler=lambda _r: Reply(body=b"late", delay=2.0))
    async with fetcher(fake, read_timeout=0.3, retries=2) as f:
        with pytest.raises(FetchTimeout, match="read_timeout=0.3s"):
            await f.fetch(server.url("/slow"))
    assert server.hits("/slow") == 1  # a slow server is not retried
    assert fake.sleeps == []


async def test_slow_drip_body_hits_the_total_timeout(server: LocalServer, fake: FakeTime) -> None:
    def drip() -> Iterator[bytes]:
        for _ in range(50):
            yield b"."
            time.sleep(0.1)

    server.route("/drip", handler=lambda _r: Reply(body=drip()))
    async with fetcher(fake, read_timeout=1.0, total_timeout=0.5) as f:
        with pytest.raises(FetchTimeout, match="total_timeout=0.5s"):
            await f.fetch(server.url("/drip"))


async def test_connection_refused_after_retries(fake: FakeTime) -> None:
    url = f"http://127.0.0.1:{closed_port()}/a"
    async with fetcher(fake, retries=2, retry_backoff=1.5, respect_robots=False) as f:
        with pytest.raises(ConnectFailed, match="gave up after 3 attempts") as caught:
            await f.fetch(url)
    assert caught.value.url == url
    assert fake.sleeps == [1.5, 3.0]


async def test_unreachable_host_is_connect_failed_not_robots_denied(fake: FakeTime) -> None:
    port = closed_port()
    async with fetcher(fake, retries=1, retry_backoff=2.0) as f:
        with pytest.raises(ConnectFailed) as caught:
            await f.fetch(f"http://127.0.0.1:{port}/a")
    assert str(caught.value).startswith(
        f"http://127.0.0.1:{port}/a: http://127.0.0.1:{port}/robots.txt could not"
    )
    assert "gave up after 2 attempts" in str(caught.value)
    assert fake.sleeps == [2.0]


async def test_dns_failure_is_connect_failed(fake: FakeTime) -> None:
    async with fetcher(fake, retries=0, resolve=fake_dns({})) as f:
        with pytest.raises(ConnectFailed, match="could not resolve nowhere.test"):
            await f.fetch("http://nowhere.test/")


async def test_bad_urls(fake: FakeTime) -> None:
    async with fetcher(fake) as f:
        for url in ("file:///etc/passwd", "not a url", "http:///path-only"):
            with pytest.raises(BadURL):
                await f.fetch(url)


# --------------------------------------------------------------------------- retries, back-off


async def test_503_then_200_honours_retry_after(server: LocalServer, fake: FakeTime) -> None:
    def handler(_req: Request) -> Reply:
        served = server.hits("/a")
        if served == 1:
            return html("busy", 503, {"Retry-After": "7"})
        if served == 2:
            return html(
                "busy", 503, {"Retry-After": format_datetime(fake.now + timedelta(seconds=30), usegmt=True)}
            )
        return html("<p>ok</p>")

    server.route("/a", handler=handler)
    async with fetcher(fake, retries=3) as f:
        result = await f.fetch(server.url("/a"))
    assert result.status == 200
    assert fake.sleeps == [7.0, 30.0]
    assert server.hits("/a") == 3


async def test_retry_after_beyond_max_wait_gives_up_at_once(server: LocalServer, fake: FakeTime) -> None:
    server.route("/a", handler=lambda _r: html("busy", 503, {"Retry-After": "3600"}))
    server.route("/b", "<p>b</p>")
    async with fetcher(fake, retries=3, retry_max_wait=60.0, respect_robots=False) as f:
        with pytest.raises(Throttled, match="Retry-After 3600s, more than retry_max_wait=60s") as caught:
            await f.fetch(server.url("/a"))
        assert caught.value.retry_at == fake.now + timedelta(seconds=3600)
        assert fake.sleeps == []  # never waited
        with pytest.raises(Throttled, match="asked for a pause"):  # the host's back-off holds
            await f.fetch(server.url("/b"))
        assert server.hits("/b") == 0
        fake.advance(3601)
        assert (await f.fetch(server.url("/b"))).status == 200
    assert server.hits("/a") == 1


async def test_robots_429_with_a_long_retry_after_is_throttled(server: LocalServer, fake: FakeTime) -> None:
    server.route("/robots.txt", handler=lambda _r: html("busy", 429, {"Retry-After": "99999"}))
    server.route("/a", "<p>a</p>")
    async with fetcher(fake, retries=3) as f:
        with pytest.raises(Throttled, match="robots.txt: HTTP 429 with Retry-After 99999s") as caught:
            await f.fetch(server.url("/a"))
    assert caught.value.retry_at == fake.now + timedelta(seconds=99999)
    assert server.hits("/a") == 0 and server.hits("/robots.txt") == 1


async def test_5xx_retries_back_off_exponentially(server: LocalServer, fake: FakeTime) -> None:
    server.route("/a", "oops", status=500)
    async with fetcher(fake, retries=3, retry_backoff=1.0) as f:
        result = await f.fetch(server.url("/a"))
    assert result.status == 500
    assert result.body == b"oops"
    assert server.hits("/a") == 4
    assert fake.sleeps == [1.0, 2.0, 4.0]


async def test_429_slows_the_whole_host(server: LocalServer, fake: FakeTime) -> None:
    server.route("/limited", "slow down", status=429)
    server.route("/b", "<p>b</p>")
    async with fetcher(fake, retries=0, retry_backoff=1.0) as f:
        assert (await f.fetch(server.url("/limited"))).status == 429
        assert (await f.fetch(server.url("/limited"))).status == 429  # waits 1 s (1st strike)
        assert (await f.fetch(server.url("/b"))).status == 200  # waits 2 s (2nd strike), then resets
        assert (await f.fetch(server.url("/b"))).status == 200  # no wait
    assert fake.sleeps == [1.0, 2.0]


async def test_429_with_retry_after_then_success(server: LocalServer, fake: FakeTime) -> None:
    replies = iter([html("wait", 429, {"Retry-After": "3"}), html("<p>ok</p>")])
    server.route("/a", handler=lambda _r: next(replies))
    async with fetcher(fake, retries=2) as f:
        assert (await f.fetch(server.url("/a"))).status == 200
    assert fake.sleeps == [3.0]  # the retry waits once; the host back-off is already served


# --------------------------------------------------------------------------- address guard


async def test_guard_refuses_loopback_when_not_allowed(server: LocalServer, fake: FakeTime) -> None:
    server.route("/a", "<p>a</p>")
    async with fetcher(fake, allow_hosts=()) as f:
        with pytest.raises(BlockedAddress) as caught:
            await f.fetch(server.url("/a"))
    assert server.requests == []
    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert "STORYTRAIL_ALLOW_HOSTS" in str(caught.value)
    assert str(caught.value).startswith(server.url("/a"))


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["10.0.0.1"], "private"),
        (["169.254.169.254"], "link-local"),
        (["::1"], "loopback"),
        (["::ffff:192.168.1.1"], "private"),
        (["93.184.216.34", "172.16.0.5"], "private"),  # one bad address is enough
        (["0.0.0.0"], "unspecified"),
        (["224.0.0.251"], "multicast"),
        (["fe80::1%eth0"], "link-local"),
    ],
)
async def test_guard_refuses_private_addresses_before_connecting(
    fake: FakeTime, addresses: list[str], reason: str
) -> None:
    touched: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        touched.append(request)
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    async with fetcher(fake, transport, allow_hosts=(), resolve=fake_dns({"evil.test": addresses})) as f:
        with pytest.raises(BlockedAddress, match=f"a {reason} address"):
            await f.fetch("http://evil.test/page")
        assert await f.robots_allowed("http://evil.test/page") is False  # robots.txt is guarded too
    assert touched == []


@pytest.mark.parametrize("allow", [("evil.test",), ("10.0.0.0/8",), ("10.0.0.1",), ("EVIL.test.",)])
async def test_allow_hosts_lifts_the_guard(fake: FakeTime, allow: tuple[str, ...]) -> None:
    transport = httpx.MockTransport(lambda req: httpx.Response(200, text="ok"))
    async with fetcher(
        fake, transport, allow_hosts=allow, resolve=fake_dns({"evil.test": ["10.0.0.1"]})
    ) as f:
        assert (await f.fetch("http://evil.test/page")).status == 200


async def test_public_address_with_mock_transport(fake: FakeTime) -> None:
    transport = httpx.MockTransport(lambda req: httpx.Response(200, text="<p>news</p>"))
    async with fetcher(
        fake, transport, allow_hosts=(), resolve=fake_dns({"news.example": ["93.184.216.34"]})
    ) as f:
        result = await f.fetch("https://news.example/story")
    assert (result.status, result.text) == (200, "<p>news</p>")


async def test_connection_to_a_private_peer_is_refused_after_dns_changed(
    server: LocalServer, fake: FakeTime
) -> None:
    """DNS rebinding: the guard saw a public address, the connection went to 127.0.0.1."""
    server.route("/a", "<p>secret</p>")
    async with fetcher(fake, allow_hosts=(), resolve=fake_dns({"localhost": ["93.184.216.34"]})) as f:
        with pytest.raises(BlockedAddress, match="the connection went there"):
            await f.fetch(f"http://localhost:{server.port}/a", robots=False)


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize(("limit", "allowed"), [(1, {1}), (3, {2, 3})])
async def test_per_host_concurrency(
    server: LocalServer, fake: FakeTime, limit: int, allowed: set[int]
) -> None:
    probe = ConcurrencyProbe(linger=0.2)
    server.route("/p", handler=probe)
    async with fetcher(fake, per_host_concurrency=limit, respect_robots=False) as f:
        await asyncio.gather(*(f.fetch(server.url(f"/p?{i}")) for i in range(4)))
    assert probe.max_in_flight in allowed  # the server never saw more than ``limit`` at once


async def test_global_concurrency(server: LocalServer, fake: FakeTime) -> None:
    probe = ConcurrencyProbe(linger=0.2)
    server.route("/p", handler=probe)
    async with fetcher(fake, per_host_concurrency=4, global_concurrency=1, respect_robots=False) as f:
        await asyncio.gather(*(f.fetch(server.url(f"/p?{i}")) for i in range(4)))
    assert probe.max_in_flight == 1


# --------------------------------------------------------------------------- config, errors


def test_config_from_settings_uses_the_full_user_agent() -> None:
    from jobs.settings import Settings

    settings = Settings(allow_hosts=["127.0.0.1", "10.0.0.0/8"], retries=1)
    config = FetchConfig.from_settings(settings)
    assert config.allow_hosts == ("127.0.0.1", "10.0.0.0/8")
    assert config.retries == 1
    assert config.user_agent == settings.full_user_agent
    assert "{contact}" not in config.user_agent


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("total_timeout", 0, "total_timeout must be greater than 0, not 0"),
        ("retries", -1, "retries must be 0 or more, not -1"),
        ("per_host_concurrency", 0, "per_host_concurrency must be at least 1, not 0"),
    ],
)
def test_config_rejects_bad_values(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kwargs: dict[str, Any] = {field: value}
        FetchConfig(**kwargs)


def test_fetch_errors_are_one_line_and_pickle() -> None:
    error = FetchTimeout("http://x/a", "slow\nserver", during_connect=True)
    assert str(error) == "http://x/a: slow server"
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.during_connect) == (FetchTimeout, str(error), True)
    assert isinstance(BodyTooLarge("u", "m"), FetchError)


# --------------------------------------------------------------------------- pure decisions


def test_parse_retry_after() -> None:
    assert parse_retry_after("120", START) == 120.0
    assert parse_retry_after(format_datetime(START + timedelta(seconds=90), usegmt=True), START) == 90.0
    assert parse_retry_after(format_datetime(START - timedelta(days=1), usegmt=True), START) == 0.0
    assert parse_retry_after("soon", START) is None
    assert parse_retry_after("", START) is None
    assert parse_retry_after(None, START) is None


def test_retry_delay() -> None:
    assert [retry_delay(n, None, backoff=1.0, max_wait=60) for n in (1, 2, 3, 7, 8)] == [1, 2, 4, 60, 60]
    assert retry_delay(1, 5.0, backoff=1.0, max_wait=60) == 5.0
    assert retry_delay(1, 500.0, backoff=1.0, max_wait=60) == 60


@given(st.integers(1, 100), st.none() | st.floats(-1e9, 1e9), st.floats(0, 100), st.floats(0, 1e4))
def test_retry_delay_is_bounded(
    attempt: int, retry_after: float | None, backoff: float, max_wait: float
) -> None:
    assert 0 <= retry_delay(attempt, retry_after, backoff=backoff, max_wait=max_wait) <= max_wait


def test_should_retry() -> None:
    assert [s for s in (200, 304, 404, 410, 429, 500, 503, 599) if should_retry(s)] == [429, 500, 503, 599]


def test_next_start() -> None:
    assert next_start(None, 1.0, 0.0) == 0.0
    assert next_start(100.0, 5.0, 0.0) == 105.0
    assert next_start(100.0, 5.0, 200.0) == 200.0


def test_robots_helpers() -> None:
    assert robots_ttl(200) == robots_ttl(404) == 3600
    assert robots_ttl(503) == robots_ttl(429) == robots_ttl(None) == 600
    assert robots_url("HTTPS://News.Example:8443/a/b?c#d") == "https://news.example:8443/robots.txt"
    assert robots_url("http://[::1]:8080/x") == "http://[::1]:8080/robots.txt"
    assert robots_token("storytrail/0.1 (+https://github.com/storytrail)") == "storytrail"
    assert robots_token("MyBot") == "MyBot"
    assert robots_token("/") == robots_token("") == robots_token(" /x") == "*"


def test_redirect_message() -> None:
    assert redirect_message(["a", "b", "a"], 5) == "redirect loop: a -> b -> a"
    assert redirect_message(["a", "b", "c"], 1) == "more than 1 redirects: a -> b -> c"


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.31.255.255", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("0.0.0.0", "unspecified"),
        ("239.1.1.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_blocked_reason(ip: str, reason: str | None) -> None:
    import ipaddress

    assert blocked_reason(ipaddress.ip_address(ip)) == reason
    assert is_blocked_ip(ip) is (reason is not None)


def test_allow_list() -> None:
    allow = parse_allow(["127.0.0.1", " LocalHost ", "10.0.0.0/8", "[::1]", ""])
    assert allow.names == frozenset({"localhost"})
    assert not is_blocked_ip("10.9.9.9", ["10.0.0.0/8"])
    assert not is_blocked_ip("::ffff:127.0.0.1", ["127.0.0.1"])
    assert not is_blocked_ip("::1", ["::1"])
    assert is_blocked_ip("192.168.1.1", ["10.0.0.0/8"])


@given(st.ip_addresses(v=4))
def test_ipv4_mapped_addresses_get_the_ipv4_verdict(ip: Any) -> None:
    import ipaddress

    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert blocked_reason(mapped) == blocked_reason(ip)


# --------------------------------------------------------------------------- body reader


@given(
    st.binary(max_size=5000),
    st.sampled_from(["gzip", "deflate", "raw-deflate", "identity"]),
    st.integers(1, 97),
)
def test_body_reader_round_trips_any_chunking(data: bytes, how: str, step: int) -> None:
    encoded = _encode(data, how)
    reader = BodyReader("http://x/", "deflate" if how == "raw-deflate" else how, cap=len(data) + 1)
    for i in range(0, len(encoded), step):
        reader.feed(encoded[i : i + step])
    assert reader.finish() == data


def test_body_reader_stops_a_1gb_bomb_with_bounded_memory() -> None:
    cap = 1024 * 1024
    reader = BodyReader("http://x/bomb", "gzip", cap=cap)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="http://x/bomb: body is larger than max_body_bytes=1048576"):
            for chunk in gzip_bomb(1024**3):
                reader.feed(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * cap


def test_gzip_bomb_helper_is_what_it_says() -> None:
    assert gzip.decompress(b"".join(gzip_bomb(3 * 1024 * 1024 + 5))) == bytes(3 * 1024 * 1024 + 5)


def test_body_reader_chained_encodings() -> None:
    data = b"<p>twice</p>" * 50
    reader = BodyReader("http://x/", "deflate, gzip", cap=10_000)  # applied deflate first, then gzip
    reader.feed(gzip.compress(zlib.compress(data)))
    assert reader.finish() == data


def test_body_reader_empty_compressed_body() -> None:
    assert BodyReader("http://x/", "gzip", cap=10).finish() == b""


def _encode(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data)
    if how == "deflate":
        return zlib.compress(data)
    if how == "raw-deflate":
        z = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        return z.compress(data) + z.flush()
    return data
