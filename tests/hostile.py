"""Helpers for tests against misbehaving servers: fake time, compression bombs, a closed port, a
concurrency probe, a transport that records what reached the network, and a raw TCP server that
can send anything at all (tests/test_hostile.py runs the CLI against it)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from tests.localserver import Reply, Request

START = datetime(2025, 12, 30, 12, 0, tzinfo=UTC)


@dataclass
class FakeTime:
    """An injected clock and sleep: sleeping records the wait and moves the clock, instantly."""

    now: datetime = START
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def gzip_bomb(total: int, block: int = 1024 * 1024) -> Iterator[bytes]:
    """gzip of ``total`` zero bytes, compressed lazily block by block: never held in memory."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(block)
    sent = 0
    while sent < total:
        n = min(block, total - sent)
        out = z.compress(zeros if n == block else zeros[:n])
        sent += n
        if out:
            yield out
    yield z.flush()


def closed_port() -> int:
    """A local port nobody listens on (connecting is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ConcurrencyProbe:
    """A route handler that counts requests in flight; each waits a little for company."""

    def __init__(self, linger: float = 0.3) -> None:
        self.linger = linger
        self.in_flight = 0
        self.max_in_flight = 0
        self._cond = threading.Condition()

    def __call__(self, _req: Request) -> Reply:
        with self._cond:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.in_flight > 1, timeout=self.linger)
            self.in_flight -= 1
        return Reply(body=b"ok", headers={"Content-Type": "text/plain"})


class RecordingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport (the real one by default) and records every request that reached it."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def fake_dns(table: dict[str, list[str]]) -> Callable[[str], Awaitable[list[str]]]:
    """A resolver for Fetcher(resolve=...): host names from ``table``, anything else fails."""

    async def resolve(host: str) -> list[str]:
        if host not in table:
            raise OSError(f"fake DNS has no entry for {host}")
        return table[host]

    return resolve


def deflate_bomb(total: int, block: int = 1024 * 1024) -> Iterator[bytes]:
    """zlib-wrapped deflate of ``total`` zero bytes, compressed lazily."""
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    zeros = bytes(block)
    for _ in range(total // block):
        if out := z.compress(zeros):
            yield out
    yield z.flush()


# --------------------------------------------------------------------------- a raw server

RawRoute = Callable[[socket.socket], None]


def send_all(conn: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(data)


def http_head(status: int = 200, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Connection: close", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reply(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> RawRoute:
    """A route that answers ``body`` with a Content-Length."""
    head = http_head(status, {"Content-Length": str(len(body)), **(headers or {})})

    def route(conn: socket.socket) -> None:
        send_all(conn, head + body)

    return route


def stream(chunks: Callable[[], Iterator[bytes]], headers: dict[str, str], pause: float = 0.0) -> RawRoute:
    """A route that sends a head, then ``chunks()`` as the raw body (ended by closing)."""

    def route(conn: socket.socket) -> None:
        send_all(conn, http_head(200, headers))
        try:
            for chunk in chunks():
                conn.sendall(chunk)
                if pause:
                    time.sleep(pause)
        except OSError:
            pass

    return route


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST instead of an answer."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class RawServer:
    """A TCP server on 127.0.0.1 that hands each connection to the route of its request path, so
    a test can send anything at all: drips, endless headers, resets, garbage, half answers.

    A TLS ClientHello (a client speaking https to this plain port) gets a plain HTTP answer.
    Unknown paths (robots.txt included) get a 404.
    """

    def __init__(self) -> None:
        self.routes: dict[str, RawRoute] = {}
        self.hits: dict[str, int] = {}
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def url(self, path: str) -> str:
        return self.base + path

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                head = self._read_head(conn)
            except OSError:
                return
            if head.startswith(b"\x16"):  # TLS handshake on a plain port
                send_all(conn, http_head(400) + b"plain HTTP here")
                return
            parts = head.split(b" ", 2)
            path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
            self.hits[path] = self.hits.get(path, 0) + 1
            route = self.routes.get(path) or reply(b"not found", 404)
            with contextlib.suppress(OSError):
                route(conn)

    @staticmethod
    def _read_head(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk or chunk.startswith(b"\x16"):
                return data + chunk
            data += chunk
        return data
