"""Runs the whole pipeline on the demo site, round by round, on a simulated clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from jobs.demo.content import ALL, ROUND_NOTES, ROUNDS, STORY_QUERY, STORY_SLUG, STORY_TITLE, UNRELATED
from jobs.demo.site import DemoSite
from jobs.pipeline import CheckReport, check_url
from jobs.services import open_services
from jobs.settings import Settings
from storage import catalog

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


def demo_settings(settings: Settings) -> Settings:
    hosts = sorted({*settings.allow_hosts, "127.0.0.1", "localhost"})
    return settings.model_copy(update={"allow_hosts": hosts, "per_host_delay": 0.0, "retries": 1})


async def run_demo(settings: Settings, engine: Engine, *, port: int = 0,
                   say: Callable[[str], None] = print) -> DemoResult:
    clock = SimClock()
    with DemoSite(port=port) as site:
        result = DemoResult(base=site.base)
        story_urls = [site.url(a) for a in ALL if a is not UNRELATED]
        with Session(engine) as session:
            catalog.upsert_story(session, slug=STORY_SLUG, now=clock(), title=STORY_TITLE, query=STORY_QUERY,
                                 seeds=story_urls[:1], settings={"threshold": 0.35, "link_depth": 1})
            session.commit()
        result.urls = story_urls
        async with open_services(demo_settings(settings), engine=engine, clock=clock) as svc:
            for r in range(ROUNDS):
                site.round = r
                clock.now = START + ROUND_OFFSETS[r]
                say(f"round {r} ({clock.now:%Y-%m-%d %H:%M} UTC): {ROUND_NOTES[r]}")
                for url in story_urls:
                    clock.advance(30)
                    report = await check_url(svc, url, story_slug=STORY_SLUG, via="seed")
                    result.reports.append((r, report))
                    say(f"  {_line(report)}")
    return result


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
