"""The daemon's small HTTP server: ``/healthz`` and ``/metrics`` on asyncio streams.

No framework: two read-only routes, HTTP/1.1 with ``Connection: close``. It runs inside the
daemon's event loop, so a /healthz answer also proves that the loop is not stuck.

``/healthz`` is 200 ``{"status": "ok", "database": "ok", "heartbeat_age_s": 0.4}`` when the
database answers and the scheduler's heartbeat is fresh, else 503 with ``"reason"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

from sqlalchemy.engine import Engine

from jobs.logs import get_logger

log = get_logger(__name__)

MAX_REQUEST_BYTES = 8192
READ_TIMEOUT_S = 5.0
DB_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"


Route = Callable[[], Awaitable[Response]]


def json_response(status: int, data: dict[str, object]) -> Response:
    return Response(status, json.dumps(data).encode() + b"\n")


def ping_database(engine: Engine) -> None:
    """Raise if the database does not answer a trivial query."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


async def database_status(engine: Engine, timeout: float = DB_TIMEOUT_S) -> str | None:
    """None when the database answers within ``timeout`` seconds, else why not."""
    try:
        await asyncio.wait_for(asyncio.to_thread(ping_database, engine), timeout)
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{type(exc).__name__}: {first}"
    return None


async def health(engine: Engine, heartbeat_age: float | None, max_age: float) -> Response:
    """The /healthz answer for a database and a scheduler heartbeat ``heartbeat_age`` seconds old."""
    db_error = await database_status(engine)
    body: dict[str, object] = {
        "status": "ok",
        "database": "ok" if db_error is None else "unreachable",
        "heartbeat_age_s": None if heartbeat_age is None else round(heartbeat_age, 3),
    }
    reasons = []
    if db_error is not None:
        reasons.append(f"database unreachable ({db_error})")
    if heartbeat_age is None:
        reasons.append("the scheduler has not started")
    elif heartbeat_age >= max_age:
        reasons.append(f"scheduler heartbeat is {heartbeat_age:.1f} s old (limit {max_age:g} s)")
    if reasons:
        return json_response(503, {**body, "status": "unavailable", "reason": "; ".join(reasons)})
    return json_response(200, body)


class HealthServer:
    """Serves ``routes`` (path -> coroutine giving a Response) on ``host:port`` (0: any free port)."""

    def __init__(self, routes: dict[str, Route], *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes = routes
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> HealthServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_REQUEST_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> HealthServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT_S)
            response = await self._respond(method, path)
            _write(writer, response, head_only=method == "HEAD")
            await writer.drain()
        except (
            TimeoutError,
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ):
            pass  # a client that hung up or sent garbage gets nothing
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _respond(self, method: str, path: str) -> Response:
        route = self.routes.get(path.split("?", 1)[0])
        if route is None:
            return json_response(404, {"error": f"no such path {path!r}", "paths": sorted(self.routes)})
        if method not in ("GET", "HEAD"):
            return json_response(405, {"error": f"{method} is not allowed: use GET"})
        try:
            return await route()
        except Exception as exc:
            log.exception("health route failed", extra={"path": path})
            return json_response(500, {"error": type(exc).__name__})


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    head = await reader.readuntil(b"\r\n\r\n")  # the stream's limit caps it at MAX_REQUEST_BYTES
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("not an HTTP request line")
    return parts[0].upper(), parts[1]


def _write(writer: asyncio.StreamWriter, response: Response, *, head_only: bool) -> None:
    reason = HTTPStatus(response.status).phrase
    head = (
        f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + (b"" if head_only else response.body))
