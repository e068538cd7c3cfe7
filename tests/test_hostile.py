"""The hostile-server suite: the real console script against a server that misbehaves in every
way we know of (tests/hostile.RawServer on 127.0.0.1).

Each page first serves a good article, stored as version 1 (in process); then it turns hostile
and ``storytrail check URL`` (or ``storytrail poll SOURCE`` for feeds and sitemaps) runs in a
child process. Every case asserts: the exit status, one clear line (never a traceback), the wall
time and the child's peak RSS (``os.wait4``), that the versions stored before are intact, and
that nothing false was added (no version, no document for a refused URL, no file content).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import make_settings
from tests.hostile import RawServer, deflate_bomb, gzip_bomb, http_head, reply, reset, send_all, stream

STORYTRAIL = str(Path(sys.executable).with_name("storytrail"))
ENV = {
    "STORYTRAIL_ALLOW_HOSTS": "127.0.0.1",
    "STORYTRAIL_PER_HOST_DELAY": "0",
    "STORYTRAIL_RETRIES": "1",
    "STORYTRAIL_RETRY_BACKOFF": "0.1",
    "STORYTRAIL_RETRY_MAX_WAIT": "30",
    "STORYTRAIL_CONNECT_TIMEOUT": "2",
    "STORYTRAIL_READ_TIMEOUT": "2",
    "STORYTRAIL_TOTAL_TIMEOUT": "5",
    "STORYTRAIL_EXTRACT_WORKERS": "0",
}
MB = 1024 * 1024
PARAGRAPHS = [
    "Russia said on Monday that Ukraine had launched 91 long-range drones at the state residence of "
    "President Vladimir Putin in the Novgorod region, an accusation Kyiv rejected as a fabrication.",
    "Foreign Minister Sergei Lavrov said the Kremlin would revise its negotiating position in the peace "
    "talks, while officials in Kyiv said no evidence of any attack near Valdai had been shown.",
    "Air defence units destroyed every drone, the ministry said, and nobody was hurt. Independent "
    "confirmation was not available, and satellite images of the area showed no visible damage.",
]


def article(title: str, paragraphs: list[str] = PARAGRAPHS, meta: str = '<meta charset="utf-8">') -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head>{meta}<title>{title}</title></head><body><header><nav>"
        f'<a href="/">Home</a></nav></header><article><h1>{title}</h1>{body}</article>'
        "<footer>News Example</footer></body></html>"
    )


HTML = {"Content-Type": "text/html; charset=utf-8"}
BINARY = {"Content-Type": "application/octet-stream"}


def _name(path: str) -> str:
    return path.rsplit("/", 1)[1]


RU = [
    "Министерство обороны заявило, что силы ПВО уничтожили все беспилотники над Новгородской "
    "областью, а в Киеве назвали это заявление выдумкой.",
    "В Кремле сообщили, что Россия пересмотрит свою позицию на переговорах, однако доказательств "
    "атаки на резиденцию в Валдае никто не показал.",
]
FR = [
    "Le Kremlin a affirmé que l'Ukraine avait lancé des drones contre la résidence présidentielle; "
    "à Kyiv, on parle d'une invention destinée à freiner les négociations.",
    "Les défenses aériennes auraient détruit tous les appareils, a précisé le ministère, et aucune "
    "victime n'a été signalée près de Valdaï, où l'été dernier déjà tout était calme.",
]


@dataclass
class Case:
    name: str
    hostile: Callable[[RawServer, str], Any]  # (server, path) -> route for the hostile phase
    expect: str  # a regex the output must contain
    rc: int = 1
    kind: str = "page"  # page | feed | sitemap | url (a URL given as is; no stored version)
    good: bytes | None = None
    url: str | None = None  # for kind "url": the URL to check ({base} = the server)
    rss_mb: int = 260
    seconds: float = 25.0
    check: Callable[[Result, sa.Engine], None] | None = None
    result: Result | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return f"/{self.kind}/{self.name}"


@dataclass
class Result:
    rc: int
    out: str
    err: str
    seconds: float
    rss_mb: float


# --- the hostile routes -------------------------------------------------------------------------


def _drip(data: bytes, pause: float) -> Callable[[RawServer, str], Any]:
    def make(_s: RawServer, _p: str) -> Any:
        return stream(lambda: (data[i : i + 1] for i in range(len(data))), HTML, pause=pause)

    return make


def _endless_headers(conn: Any) -> None:
    send_all(conn, b"HTTP/1.1 200 OK\r\n")
    deadline = time.monotonic() + 8
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            conn.sendall(f"X-Junk-{n}: {'a' * 100}\r\n".encode())
        except OSError:
            return


def _endless_body() -> Iterator[bytes]:
    block = b"<p>" + b"na " * 20000 + b"</p>"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        yield block


def _slow_headers(conn: Any) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 400:
        send_all(conn, bytes([byte]))
        time.sleep(0.05)


def _short_body(conn: Any) -> None:
    send_all(conn, http_head(200, {**HTML, "Content-Length": "100000"}) + b"<html><body><p>half")


def _redirect(to: str) -> Callable[[RawServer, str], Any]:
    return lambda s, _p: reply(b"", 302, {"Location": to.format(base=s.base)})


def _loop(s: RawServer, p: str) -> Any:
    s.routes[p + "-b"] = reply(b"", 302, {"Location": p})
    return reply(b"", 302, {"Location": p + "-b"})


def _chain(s: RawServer, p: str) -> Any:
    for i in range(1, 9):
        s.routes[f"{p}-{i}"] = reply(b"", 301, {"Location": f"{p}-{i + 1}"})
    return reply(b"", 301, {"Location": f"{p}-1"})


NO_FALSE_VERSION = r"unchanged|suspect extraction|error: "  # never a version "with every sentence removed"


def _nested(title: str) -> bytes:
    page = article(title)
    return (
        page.replace("<article>", "<div>" * 100_000 + "<article>")
        .replace("</article>", "</article>" + "</div>" * 100_000)
        .encode()
    )


def _one_line(title: str) -> bytes:
    filler = "var x = '" + "a" * (14 * MB) + "';"
    return article(title).replace("</body>", f"<script>{filler}</script></body>").encode()


def _brotli_bomb() -> bytes:
    import brotlicffi

    return bytes(brotlicffi.compress(bytes(256 * MB), quality=1))


def _zstd_bomb() -> bytes:
    import zstandard

    return bytes(zstandard.ZstdCompressor(level=1).compress(bytes(256 * MB)))


def _static(body: Callable[[], bytes], headers: dict[str, str]) -> Callable[[RawServer, str], Any]:
    return lambda _s, _p: reply(body(), 200, headers)


# --- feeds and sitemaps -----------------------------------------------------------------------

ENTRY = "<item><title>{title}</title><link>{base}/news/{n}</link><guid>{base}/news/{n}</guid></item>"


def rss(base: str, items: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )


def good_items(base: str, name: str) -> str:
    return "".join(ENTRY.format(title=f"{name} story {n}", base=base, n=f"{name}-{n}") for n in (1, 2))


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _feed_bomb(s: RawServer, p: str) -> Any:
    name = p.rsplit("/", 1)[1]
    body = LAUGHS + rss(s.base, good_items(s.base, name)).decode().split("?>", 1)[1].replace(
        "story 1</title>", "story 1 &lol9;</title>"
    )
    return reply(body.encode(), 200, {"Content-Type": "application/rss+xml"})


def _feed_xxe(s: RawServer, p: str) -> Any:
    name = p.rsplit("/", 1)[1]
    body = XXE + rss(s.base, good_items(s.base, name)).decode().split("?>", 1)[1].replace(
        "story 1</title>", "story 1 &xxe;</title>"
    )
    return reply(body.encode(), 200, {"Content-Type": "application/rss+xml"})


def _feed_huge(s: RawServer, p: str) -> Any:
    name = p.rsplit("/", 1)[1]
    many = "".join(f"<item><link>{s.base}/many/{n}</link></item>" for n in range(100_000))
    return reply(rss(s.base, good_items(s.base, name) + many), 200, {"Content-Type": "application/rss+xml"})


def _json_feed(s: RawServer, p: str) -> Any:
    name = p.rsplit("/", 1)[1]
    items = [
        {"id": f"{s.base}/news/{name}-1", "url": f"{s.base}/news/{name}-1", "title": f"{name} story 1"},
        {"id": "bad", "url": f"{s.base}/news/{name}-3", "title": "typed wrong", "authors": 4, "tags": 5},
        {"id": "worse", "url": {"not": "a link"}, "title": "no link"},
        {"id": f"{s.base}/news/{name}-2", "url": f"{s.base}/news/{name}-2", "title": f"{name} story 2"},
    ]
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}
    return reply(json.dumps(doc).encode(), 200, {"Content-Type": "application/feed+json"})


def urlset(base: str, name: str, extra: str = "") -> bytes:
    urls = "".join(f"<url><loc>{base}/news/{name}-{n}</loc></url>" for n in (1, 2))
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}{extra}</urlset>'.encode()


def _sitemap_bomb(s: RawServer, p: str) -> Any:
    body = LAUGHS + urlset(s.base, "x", "<url><loc>&lol9;</loc></url>").decode().split("?>", 1)[1]
    return reply(body.encode(), 200, {"Content-Type": "application/xml"})


def _sitemap_xxe(s: RawServer, p: str) -> Any:
    body = (
        XXE + urlset(s.base, "x", "<url><loc>http://127.0.0.1/&xxe;</loc></url>").decode().split("?>", 1)[1]
    )
    return reply(body.encode(), 200, {"Content-Type": "application/xml"})


def _sitemap_gz_bomb(_s: RawServer, _p: str) -> Any:
    body = gzip.compress(b"<urlset>" + b" " * (60 * MB) + b"</urlset>", compresslevel=1)
    return reply(body, 200, {"Content-Type": "application/gzip"})


# --- extra checks -------------------------------------------------------------------------------


def _no_document(url: str) -> Callable[[Result, sa.Engine], None]:
    def check(_r: Result, engine: sa.Engine) -> None:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT count(*) FROM document WHERE url = :u"), {"u": url}).scalar()
        assert found == 0, f"a document row was created for the refused URL {url}"

    return check


def _deferred(case_name: str) -> Callable[[Result, sa.Engine], None]:
    def check(_r: Result, engine: sa.Engine) -> None:
        with engine.connect() as conn:
            value = conn.execute(
                sa.text("SELECT next_check FROM document WHERE url LIKE :u"), {"u": f"%/page/{case_name}"}
            ).scalar()
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
        assert when > datetime.now(UTC) + timedelta(seconds=99000), f"next check {when} ignores Retry-After"

    return check


def _kept_json_items(result: Result, engine: sa.Engine) -> None:
    with engine.connect() as conn:
        titles = {t for (t,) in conn.execute(sa.text("SELECT title FROM version WHERE channel = 'feed'"))}
    assert "typed wrong" in titles  # the wrongly typed fields are ignored, the item kept


def _nothing_from_files(result: Result, engine: sa.Engine) -> None:
    with engine.connect() as conn:
        leaked = conn.execute(
            sa.text("SELECT count(*) FROM version WHERE title LIKE '%root:%' OR text LIKE '%root:x:0%'")
        ).scalar()
        urls = conn.execute(sa.text("SELECT count(*) FROM document WHERE url LIKE '%root:%'")).scalar()
    assert leaked == 0 and urls == 0


CASES = [
    Case("gzip-bomb", lambda _s, _p: stream(lambda: gzip_bomb(1024 * MB),
         {**HTML, "Content-Encoding": "gzip"}), r"larger than max_body_bytes=\d+ after decompression"),
    Case("deflate-bomb", lambda _s, _p: stream(lambda: deflate_bomb(1024 * MB),
         {**HTML, "Content-Encoding": "deflate"}), r"larger than max_body_bytes=\d+ after decompression"),
    Case("brotli-bomb", _static(_brotli_bomb, {**HTML, "Content-Encoding": "br"}),
         r"unsupported Content-Encoding 'br'|larger than max_body_bytes"),
    Case("zstd-bomb", _static(_zstd_bomb, {**HTML, "Content-Encoding": "zstd"}),
         r"unsupported Content-Encoding 'zstd'|larger than max_body_bytes"),
    Case("endless-body", lambda _s, _p: stream(_endless_body, HTML),
         r"larger than max_body_bytes|total_timeout"),
    Case("slow-drip-body", _drip(b"<html><body><p>" + b"x" * 400, 0.05), r"total_timeout=5s"),
    Case("slow-drip-headers", lambda _s, _p: _slow_headers, r"total_timeout=5s|read_timeout"),
    Case("stalled", lambda _s, _p: (lambda conn: time.sleep(8)), r"read_timeout=2s|total_timeout"),
    Case("endless-headers", lambda _s, _p: _endless_headers, r"malformed HTTP response|total_timeout"),
    Case("huge-header", lambda _s, _p: reply(b"ok", 200, {**HTML, "X-Big": "a" * (2 * MB)}),
         r"malformed HTTP response"),
    Case("short-body", lambda _s, _p: _short_body, r"malformed HTTP|network error|incomplete"),
    Case("garbage-status", lambda _s, _p: (lambda conn: send_all(conn, b"HELLO THERE\r\n\r\n")),
         r"malformed HTTP response"),
    Case("reset", lambda _s, _p: reset, r"network error|malformed HTTP|gave up after 2 attempts"),
    Case("redirect-loop", _loop, r"redirect loop: "),
    Case("redirect-chain", _chain, r"more than 5 redirects"),
    Case("redirect-private", _redirect("http://10.0.0.1/admin"), r"10\.0\.0\.1 is a private address",
         check=_no_document("http://10.0.0.1/admin")),
    Case("redirect-file", _redirect("file:///etc/passwd"), r"only http and https"),
    Case("retry-after-429", lambda _s, _p: reply(b"slow down", 429, {"Retry-After": "99999"}),
         r"Retry-After 99999s, more than retry_max_wait=30s: gave up at once", seconds=15,
         check=_deferred("retry-after-429")),
    Case("binary-body", lambda _s, _p: reply(os.urandom(200_000), 200, BINARY),
         r"error: .*(not HTML|binary|no text|not an HTML)"),
    Case("empty-200", lambda _s, _p: reply(b"", 200, HTML), r"error: .*empty"),
    Case("nested-100k", lambda _s, p: reply(_nested(p.rsplit("/", 1)[1]), 200, HTML), NO_FALSE_VERSION,
         rc=-1, rss_mb=420),
    Case("one-line-14mb", lambda _s, p: reply(_one_line(_name(p)), 200, HTML), NO_FALSE_VERSION,
         rc=-1, rss_mb=520, seconds=40),
    Case("wrong-charset", lambda _s, p: reply(article(p.rsplit("/", 1)[1], RU).encode("cp1251"), 200, HTML),
         r"unchanged \(same content\)", rc=0),
    Case("missing-charset", lambda _s, p: reply(article(_name(p), FR, meta="").encode("cp1252"), 200,
         {"Content-Type": "text/html"}), r"unchanged \(same content\)", rc=0),
    Case("ssrf-private", lambda _s, _p: None, r"error: http://10\.0\.0\.1/: 10\.0\.0\.1 is a private address",
         kind="url", url="http://10.0.0.1/", check=_no_document("http://10.0.0.1/")),
    Case("file-scheme", lambda _s, _p: None, r"^error: 'file:///etc/passwd' is not a usable URL", kind="url",
         url="file:///etc/passwd", check=_no_document("file:///etc/passwd")),
    Case("tls-to-plain-port", lambda _s, _p: None, r"error: https://127\.0\.0\.1:\d+/x: .*network error.*SSL",
         kind="url",
         url="https://127.0.0.1:{port}/x"),
    Case("feed-billion-laughs", _feed_bomb, r"error|not a usable feed|skipped|polled|\d", kind="feed", rc=-1,
         check=_nothing_from_files),
    Case("feed-xxe", _feed_xxe, r".", kind="feed", rc=-1, check=_nothing_from_files),
    Case("feed-100k-entries", _feed_huge, r"older entries left out", kind="feed", rc=0, rss_mb=400,
         seconds=90),
    Case("json-feed-bad-items", _json_feed, r"entry 3 skipped: it has no http\(s\) link", kind="feed", rc=0,
         check=_kept_json_items),
    Case("sitemap-billion-laughs", _sitemap_bomb, r"not a usable sitemap|skipped|\d", kind="sitemap", rc=-1,
         check=_nothing_from_files),
    Case("sitemap-xxe", _sitemap_xxe, r".", kind="sitemap", rc=-1, check=_nothing_from_files),
    Case("sitemap-gzip-bomb", _sitemap_gz_bomb, r"inflates to more than|larger than", kind="sitemap"),
]  # fmt: skip


GOOD_TEXT = {"wrong-charset": (RU, '<meta charset="utf-8">'), "missing-charset": (FR, "")}


def _good_route(case: Case, server: RawServer) -> Any:
    if case.kind == "page":
        paragraphs, meta = GOOD_TEXT.get(case.name, (PARAGRAPHS, '<meta charset="utf-8">'))
        return reply(article(case.name, paragraphs, meta).encode(), 200, HTML)
    if case.kind == "feed":
        return reply(
            rss(server.base, good_items(server.base, case.name)), 200, {"Content-Type": "application/rss+xml"}
        )
    if case.kind == "sitemap":
        return reply(urlset(server.base, case.name), 200, {"Content-Type": "application/xml"})
    return None


def _config(server: RawServer) -> str:
    sources = [
        f'[[source]]\nname = "{c.name}"\nkind = "{c.kind}"\nurl = "{server.url(c.path)}"\nevery = "1h"\n'
        for c in CASES
        if c.kind in ("feed", "sitemap")
    ]
    return "\n".join(sources)


# Peak RSS: a child's ru_maxrss starts at the high-water mark of the process it was forked
# (vforked) from, and pytest's is large; so a small launcher runs the command and reports the
# command's own rusage (os.wait4).
LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    json.dump({"rc": proc.returncode, "maxrss_kb": usage.ru_maxrss}, f)
sys.exit(0)
"""


