"""A local webhook receiver for notification tests: records every POST (headers and raw body) and
answers with the statuses a test queues (200 when none is queued). Nothing reaches the internet."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        owner = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = owner._record(Received(self.path, dict(self.headers.items()), body))
                if owner.delay:
                    threading.Event().wait(owner.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _record(self, item: Received) -> int:
        with self._lock:
            self.received.append(item)
            return self.statuses.pop(0) if self.statuses else 200

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def header(self, n: int, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.received[n].headers.items() if k.lower() == wanted), None)
