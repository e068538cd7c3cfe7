"""Screenshots of browser captures: one PNG per version that has one (``screenshot = true``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.deps import DB
from storage import captures, reading
from storage.documents import NotFoundError

MAX_ID = 2_147_483_647
router = APIRouter(prefix="/api")
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A document id.")]
Seq = Annotated[int, Path(ge=1, le=MAX_ID, description="A version number (1, 2, ...) within its channel.")]


@router.get(
    "/documents/{document_id}/versions/{seq}/screenshot.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A full-page PNG"}},
    summary="A version's screenshot (browser captures with screenshot = true)",
)
def version_screenshot(
    db: DB, document_id: Id, seq: Seq, channel: Literal["page", "feed", "api"] = "page"
) -> Response:
    version = reading.get_version(db, document_id=document_id, channel=channel, seq=seq)
    png = captures.screenshot_png(db, sha256=version.screenshot_sha256) if version.screenshot_sha256 else None
    if png is None:
        raise NotFoundError(f"version {seq} of document {document_id} has no screenshot")
    return Response(
        png,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
