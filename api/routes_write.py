"""Writes: add a source, add a story, check a URL now. Each needs the server's API token
(``Authorization: Bearer <token>``); with no token configured they answer 403."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlmodel import Session

from api import links
from api.deps import DB, State, WriteAllowed, check_storable
from api.schemas import CheckIn, CheckOut, CreatedOut, ErrorOut
from jobs.config import SourceConfig, StoryConfig
from jobs.services import open_services
from jobs.sync import source_fields, story_fields
from storage import catalog

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or wrong bearer token."},
    403: {"model": ErrorOut, "description": "Writes are disabled: no API token is configured."},
    404: {"model": ErrorOut, "description": "Unknown story."},
    422: {"model": ErrorOut, "description": "Invalid body."},
}
router = APIRouter(prefix="/api", responses=WRITE_ERRORS, dependencies=[WriteAllowed])


@router.post("/sources", response_model=CreatedOut, status_code=201, summary="Add or update a source")
def add_source(db: DB, state: State, body: SourceConfig, response: Response) -> CreatedOut:
    """The same fields as a `[[source]]` of the config file. 201 when created, 200 when updated."""
    check_storable(body.model_dump())
    _, created = catalog.upsert_source(
        db, name=body.name, now=state.clock(), **source_fields(body, origin="api")
    )
    db.commit()
    response.status_code = 201 if created else 200
    return CreatedOut(created=created, links={"sources": "/api/sources"})


@router.post("/stories", response_model=CreatedOut, status_code=201, summary="Add or update a story")
def add_story(db: DB, state: State, body: StoryConfig, response: Response) -> CreatedOut:
    """The same fields as a `[[story]]` of the config file. 201 when created, 200 when updated."""
    check_storable(body.model_dump())
    _, created = catalog.upsert_story(
        db, slug=body.slug, now=state.clock(), **story_fields(body, origin="api")
    )
    db.commit()
    response.status_code = 201 if created else 200
    return CreatedOut(created=created, links=links.story_links(body.slug))


@router.post("/checks", response_model=CheckOut, summary="Check a URL now")
async def check_now(state: State, body: CheckIn) -> CheckOut:
    """Fetch the URL now (politeness, robots.txt and the private-address guard apply) and record a
    version or a check, as `storytrail check URL` does."""
    from jobs.pipeline import check_url

    check_storable(body.model_dump())
    if body.story is not None:
        with Session(state.engine) as session:
            catalog.get_story(session, slug=body.story)
    async with open_services(
        state.settings, engine=state.engine, clock=state.clock, extract_workers=0
    ) as svc:
        report = await check_url(svc, body.url, story_slug=body.story, via="api")
    data = report.to_json()
    data.pop("details", None)
    related = links.document_links(report.document_id, report.url) if report.document_id else {}
    return CheckOut(**data, links=related)
