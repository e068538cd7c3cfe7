"""Per-source request settings: headers, cookies, auth, proxy, user agent.

They arrive at a local server as configured, never appear in logs, Check rows or WARC request
records, and a tiny forwarding proxy on 127.0.0.1 sees the requests sent through it.
"""

from __future__ import annotations

import base64
import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scraper.http import FetchConfig, Fetcher
from scraper.http_options import (
    REDACTED,
    RequestOptions,
    RequestOptionsError,
    authorization,
    cookie_header,
    load_cookies,
    options_from_params,
    parse_header,
    redact_headers,
)
from tests.hostile import FakeTime
from tests.localserver import LocalServer, Reply, Request
from tests.test_cli import assert_one_line_error, cli
from tests.test_pipeline import page

LOCAL = {"allow_hosts": ("127.0.0.1",), "per_host_delay": 0.0, "connect_timeout": 2.0, "read_timeout": 2.0}
SECRET_TOKEN = "tok-s3cr3t-valdai"
SECRET_COOKIE = "cookie-s3cr3t-novgorod"
SECRET_PASSWORD = "pw-s3cr3t-kremlin"
SECRETS = (SECRET_TOKEN, SECRET_COOKIE, SECRET_PASSWORD)


def cookie_file(tmp_path: Path, value: str = SECRET_COOKIE, host: str = "127.0.0.1") -> Path:
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        f"{host}\tFALSE\t/\tFALSE\t0\tsession\t{value}\n"
        f"{host}\tFALSE\t/private\tFALSE\t0\tother\tonly-under-private\n"
    )
    return path


def gated(*, header: tuple[str, str] | None = None, cookie: str | None = None, auth: str | None = None):
    """A handler that answers 200 only when the request carries what it needs, else 403."""

    def handler(req: Request) -> Reply:
        ok = (header is None or req.headers.get(header[0].lower()) == header[1]) and (
            (cookie is None or cookie in req.headers.get("cookie", ""))
            and (auth is None or req.headers.get("authorization") == auth)
        )
        return Reply(
            200 if ok else 403, page().encode() if ok else b"forbidden", {"Content-Type": "text/html"}
        )

    return handler


# --------------------------------------------------------------------------- pure parts


def test_parse_header() -> None:
    assert parse_header("X-Name:  value with: colon ") == ("X-Name", "value with: colon")
    for bad, match in [("no colon", "not 'Name: value'"), ("Bad Name: v", "not a valid HTTP header name"),
                       ("Host: x", "cannot be set")]:  # fmt: skip
        with pytest.raises(RequestOptionsError, match=match):
            parse_header(bad)


def test_authorization_from_the_environment() -> None:
    assert authorization("bearer:TOKEN", {"TOKEN": "abc"}) == "Bearer abc"
    expected = "Basic " + base64.b64encode(b"me:pw").decode()
    assert authorization("basic:CREDS", {"CREDS": "me:pw"}) == expected
    with pytest.raises(RequestOptionsError, match="environment variable TOKEN is not set"):
        authorization("bearer:TOKEN", {})
    with pytest.raises(RequestOptionsError, match="must hold user:password"):
        authorization("basic:CREDS", {"CREDS": "no-colon"})
    with pytest.raises(RequestOptionsError, match="'bearer:ENV_VAR' or 'basic:ENV_VAR'"):
        authorization("digest:X", {"X": "y"})


