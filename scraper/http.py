"""The Fetcher: one polite, safe GET (and POST, for API logins; one-shot requests for webhooks and
Save Page Now). With scraper.http_transport, the only module in storytrail that imports httpx.

What ``Fetcher.fetch(url)`` does, per hop (redirects are followed by hand, at most max_redirects)::

    guard    refuse loopback/private/link-local/... addresses (allow_hosts lifts it)
    robots   robots.txt per origin (protego), cached for ROBOTS_TTL; Crawl-delay slows the host
    retries  connection errors, 5xx and 429, exponential back-off, Retry-After honoured
      gate   global and per-host concurrency, per-host spacing, per-host back-off after 429/503
      send   streamed; the body is decompressed here, under max_body_bytes
    -> FetchResult for ANY status (404, 304, 503 after retries...) | a FetchError

Errors::

    FetchError             .url, .message; str(e) == "<url>: <message>"
     +-- BadURL            not http(s), or no host
     +-- BlockedAddress    the host is (or resolves to) a non-public address
     +-- RobotsDenied      robots.txt disallows the URL, or could not be fetched (RFC 9309)
     +-- BodyTooLarge      Content-Length or the decompressed body exceeds max_body_bytes
     +-- TooManyRedirects  more than max_redirects hops (the message names the chain, and a loop)
     +-- FetchTimeout      connect/read timeout, or total_timeout spent on the network
     +-- ConnectFailed     DNS failure, refused, reset
     +-- BadResponse       malformed HTTP, corrupt or unsupported Content-Encoding
     +-- Throttled         429/503 with a Retry-After beyond retry_max_wait (.retry_at: when to ask again)

Time budget: ``total_timeout`` bounds the time one ``fetch`` spends on the network (every attempt
and hop, headers and body). Waiting for a politeness slot or a retry back-off is not counted.

robots.txt (RFC 9309): fetched with the same retries; 2xx is parsed; 4xx (except 429) allows
everything; 429, 5xx, and a robots.txt that is corrupt, too large or redirects too often disallow the
whole origin for ROBOTS_ERROR_TTL, then it is fetched again (a Retry-After beyond retry_max_wait
raises Throttled instead). A host that cannot be reached at all
raises ConnectFailed / FetchTimeout (for the page URL) and nothing is cached.

Content encodings: gzip, deflate, br (brotlicffi) and zstd (zstandard), each decompressed under
max_body_bytes (scraper.http_codecs), so a compression bomb is stopped at the cap.

Per-source request settings (scraper.http_options.RequestOptions, passed to ``fetch`` or given
to the Fetcher as its default): extra headers, cookies, Authorization (only while the hops stay on
the first URL's origin), a user agent, and a proxy. Through a proxy the address guard still checks
the target host (it is resolved here first); the connection itself goes to the proxy, which the
operator configured, so it is not checked. Secret headers are redacted in
``FetchResult.request_headers``, which is what Check rows and WARC request records keep.

The wire: direct requests go through scraper.http_transport (aiohttp's pool and C parser under
the httpx client, HTTP/1.1); requests through a proxy through httpcore (HTTP, HTTPS and SOCKS
proxies; h2 offered by ALPN on TLS). ``FetchResult.http_version`` says which was spoken.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import select
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from protego import Protego

from scraper.core.charset import charset_from_content_type, decode_html
from scraper.http_codecs import BrotliStage, CodecError, OutputLimitError, ZstdStage
from scraper.http_options import NO_OPTIONS, RequestOptions, redact_headers
from scraper.http_transport import AiohttpTransport

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Awaitable[list[str]]]

ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
ROBOTS_TTL = 3600.0
ROBOTS_ERROR_TTL = 600.0
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
THROTTLE_STATUSES = frozenset({429, 503})
ALLOW_HINT = "STORYTRAIL_ALLOW_HOSTS"
RETRY_AFTER_LIMIT = 366 * 86400.0  # a longer Retry-After is read as a year
_DISALLOW_ALL = "User-agent: *\nDisallow: /\n"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GZIP = 16 + zlib.MAX_WBITS
_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd"})


# --------------------------------------------------------------------------- errors


class FetchError(Exception):
    """A fetch that produced no response worth keeping. ``str(e)`` is ``"<url>: <message>"``."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = " ".join(message.split())
        super().__init__(f"{url}: {self.message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.url, self.message), self.__dict__)

    def add_note_to_message(self, note: str) -> None:
        self.message = f"{self.message} {note}"
        self.args = (f"{self.url}: {self.message}",)


class BadURL(FetchError):  # noqa: N818 (names are the public API)
    pass


class BlockedAddress(FetchError):  # noqa: N818 (names are the public API)
    pass


class RobotsDenied(FetchError):  # noqa: N818 (names are the public API)
    pass


class BodyTooLarge(FetchError):  # noqa: N818 (names are the public API)
    pass


class TooManyRedirects(FetchError):  # noqa: N818 (names are the public API)
    pass


class FetchTimeout(FetchError):  # noqa: N818 (names are the public API)
    def __init__(self, url: str, message: str, *, during_connect: bool = False) -> None:
        super().__init__(url, message)
        self.during_connect = during_connect


class ConnectFailed(FetchError):  # noqa: N818 (names are the public API)
    pass


class BadResponse(FetchError):  # noqa: N818 (names are the public API)
    pass


class Throttled(FetchError):  # noqa: N818 (names are the public API)
    """The host asked for a longer pause than retry_max_wait: given up at once, not waited for."""

    def __init__(self, url: str, message: str, *, retry_at: datetime | None = None) -> None:
        super().__init__(url, message)
        self.retry_at = retry_at


def is_transient(exc: FetchError) -> bool:
    """Worth another attempt: the connection failed (not: the server was slow or broken)."""
    return isinstance(exc, ConnectFailed) or (isinstance(exc, FetchTimeout) and exc.during_connect)


# --------------------------------------------------------------------------- values

_NON_NEGATIVE = ("max_redirects", "retries", "retry_backoff", "retry_max_wait", "per_host_delay")
_POSITIVE = ("connect_timeout", "read_timeout", "total_timeout", "max_body_bytes")
_AT_LEAST_ONE = ("per_host_concurrency", "global_concurrency")


@dataclass(frozen=True)
class FetchConfig:
    """How to fetch. Field names equal those of ``jobs.settings.Settings``."""

    user_agent: str = "storytrail/0.1"
    allow_hosts: tuple[str, ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_body_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 3
    retry_backoff: float = 1.0
    retry_max_wait: float = 60.0
    per_host_delay: float = 1.0
    per_host_concurrency: int = 2
    global_concurrency: int = 16
    respect_robots: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow_hosts", tuple(self.allow_hosts))
        for name in _POSITIVE:
            self._require(name, getattr(self, name) > 0, "greater than 0")
        for name in _NON_NEGATIVE:
            self._require(name, getattr(self, name) >= 0, "0 or more")
        for name in _AT_LEAST_ONE:
            self._require(name, getattr(self, name) >= 1, "at least 1")

    def _require(self, name: str, ok: bool, rule: str) -> None:
        if not ok:
            raise ValueError(f"{name} must be {rule}, not {getattr(self, name)!r}")

    @classmethod
    def from_settings(cls, settings: object) -> FetchConfig:
        """Pick the matching fields of a Settings object (``full_user_agent`` when it has one)."""
        values = {f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)}
        full = getattr(settings, "full_user_agent", None)
        if isinstance(full, str):
            values["user_agent"] = full
        return cls(**values)


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    elapsed: float
    http_version: str
    request_headers: tuple[tuple[str, str], ...]
    redirects: tuple[str, ...] = ()
    known_charset: str | None = None  # the body's encoding when the maker knows it (a rendered DOM)

    @functools.cached_property
    def charset(self) -> str | None:
        """The body's encoding (:func:`guess_charset`), worked out on first use: a re-check whose
        body is byte-identical to the stored one never decodes it."""
        return self.known_charset or guess_charset(self.body, self.content_type)

    def header(self, name: str) -> str | None:
        """The first response header called ``name`` (any case), or None."""
        key = name.lower()
        return next((value for k, value in self.headers if k.lower() == key), None)

    @property
    def etag(self) -> str | None:
        return self.header("etag")

    @property
    def last_modified(self) -> str | None:
        return self.header("last-modified")

    @property
    def content_type(self) -> str | None:
        return self.header("content-type")

    @property
    def text(self) -> str:
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:
                pass
        return decode_html(self.body, self.content_type)[0]


# --------------------------------------------------------------------------- pure decisions


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit():
        return min(float(text), RETRY_AFTER_LIMIT)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), RETRY_AFTER_LIMIT)


