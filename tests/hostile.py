"""Helpers for tests of the Fetcher against misbehaving servers: fake time, compression bombs,
a closed port, a concurrency probe, a transport that records what reached the network."""

from __future__ import annotations

import asyncio
import socket
import threading
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