def test_cookie_file_errors(tmp_path: Path) -> None:
    with pytest.raises(RequestOptionsError, match="does not exist"):
        load_cookies(str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not a cookie file\n")
    with pytest.raises(RequestOptionsError, match="not in Netscape format"):
        load_cookies(str(bad))


def test_cookies_follow_path_and_domain(tmp_path: Path) -> None:
    jar = load_cookies(str(cookie_file(tmp_path)))
    assert cookie_header(jar, "http://127.0.0.1:8000/a") == f"session={SECRET_COOKIE}"
    assert "other=only-under-private" in (cookie_header(jar, "http://127.0.0.1:8000/private/x") or "")
    assert cookie_header(jar, "http://10.0.0.1/a") is None


def test_authorization_stays_on_the_first_origin() -> None:
    opts = RequestOptions(headers=(("X-Key", "1"),), authorization="Bearer x", user_agent="ua/1")
    same = opts.headers_for("http://a.example/2", "http://a.example/1")
    assert same == {"X-Key": "1", "User-Agent": "ua/1", "Authorization": "Bearer x"}
    assert "Authorization" not in opts.headers_for("http://b.example/", "http://a.example/1")


def test_redaction() -> None:
    pairs = [("Authorization", "Bearer x"), ("cookie", "a=b"), ("Proxy-Authorization", "Basic y"), ("X", "z")]
    assert redact_headers(pairs) == (
        ("Authorization", REDACTED), ("cookie", REDACTED), ("Proxy-Authorization", REDACTED), ("X", "z"),
    )  # fmt: skip


def test_options_from_params_names_problems() -> None:
    with pytest.raises(RequestOptionsError, match="proxy 'ftp://x' must be a URL"):
        options_from_params({"proxy": "ftp://x"}, {})
    with pytest.raises(RequestOptionsError, match="headers must be a table"):
        options_from_params({"headers": ["X: y"]}, {})


# --------------------------------------------------------------------------- the Fetcher


async def test_headers_cookies_auth_arrive_and_are_redacted(server: LocalServer, tmp_path: Path) -> None:
    auth = "Basic " + base64.b64encode(f"me:{SECRET_PASSWORD}".encode()).decode()
    server.route("/a", handler=gated(header=("X-Edition", "int"), cookie=SECRET_COOKIE, auth=auth))
    params = {"headers": {"X-Edition": "int"}, "cookies": str(cookie_file(tmp_path)),
              "auth": "basic:SITE_CREDS", "user_agent": "Mozilla/5.0 (test)"}  # fmt: skip
    options = options_from_params(params, {"SITE_CREDS": f"me:{SECRET_PASSWORD}"})
    async with Fetcher(FetchConfig(**LOCAL), clock=FakeTime().clock) as f:  # type: ignore[arg-type]
        assert (await f.fetch(server.url("/a"))).status == 403  # without the options
        result = await f.fetch(server.url("/a"), options=options)
    assert result.status == 200
    sent = [r for r in server.requests if r.path == "/a"][-1]
    assert sent.headers["user-agent"] == "Mozilla/5.0 (test)"
    kept = dict((k.lower(), v) for k, v in result.request_headers)
    assert kept["authorization"] == kept["cookie"] == REDACTED and kept["x-edition"] == "int"
    assert not any(s in repr(result) for s in SECRETS)
    assert not any(s in repr(options) for s in (SECRET_PASSWORD,))


class _Proxy:
    """A tiny forwarding HTTP proxy on 127.0.0.1 that remembers the absolute URLs it was asked for."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        proxy = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                proxy.seen.append(self.path)
                target = urlsplit(self.path)
                conn = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=5)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection",)}
                conn.request("GET", target.path or "/", headers=headers)
                answer = conn.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                conn.close()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    p = _Proxy()
    yield p
    p.stop()


async def test_a_proxy_on_localhost_sees_the_requests(server: LocalServer, proxy: _Proxy) -> None:
    server.route("/via", handler=gated(header=("X-Edition", "int")))
    options = RequestOptions(headers=(("X-Edition", "int"),), proxy=proxy.url)
    async with Fetcher(FetchConfig(**LOCAL), clock=FakeTime().clock) as f:  # type: ignore[arg-type]
        result = await f.fetch(server.url("/via"), options=options)
    assert result.status == 200
    assert server.url("/via") in proxy.seen and server.url("/robots.txt") in proxy.seen


async def test_through_a_proxy_the_guard_still_checks_the_target(proxy: _Proxy) -> None:
    from scraper.http import BlockedAddress

    options = RequestOptions(proxy=proxy.url)
    async with Fetcher(FetchConfig(**{**LOCAL, "allow_hosts": ()}), clock=FakeTime().clock) as f:  # type: ignore[arg-type]
        with pytest.raises(BlockedAddress, match="loopback"):
            await f.fetch("http://127.0.0.1:9/x", options=options)
    assert proxy.seen == []


# --------------------------------------------------------------------------- CLI and config


def test_cli_check_with_header_and_cookies_and_no_secret_in_warc(server: LocalServer, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'st.db'}"
    server.route("/paywalled", handler=gated(header=("X-Pass", "yes"), cookie=SECRET_COOKIE))
    config = tmp_path / "storytrail.toml"
    config.write_text('[[story]]\nslug = "s"\ntitle = "S"\nquery = "drone"\n')
    cookies = str(cookie_file(tmp_path))
    url = server.url("/paywalled")
    denied = cli("check", url, "--db", db, "--config", str(config), cwd=tmp_path, check=False)
    assert denied.returncode == 1 and "HTTP 403" in denied.stderr
    ok = cli("check", url, "--story", "s", "--header", "X-Pass: yes", "--cookies", cookies,
             "--db", db, "--config", str(config), cwd=tmp_path)  # fmt: skip
    assert "version 1" in ok.stdout and SECRET_COOKIE not in ok.stdout + ok.stderr
    warc = tmp_path / "s.warc.gz"
    cli(
        "export",
        "s",
        "--format",
        "warc",
        "--output",
        str(warc),
        "--db",
        db,
        "--config",
        str(config),
        cwd=tmp_path,
    )
    import gzip

    data = gzip.decompress(warc.read_bytes())
    assert b"X-Pass: yes" in data and REDACTED.encode() in data
    assert SECRET_COOKIE.encode() not in data


def test_cli_check_option_errors_are_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'st.db'}"
    bad = cli("check", "http://127.0.0.1:9/", "--header", "nocolon", "--db", db, cwd=tmp_path, check=False)
    assert bad.returncode == 2
    assert_one_line_error(bad, "--header", "not 'Name: value'")
    missing = cli(
        "check", "http://127.0.0.1:9/", "--cookies", "nope.txt", "--db", db, cwd=tmp_path, check=False
    )
    assert missing.returncode == 2
    assert_one_line_error(missing, "--cookies", "nope.txt does not exist")


def test_source_settings_from_config_reach_the_server(server: LocalServer, tmp_path: Path) -> None:
    """A page source with a header, a cookie file and bearer auth from the environment; its
    articles on the same host get them too. Nothing secret is printed or logged."""
    auth = f"Bearer {SECRET_TOKEN}"
    need = {"header": ("X-Edition", "int"), "cookie": SECRET_COOKIE, "auth": auth}
    article = server.url("/2025/12/30/putin-residence-drone-claim")
    server.route("/section", handler=lambda r: gated(**need)(r) if gated(**need)(r).status == 403 else Reply(
        200, f'<html><body><a href="{article}">Putin residence drone claim</a></body></html>'.encode(),
        {"Content-Type": "text/html"}))  # fmt: skip
    server.route("/2025/12/30/putin-residence-drone-claim", handler=gated(**need))
    cookie_file(tmp_path)
    config = tmp_path / "storytrail.toml"
    config.write_text(
        '[[source]]\nname = "paywalled"\nkind = "page"\n'
        f'url = "{server.url("/section")}"\narchive = "all"\n'
        'headers = { "X-Edition" = "int" }\ncookies = "cookies.txt"\nauth = "bearer:PAYWALL_TOKEN"\n'
    )
    db = f"sqlite:///{tmp_path / 'st.db'}"
    args = ("--db", db, "--config", str(config))
    env = {"STORYTRAIL_LOG_LEVEL": "DEBUG"}
    missing = cli("poll", "paywalled", *args, cwd=tmp_path, check=False, env=env)
    assert "environment variable PAYWALL_TOKEN is not set" in missing.stdout + missing.stderr
    polled = cli(
        "poll", "paywalled", "--json", *args, cwd=tmp_path, env={**env, "PAYWALL_TOKEN": SECRET_TOKEN}
    )
    assert not any(s in polled.stdout + polled.stderr for s in SECRETS)
    versions = cli("versions", article, "--json", *args, cwd=tmp_path)
    assert '"seq": 1' in versions.stdout
    sent = [r for r in server.requests if r.path.startswith("/2025")][-1]
    assert sent.headers["authorization"] == auth and SECRET_COOKIE in sent.headers["cookie"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('auth = "token:X"', "'bearer:ENV_VAR' or 'basic:ENV_VAR'"),
        ('proxy = "ftp://proxy"', "must be a URL starting http://"),
        ('headers = { "Bad Name" = "x" }', "not a valid HTTP header name"),
        ('fetcher = "chrome"', "'http' or 'browser'"),
    ],
)
def test_config_check_names_bad_request_settings(tmp_path: Path, line: str, message: str) -> None:
    from jobs.config import ConfigError, load_config

    path = tmp_path / "storytrail.toml"
    path.write_text(f'[[source]]\nname = "s"\nkind = "page"\nurl = "https://news.example/"\n{line}\n')
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(str(path))
    assert caught.value.line == 5


def test_config_accepts_request_settings_and_browser_keys(tmp_path: Path) -> None:
    from jobs.config import load_config
    from jobs.sync import source_fields, story_fields

    path = tmp_path / "storytrail.toml"
    path.write_text(
        '[[source]]\nname = "s"\nkind = "page"\nurl = "https://news.example/"\n'
        'headers = { "X-Edition" = "int" }\ncookies = "c.txt"\nauth = "basic:CREDS"\n'
        'proxy = "socks5://127.0.0.1:1080"\nuser_agent = "UA/1"\nfetcher = "browser"\nscreenshot = true\n'
        '[[story]]\nslug = "v"\nfetcher = "browser"\nscreenshot = true\n'
    )
    config = load_config(str(path))
    params = source_fields(config.sources[0], base_dir=tmp_path)["params"]
    assert params["cookies"] == str(tmp_path / "c.txt") and params["fetcher"] == "browser"
    assert params["headers"] == {"X-Edition": "int"} and params["auth"] == "basic:CREDS"
    assert story_fields(config.stories[0])["settings"]["screenshot"] is True