def retry_delay(attempt: int, retry_after: float | None, *, backoff: float, max_wait: float) -> float:
    """Seconds before retry number ``attempt`` (1-based): Retry-After, else exponential; capped."""
    wait = retry_after if retry_after is not None else backoff * 2 ** (attempt - 1)
    return min(max(wait, 0.0), max_wait)


def should_retry(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def next_start(last_start: float | None, min_delay: float, not_before: float) -> float:
    """The earliest time the next request to a host may start."""
    spaced = last_start + min_delay if last_start is not None else float("-inf")
    return max(spaced, not_before)


def robots_ttl(status: int | None) -> float:
    """How long a robots.txt verdict is kept; ``None`` means the fetch failed."""
    unreachable = status is None or status == 429 or status >= 500
    return ROBOTS_ERROR_TTL if unreachable else ROBOTS_TTL


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}/robots.txt"


def robots_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: ``storytrail/0.1 (...)`` -> storytrail."""
    words = user_agent.split("/")[0].split()
    return words[0] if words else "*"


def request_headers(accept: str | None, etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"Accept": accept or ACCEPT_HTML}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def redirect_message(chain: Sequence[str], limit: int) -> str:
    kind = "redirect loop" if len(set(chain)) < len(chain) else f"more than {limit} redirects"
    return f"{kind}: {' -> '.join(chain)}"


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str] = frozenset()
    nets: tuple[IPNetwork, ...] = ()


def parse_allow(entries: Iterable[str]) -> AllowList:
    """Split allow_hosts into exact host names and IP networks (a bare IP is a /32 or /128)."""
    names: set[str] = set()
    nets: list[IPNetwork] = []
    for entry in (e.strip().lower() for e in entries if e.strip()):
        try:
            nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return AllowList(frozenset(names), tuple(nets))


_KINDS = (
    ("loopback", "is_loopback"),
    ("unspecified", "is_unspecified"),
    ("link-local", "is_link_local"),
    ("multicast", "is_multicast"),
    ("reserved", "is_reserved"),
    ("private", "is_private"),
)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None


def blocked_reason(ip: IPAddress, nets: Sequence[IPNetwork] = ()) -> str | None:
    """Why ``ip`` must not be fetched ("loopback", "private"...), or None if it may."""
    if any(ip in net for net in nets):
        return None
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return blocked_reason(inner, nets)
    kind = next((kind for kind, attr in _KINDS if getattr(ip, attr)), None)
    return kind or (None if ip.is_global else "non-public")


def is_blocked_ip(ip: str | IPAddress, allow: Iterable[str] = ()) -> bool:
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    return blocked_reason(address, parse_allow(allow).nets) is not None


def _ip_or_none(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def _is_textual(content_type: str | None) -> bool:
    mime = (content_type or "text/html").split(";")[0].strip().lower()
    return mime.startswith("text/") or any(k in mime for k in ("html", "xml", "json", "javascript"))


def guess_charset(body: bytes, content_type: str | None) -> str | None:
    """The encoding of a textual body (see scraper.core.charset); the declared one otherwise."""
    if _is_textual(content_type):
        return decode_html(body, content_type)[1]
    return charset_from_content_type(content_type)


# --------------------------------------------------------------------------- body decoding


class _Inflater:
    """One gzip or deflate stream, decompressed with an output limit per call.

    A "deflate" body may come with or without its zlib header: the first two bytes decide.
    Further gzip members are decoded; other bytes after the end of the stream are ignored.
    """

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._z: zlib._Decompress | None = zlib.decompressobj(_GZIP) if self._gzip else None
        self._head = b""
        self._fed = False
        self._ignore_rest = False

    def feed(self, data: bytes, limit: int) -> bytes:
        """At most ``limit`` bytes out; reaching the limit raises OutputLimitError."""
        self._fed = self._fed or bool(data)
        if self._z is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            self._z = zlib.decompressobj(zlib.MAX_WBITS if _has_zlib_header(data) else -zlib.MAX_WBITS)
        return b"" if self._ignore_rest else self._inflate(self._z, data, limit)

    def _inflate(self, z: zlib._Decompress, data: bytes, limit: int) -> bytes:
        out = z.decompress(data, limit)
        if len(out) >= limit:
            raise OutputLimitError
        rest = z.unused_data if z.eof else b""
        if len(rest) >= 2 and self._gzip and rest.startswith(b"\x1f\x8b"):
            self._z = zlib.decompressobj(_GZIP)
            return out + self._inflate(self._z, rest, limit - len(out))
        self._ignore_rest = len(rest) >= 2
        return out

    def finish(self) -> None:
        if self._fed and (self._z is None or not self._z.eof):
            raise zlib.error("the compressed stream is truncated")


_Stage = _Inflater | BrotliStage | ZstdStage


def _stage(encoding: str) -> _Stage:
    if encoding == "br":
        return BrotliStage()
    if encoding == "zstd":
        return ZstdStage()
    return _Inflater(encoding)


def _has_zlib_header(head: bytes) -> bool:
    return head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0


class BodyReader:
    """Collects a body from raw chunks: decompressed, never beyond ``cap`` bytes held."""

    def __init__(self, url: str, content_encoding: str | None, cap: int) -> None:
        names = [n.strip().lower() for n in (content_encoding or "").split(",")]
        names = [n for n in names if n not in ("", "identity")]
        unknown = [n for n in names if n not in _ENCODINGS]
        if unknown:
            raise BadResponse(
                url, f"unsupported Content-Encoding {unknown[0]!r} (we ask for {ACCEPT_ENCODING})"
            )
        self._stages = [_stage(n) for n in reversed(names)]
        self._url, self._cap, self._encoding = url, cap, ", ".join(names)
        self._parts: list[bytes] = []
        self.size = 0

    def feed(self, raw: bytes) -> None:
        data = raw
        try:
            for stage in self._stages:
                data = stage.feed(data, self._cap - self.size + 1)
        except OutputLimitError:
            raise self._too_large() from None
        except (zlib.error, CodecError) as exc:
            raise BadResponse(self._url, f"corrupt {self._encoding} body: {exc}") from exc
        self.size += len(data)
        if self.size > self._cap:
            raise self._too_large()
        self._parts.append(data)

    def finish(self) -> bytes:
        try:
            for stage in self._stages:
                stage.finish()
        except (zlib.error, CodecError) as exc:
            raise BadResponse(self._url, f"corrupt {self._encoding} body: {exc}") from exc
        return b"".join(self._parts)

    def _too_large(self) -> BodyTooLarge:
        how = " after decompression" if self._stages else ""
        return BodyTooLarge(self._url, f"body is larger than max_body_bytes={self._cap}{how}")


def check_content_length(url: str, value: str | None, cap: int) -> None:
    if value and value.strip().isascii() and value.strip().isdigit() and int(value) > cap:
        raise BodyTooLarge(url, f"Content-Length {int(value)} exceeds max_body_bytes={cap}")


async def read_body(response: httpx.Response, url: str, cap: int) -> bytes:
    """The decompressed body, read raw from the network under ``cap``."""
    check_content_length(url, response.headers.get("content-length"), cap)
    in_memory = response.is_stream_consumed  # built whole (httpx.MockTransport): already decoded
    reader = BodyReader(url, None if in_memory else response.headers.get("content-encoding"), cap)
    async for chunk in _raw_chunks(response, in_memory):
        reader.feed(chunk)
    return reader.finish()


async def _raw_chunks(response: httpx.Response, in_memory: bool) -> AsyncIterator[bytes]:
    if in_memory:
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


# --------------------------------------------------------------------------- politeness


@dataclass
class _Host:
    slots: asyncio.Semaphore
    min_delay: float
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float | None = None
    not_before: float = 0.0
    strikes: int = 0


class Politeness:
    """Global and per-host concurrency, per-host spacing of request starts, per-host back-off."""

    def __init__(
        self, config: FetchConfig, clock: Callable[[], datetime], sleep: Callable[[float], Awaitable[None]]
    ) -> None:
        self._config, self._clock, self._sleep = config, clock, sleep
        self._all = asyncio.Semaphore(config.global_concurrency)
        self._hosts: dict[str, _Host] = {}

    def host(self, name: str) -> _Host:
        if name not in self._hosts:
            slots = asyncio.Semaphore(self._config.per_host_concurrency)
            self._hosts[name] = _Host(slots, self._config.per_host_delay)
        return self._hosts[name]

    @asynccontextmanager
    async def slot(self, name: str) -> AsyncIterator[None]:
        host = self.host(name)
        async with host.slots:
            async with host.turn:
                wait = next_start(host.last_start, host.min_delay, host.not_before) - self._now()
                if wait > 0:
                    await self._sleep(wait)
                await self._all.acquire()
                host.last_start = self._now()
            try:
                yield
            finally:
                self._all.release()

    def set_crawl_delay(self, name: str, crawl_delay: float | None) -> None:
        capped = min(crawl_delay or 0.0, self._config.retry_max_wait)
        self.host(name).min_delay = max(self._config.per_host_delay, capped)

    def record(self, name: str, status: int, retry_after: float | None) -> None:
        """After a 429/503 the host waits (Retry-After, else a penalty that grows); reset otherwise."""
        host = self.host(name)
        if status not in THROTTLE_STATUSES:
            host.strikes = 0
            return
        host.strikes += 1
        cfg = self._config
        delay = retry_delay(host.strikes, retry_after, backoff=cfg.retry_backoff, max_wait=cfg.retry_max_wait)
        if retry_after is not None and retry_after > cfg.retry_max_wait:
            delay = retry_after  # too long to wait for: requests to the host are refused until then
        host.not_before = max(host.not_before, self._now() + delay)

    def quiet_until(self, name: str) -> datetime | None:
        """The end of a pause the host asked for that is longer than retry_max_wait, or None."""
        host = self._hosts.get(name)
        if host is None or host.not_before - self._now() <= self._config.retry_max_wait:
            return None
        return datetime.fromtimestamp(host.not_before, UTC)

    def _now(self) -> float:
        return self._clock().timestamp()


# --------------------------------------------------------------------------- fetcher


def utc_now() -> datetime:
    return datetime.now(UTC)


async def system_resolve(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class _Budget:
    """The network time one fetch may still spend."""

    def __init__(self, total: float) -> None:
        self.total = total
        self.spent = 0.0


@dataclass(frozen=True)
class _Exchange:
    response: httpx.Response  # closed; status, headers, request, http_version
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class _Robots:
    parser: Protego
    url: str
    expires: datetime
    problem: str | None = None  # why everything is disallowed (robots.txt unreachable)


class _Stream(httpcore.AsyncNetworkStream):
    """A connection's stream with its socket and peer looked up once. httpcore's pool asks whether
    every idle connection is readable on each request and each response closed, and anyio builds
    its table of socket attributes (a getpeername() included) on every such question."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._peer = inner.get_extra_info("server_addr")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        if info == "socket":
            return self._socket
        if info == "server_addr":
            return self._peer
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Data (or the end of the stream) waiting on ``sock``; a closed socket counts as readable."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # pragma: no cover (Windows)
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, with each connection's stream a :class:`_Stream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover (no Unix sockets here)
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _transport(config: FetchConfig, proxy: str | None) -> httpx.AsyncBaseTransport:
    """The network transport: aiohttp's (scraper.http_transport: HTTP/1.1, a C parser), or through
    ``proxy`` httpcore's (HTTP, HTTPS and SOCKS proxies; HTTP/2 by ALPN), its connections' streams
    :class:`_Stream` (the pool keeps its backend as ``_network_backend``; when a release renames
    it, the plain backend is used: slower, same behaviour)."""
    if proxy is None:
        return AiohttpTransport(max_connections=config.global_concurrency)
    transport = httpx.AsyncHTTPTransport(
        http2=True,
        limits=httpx.Limits(max_connections=config.global_concurrency),
        proxy=proxy,
        trust_env=False,
    )
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if isinstance(inner, httpcore.AsyncNetworkBackend):
        pool._network_backend = _Backend(inner)  # type: ignore[union-attr]
    return transport


