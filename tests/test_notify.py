"""Notifications: the pure core (selection, templates, back-off, signatures), the delivery queue
(fan-out, in-order claims under a lease, retries, restarts, two claimers) and delivery to a local
webhook receiver and a local Apprise json:// target. Both database backends."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from jobs.notify import Notifier, deliver_pending, redact
from scraper.core import notify as core
from storage import catalog
from storage import notify as store
from storage.models import Delivery, Document, NotifyTarget
from tests.receiver import Receiver

SECRET = "s3cret-for-tests"
ENV = {"HOOK_SECRET": SECRET}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


# --------------------------------------------------------------------------- pure core


def test_signature_round_trip_and_tampering():
    body = b'{"event": 1}'
    sig = "sha256=" + core.signature(SECRET, 1767000000, body)
    assert core.verify(SECRET, 1767000000, body, sig)
    assert not core.verify(SECRET, 1767000001, body, sig)
    assert not core.verify(SECRET, 1767000000, body + b" ", sig)
    assert not core.verify("other", 1767000000, body, sig)


@settings(max_examples=25)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=2**40))
def test_signature_verifies_any_body(body: bytes, stamp: int):
    assert core.verify(SECRET, stamp, body, "sha256=" + core.signature(SECRET, stamp, body))


def test_webhook_headers_are_signed_only_with_a_secret():
    signed = core.webhook_headers(event_id=7, delivery_id=3, timestamp=10, body=b"{}", secret=SECRET)
    assert signed["X-Storytrail-Event"] == "7"
    assert signed["X-Storytrail-Timestamp"] == "10"
    assert signed["X-Storytrail-Signature"].startswith("sha256=")
    plain = core.webhook_headers(event_id=7, delivery_id=None, timestamp=10, body=b"{}", secret=None)
    assert "X-Storytrail-Signature" not in plain


def test_filter_kinds_and_significance():
    default = core.Filter()
    assert default.wants("headline", None)
    assert not default.wants("suspect", None)
    picky = core.Filter(("change",), 0.5)
    assert picky.wants("change", 0.6)
    assert not picky.wants("change", 0.2)
    assert picky.wants("change", None)  # the minimum applies to events that carry a significance
    assert not picky.wants("headline", 0.9)


def test_backoff_doubles_and_is_capped():
    waits = [core.backoff(n) for n in range(1, 6)]
    assert waits == [timedelta(seconds=30 * 2**i) for i in range(5)]
    assert core.backoff(40) == core.BACKOFF_CAP


def test_quiet_hours_across_midnight():
    at = datetime(2025, 12, 29, 23, 30, tzinfo=UTC)
    assert core.quiet_until(at, "22:00-07:00") == datetime(2025, 12, 30, 7, 0, tzinfo=UTC)
    assert core.quiet_until(at.replace(hour=6), "22:00-07:00") == datetime(2025, 12, 29, 7, 0, tzinfo=UTC)
    assert core.quiet_until(at.replace(hour=12), "22:00-07:00") is None
    assert core.quiet_until(at, "09:00-17:00") is None
    with pytest.raises(core.TargetError, match="22:00-07:00"):
        core.parse_quiet_hours("10pm-7am")


def test_digest_waits_for_the_next_boundary():
    at = datetime(2025, 12, 29, 19, 20, tzinfo=UTC)
    assert core.digest_at(at, "1h") == datetime(2025, 12, 29, 20, 0, tzinfo=UTC)
    assert core.first_attempt(at, quiet_hours="19:00-21:00", digest="1h") == datetime(
        2025, 12, 29, 21, 0, tzinfo=UTC
    )
    with pytest.raises(core.TargetError, match="at least 1m"):
        core.parse_interval("10s")


def test_target_kinds():
    assert core.target_kind("https://hooks.example/x") == "webhook"
    assert core.target_kind("ntfy://storytrail-valdai") == "apprise"
    assert core.target_kind("json://127.0.0.1:8080/") == "apprise"
    with pytest.raises(core.TargetError, match="not a URL"):
        core.target_kind("hooks.example")
    with pytest.raises(core.TargetError, match="unknown event kind 'edited'"):
        core.check_events(["headline", "edited"])


def view(kind: str, **kw: object) -> core.EventView:
    base: dict[str, object] = {
        "id": 5,
        "kind": kind,
        "at": datetime(2025, 12, 30, tzinfo=UTC),
        "summary": "",
        "story_slug": "valdai",
        "story_title": "Valdai",
        "document_id": 2,
        "document_url": "https://news.example/a",
        "title": "Kremlin says 91 drones",
        "channel": "page",
        "seq": 3,
        "prev_seq": 2,
    }
    return core.EventView(**{**base, **kw})  # type: ignore[arg-type]


def test_message_templates_per_kind():
    title, body = core.message(view("headline", data={"old_title": "91 drones", "new_title": "89 drones"}))
    assert title == "[valdai] Headline changed"
    assert body.splitlines()[0] == "91 drones -> 89 drones"
    assert "is gone" in core.message(view("deleted"))[1]
    assert "is back" in core.message(view("restored"))[1]
    assert core.message(view("new_coverage"))[0] == "[valdai] New coverage"
    assert "went back to version 1" in core.message(view("reverted", data={"revert_of": 1}))[1]


def test_payload_links_to_the_diff_page_and_the_api():
    body = core.payload(
        view("change", significance=0.4, summary="2 sentences changed"), public_url="http://st:8080/"
    )
    assert body["event"]["kind"] == "change"
    assert body["versions"] == {"channel": "page", "from": 2, "to": 3}
    assert body["links"]["diff"] == "http://st:8080/documents/2/diff?channel=page&from=2&to=3"
    assert body["links"]["api"] == "http://st:8080/api/documents/2"
    assert body["significance"] == 0.4


def test_redact_hides_passwords():
    assert redact("mailtos://user:pw@mail.example") == "mailtos://user:***@mail.example"
    assert redact("https://hooks.example/x") == "https://hooks.example/x"


# --------------------------------------------------------------------------- the queue


def seed_story(engine, now: datetime, slug: str = "valdai") -> tuple[int, int]:
    with Session(engine) as s:
        story, _ = catalog.upsert_story(s, slug=slug, now=now, title=f"Story {slug}", query="drone*")
        doc = Document(url=f"https://news.example/{slug}", first_seen=now)
        s.add(doc)
        s.flush()
        assert story.id and doc.id
        catalog.link_story_document(s, story_id=story.id, document_id=doc.id, now=now)
        s.commit()
        return story.id, doc.id


def add_target(engine, story_id: int, url: str, now: datetime, **kw: object) -> int:
    with Session(engine) as s:
        row, _ = store.add_target(s, story_id=story_id, target=url, kind=core.target_kind(url), now=now, **kw)  # type: ignore[arg-type]
        s.commit()
        assert row.id
        return row.id


def headline(engine, doc_id: int, now: datetime, old: str, new: str, seq: int = 2) -> int:
    with Session(engine) as s:
        event = store.record_event(
            s,
            at=now,
            kind="headline",
            document_id=doc_id,
            channel="page",
            seq=seq,
            prev_seq=seq - 1,
            significance=0.3,
            summary=f"headline: {old} -> {new}",
            data={"old_title": old, "new_title": new},
        )
        s.commit()
        assert event.id
        return event.id


def rows(engine) -> list[Delivery]:
    with Session(engine) as s:
        return store.deliveries(s)


def test_fan_out_makes_one_delivery_per_event_and_target(engine, clock):
    now = clock()
    story_id, doc_id = seed_story(engine, now)
    other_story, other_doc = seed_story(engine, now, "other")
    headline(engine, doc_id, now, "before", "the target existed")
    target = add_target(engine, story_id, "https://hooks.example/a", now)
    mine = headline(engine, doc_id, now, "A", "B")
    headline(engine, other_doc, now, "X", "Y")
    with Session(engine) as s:
        store.record_event(s, at=now, kind="suspect", document_id=doc_id, summary="no text")
        s.commit()
        assert store.fan_out(s, now=now) == 1
        assert store.fan_out(s, now=now) == 0  # idempotent: the unique key ignores repeats
    assert [(d.event_id, d.target_id) for d in rows(engine)] == [(mine, target)]
    assert other_story != story_id


def test_cursor_moves_only_past_settled_events(engine, clock):
    now = clock()
    story_id, doc_id = seed_story(engine, now)
    target = add_target(engine, story_id, "https://hooks.example/a", now)
    old = headline(engine, doc_id, now - timedelta(hours=1), "A", "B")
    headline(engine, doc_id, now, "B", "C", seq=3)
    with Session(engine) as s:
        store.fan_out(s, now=now)
        row = s.get(NotifyTarget, target)
        assert row is not None and row.cursor == old  # the fresh event is looked at again


def claim(engine, owner: str, now: datetime, lease=timedelta(minutes=2)) -> list[int]:
    with Session(engine) as s:
        return store.claim(s, owner=owner, now=now, lease=lease, limit=10)


def test_only_the_oldest_pending_delivery_of_a_target_is_claimable(engine, clock):
    now = clock()
    story_id, doc_id = seed_story(engine, now)
    add_target(engine, story_id, "https://hooks.example/a", now)
    for n in range(3):
        headline(engine, doc_id, now, f"t{n}", f"t{n + 1}", seq=n + 2)
    with Session(engine) as s:
        store.fan_out(s, now=now)
    first = claim(engine, "a", now)
    assert len(first) == 3  # the head and the due rows behind it, in event order
    assert claim(engine, "b", now) == []
    with Session(engine) as s:
        store.mark_failed(s, ids=first[:1], owner="a", error="HTTP 500", retry_at=now + timedelta(minutes=1))
        store.release(s, ids=first[1:], owner="a")
    assert claim(engine, "b", now) == []  # the failed head holds the rest back: order per story
    assert claim(engine, "b", now + timedelta(minutes=1)) == first


def test_two_claimers_never_hold_the_same_delivery(engine, clock):
    now = clock()
    ids = []
    for n in range(12):
        story_id, doc_id = seed_story(engine, now, f"s{n}")
        add_target(engine, story_id, f"https://hooks.example/{n}", now)
        headline(engine, doc_id, now, "a", "b")
    with Session(engine) as s:
        store.fan_out(s, now=now)
    got: dict[str, list[int]] = {}
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        barrier.wait()
        mine: list[int] = []
        for _ in range(12):
            with Session(engine) as s:
                mine += store.claim(s, owner=name, now=now, lease=timedelta(minutes=5), limit=1)
        got[name] = mine

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = got["a"] + got["b"]
    assert len(ids) == len(set(ids)) == 12


# --------------------------------------------------------------------------- delivery


def notifier(services, owner: str = "node-a", **kw: object) -> Notifier:
    return Notifier(services, owner=owner, env=ENV, **kw)  # type: ignore[arg-type]


async def test_a_headline_change_reaches_the_webhook_signed(services, receiver, clock):
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, receiver.url, now, secret_env="HOOK_SECRET")
    event_id = headline(services.engine, doc_id, now, "Russia says 91 drones", "Kyiv: a fabrication")
    report = await notifier(services).run_pass()
    assert report.sent == 1
    assert len(receiver.received) == 1
    got = receiver.received[0]
    stamp = int(receiver.header(0, "X-Storytrail-Timestamp") or 0)
    assert core.verify(SECRET, stamp, got.body, receiver.header(0, "X-Storytrail-Signature") or "")
    assert receiver.header(0, "X-Storytrail-Event") == str(event_id)
    body = got.json()
    assert body["event"]["kind"] == "headline"
    assert body["story"]["slug"] == "valdai"
    assert body["message"]["body"].startswith("Russia says 91 drones -> Kyiv: a fabrication")
    assert body["links"]["diff"].endswith(f"/documents/{doc_id}/diff?channel=page&from=1&to=2")
    assert (await notifier(services).run_pass()).sent == 0  # once
    assert [d.status for d in rows(services.engine)] == ["sent"]


async def test_failures_retry_with_back_off_in_order(services, receiver, clock):
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, receiver.url, now)
    first = headline(services.engine, doc_id, now, "A", "B")
    second = headline(services.engine, doc_id, now, "B", "C", seq=3)
    receiver.statuses = [503]
    report = await notifier(services).run_pass()
    assert (report.sent, report.failed) == (0, 1)
    assert len(receiver.received) == 1  # the second waits behind the first
    [head, _] = rows(services.engine)
    assert head.attempts == 1 and "HTTP 503" in (head.last_error or "")
    assert head.next_attempt_at == now + core.backoff(1)
    clock.advance(seconds=29)
    assert (await notifier(services).run_pass()).sent == 0
    clock.advance(seconds=1)
    assert (await notifier(services).run_pass()).sent == 2
    events = [int(r.headers["X-Storytrail-Event"]) for r in receiver.received]
    assert events == [first, first, second]


async def test_a_permanent_refusal_gives_up_and_lets_the_rest_through(services, receiver, clock):
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, receiver.url, now)
    headline(services.engine, doc_id, now, "A", "B")
    headline(services.engine, doc_id, now, "B", "C", seq=3)
    receiver.statuses = [410]
    report = await notifier(services).run_pass()
    assert (report.dead, report.sent) == (1, 1)
    assert [d.status for d in rows(services.engine)] == ["dead", "sent"]


async def test_a_missing_secret_is_an_error_not_an_unsigned_request(services, receiver, clock):
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, receiver.url, now, secret_env="NOT_SET_ANYWHERE")
    headline(services.engine, doc_id, now, "A", "B")
    report = await notifier(services).run_pass()
    assert report.failed == 1 and receiver.received == []
    assert "NOT_SET_ANYWHERE is not set" in (rows(services.engine)[0].last_error or "")


async def test_private_targets_are_refused_unless_allowed(engine, db_url, clock, receiver):
    from jobs.services import open_services
    from tests.conftest import make_settings

    now = clock()
    story_id, doc_id = seed_story(engine, now)
    add_target(engine, story_id, receiver.url, now)
    headline(engine, doc_id, now, "A", "B")
    settings = make_settings(db_url, allow_hosts=[])
    async with open_services(settings, engine=engine, clock=clock, extract_workers=0) as svc:
        report = await Notifier(svc, owner="x", env=ENV).run_pass()
    assert report.dead == 1 and receiver.received == []
    assert "STORYTRAIL_ALLOW_HOSTS" in (rows(engine)[0].last_error or "")


async def test_a_restart_mid_delivery_sends_after_the_lease_expires(services, receiver, clock):
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, receiver.url, now)
    event_id = headline(services.engine, doc_id, now, "A", "B")
    with Session(services.engine) as s:
        store.fan_out(s, now=now)
    crashed = claim(services.engine, "crashed-node", now, lease=timedelta(minutes=2))
    assert crashed  # claimed, then the node died before sending
    assert (await notifier(services, "new-node").run_pass()).sent == 0
    clock.advance(minutes=2, seconds=1)
    assert (await notifier(services, "new-node").run_pass()).sent == 1
    assert [r.headers["X-Storytrail-Event"] for r in receiver.received] == [str(event_id)]
    with Session(services.engine) as s:  # the dead node's late report changes nothing
        assert store.mark_sent(s, ids=crashed, owner="crashed-node", now=clock()) == 0


async def test_two_notifiers_deliver_each_event_once(services, receiver, clock):
    now = clock()
    expected = []
    for n in range(6):
        story_id, doc_id = seed_story(services.engine, now, f"s{n}")
        add_target(services.engine, story_id, receiver.url, now)
        expected.append(headline(services.engine, doc_id, now, "A", "B"))
    receiver.delay = 0.05
    a, b = notifier(services, "node-a", limit=2), notifier(services, "node-b", limit=2)
    reports = await asyncio.gather(a.run_pass(), b.run_pass())
    assert sum(r.sent for r in reports) == 6
    got = sorted(int(r.headers["X-Storytrail-Event"]) for r in receiver.received)
    assert got == sorted(expected)


async def test_digest_sends_one_message_for_several_events(services, receiver, clock):
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, receiver.url, now, digest="1h")
    headline(services.engine, doc_id, now, "A", "B")
    headline(services.engine, doc_id, now, "B", "C", seq=3)
    assert (await notifier(services).run_pass()).sent == 0  # not before the boundary
    clock.advance(hours=1)
    assert (await notifier(services).run_pass()).sent == 2
    [message] = receiver.received
    body = message.json()
    assert body["digest"] is True and len(body["events"]) == 2
    assert body["message"]["title"] == "[valdai] 2 changes"


async def test_apprise_json_target_gets_the_message(services, receiver, clock):
    pytest.importorskip("apprise")
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, f"json://127.0.0.1:{receiver.port}/apprise", now)
    headline(services.engine, doc_id, now, "91 drones", "89 drones")
    report = await notifier(services).run_pass()
    assert report.sent == 1
    body = receiver.received[0].json()
    assert body["title"] == "[valdai] Headline changed"
    assert body["message"].startswith("91 drones -> 89 drones")


async def test_apprise_failure_is_retried_with_its_reason(services, clock):
    pytest.importorskip("apprise")
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, "json://127.0.0.1:9/", now)  # nothing listens on port 9
    headline(services.engine, doc_id, now, "A", "B")
    report = await deliver_pending(services, owner="x", env=ENV)
    assert report.failed == 1
    assert "127.0.0.1" in (rows(services.engine)[0].last_error or "")


# --------------------------------------------------------------------------- CLI and config


def test_notify_cli_add_list_test_remove(receiver, tmp_path: Path, db_url: str):
    from tests.test_cli import assert_one_line_error, cli

    config = tmp_path / "storytrail.toml"
    config.write_text('[[story]]\nslug = "valdai"\ntitle = "Valdai"\nquery = "drone*"\n', encoding="utf-8")
    base = ("--db", db_url, "--config", str(config))
    env = {"HOOK_SECRET": SECRET}
    added = cli(
        "notify",
        "add",
        "valdai",
        receiver.url,
        "--events",
        "headline,deleted",
        "--secret-env",
        "HOOK_SECRET",
        *base,
        cwd=tmp_path,
        env=env,
    ).stdout
    assert "added notification #1: valdai ->" in added
    [row] = json.loads(cli("notify", "list", "--json", *base, cwd=tmp_path).stdout)
    assert row["events"] == ["headline", "deleted"] and row["secret_env"] == "HOOK_SECRET"
    tested = cli("notify", "test", "valdai", *base, cwd=tmp_path, env=env).stdout
    assert "#1" in tested and "sent" in tested
    stamp = int(receiver.header(0, "X-Storytrail-Timestamp") or 0)
    assert core.verify(
        SECRET, stamp, receiver.received[0].body, receiver.header(0, "X-Storytrail-Signature") or ""
    )
    assert_one_line_error(
        cli("notify", "add", "valdai", "hooks.example", *base, cwd=tmp_path, check=False), "not a URL"
    )
    assert_one_line_error(
        cli("notify", "add", "valdai", receiver.url, "--events", "edits", *base, cwd=tmp_path, check=False),
        "unknown event kind 'edits'",
    )
    assert_one_line_error(
        cli("notify", "add", "nope", receiver.url, *base, cwd=tmp_path, check=False), "nope"
    )
    assert "removed notification #1" in cli("notify", "remove", "1", *base, cwd=tmp_path).stdout
    assert_one_line_error(
        cli("notify", "remove", "1", *base, cwd=tmp_path, check=False), "no notification target"
    )


def test_notify_tables_in_the_config_file(tmp_path: Path):
    from jobs.config import ConfigError, load_config

    path = tmp_path / "c.toml"
    path.write_text(
        '[[story]]\nslug = "valdai"\n\n[[notify]]\nstory = "valdai"\ntarget = "ntfy://valdai"\n'
        'events = ["headline"]\nquiet_hours = "22:00-07:00"\n',
        encoding="utf-8",
    )
    [item] = load_config(str(path)).notify
    assert item.target == "ntfy://valdai" and item.events == ["headline"]
    path.write_text(
        '[[notify]]\nstory = "valdai"\ntarget = "ntfy://valdai"\ndigest = "soon"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"c.toml:4: \[\[notify\]\] #1 'digest'"):
        load_config(str(path))


async def test_run_once_delivers_what_is_pending(services, receiver, clock, monkeypatch):
    from jobs.daemon import Daemon, DaemonOptions

    monkeypatch.setenv("HOOK_SECRET", SECRET)
    now = clock()
    story_id, doc_id = seed_story(services.engine, now)
    add_target(services.engine, story_id, receiver.url, now, secret_env="HOOK_SECRET")
    headline(services.engine, doc_id, now, "A", "B")
    summary = await Daemon(services, DaemonOptions(health_port=None, node="once")).run_once(
        handle_signals=False
    )
    assert summary.notified == 1 and "1 notifications sent" in summary.line()
    assert len(receiver.received) == 1
