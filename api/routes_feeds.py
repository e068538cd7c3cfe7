"""Atom feeds of changes (/feeds) and the operator's routes (/healthz, /metrics)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from api.deps import DB, State
from api.feeds import changes_feed
from api.schemas import ErrorOut, HealthOut
from storage import catalog

ATOM_MEDIA = "application/atom+xml; charset=utf-8"
ATOM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An Atom 1.0 feed.",
        "content": {"application/atom+xml": {"schema": {"type": "string"}}},
    },
    404: {"model": ErrorOut, "description": "Unknown story."},
}
router = APIRouter()


@router.get(
    "/feeds/changes.atom",
    response_class=Response,
    responses=ATOM_RESPONSE,
    summary="Atom feed of the newest changes in the archive",
)
def all_changes(db: DB, state: State, request: Request) -> Response:
    body = changes_feed(db, story=None, now=state.clock(), self_url=str(request.url))
    return Response(body, media_type=ATOM_MEDIA)


@router.get(
    "/feeds/stories/{slug}.atom",
    response_class=Response,
    responses=ATOM_RESPONSE,
    summary="Atom feed of a story's newest changes",
)
def story_changes(
    db: DB,
    state: State,
    request: Request,
    slug: Annotated[str, Path(min_length=1, max_length=200, description="A story's slug.")],
) -> Response:
    story = catalog.get_story(db, slug=slug)
    body = changes_feed(db, story=story, now=state.clock(), self_url=str(request.url))
    return Response(body, media_type=ATOM_MEDIA)


@router.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}}, summary="Health")
async def healthz(state: State) -> JSONResponse:
    """200 when the database answers, else 503 with the reason."""
    from jobs.health import database_status

    problem = await database_status(state.engine)
    if problem is None:
        return JSONResponse({"status": "ok", "database": "ok"})
    body = {"status": "unavailable", "database": "unreachable", "reason": f"database unreachable ({problem})"}
    return JSONResponse(body, status_code=503)


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(state: State) -> Response:
    body, content_type = await asyncio.to_thread(state.metrics.render)
    return Response(body, media_type=content_type)
