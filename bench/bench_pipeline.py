"""Capture pipeline end to end (local server -> fetch -> extract -> store) vs bare trafilatura.

The pages are the real ones of ../shared/corpus/extraction-* when present (else generated ones),
served by a separate process on 127.0.0.1 so its CPU time is not counted as ours.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing as mp
import os
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PAGES = 240


def corpus_pages(limit: int) -> list[bytes]:
    root = Path(
        os.environ.get("STORYTRAIL_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
    )
    files = sorted((root / "extraction-trafilatura" / "html").glob("*.htm*"))
    files += sorted((root / "extraction-readability").glob("*/source.html"))
    return [f.read_bytes() for f in files[:limit]]


def generated_pages(n: int) -> list[bytes]:
    from jobs.demo.content import ALL
    from jobs.demo.site import render_article

    out = []
    for i in range(n):
        a = ALL[i % len(ALL)]
        extra = tuple(f"Paragraph {j} of generated article {i}: " + "words " * 40 for j in range(8))
        page = render_article(
            a.__class__(**{**a.__dict__, "slug": f"g/{i}", "paragraphs": a.paragraphs + extra}), ""
        )
        out.append(page.encode())
    return out


def pages(n: int = PAGES) -> tuple[list[bytes], str]:
    real = corpus_pages(n)
    if len(real) >= n // 2:
        more = generated_pages(n - len(real))
        return real + more, f"{len(real)} real corpus pages + {len(more)} generated"
    return generated_pages(n), f"{n} generated pages (corpus absent)"


def _serve(bodies: list[bytes], port_q: Any) -> None:
    etags = ['"' + hashlib.sha256(b).hexdigest()[:16] + '"' for b in bodies]

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: object) -> None:
            return

        def do_GET(self) -> None:
            if self.path == "/robots.txt":
                body, status, etag = b"User-agent: *\n", 200, None
            else:
                i = int(self.path.strip("/").split("/")[-1])
                body, status, etag = bodies[i], 200, etags[i]
                if self.path.startswith("/etag/") and self.headers.get("If-None-Match") == etag:
                    body, status = b"", 304
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if etag and self.path.startswith("/etag/"):
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    port_q.put(httpd.server_address[1])
    httpd.serve_forever()


def bare_trafilatura(bodies: list[bytes]) -> float:
    import trafilatura

    from scraper.core.charset import decode_html

    start = time.perf_counter()
    for b in bodies:
        text, _ = decode_html(b, "text/html; charset=utf-8")
        trafilatura.bare_extraction(text, with_metadata=True)
    return time.perf_counter() - start


async def _pipeline(base: str, n: int, db: str, workers: int) -> tuple[float, Any, Any]:
    from jobs.pipeline import check_url
    from jobs.services import open_services
    from jobs.settings import Settings
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(db)
    upgrade(engine)
    settings = Settings(
        database_url=db,
        allow_hosts=["127.0.0.1"],
        per_host_delay=0.0,
        per_host_concurrency=32,
        global_concurrency=32,
        extract_workers=workers,
        retries=0,
    )
    async with open_services(settings, engine=engine) as svc:
        await svc.extractor.extract("<html><body><p>warm up the workers</p></body></html>", None)
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> Any:
            async with sem:
                return await check_url(svc, f"{base}/p/{i}")

        start = time.perf_counter()
        reports = await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - start
        recheck = await _recheck_cost(svc, base, check_url)
    engine.dispose()
    return elapsed, reports, recheck


async def _recheck_cost(svc: Any, base: str, check_url: Any, n: int = 100) -> dict[str, float]:
    for i in range(n):
        await check_url(svc, f"{base}/etag/{i}")
    result = {}
    for label, prefix in (("304 Not Modified", "etag"), ("identical body", "p")):
        cpu0 = time.process_time()
        for i in range(n):
            await check_url(svc, f"{base}/{prefix}/{i}")
        result[label] = (time.process_time() - cpu0) / n * 1000
    return result


def run() -> str:
    bodies, origin = pages()
    q: Any = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=_serve, args=(bodies, q), daemon=True)
    proc.start()
    port = q.get(timeout=30)
    base = f"http://127.0.0.1:{port}"
    try:
        bare = bare_trafilatura(bodies)
        workers = os.cpu_count() or 1
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, reports, recheck = asyncio.run(
                _pipeline(base, len(bodies), f"sqlite:///{tmp}/b.db", workers)
            )
    finally:
        proc.terminate()
    ok = sum(1 for r in reports if r.outcome.value == "new_version")
    n = len(bodies)
    lines = [
        f"Pages: {origin}; {ok}/{n} stored as new versions; "
        f"pipeline with {workers} extraction workers on SQLite.",
        "",
        "| run | pages | seconds | pages/s |",
        "|---|---|---|---|",
        f"| bare trafilatura, one process (decode + extract) | {n} | {bare:.2f} | {n / bare:.1f} |",
        f"| storytrail pipeline (fetch, blob, extract in pool, hash, version, check) | {n} "
        f"| {elapsed:.2f} | {n / elapsed:.1f} |",
        "",
        f"Pipeline speed vs bare single-process extraction: **{bare / elapsed:.2f}x** "
        "(target >= 1.6x on 2 cores).",
        "",
        "| unchanged re-check | CPU ms per check (target < 3) |",
        "|---|---|",
    ]
    lines += [f"| {label} | {ms:.2f} |" for label, ms in recheck.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
