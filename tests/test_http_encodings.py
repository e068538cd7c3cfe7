"""brotli and zstd bodies: decoded, and a compression bomb stopped at max_body_bytes; the HTTP
versions spoken.

Direct connections speak HTTP/1.1 (scraper.http_transport, aiohttp); through a proxy the client
is httpcore's and offers h2 by ALPN during the TLS handshake. The tests have no TLS server, so
they check how each is configured and that a plain local server is spoken to in HTTP/1.1.
"""

from __future__ import annotations

import brotlicffi
import pytest
import zstandard

from scraper.http import ACCEPT_ENCODING, BadResponse, BodyReader, BodyTooLarge, FetchConfig, Fetcher
from tests.hostile import FakeTime
from tests.localserver import LocalServer

LOCAL = {"allow_hosts": ("127.0.0.1",), "per_host_delay": 0.0, "connect_timeout": 2.0, "read_timeout": 2.0}
TEXT = b"<p>" + b"Valdai residence drone claim. " * 400 + b"</p>"
MB = 1024 * 1024


def fetcher(fake: FakeTime, **config: object) -> Fetcher:
    return Fetcher(FetchConfig(**{**LOCAL, **config}), clock=fake.clock, sleep=fake.sleep)  # type: ignore[arg-type]


def brotli_bomb(size: int) -> bytes:
    return brotlicffi.compress(bytes(size), quality=5)


def zstd_bomb(size: int) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(bytes(size))


def test_accept_encoding_names_every_decoder() -> None:
    assert ACCEPT_ENCODING == "gzip, deflate, br, zstd"


async def test_brotli_and_zstd_bodies_are_decoded(server: LocalServer) -> None:
    server.route("/br", brotlicffi.compress(TEXT), headers={"Content-Encoding": "br"})
    server.route("/zstd", zstandard.ZstdCompressor().compress(TEXT), headers={"Content-Encoding": "zstd"})
    server.route("/both", zstandard.ZstdCompressor().compress(brotlicffi.compress(TEXT)),
                 headers={"Content-Encoding": "br, zstd"})  # fmt: skip
    async with fetcher(FakeTime()) as f:
        for path in ("/br", "/zstd", "/both"):
            assert (await f.fetch(server.url(path))).body == TEXT, path
    assert server.requests[-1].headers["accept-encoding"] == ACCEPT_ENCODING


@pytest.mark.parametrize("encoding", ["br", "zstd"])
async def test_bomb_over_the_network_is_stopped(server: LocalServer, encoding: str) -> None:
    bomb = brotli_bomb(64 * MB) if encoding == "br" else zstd_bomb(64 * MB)
    assert len(bomb) < 64 * 1024
    server.route("/bomb", bomb, headers={"Content-Encoding": encoding})
    async with fetcher(FakeTime(), max_body_bytes=MB) as f:
        with pytest.raises(BodyTooLarge, match="after decompression"):
            await f.fetch(server.url("/bomb"))


@pytest.mark.parametrize("encoding", ["br", "zstd"])
def test_bomb_output_never_passes_the_cap_by_much(encoding: str) -> None:
    """Fed whole in one chunk, the decoder still stops: brotli at the cap, zstd within one slice."""
    bomb = brotli_bomb(256 * MB) if encoding == "br" else zstd_bomb(256 * MB)
    cap = 2 * MB
    reader = BodyReader("http://x/", encoding, cap=cap)
    with pytest.raises(BodyTooLarge):
        reader.feed(bomb)
    assert reader.size <= cap  # nothing past the cap is kept


@pytest.mark.parametrize(
    ("body", "encoding", "match"),
    [
        (b"not brotli at all, not at all", "br", "corrupt br body"),
        (brotlicffi.compress(TEXT)[:-10], "br", "truncated"),
        (b"\x28\xb5\x2f\xfd garbage garbage", "zstd", "corrupt zstd body"),
        (zstandard.ZstdCompressor().compress(TEXT)[:-10], "zstd", "truncated"),
        (b"whatever", "compress", "unsupported Content-Encoding 'compress'"),
    ],
)
def test_corrupt_or_unsupported_is_bad_response(body: bytes, encoding: str, match: str) -> None:
    with pytest.raises(BadResponse, match=match):
        reader = BodyReader("http://x/", encoding, cap=MB)
        reader.feed(body)
        reader.finish()


def test_empty_brotli_and_zstd_bodies() -> None:
    for encoding in ("br", "zstd"):
        assert BodyReader("http://x/", encoding, cap=10).finish() == b""


async def test_direct_requests_speak_http1_and_proxied_ones_offer_http2(server: LocalServer) -> None:
    from scraper.http import _transport
    from scraper.http_transport import AiohttpTransport

    server.route("/a", "<p>Valdai</p>")
    async with fetcher(FakeTime()) as f:
        assert isinstance(f._client._transport, AiohttpTransport)  # type: ignore[attr-defined]
        result = await f.fetch(server.url("/a"))
    assert result.http_version == "HTTP/1.1" and result.body == b"<p>Valdai</p>"
    proxied = _transport(f.config, "http://127.0.0.1:9")
    pool = proxied._pool  # type: ignore[attr-defined]
    assert pool._http2 and pool._http1  # h2 by ALPN on TLS, HTTP/1.1 otherwise
