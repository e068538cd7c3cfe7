"""Runs the whole pipeline on the demo site, round by round, on a simulated clock.

At the start: a feed source (the site's /rss.xml), a page source (its front page) and the story
(its seed: the first article). Each round: poll both sources (new articles are matched to the
story and fetched; the unrelated article stays "seen"), then check every document of the story.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from jobs.demo.content import ALL, ROUND_NOTES, ROUNDS, STORY_QUERY, STORY_SLUG, STORY_TITLE, UNRELATED
from jobs.demo.site import DemoSite
from jobs.pipeline import CheckReport, check_document
from jobs.polling import PollReport, poll_all
from jobs.services import Services, open_services
from jobs.settings import Settings
from scraper.core.types import CheckOutcome
from storage import catalog
from storage import documents as docs
from storage.models import Version

FEED_SOURCE = "demo-rss"
PAGE_SOURCE = "demo-front-page"

START = datetime(2025, 12, 29, 19, 0, tzinfo=UTC)
ROUND_OFFSETS = (timedelta(0), timedelta(hours=12), timedelta(days=1), timedelta(days=2), timedelta(days=3))


@dataclass
class SimClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class DemoResult:
    base: str
    reports: list[tuple[int, CheckReport]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    port_note: str = ""  # said when the asked-for port was busy and another one was used


def demo_settings(settings: Settings) -> Settings:
    hosts = sorted({*settings.allow_hosts, "127.0.0.1", "localhost"})
    return settings.model_copy(update={"allow_hosts": hosts, "per_host_delay": 0.0, "retries": 1})


def open_site(port: int, *, fallback: bool) -> tuple[DemoSite, str]:
    """The demo site on ``port``; when that port is busy and ``fallback``, on any free port."""
    try:
        return DemoSite(port=port), ""
    except OSError as exc:
        if not fallback or port == 0:
            raise
        site = DemoSite(port=0)
        reason = exc.strerror or "busy"
        note = f"note: port {port} is not free ({reason}): the demo site is on {site.base} this time"
        return site, note


async def run_demo(
    settings: Settings,
    engine: Engine,
    *,
    port: int = 0,
    fallback: bool = False,
    say: Callable[[str], None] = print,
) -> DemoResult:
    clock = SimClock()
    site, note = open_site(port, fallback=fallback)
    if note:
        say(note)
    with site:
        result = DemoResult(base=site.base, port_note=note)
        story_urls = [site.url(a) for a in ALL if a is not UNRELATED]
        _follow(engine, site, clock(), story_urls[0])
        result.urls = story_urls
        async with open_services(demo_settings(settings), engine=engine, clock=clock) as svc:
            for r in range(ROUNDS):
                site.round = r
                clock.now = START + ROUND_OFFSETS[r]
                say(f"round {r} ({clock.now:%Y-%m-%d %H:%M} UTC): {ROUND_NOTES[r]}")
                for poll in await poll_all(svc, [FEED_SOURCE, PAGE_SOURCE]):
                    say(f"  {_poll_line(poll)}")
                for report in await _check_story(svc, clock, story_urls, since=clock.now):
                    result.reports.append((r, report))
                    say(f"  {_line(report)}")
    return result


def _follow(engine: Engine, site: DemoSite, now: datetime, seed: str) -> None:
    """The demo's sources and story, pointed at this run's site.

    The sources are disabled: the demo polls them by name, and nothing polls them once the demo
    site is gone (``storytrail run`` and a bare ``storytrail poll`` skip disabled sources).
    """
    common: dict[str, Any] = {
        "now": now,
        "every": "10m",
        "enabled": False,
        "etag": None,
        "last_modified": None,
    }
    feed: dict[str, Any] = {
        "kind": "feed",
        "url": f"{site.base}/rss.xml",
        "params": {"archive": "matched", "origin": "demo"},
    }
    page: dict[str, Any] = {"kind": "page", "url": f"{site.base}/", "params": {"origin": "demo"}}
    with Session(engine) as session:
        catalog.upsert_source(session, name=FEED_SOURCE, **common, **feed)
        catalog.upsert_source(session, name=PAGE_SOURCE, **common, **page)
        settings = {"threshold": 0.35, "link_depth": 1}
        catalog.upsert_story(session, slug=STORY_SLUG, now=now, title=STORY_TITLE, query=STORY_QUERY,
                             seeds=[seed], settings=settings)  # fmt: skip
        session.commit()


async def _check_story(
    svc: Services, clock: SimClock, urls: list[str], *, since: datetime
) -> list[CheckReport]:
    """Check each of the story's documents; one fetched by this round's poll is shown, not refetched."""
    reports = []
    for url in urls:
        with svc.session() as session:
            doc = docs.find_document(session, url=url)
            if doc is None or doc.id is None:
                continue
            latest = docs.latest_version(session, document_id=doc.id, channel="page")
        if latest is not None and latest.observed_at >= since:
            reports.append(_fresh(url, doc.id, latest))
            continue
        clock.advance(30)
        reports.append(await check_document(svc, doc.id))
    return reports


def _fresh(url: str, document_id: int, version: Version) -> CheckReport:
    return CheckReport(
        url=url,
        outcome=CheckOutcome.NEW_VERSION,
        document_id=document_id,
        seq=version.seq,
        kind=version.kind,
        summary="first fetched by this round's poll",
    )


def _poll_line(report: PollReport) -> str:
    if report.kind == "seeds":
        failed = f", {report.errors} failed" if report.errors else ""
        return f"story seeds: {report.fetched} fetched{failed}"
    if report.outcome == "error":
        return f"poll {report.source}: error: {report.error}"
    if report.outcome == "not_modified":
        return f"poll {report.source}: not modified"
    edited = f", {report.edited} feed entries edited" if report.edited else ""
    return (
        f"poll {report.source}: {report.entries} entries, {report.new} new, {report.matched} matched, "
        f"{report.seen} seen{edited}"
    )


def _line(report: CheckReport) -> str:
    path = report.url.split("/", 3)[-1]
    o = report.outcome.value
    if o == "new_version":
        label = f"v{report.seq}" + ("" if report.kind == "normal" else f" {report.kind}")
        return f"{label:<15} /{path}: {report.summary}"
    if o in ("unchanged", "not_modified"):
        return f"{'304' if o == 'not_modified' else 'same':<15} /{path}"
    if o == "gone":
        return f"{'gone':<15} /{path}: {report.summary}"
    return f"{o:<15} /{path}: {report.error}"
