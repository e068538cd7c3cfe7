"""Preservation in the Wayback Machine: the pure core (Save Page Now 2 answers, back-off), the queue
(made with the version, claimed under a lease, one submission per interval for every node), and
submission to a local Save Page Now stand-in through the daemon's pass. Both database backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from jobs.daemon import Daemon, DaemonOptions
from jobs.pipeline import check_url
from jobs.wayback import Preserver
from scraper.core import wayback as core
from storage import catalog
from storage import documents as docs
from storage import wayback as store
from storage.models import Version, WaybackCapture
from tests.conftest import make_settings
from tests.test_cli import cli
from tests.test_pipeline import page
from tests.wayback_standin import TIMESTAMP, SavePageNow

ENDPOINT = "https://web.archive.org/save"


@pytest.fixture
def spn() -> Iterator[SavePageNow]:
    stand_in = SavePageNow().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
async def svc(engine, db_url, clock, spn):
    from jobs.services import open_services

    settings = make_settings(
        db_url,
        wayback_endpoint=spn.endpoint,
        wayback_access_key="ACCESS",
        wayback_secret_key="SECRET",
        wayback_min_interval=0.0,
        wayback_poll_interval=0.0,
    )
    async with open_services(settings, engine=engine, clock=clock, extract_workers=0) as services:
        yield services


async def no_sleep(seconds: float) -> None:
    return None


# --------------------------------------------------------------------------- pure core


def reply(status: int = 200, body: object = b"", **headers: str) -> core.Reply:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    lowered = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    return core.Reply(
        status, data, lowered, float(lowered["retry-after"]) if "retry-after" in lowered else None
    )


JOB = "spn2-" + "a" * 40


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (reply(body={"url": "https://n.example/a", "job_id": JOB}), core.Submitted(JOB)),
        (
            reply(body=f'<script>spn.watchJob("{JOB}", "/_static/",6000);</script>'.encode()),
            core.Submitted(JOB),
        ),
        (
            reply(302, location="/web/20251229190000/https://n.example/a"),
            core.Archived("https://web.archive.org/web/20251229190000/https://n.example/a"),
        ),
        (
            reply(429, retry_after="120"),
            core.Retry("the capture request answered HTTP 429", timedelta(seconds=120)),
        ),
        (reply(503), core.Retry("the capture request answered HTTP 503")),
        (
            reply(
                body={"status": "error", "status_ext": "error:too-many-daily-captures", "message": "10 a day"}
            ),
            core.Retry("error:too-many-daily-captures: 10 a day", core.DAILY_LIMIT_WAIT),
        ),
        (
            reply(body={"status": "error", "status_ext": "error:blocked-url", "message": "excluded"}),
            core.Refused("error:blocked-url: excluded"),
        ),
    ],
)
def test_capture_request_answers(answer: core.Reply, expected: object):
    assert core.read_submit(answer, endpoint=ENDPOINT) == expected


def test_only_an_http_snapshot_location_is_taken():
    hostile = reply(302, location="javascript:alert(1)//web/20251229190000/x")
    assert not isinstance(core.read_submit(hostile, endpoint=ENDPOINT), core.Archived)


def test_bad_keys_are_refused_with_the_variables_named():
    outcome = core.read_submit(reply(401), endpoint=ENDPOINT)
    assert isinstance(outcome, core.Refused) and "STORYTRAIL_WAYBACK_ACCESS_KEY" in outcome.reason


def test_status_answers():
    def read(body: object, status: int = 200) -> object:
        return core.read_status(reply(status, body), endpoint=ENDPOINT)

    assert read({"status": "pending"}) == core.Pending()
    assert read(
        {"status": "success", "timestamp": "20251229190000", "original_url": "https://n.example/a"}
    ) == (core.Archived("https://web.archive.org/web/20251229190000/https://n.example/a"))
    assert read({"status": "error", "status_ext": "error:soft-time-limit-exceeded", "message": "slow"}) == (
        core.Retry("error:soft-time-limit-exceeded: slow")
    )
    assert read({"status": "error", "status_ext": "error:not-found", "message": "404"}) == (
        core.Refused("error:not-found: 404")
    )
    unreadable = read({}, status=502)  # the status could not be read: ask again, the job may be fine
    assert isinstance(unreadable, core.Retry) and not unreadable.resubmit


def test_requests_carry_the_keys_only_when_both_are_set():
    assert core.request_headers(access_key="a", secret_key="s", form=True)["Authorization"] == "LOW a:s"
    assert "Authorization" not in core.request_headers(access_key=None, secret_key=None, form=True)
    assert (
        core.submit_form("https://n.example/a?x=1")
        == b"url=https%3A%2F%2Fn.example%2Fa%3Fx%3D1&skip_first_archive=1"
    )
    assert core.status_url(ENDPOINT, JOB) == f"{ENDPOINT}/status/{JOB}"


def test_retry_backs_off_and_gives_up(clock):
    now = clock()
    assert core.retry_at(1, None, now) == now + core.BACKOFF_BASE
    assert core.retry_at(2, None, now) == now + 2 * core.BACKOFF_BASE
    assert core.retry_at(1, timedelta(hours=6), now) == now + timedelta(hours=6)
    assert core.retry_at(core.MAX_ATTEMPTS, None, now) is None


def test_opted_in_by_a_source_or_a_story():
    assert core.opted_in([{}, {"wayback": True}])
    assert not core.opted_in([{"screenshot": True}, {}])


# --------------------------------------------------------------------------- the queue


def captures(engine) -> list[WaybackCapture]:
    with Session(engine) as s:
        return list(s.exec(select(WaybackCapture).order_by(WaybackCapture.id)))


def story(engine, clock, slug: str = "valdai", *, wayback: bool = True) -> None:
    with Session(engine) as s:
        settings = {"wayback": True} if wayback else {}
        catalog.upsert_story(s, slug=slug, now=clock(), title="Valdai", query="drone*", settings=settings)
        s.commit()


def snapshot_of(engine, url: str) -> list[str | None]:
    with Session(engine) as s:
        doc = docs.get_document(s, url=url)
        return [v.wayback_url for v in docs.list_versions(s, document_id=doc.id, channel="page")]


async def test_an_opted_in_storys_new_version_is_queued_once(svc, server, clock):
    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    await check_url(svc, url, story_slug="valdai")
    clock.advance(minutes=10)
    await check_url(svc, url, story_slug="valdai")  # identical re-check: no version, nothing queued
    rows = captures(svc.engine)
    assert [(r.url, r.status) for r in rows] == [(url, "pending")]
    with Session(svc.engine) as s:
        assert not store.enqueue(s, version_id=rows[0].version_id, url=url, now=clock())  # idempotent


async def test_not_opted_in_is_never_submitted(svc, server, spn, clock):
    url = server.url("/plain")
    server.route("/plain", page())
    story(svc.engine, clock, "other", wayback=False)
    await check_url(svc, url, story_slug="other")
    await Daemon(svc, DaemonOptions(health_port=None, node="once")).run_once(handle_signals=False)
    assert captures(svc.engine) == [] and spn.posts == []


def test_one_submission_per_interval_for_every_node(engine, clock):
    with Session(engine) as s:
        doc, _ = docs.get_or_create_document(s, url="https://n.example/a", now=clock())
        for seq in (1, 2):
            v = docs.add_version(
                s, document_id=doc.id, channel="page", seq=seq, observed_at=clock(),
                last_confirmed_at=clock(), content_hash=f"h{seq}", text="t",
            )  # fmt: skip
            store.enqueue(s, version_id=v.id, url=doc.url, now=clock())
        s.commit()

    def claim(owner: str) -> list[int]:
        with Session(engine) as s:
            return store.claim(
                s,
                owner=owner,
                now=clock(),
                lease=timedelta(minutes=5),
                limit=10,
                interval=timedelta(seconds=30),
            )

    first = claim("node-a")
    assert len(first) == 1
    assert claim("node-b") == []  # the slot is taken for 30 s, whoever asks
    clock.advance(seconds=31)
    second = claim("node-b")
    assert len(second) == 1 and second != first
    clock.advance(seconds=31)
    assert claim("node-a") == []  # both rows are leased


# --------------------------------------------------------------------------- submission


async def test_run_once_stores_the_snapshot_on_the_version(svc, server, spn, clock):
    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    await check_url(svc, url, story_slug="valdai")
    spn.pending_polls = 2  # the archive is still capturing for two status requests
    summary = await Daemon(svc, DaemonOptions(health_port=None, node="once")).run_once(handle_signals=False)
    assert snapshot_of(svc.engine, url) == [spn.snapshot(url)]
    assert summary.preserved == 1 and "1 archived in the Wayback Machine" in summary.line()
    [post] = spn.posts
    assert post.form == {"url": url, "skip_first_archive": "1"}
    assert post.header("Authorization") == "LOW ACCESS:SECRET"
    assert post.header("Accept") == "application/json"
    assert len(spn.status_requests) == 3
    assert [r.status for r in captures(svc.engine)] == ["archived"]
    metrics = svc.metrics.render()[0].decode()
    assert 'storytrail_wayback_total{outcome="archived"} 1.0' in metrics
    await Daemon(svc, DaemonOptions(health_port=None, node="again")).run_once(handle_signals=False)
    assert len(spn.posts) == 1  # archived once


async def test_an_opted_in_sources_versions_are_submitted(svc, server, spn, clock):
    url = server.url("/from-source")
    server.route("/from-source", page())
    with Session(svc.engine) as s:
        source, _ = catalog.upsert_source(
            s,
            name="wire",
            now=clock(),
            kind="page",
            url=server.url("/"),
            enabled=False,
            params={"wayback": True},
        )
        s.commit()
        source_id = source.id
    await check_url(svc, url, source_id=source_id)
    clock.advance(minutes=10)
    server.route("/from-source", page(title="Kyiv calls the Valdai drone claim a fabrication", n=89))
    await check_url(svc, url, source_id=source_id)
    await Preserver(svc, owner="p").drain(wait=5)
    assert snapshot_of(svc.engine, url) == [spn.snapshot(url), spn.snapshot(url)]
    assert len(spn.posts) == 2


async def test_a_restart_mid_job_asks_about_the_job_instead_of_submitting_again(svc, server, spn, clock):
    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    await check_url(svc, url, story_slug="valdai")
    spn.pending_polls = 10**6
    first = Preserver(svc, owner="node-a", lease=timedelta(minutes=5))
    first.poll_every = timedelta(seconds=30)
    await first.run_pass()  # submitted; the archive is still capturing
    [row] = captures(svc.engine)
    assert row.status == "submitted" and row.job_id and len(spn.posts) == 1
    clock.advance(seconds=30)
    with Session(svc.engine) as s:  # node-a dies while asking about the job: its lease stays
        assert store.claim(
            s, owner="node-a", now=clock(), lease=timedelta(minutes=5), limit=5, interval=timedelta()
        )
    second = Preserver(svc, owner="node-b")
    assert (await second.run_pass()).handled == 0  # leased by node-a
    clock.advance(minutes=6)
    spn.pending_polls = 0
    await second.run_pass()
    assert snapshot_of(svc.engine, url) == [spn.snapshot(url)]
    assert len(spn.posts) == 1  # the same job, not a second capture


async def test_two_daemons_submit_each_version_once(svc, server, spn, clock):
    import asyncio

    story(svc.engine, clock)
    urls = [server.url(f"/story-{n}") for n in range(6)]
    for n, url in enumerate(urls):
        server.route(f"/story-{n}", page(title=f"Valdai drone claim, report {n}", n=80 + n))
        await check_url(svc, url, story_slug="valdai")
    spn.pending_polls = 1
    a, b = Preserver(svc, owner="node-a"), Preserver(svc, owner="node-b")
    await asyncio.gather(a.drain(wait=10), b.drain(wait=10))
    assert sorted(p.form["url"] for p in spn.posts) == sorted(urls)  # each once, none twice
    assert [snapshot_of(svc.engine, url) for url in urls] == [[spn.snapshot(url)] for url in urls]


async def test_429_waits_for_retry_after_then_submits(svc, server, spn, clock):
    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    await check_url(svc, url, story_slug="valdai")
    spn.post_replies.append((429, {"Retry-After": "120"}, b'{"message": "slow down"}'))
    preserver = Preserver(svc, owner="p")
    report = await preserver.run_pass()
    [row] = captures(svc.engine)
    assert report.retrying == 1 and row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at == clock() + timedelta(seconds=120) and "HTTP 429" in (row.last_error or "")
    clock.advance(seconds=60)
    assert (await preserver.run_pass()).handled == 0 and len(spn.posts) == 1
    clock.advance(seconds=61)
    await preserver.run_pass()
    assert snapshot_of(svc.engine, url) == [spn.snapshot(url)] and len(spn.posts) == 2


async def test_a_refused_capture_is_given_up_with_the_reason(svc, server, spn, clock, caplog):
    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    await check_url(svc, url, story_slug="valdai")
    spn.job_error = ("error:blocked-url", "This URL is excluded from the Wayback Machine.")
    report = await Preserver(svc, owner="p").run_pass()
    [row] = captures(svc.engine)
    assert report.dead == 1 and row.status == "dead"
    assert row.last_error == "error:blocked-url: This URL is excluded from the Wayback Machine."
    assert snapshot_of(svc.engine, url) == [None]
    assert any("given up" in r.getMessage() for r in caplog.records)


async def test_status_and_retry_from_the_cli(svc, server, spn, clock, db_url, tmp_path: Path):
    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    await check_url(svc, url, story_slug="valdai")
    spn.post_replies.append((401, {}, b'{"message": "You need to be logged in"}'))
    await Preserver(svc, owner="p").run_pass()
    base = ("--db", db_url)
    shown = json.loads(cli("wayback", "status", "--json", *base, cwd=tmp_path).stdout)
    assert shown["counts"] == {"pending": 0, "submitted": 0, "archived": 0, "dead": 1}
    [dead] = shown["waiting"]
    assert (dead["url"], dead["seq"], dead["attempts"]) == (url, 1, 1) and "HTTP 401" in dead["last_error"]
    table = cli("wayback", "status", *base, cwd=tmp_path, env={"COLUMNS": "300"}).stdout
    assert "1 dead" in table and "HTTP 401" in table
    assert "1 versions queued again" in cli("wayback", "retry", *base, cwd=tmp_path).stdout
    [row] = captures(svc.engine)
    assert (row.status, row.attempts) == ("pending", 0)


async def test_a_daily_limit_waits_hours_and_a_transient_error_backs_off(svc, server, spn, clock):
    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    await check_url(svc, url, story_slug="valdai")
    spn.job_error = ("error:too-many-daily-captures", "captured 10 times today")
    await Preserver(svc, owner="p").run_pass()
    [row] = captures(svc.engine)
    assert row.status == "pending" and row.job_id is None
    assert row.next_attempt_at == clock() + core.DAILY_LIMIT_WAIT


async def test_the_anonymous_form_answer_is_followed(engine, db_url, clock, server, spn):
    from jobs.services import open_services

    url = server.url("/valdai")
    server.route("/valdai", page())
    spn.post_replies.append((302, {"Location": f"/web/{TIMESTAMP}/{url}"}, b""))
    settings = make_settings(db_url, wayback_endpoint=spn.endpoint, wayback_min_interval=0.0)
    async with open_services(settings, engine=engine, clock=clock, extract_workers=0) as services:
        story(engine, clock)
        await check_url(services, url, story_slug="valdai")
        await Preserver(services, owner="p").run_pass()
    assert snapshot_of(engine, url) == [spn.snapshot(url)]
    assert spn.posts[0].header("Authorization") is None


async def test_the_endpoint_passes_the_address_guard(engine, db_url, clock, server, spn):
    from jobs.services import open_services

    url = server.url("/valdai")
    server.route("/valdai", page())
    settings = make_settings(db_url, wayback_endpoint=f"http://127.0.0.2:{spn.endpoint.split(':')[-1]}")
    async with open_services(settings, engine=engine, clock=clock, extract_workers=0) as services:
        story(engine, clock)
        await check_url(services, url, story_slug="valdai")
        await Preserver(services, owner="p").run_pass()
    [row] = captures(engine)
    assert row.status == "dead" and "STORYTRAIL_ALLOW_HOSTS" in (row.last_error or "")


async def test_shown_in_the_api_and_on_the_version_page(svc, server, spn, clock):
    from fastapi.testclient import TestClient

    from api.app import create_app

    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    report = await check_url(svc, url, story_slug="valdai")
    await Preserver(svc, owner="p").drain(wait=5)
    with TestClient(create_app(svc.settings, svc.engine, clock=clock)) as client:
        data = client.get(f"/api/documents/{report.document_id}/versions/1").json()
        assert data["wayback_url"] == spn.snapshot(url)
        html = client.get(f"/documents/{report.document_id}/versions/1").text
        assert f'href="{spn.snapshot(url)}"' in html and "Wayback Machine" in html


# --------------------------------------------------------------------------- settings, config, CLI


def test_keys_go_together_and_never_in_the_file(monkeypatch, tmp_path: Path):
    from jobs.config import ConfigError, load_config
    from jobs.settings import SettingsError, from_environment

    monkeypatch.setenv("STORYTRAIL_WAYBACK_ACCESS_KEY", "a")
    monkeypatch.setenv("STORYTRAIL_WAYBACK_SECRET_KEY", "")  # compose passes unset variables as ""
    with pytest.raises(SettingsError, match="STORYTRAIL_WAYBACK_SECRET_KEY is not set"):
        from_environment()
    monkeypatch.setenv("STORYTRAIL_WAYBACK_ACCESS_KEY", "")
    assert from_environment().wayback_access_key is None
    path = tmp_path / "c.toml"
    path.write_text('[settings]\nwayback_secret_key = "s"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c.toml:2: \[settings\] 'wayback_secret_key' is a secret"):
        load_config(str(path))


def test_opt_in_from_the_config_file_and_the_cli(tmp_path: Path, db_url: str):
    from jobs.config import load_config
    from jobs.sync import source_fields, story_fields

    path = tmp_path / "c.toml"
    path.write_text(
        '[[source]]\nname = "wire"\nkind = "feed"\nurl = "https://n.example/rss"\nwayback = true\n'
        '[[story]]\nslug = "valdai"\nquery = "drone*"\nwayback = true\n',
        encoding="utf-8",
    )
    cfg = load_config(str(path))
    assert source_fields(cfg.sources[0])["params"]["wayback"] is True
    assert story_fields(cfg.stories[0])["settings"]["wayback"] is True
    base = ("--db", db_url)
    cli("sources", "add", "wire", "https://n.example/rss", "--wayback", *base, cwd=tmp_path)
    [listed] = json.loads(cli("sources", "list", "--json", *base, cwd=tmp_path).stdout)
    assert listed["params"]["wayback"] is True
    added = cli("stories", "add", "valdai", "--query", "drone*", "--wayback", "--json", *base, cwd=tmp_path)
    assert json.loads(added.stdout)["wayback"] is True
    assert "preserved in the Wayback Machine" in cli("stories", "show", "valdai", *base, cwd=tmp_path).stdout


async def test_versions_and_show_print_the_snapshot(svc, server, spn, clock, db_url, tmp_path: Path):
    url = server.url("/valdai")
    server.route("/valdai", page())
    story(svc.engine, clock)
    await check_url(svc, url, story_slug="valdai")
    await Preserver(svc, owner="p").drain(wait=5)
    base = ("--db", db_url)
    [listed] = json.loads(cli("versions", url, "--json", *base, cwd=tmp_path).stdout)
    assert listed["wayback_url"] == spn.snapshot(url)
    table = cli("versions", url, *base, cwd=tmp_path, env={"COLUMNS": "400"}).stdout
    assert "wayback" in table and spn.snapshot(url) in table
    shown = cli("show", url, *base, cwd=tmp_path).stdout
    assert f"Wayback Machine: {spn.snapshot(url)}" in shown
    out = tmp_path / "valdai.jsonl"
    cli("export", "valdai", "--format", "jsonl", "--output", str(out), *base, cwd=tmp_path)
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[0])["wayback_url"] == spn.snapshot(url)
    with Session(svc.engine) as s:
        assert s.exec(select(Version.wayback_url)).all() == [spn.snapshot(url)]


def test_opt_in_from_the_web_pages(engine, db_url, clock):
    from tests.fixtures.web.app import TOKEN, client
    from tests.test_web_manage import csrf_of, login

    with client(engine, db_url, clock, api_token=TOKEN) as web:
        login(web)
        token = csrf_of(web.get("/manage/story").text)
        story_form = {"csrf": token, "slug": "valdai", "query": "drone*", "wayback": "on", "action": "save"}
        assert web.post("/manage/story", data=story_form, follow_redirects=False).status_code == 303
        assert 'name="wayback" checked' in web.get("/manage/story?slug=valdai").text
        source_form = {"csrf": token, "url": "https://n.example/rss", "kind": "feed", "name": "wire",
                       "wayback": "on", "action": "save"}  # fmt: skip
        assert web.post("/manage/source", data=source_form, follow_redirects=False).status_code == 303
        plain = {"csrf": token, "url": "https://n.example/b", "name": "plain", "action": "save"}
        web.post("/manage/source", data=plain, follow_redirects=False)
    with Session(engine) as s:
        assert catalog.get_story(s, slug="valdai").settings["wayback"] is True
        assert catalog.get_source(s, name="wire").params["wayback"] is True
        assert "wayback" not in catalog.get_source(s, name="plain").params
