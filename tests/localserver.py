"""A real HTTP server on 127.0.0.1 for tests: real sockets, so the real fetch path runs.

Routes are plain values that a test can change between requests::

    server.route("/a", body=b"<html>...", headers={"Content-Type": "text/html"})
    server.route("/slow", handler=lambda req: ...)   # full control: returns a Reply

Nothing here reaches the internet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterator[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line is sent


Handler = Callable[[Request], Reply]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                server._serve(self, "GET")

            def do_HEAD(self) -> None:
                server._serve(self, "HEAD")

            def do_POST(self) -> None:
                server._serve(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def route(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str = "text/html; charset=utf-8",
        handler: Handler | None = None,
    ) -> None:
        """Serve ``body`` at ``path`` (or delegate to ``handler``); replaces any earlier route."""
        if handler is None:
            data = body.encode() if isinstance(body, str) else body
            hdrs = {"Content-Type": content_type, **(headers or {})}

            def handler(_req: Request, data: bytes = data, hdrs: dict[str, str] = hdrs) -> Reply:
                return Reply(status=status, body=data, headers=dict(hdrs))

        with self._lock:
            self.routes[path] = handler

    def remove(self, path: str) -> None:
        with self._lock:
            self.routes.pop(path, None)

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(method, h.path, {k.lower(): v for k, v in h.headers.items()}, body)
        with self._lock:
            self.requests.append(req)
            handler = self.routes.get(h.path) or self.routes.get(h.path.split("?", 1)[0])
        reply = handler(req) if handler else Reply(status=404, body=b"not found")
        if reply.delay:
            time.sleep(reply.delay)
        try:
            h.send_response(reply.status)
            chunked = not isinstance(reply.body, bytes)
            for k, v in reply.headers.items():
                h.send_header(k, v)
            if chunked:
                h.send_header("Transfer-Encoding", "chunked")
            elif "content-length" not in {k.lower() for k in reply.headers}:
                h.send_header("Content-Length", str(len(reply.body)))  # type: ignore[arg-type]
            h.end_headers()
            if method == "HEAD":
                return
            if isinstance(reply.body, bytes):
                h.wfile.write(reply.body)
            else:
                for chunk in reply.body:
                    h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    h.wfile.flush()
                h.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
