"""The web application: JSON API, Atom feeds, HTML pages, /healthz and /metrics.

``create_app(settings, engine)`` builds it; ``storytrail serve`` runs it with uvicorn and the
daemon can mount or serve the same app. Reading needs nothing but the database; writes need
``settings.api_token`` (see api.routes_write).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine

from api import (
    errors,
    routes_api,
    routes_feeds,
    routes_manage,
    routes_pages,
    routes_screenshots,
    routes_write,
)
from api.deps import AppState, no_nul
from api.security import SecurityHeaders
from jobs.metrics import Metrics
from jobs.settings import Settings

HERE = Path(__file__).resolve().parent
DESCRIPTION = """Read the storytrail archive: stories, their timelines across outlets, every version of
every document, the diff between any two versions (text, unified, markdown, html, html-side, json),
full-text search and Atom feeds of changes.

Lists are keyset-paginated: pass a page's `next_cursor` as `cursor`. Times are ISO 8601 UTC.
Errors are JSON `{"error": "...", "status": 404}`. Writes (POST) need `Authorization: Bearer <token>`
and are refused (403) unless the server has an API token (STORYTRAIL_API_TOKEN)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = lambda v: v.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if v else "—"
    env.filters["iso"] = lambda v: v.astimezone(UTC).isoformat().replace("+00:00", "Z") if v else ""
    return env


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> FastAPI:
    """The app over ``engine`` (already migrated); ``metrics`` to share the daemon's registry."""
    app = FastAPI(
        title="storytrail",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(no_nul)],
    )
    app.state.storytrail = AppState(settings, engine, templates(), metrics or Metrics(), clock)
    errors.install(app)
    app.add_middleware(SecurityHeaders)
    app.include_router(routes_api.router)
    app.include_router(routes_screenshots.router)
    app.include_router(routes_write.router)
    app.include_router(routes_feeds.router)
    app.include_router(routes_pages.router)
    app.include_router(routes_manage.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
