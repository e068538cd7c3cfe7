"""The services a command or the daemon works with, built once and passed in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from jobs.clock import utcnow
from jobs.metrics import Metrics
from jobs.settings import Settings
from scraper.extractpool import ExtractorPool
from scraper.http import FetchConfig, Fetcher
from storage.db import make_engine

__all__ = ["Services", "fetch_config", "open_services", "utcnow"]


@dataclass
class Services:
    settings: Settings
    engine: Engine
    fetcher: Fetcher
    extractor: ExtractorPool
    metrics: Metrics
    clock: Callable[[], datetime] = utcnow
    browser: Any = None  # a scraper.browser.BrowserFetcher, started on first use (jobs.fetching)
    render_all: bool = False  # storytrail check --browser

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


def fetch_config(settings: Settings) -> FetchConfig:
    values = {f.name: getattr(settings, f.name) for f in fields(FetchConfig) if hasattr(settings, f.name)}
    values["user_agent"] = settings.full_user_agent
    values["allow_hosts"] = tuple(settings.allow_hosts)
    return FetchConfig(**values)


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utcnow,
    extract_workers: int | None = None,
) -> AsyncIterator[Services]:
    own_engine = engine is None
    engine = engine or make_engine(settings.database_url)
    workers = settings.extract_workers if extract_workers is None else extract_workers
    fetcher = Fetcher(fetch_config(settings), clock=clock)
    pool = ExtractorPool(workers)
    services = Services(
        settings=settings, engine=engine, fetcher=fetcher, extractor=pool, metrics=Metrics(), clock=clock
    )
    try:
        yield services
    finally:
        if services.browser is not None:
            await services.browser.aclose()
        await fetcher.aclose()
        pool.close()
        if own_engine:
            engine.dispose()