class Fetcher:
    """Fetches URLs politely and safely; see the module docstring. Use as an async context manager."""

    def __init__(
        self,
        config: FetchConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        resolve: Resolver | None = None,
        options: RequestOptions = NO_OPTIONS,
    ) -> None:
        self.config = config
        self.default_options = options
        self._transport = transport
        self._clock, self._sleep, self._resolve = clock, sleep, resolve or system_resolve
        self._allow = parse_allow(config.allow_hosts)
        self._agent = robots_token(config.user_agent)
        self._gate = Politeness(config, clock, sleep)
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._client = self._new_client(None)
        self._proxied: dict[str, httpx.AsyncClient] = {}

    def _new_client(self, proxy: str | None) -> httpx.AsyncClient:
        config = self.config
        return httpx.AsyncClient(
            transport=self._transport or _transport(config, proxy),
            proxy=proxy if self._transport is not None else None,
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
            limits=httpx.Limits(max_connections=config.global_concurrency),
            follow_redirects=False,
            http2=True,
            trust_env=False,  # a proxy from the environment would bypass the address guard
            headers={"User-Agent": config.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def _client_for(self, proxy: str | None) -> httpx.AsyncClient:
        if proxy is None:
            return self._client
        if proxy not in self._proxied:
            self._proxied[proxy] = self._new_client(proxy)
        return self._proxied[proxy]

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in (self._client, *self._proxied.values()):
            await client.aclose()

    # ---- public

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        robots: bool = True,
        accept: str | None = None,
        options: RequestOptions | None = None,
    ) -> FetchResult:
        """GET ``url``. Any HTTP status is a result; see the module docstring for the errors.

        ``options`` (else the Fetcher's default options) add headers, cookies, auth, a proxy."""
        budget = _Budget(self.config.total_timeout)
        headers = request_headers(accept, etag, last_modified)
        check_robots = robots and self.config.respect_robots
        opts = self.default_options if options is None else options
        exchange, chain = await self._follow(url, headers, budget, robots=check_robots, options=opts)
        return self._result(url, exchange, chain, budget)

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        content_type: str,
        accept: str | None = None,
        options: RequestOptions | None = None,
    ) -> FetchResult:
        """POST ``body`` to ``url`` (an API login or token request): one hop, redirects are not
        followed, robots.txt is not consulted (it governs crawling, not an API call the user
        configured); the address guard, politeness, retries, time and size limits apply."""
        budget = _Budget(self.config.total_timeout)
        opts = self.default_options if options is None else options
        headers = {"Accept": accept or "application/json", "Content-Type": content_type}
        headers |= opts.headers_for(url, url)
        host = _host_of(url)
        await self._guard(url, host)
        exchange = await self._with_retries(url, host, headers, budget, opts.proxy, ("POST", body))
        return self._result(url, exchange, [url], budget)

    async def refusal(self, url: str) -> BadURL | BlockedAddress | None:
        """Why ``url`` is refused before any request (scheme, host, address guard), or None.

        DNS trouble is not a refusal: the fetch itself reports it.
        """
        try:
            await self._guard(url, _host_of(url))
        except (BadURL, BlockedAddress) as exc:
            return exc
        except FetchError:
            return None
        return None

    async def request_once(
        self, method: str, url: str, *, body: bytes | None = None, headers: dict[str, str]
    ) -> FetchResult:
        """One request, answered as it comes (webhooks, Save Page Now): the address guard and the
        timeouts apply; robots.txt, redirects and retries do not (the caller's queue retries).
        The body read is capped at 1 MiB (or max_body_bytes when smaller)."""
        budget = _Budget(self.config.total_timeout)
        host = _host_of(url)
        await self._guard(url, host)
        request = self._client.build_request(method, url, content=body, headers={"Accept": "*/*", **headers})
        async with self._network(url, budget):
            response = await self._client.send(request, stream=True)
            try:
                received_at = self._clock()
                self._check_peer(url, host, response)
                data = await read_body(response, url, min(self.config.max_body_bytes, 1 << 20))
            finally:
                await response.aclose()
        return self._result(url, _Exchange(response, data, received_at), [url], budget)

    async def check_address(self, url: str) -> None:
        """Raise BlockedAddress if ``url``'s host is (or resolves to) a non-public address."""
        await self._guard(url, _host_of(url))

    async def robots_allowed(self, url: str) -> bool:
        if not self.config.respect_robots:
            return True
        return bool((await self._robots_for(url)).parser.can_fetch(url, self._agent))

    async def crawl_delay(self, url: str) -> float | None:
        delay = (await self._robots_for(url)).parser.crawl_delay(self._agent)
        return float(delay) if delay is not None else None

    async def sitemaps_from_robots(self, url: str) -> list[str]:
        return list((await self._robots_for(url)).parser.sitemaps)

    # ---- hops

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        budget: _Budget,
        *,
        robots: bool,
        options: RequestOptions = NO_OPTIONS,
    ) -> tuple[_Exchange, list[str]]:
        chain = [url]
        while True:
            hop_headers = {**headers, **options.headers_for(chain[-1], url)}
            exchange = await self._hop(chain[-1], hop_headers, budget, robots=robots, proxy=options.proxy)
            target = _redirect_target(exchange.response)
            if target is None:
                return exchange, chain
            if len(chain) > self.config.max_redirects:
                raise TooManyRedirects(url, redirect_message([*chain, target], self.config.max_redirects))
            chain.append(target)

    async def _hop(
        self, url: str, headers: dict[str, str], budget: _Budget, *, robots: bool, proxy: str | None = None
    ) -> _Exchange:
        host = _host_of(url)
        await self._guard(url, host)
        if robots:
            await self._enforce_robots(url, proxy)
        return await self._with_retries(url, host, headers, budget, proxy)

    async def _with_retries(
        self,
        url: str,
        host: str,
        headers: dict[str, str],
        budget: _Budget,
        proxy: str | None,
        method: tuple[str, bytes | None] = ("GET", None),
    ) -> _Exchange:
        limit = self.config.retries
        attempt = 0
        while True:
            attempt += 1
            try:
                exchange = await self._send(url, host, headers, budget, proxy, method)
            except FetchError as exc:
                if attempt > limit or not is_transient(exc):
                    if attempt > 1:
                        exc.add_note_to_message(f"(gave up after {attempt} attempts)")
                    raise
                await self._sleep(self._retry_delay(attempt, None))
                continue
            status = exchange.response.status_code
            if should_retry(status):
                self._refuse_long_wait(url, status, self._retry_after(exchange.response))
            if attempt > limit or not should_retry(status):
                return exchange
            await self._sleep(self._retry_delay(attempt, self._retry_after(exchange.response)))

    def _refuse_long_wait(self, url: str, status: int, retry_after: float | None) -> None:
        """A Retry-After beyond retry_max_wait: fail now; the host is left alone until then."""
        limit = self.config.retry_max_wait
        if retry_after is None or retry_after <= limit:
            return
        until = self._clock() + timedelta(seconds=retry_after)
        raise Throttled(
            url,
            f"HTTP {status} with Retry-After {retry_after:g}s, more than retry_max_wait={limit:g}s: "
            f"gave up at once; the host is not asked again before {until:%Y-%m-%d %H:%M:%S} UTC",
            retry_at=until,
        )

    async def _send(
        self,
        url: str,
        host: str,
        headers: dict[str, str],
        budget: _Budget,
        proxy: str | None,
        method: tuple[str, bytes | None] = ("GET", None),
    ) -> _Exchange:
        until = self._gate.quiet_until(host)
        if until is not None:
            raise Throttled(
                url,
                f"{host} asked for a pause (Retry-After) until {until:%Y-%m-%d %H:%M:%S} UTC: not asked now",
                retry_at=until,
            )
        client = self._client_for(proxy)
        request = client.build_request(method[0], url, headers=headers, content=method[1])
        async with self._gate.slot(host), self._network(url, budget):
            response = await client.send(request, stream=True)
            try:
                received_at = self._clock()
                if proxy is None:  # through a proxy the peer is the proxy
                    self._check_peer(url, host, response)
                redirect = method[0] == "GET" and _redirect_target(response) is not None
                body = b"" if redirect else await read_body(response, url, self.config.max_body_bytes)
            finally:
                await response.aclose()
        self._gate.record(host, response.status_code, self._retry_after(response))
        return _Exchange(response, body, received_at)

    @asynccontextmanager
    async def _network(self, url: str, budget: _Budget) -> AsyncIterator[None]:
        """Charge the time spent to the budget; turn timeouts and httpx errors into FetchErrors."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            async with asyncio.timeout(max(budget.total - budget.spent, 0.0)):
                yield
        except TimeoutError as exc:
            raise FetchTimeout(url, f"not done within total_timeout={budget.total:g}s") from exc
        except httpx.HTTPError as exc:
            raise self._translate(url, exc) from exc
        finally:
            budget.spent += loop.time() - start

    def _translate(self, url: str, exc: httpx.HTTPError) -> FetchError:
        detail = str(exc) or type(exc).__name__
        cfg = self.config
        if isinstance(exc, httpx.ConnectTimeout):
            return FetchTimeout(
                url, f"no connection within connect_timeout={cfg.connect_timeout:g}s", during_connect=True
            )
        if isinstance(exc, httpx.TimeoutException):
            return FetchTimeout(url, f"the server sent nothing for read_timeout={cfg.read_timeout:g}s")
        if isinstance(exc, httpx.NetworkError):
            return ConnectFailed(url, f"network error: {detail}")
        if isinstance(exc, httpx.ProtocolError | httpx.DecodingError):
            return BadResponse(url, f"malformed HTTP response: {detail}")
        return FetchError(url, f"{type(exc).__name__}: {detail}")

    def _retry_after(self, response: httpx.Response) -> float | None:
        return parse_retry_after(response.headers.get("retry-after"), self._clock())

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float:
        cfg = self.config
        return retry_delay(attempt, retry_after, backoff=cfg.retry_backoff, max_wait=cfg.retry_max_wait)

    def _result(self, url: str, exchange: _Exchange, chain: list[str], budget: _Budget) -> FetchResult:
        response = exchange.response
        return FetchResult(
            url=url,
            final_url=str(response.url),
            status=response.status_code,
            headers=_raw_headers(response.headers),
            body=exchange.body,
            fetched_at=exchange.received_at,
            elapsed=budget.spent,
            http_version=response.http_version,
            request_headers=redact_headers(_raw_headers(response.request.headers)),
            redirects=tuple(chain[1:-1]),
        )

    # ---- address guard

    async def _guard(self, url: str, host: str) -> None:
        if host in self._allow.names:
            return
        for ip in await self._addresses(url, host):
            self._refuse_if_blocked(url, host, ip)

    def _refuse_if_blocked(self, url: str, host: str, ip: IPAddress, note: str = "") -> None:
        reason = blocked_reason(ip, self._allow.nets)
        if reason is not None:
            where = f"{host} is" if _ip_or_none(host) == ip else f"{host} resolves to {ip},"
            raise BlockedAddress(
                url, f"{where} a {reason} address{note}; to allow it, add {host} to {ALLOW_HINT}"
            )

    async def _addresses(self, url: str, host: str) -> list[IPAddress]:
        literal = _ip_or_none(host)
        if literal is not None:
            return [literal]
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                found = await self._resolve(host)
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(url, f"could not resolve {host}: {exc or 'timed out'}") from exc
        addresses = [ip for ip in map(_ip_or_none, found) if ip is not None]
        if not addresses:
            raise ConnectFailed(url, f"{host} has no usable address")
        return addresses

    def _check_peer(self, url: str, host: str, response: httpx.Response) -> None:
        """The address actually connected to (DNS may have changed since the guard looked)."""
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        ip = _ip_or_none(str(peer[0])) if peer else None
        if ip is not None and host not in self._allow.names:
            self._refuse_if_blocked(url, host, ip, note=" (the connection went there)")

    # ---- robots.txt

    async def _enforce_robots(self, url: str, proxy: str | None = None) -> None:
        robots = await self._robots_for(url, proxy)
        if robots.parser.can_fetch(url, self._agent):
            return
        if robots.problem:
            raise RobotsDenied(
                url,
                f"{robots.url} {robots.problem}, so the whole site counts as disallowed for now (RFC 9309)",
            )
        raise RobotsDenied(url, f"disallowed by {robots.url} for user-agent {self._agent}")

    async def _robots_for(self, url: str, proxy: str | None = None) -> _Robots:
        key = robots_url(url)
        async with self._robots_locks.setdefault(key, asyncio.Lock()):
            cached = self._robots.get(key)
            if cached is None or self._clock() >= cached.expires:
                try:
                    cached = self._robots[key] = await self._load_robots(key, proxy)
                except Throttled as exc:
                    raise Throttled(url, f"{key}: {exc.message}", retry_at=exc.retry_at) from exc
                except (ConnectFailed, FetchTimeout) as exc:
                    raise type(exc)(url, f"{key} could not be fetched first: {exc.message}") from exc
            return cached

    async def _load_robots(self, url: str, proxy: str | None) -> _Robots:
        status, text, problem = await self._get_robots(url, proxy)
        parser = Protego.parse(_DISALLOW_ALL if problem else text)
        self._gate.set_crawl_delay(_host_of(url), parser.crawl_delay(self._agent))
        expires = self._clock() + timedelta(seconds=robots_ttl(status))
        return _Robots(parser, url, expires, problem)

    async def _get_robots(self, url: str, proxy: str | None) -> tuple[int | None, str, str | None]:
        """(status, text, problem): a problem means the server could not give a usable robots.txt.

        When the host cannot be reached at all (ConnectFailed, FetchTimeout) the error is raised:
        the page could not be fetched either, and nothing is cached.
        """
        budget = _Budget(self.config.total_timeout)
        headers = {"Accept": "text/plain,*/*;q=0.5"}
        try:
            options = RequestOptions(proxy=proxy)
            exchange, _ = await self._follow(url, headers, budget, robots=False, options=options)
        except (ConnectFailed, FetchTimeout, Throttled):
            raise
        except FetchError as exc:
            return None, "", f"could not be fetched ({exc.message})"
        status = exchange.response.status_code
        if 200 <= status < 300:
            return status, exchange.body.decode("utf-8-sig", errors="replace"), None
        if status == 429 or status >= 500:
            return status, "", f"answered HTTP {status}"
        return status, "", None


@functools.lru_cache(maxsize=4096)  # a pure function of the string, asked several times per fetch
def _host_of(url: str) -> str:
    """The host name (IDNA, lower case) of an http(s) URL; BadURL otherwise."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise BadURL(url, f"not a usable URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise BadURL(url, "only http and https URLs can be fetched")
    if not parsed.raw_host:
        raise BadURL(url, "the URL has no host")
    return parsed.raw_host.decode("ascii").lower().rstrip(".")


def _redirect_target(response: httpx.Response) -> str | None:
    location = response.headers.get("location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    try:
        return str(response.url.join(location))
    except httpx.InvalidURL as exc:
        raise BadResponse(str(response.url), f"unusable redirect Location {location!r}: {exc}") from exc


def _raw_headers(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers.raw)
