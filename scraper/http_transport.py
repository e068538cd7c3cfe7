"""The network under the Fetcher's httpx client: aiohttp's connection pool and C HTTP parser.

httpx stays the Fetcher's model (requests, responses, headers, ``httpx.MockTransport`` in unit
tests); only the wire below it changes. httpcore's pool and h11 cost ~3.8 M instructions of
Python per request (a 304 answered on a kept-alive connection: 4.6 M through httpx + httpcore;
0.8 M through httpx with an in-memory transport; 0.5 M through aiohttp alone; callgrind,
bench/RESULTS.md "HTTP transport"). This transport speaks HTTP/1.1 only; the Fetcher keeps
httpcore (HTTP/2 by ALPN, SOCKS) for requests through a proxy.

What it keeps from the httpcore path:
- bodies are handed up raw (``auto_decompress=False``): the Fetcher decodes content encodings
  itself, under max_body_bytes (scraper.http_codecs);
- the connection's peer address is in the response's ``network_stream`` extension
  (``get_extra_info("server_addr")``), so the Fetcher's address guard checks where the connection
  really went, also for a 304 whose connection is already back in the pool;
- connect and read timeouts from the request's ``timeout`` extension; aiohttp's errors become
  httpx's (ConnectError, ConnectTimeout, ReadTimeout, ReadError, RemoteProtocolError), which the
  Fetcher turns into its FetchErrors;
- no cookies kept, no environment proxies, no headers added: what httpx built is what is sent.
Header lines and fields are allowed up to 64 KiB each (h11 allowed 100 KiB of headers in all;
aiohttp's default of 8 KiB refuses real sites' long Content-Security-Policy headers).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import aiohttp

MAX_HEADER_LINE = 64 * 1024
CHUNK = 64 * 1024

# the transport's holder for the connection the current request got (set by _Connector.connect,
# which the session awaits in the request's own task)
_PEER: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("storytrail_peer", default=None)


@functools.cache
def _aiohttp() -> Any:
    """aiohttp, imported on the first request: importing it builds SSL contexts (~0.1-0.2 s), which
    a command that fetches nothing should not pay."""
    import aiohttp

    return aiohttp


@functools.cache
def _connector_class() -> Any:
    """aiohttp's TCPConnector, noting the peer of each connection it hands out (:data:`_PEER`)."""

    class _Connector(_aiohttp().TCPConnector):  # type: ignore[misc]
        async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
            conn = await super().connect(req, traces, timeout)
            holder = _PEER.get()
            if holder is not None:
                transport = conn.transport
                holder.append(transport.get_extra_info("peername") if transport is not None else None)
            return conn

    return _Connector


class _Peer:
    """What httpcore's network stream answered for the Fetcher: the server's address."""

    def __init__(self, peer: Any) -> None:
        self._peer = peer

    def get_extra_info(self, info: str) -> Any:
        return self._peer if info == "server_addr" else None


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk
        except Exception as exc:
            self._response.close()
            out = _translate(exc, reading=True)
            if out is exc:
                raise
            raise out from exc

    async def aclose(self) -> None:
        # a body read to its end gives the connection back to the pool; one left unread closes it
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on one aiohttp session (made on first use, in the running loop)."""

    def __init__(self, *, max_connections: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self._max_connections = max_connections
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ssl_for(self, scheme: str) -> ssl.SSLContext | bool:
        """httpx's own verifying context (certifi's roots), made on the first https request."""
        if scheme != "https":
            return True
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(trust_env=False)
        return self._ssl

    def _session_now(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            aiohttp = _aiohttp()
            connector = _connector_class()(limit=self._max_connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=False,
                requote_redirect_url=False,
                max_line_size=MAX_HEADER_LINE,
                max_field_size=MAX_HEADER_LINE,
            )
            self._loop = loop
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_now()
        timeouts = request.extensions.get("timeout", {})
        timeout = _aiohttp().ClientTimeout(
            total=None, sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")
        )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        body = await request.aread() if request.method not in ("GET", "HEAD") else None
        holder: list[Any] = []
        token = _PEER.set(holder)
        try:
            response = await session.request(
                request.method,
                _url(str(request.url)),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                compress=None,
                ssl=self._ssl_for(request.url.scheme),
            )
        except Exception as exc:
            out = _translate(exc, reading=False)
            if out is exc:
                raise
            raise out from exc
        finally:
            _PEER.reset(token)
        version = response.version
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response),
            request=request,
            extensions={
                "http_version": f"HTTP/{version.major}.{version.minor}".encode() if version else b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
                "network_stream": _Peer(holder[-1] if holder else None),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _url(text: str) -> Any:
    """The URL as httpx encoded it (yarl would otherwise quote it again)."""
    from yarl import URL

    return URL(text, encoded=True)


def _translate(exc: Exception, *, reading: bool) -> Exception:
    """aiohttp's exception as httpx's (what the Fetcher understands); anything else as it is."""
    aiohttp = _aiohttp()
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(detail)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(detail)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(detail)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(detail)
    if isinstance(exc, aiohttp.ClientResponseError):  # a status line or header aiohttp cannot parse
        return httpx.RemoteProtocolError(getattr(exc, "message", "") or detail)
    if isinstance(exc, aiohttp.ClientOSError | ConnectionError):
        return httpx.ReadError(detail) if reading else httpx.ConnectError(detail)
    if isinstance(exc, aiohttp.ClientError):
        return httpx.TransportError(detail)
    return exc