def run_cli(args: list[str], env: dict[str, str], timeout: float) -> Result:
    """Run the console script; its exit status, output, wall time and peak RSS."""
    stem = Path(env["HOSTILE_TMP"]) / f"run-{threading.get_ident()}-{time.monotonic_ns()}"
    out_path, err_path, usage_path = (stem.with_suffix(s) for s in (".out", ".err", ".json"))
    command = [sys.executable, "-c", LAUNCHER, str(usage_path), STORYTRAIL, *args]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env, start_new_session=True)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        seconds = time.monotonic() - started
    usage = json.loads(usage_path.read_text()) if usage_path.exists() else {"rc": -9, "maxrss_kb": 0}
    return Result(
        rc=int(usage["rc"]),
        out=out_path.read_text(errors="replace"),
        err=err_path.read_text(errors="replace"),
        seconds=seconds,
        rss_mb=usage["maxrss_kb"] / 1024,
    )


def _versions(engine: sa.Engine) -> dict[tuple[int, str, int], tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT document_id, channel, seq, content_hash, title, text, kind FROM version")
        ).all()
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def _page_documents(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT url, id FROM document WHERE url LIKE '%/page/%'")).all()
    return {str(url).rsplit("/", 1)[1]: int(i) for url, i in rows}


async def _store_good_pages(db_url: str, engine: sa.Engine, urls: list[str]) -> list[Any]:
    from jobs.pipeline import check_url
    from jobs.services import open_services

    settings = make_settings(db_url, allow_hosts=["127.0.0.1"])
    async with open_services(settings, engine=engine, extract_workers=0) as svc:
        return list(await asyncio.gather(*(check_url(svc, url) for url in urls)))


@dataclass
class Outcome:
    result: Result
    engine: sa.Engine
    before: dict[tuple[int, str, int], tuple[Any, ...]]
    after: dict[tuple[int, str, int], tuple[Any, ...]]
    pages: dict[str, int]


@dataclass
class Run:
    outcomes: dict[str, Outcome]
    total_seconds: float


def _seed(tmp: Path, server: RawServer, env: dict[str, str]) -> tuple[Path, Path]:
    """A database where every page has its version 1 and every feed and sitemap was polled."""
    from storage.db import make_engine
    from storage.migrate import upgrade

    path, config = tmp / "seed.db", tmp / "storytrail.toml"
    config.write_text(_config(server), encoding="utf-8")
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    pages = [server.url(c.path) for c in CASES if c.kind == "page"]
    reports = asyncio.run(_store_good_pages(f"sqlite:///{path}", engine, pages))
    assert [r.seq for r in reports] == [1] * len(pages), [r.error for r in reports if r.seq != 1]
    polled = run_cli(["poll", "--db", f"sqlite:///{path}", "--config", str(config)], env, 120)
    assert polled.rc == 0, polled.out + polled.err
    with engine.begin() as conn:
        conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path, config


@pytest.fixture
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Seed once; then each case runs on its own copy of the seed database (no lock contention
    between cases run side by side), three at a time."""
    from storage.db import make_engine

    tmp = tmp_path_factory.mktemp("hostile")
    env = {**os.environ, **ENV, "HOSTILE_TMP": str(tmp)}
    env.pop("STORYTRAIL_DATABASE_URL", None)
    with RawServer() as server:
        for case in CASES:
            server.routes[case.path] = _good_route(case, server)
        seed, config = _seed(tmp, server, env)
        for case in CASES:
            server.routes[case.path] = case.hostile(server, case.path)

        def one(case: Case) -> tuple[str, Outcome]:
            path = tmp / f"{case.name}.db"
            shutil.copyfile(seed, path)
            engine = make_engine(f"sqlite:///{path}")
            before = _versions(engine)
            if case.kind in ("feed", "sitemap"):
                args = ["poll", case.name]
            else:
                args = ["check", case.url.format(port=server.port) if case.url else server.url(case.path)]
            common = ["--db", f"sqlite:///{path}", "--config", str(config)]
            result = run_cli([*args, *common], env, case.seconds * 2)
            return case.name, Outcome(result, engine, before, _versions(engine), _page_documents(engine))

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=3) as pool:
            outcomes = dict(pool.map(one, sorted(CASES, key=lambda c: -c.seconds)))
        total = time.monotonic() - started
    report = {n: {"rc": o.result.rc, "s": round(o.result.seconds, 1), "mb": round(o.result.rss_mb)}
              for n, o in outcomes.items()}  # fmt: skip
    if os.environ.get("HOSTILE_REPORT"):
        Path(os.environ["HOSTILE_REPORT"]).write_text(json.dumps({"total": round(total), **report}, indent=1))
    yield Run(outcomes, total)
    for outcome in outcomes.values():
        outcome.engine.dispose()


def check_case(case: Case, outcome: Outcome) -> None:
    result = outcome.result
    output = result.out + result.err
    assert "Traceback" not in output, output
    if case.rc >= 0:
        assert result.rc == case.rc, f"exit status {result.rc}: {output}"
    else:
        assert result.rc in (0, 1), f"exit status {result.rc}: {output}"
    assert re.search(case.expect, output, re.MULTILINE), f"no {case.expect!r} in: {output}"
    if result.rc == 1 and case.kind in ("page", "url"):
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert result.seconds < case.seconds, f"took {result.seconds:.1f}s"
    assert result.rss_mb < case.rss_mb, f"peak RSS {result.rss_mb:.0f} MB"
    for key, row in outcome.before.items():  # what was stored before is intact
        assert outcome.after.get(key) == row, f"version {key} changed"
    titles = [str(row[1] or "") for row in outcome.after.values()]
    assert not [t for t in titles if "lollol" in t or len(t) > 2000], "an entity was expanded"
    if case.kind == "page":  # and a hostile page added no version
        assert outcome.after.keys() == outcome.before.keys(), set(outcome.after) - set(outcome.before)
    if case.check is not None:
        case.check(result, outcome.engine)


def test_hostile_servers(hostile_run: Run) -> None:
    """Every case (one test, so that parallel test workers do not each run the whole suite)."""
    failures = []
    for case in CASES:
        try:
            check_case(case, hostile_run.outcomes[case.name])
        except AssertionError as exc:
            failures.append(f"{case.name}: {exc}")
    assert not failures, "\n".join(failures)
    assert len(CASES) >= 30
    assert hostile_run.total_seconds < 150, f"the cases took {hostile_run.total_seconds:.0f}s"


# --- in process, on every backend -----------------------------------------------------------------


async def test_a_429_with_a_long_retry_after_fails_at_once_and_defers_the_host(
    server: Any, engine: sa.Engine, db_url: str, clock: Any
) -> None:
    from jobs.pipeline import check_url
    from jobs.services import open_services
    from tests.localserver import Reply

    server.route("/a", handler=lambda _r: Reply(429, b"slow down", {"Retry-After": "99999"}))
    server.route("/b", "<p>b</p>")
    settings = make_settings(db_url, retries=3, retry_backoff=1.0, retry_max_wait=60.0)
    async with open_services(settings, engine=engine, clock=clock, extract_workers=0) as svc:
        started = time.monotonic()
        report = await check_url(svc, server.url("/a"))
        took = time.monotonic() - started
        later = await check_url(svc, server.url("/b"))  # same host: not asked before the pause ends
    assert took < 1.0, f"the check took {took:.2f}s"
    assert report.outcome.value == "error" and "Retry-After 99999s" in (report.error or "")
    assert "asked for a pause" in (later.error or "") and server.hits("/b") == 0
    from storage.models import Document

    with svc.session() as session:
        for doc_id in (report.document_id, later.document_id):
            doc = session.get(Document, doc_id)
            assert doc is not None and doc.next_check is not None
            due = doc.next_check if doc.next_check.tzinfo else doc.next_check.replace(tzinfo=UTC)
            assert due >= clock.now + timedelta(seconds=99999)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://[::ffff:10.0.0.1]/x", "is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "is a link-local address"),
    ],
)
async def test_a_refused_url_creates_no_document(
    engine: sa.Engine, db_url: str, clock: Any, url: str, message: str
) -> None:
    from jobs.pipeline import check_url
    from jobs.services import open_services

    async with open_services(make_settings(db_url), engine=engine, clock=clock, extract_workers=0) as svc:
        report = await check_url(svc, url)
    assert report.outcome.value == "error" and message in (report.error or "")
    assert report.document_id is None
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM document")).scalar() == 0
        assert conn.execute(sa.text('SELECT count(*) FROM "check"')).scalar() == 0
