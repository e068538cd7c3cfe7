"""A local stand-in for the Wayback Machine's Save Page Now 2 API, on 127.0.0.1 (real sockets).

    POST /save                 form url=...  -> {"url", "job_id"} (or a queued reply)
    GET  /save/status/<job>    -> pending ``pending_polls`` times, then success (or ``job_error``)

A test queues replies (``post_replies``, ``status_replies``: (status, headers, body)) to play
429s, 5xx and refusals, and reads what was asked (``posts``, ``status_requests``). Nothing here
reaches the internet.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TIMESTAMP = "20251229190000"
Queued = tuple[int, dict[str, str], bytes]


@dataclass
class Asked:
    path: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class SavePageNow:
    def __init__(self) -> None:
        self.posts: list[Asked] = []
        self.status_requests: list[Asked] = []
        self.post_replies: list[Queued] = []
        self.status_replies: list[Queued] = []
        self.pending_polls = 0  # "pending" answers before "success", per job
        self.job_error: tuple[str, str] | None = None  # (status_ext, message) instead of success
        self._jobs: dict[str, tuple[str, int]] = {}  # job id -> (url, status requests so far)
        self._lock = threading.Lock()
        owner = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("ascii")).items()}
                self._answer(*owner._post(Asked(self.path, dict(self.headers.items()), form)))

            def do_GET(self) -> None:
                self._answer(*owner._status(Asked(self.path, dict(self.headers.items()))))

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.endpoint = f"{self.base}/save"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> SavePageNow:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def snapshot(self, url: str) -> str:
        return f"{self.base}/web/{TIMESTAMP}/{url}"

    def _post(self, asked: Asked) -> Queued:
        with self._lock:
            self.posts.append(asked)
            if self.post_replies:
                return self.post_replies.pop(0)
            job = f"spn2-{len(self.posts):040x}"
            self._jobs[job] = (asked.form.get("url", ""), 0)
            return 200, {}, json.dumps({"url": asked.form.get("url"), "job_id": job}).encode()

    def _status(self, asked: Asked) -> Queued:
        with self._lock:
            self.status_requests.append(asked)
            if self.status_replies:
                return self.status_replies.pop(0)
            job = asked.path.rsplit("/", 1)[-1]
            if job not in self._jobs:
                return 404, {}, json.dumps({"status": "error", "message": "no such job"}).encode()
            url, asked_before = self._jobs[job]
            self._jobs[job] = (url, asked_before + 1)
            if asked_before < self.pending_polls:
                body: dict[str, object] = {"status": "pending", "job_id": job, "resources": []}
            elif self.job_error is not None:
                ext, message = self.job_error
                body = {"status": "error", "status_ext": ext, "message": message, "job_id": job}
            else:
                body = {"status": "success", "job_id": job, "timestamp": TIMESTAMP, "original_url": url}
            return 200, {}, json.dumps(body).encode()
