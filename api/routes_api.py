"""The read-only JSON API under /api: stories, timelines, documents, versions, diffs, changes, search."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from api import present
from api.deps import DB, utc
from api.diffs import style_hashes, version_diff
from api.schemas import (
    ChangeList,
    ChannelName,
    DiffFormat,
    DiffOut,
    DocumentDetail,
    DocumentKindName,
    DocumentList,
    ErrorOut,
    EventKindName,
    SearchOut,
    SourceList,
    StoryList,
    StoryOut,
    TimelineOut,
    VersionDetail,
    VersionKindName,
    VersionList,
)
from api.security import csp_with_styles
from storage import catalog, reading
from storage.documents import aliases
from storage.search import search
from storage.timeline import EventFilter, timeline_page

MAX_ID = 2_147_483_647
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Unknown story, document, version or URL."},
    422: {"model": ErrorOut, "description": "Invalid parameters."},
}
router = APIRouter(prefix="/api", responses=ERRORS)

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A document id.")]
Seq = Annotated[int, Path(ge=1, le=MAX_ID, description="A version number (1, 2, ...) within its channel.")]
Slug = Annotated[str, Path(min_length=1, max_length=200, description="A story's slug.")]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many items.")]
Cursor = Annotated[str | None, Query(max_length=1000, description="The `next_cursor` of the previous page.")]
Since = Annotated[datetime | None, Query(description="From this time on (ISO 8601; no zone means UTC).")]
Until = Annotated[datetime | None, Query(description="Up to this time (ISO 8601; no zone means UTC).")]
StoryFilter = Annotated[str | None, Query(max_length=200, description="Only this story's (slug).")]
SourceFilter = Annotated[str | None, Query(max_length=200, description="Only this source's (name).")]
Channel = Annotated[
    ChannelName | None, Query(description="page, feed or api (default: page, else api, else feed).")
]


def _story_id(db: DB, slug: str | None) -> int | None:
    return reading.find_story_id(db, slug=slug) if slug is not None else None


def _source_id(db: DB, name: str | None) -> int | None:
    return reading.find_source_id(db, name=name) if name is not None else None


# -- stories ------------------------------------------------------------------------------------


@router.get("/stories", response_model=StoryList, summary="Stories, by slug")
def list_stories(db: DB, limit: Limit = 50, cursor: Cursor = None) -> StoryList:
    """Every story with its number of documents and versions and the time of its last change."""
    page = reading.story_page(db, limit=limit, cursor=cursor)
    return StoryList(items=[present.story_out(s) for s in page.items], next_cursor=page.next_cursor)


@router.get("/stories/{slug}", response_model=StoryOut, summary="One story")
def get_story(db: DB, slug: Slug) -> StoryOut:
    story = catalog.get_story(db, slug=slug)
    return present.story_out(reading.story_summaries(db, stories=[story])[0])


@router.get("/stories/{slug}/timeline", response_model=TimelineOut, summary="A story's timeline")
def story_timeline(
    db: DB,
    slug: Slug,
    at: Annotated[datetime | None, Query(description="The story as a reader saw it at this time.")] = None,
    since: Since = None,
    until: Until = None,
    kind: Annotated[list[EventKindName] | None, Query(description="Only events of these kinds.")] = None,
    min_significance: Annotated[
        float | None,
        Query(ge=0, le=1, description="Only events with at least this significance (0-1; changes)."),
    ] = None,
    order: Annotated[
        Literal["asc", "desc"], Query(description="Oldest first (asc) or newest first.")
    ] = "asc",
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many events.")] = 200,
    cursor: Cursor = None,
) -> TimelineOut:
    """The story's events in time order, a page at a time: new_coverage, first_version, change,
    headline, moved, deleted, restored, reverted, suspect, reextracted; with the documents they
    are about, as of `at`."""
    story_id = reading.find_story_id(db, slug=slug)
    window = EventFilter(
        kinds=tuple(kind or ()), since=utc(since, "since"), until=utc(until, "until"), at=utc(at, "at"),
        min_significance=min_significance, order=order,
    )  # fmt: skip
    return present.timeline_out(timeline_page(db, story_id, filter=window, limit=limit, cursor=cursor))


# -- documents and versions ---------------------------------------------------------------------


@router.get("/documents", response_model=DocumentList, summary="Documents, newest first")
def list_documents(
    db: DB,
    story: StoryFilter = None,
    source: SourceFilter = None,
    kind: Annotated[DocumentKindName | None, Query(description="article or post.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DocumentList:
    """Documents (articles and posts); `since`/`until` bound when storytrail first saw them."""
    page = reading.document_page(
        db,
        story_id=_story_id(db, story),
        source_id=_source_id(db, source),
        kind=kind,
        since=utc(since, "since"),
        until=utc(until, "until"),
        limit=limit,
        cursor=cursor,
    )
    return DocumentList(items=[present.document_out(d) for d in page.items], next_cursor=page.next_cursor)


def _detail(db: DB, document_id: int) -> DocumentDetail:
    doc = reading.get_document(db, document_id=document_id)
    summary = reading.document_summaries(db, documents=[doc])[0]
    stories = [s.slug for s in reading.document_stories(db, document_id=document_id)]
    return present.document_detail(summary, aliases=aliases(db, document_id=document_id), stories=stories)


@router.get("/documents/by-url", response_model=DocumentDetail, summary="A document by its URL")
def document_by_url(
    db: DB,
    url: Annotated[
        str, Query(min_length=1, max_length=4000, description="Its URL (canonical, an alias, or as found).")
    ],
) -> DocumentDetail:
    doc = reading.lookup_document(db, url=url)
    assert doc.id is not None
    return _detail(db, doc.id)


@router.get("/documents/{document_id}", response_model=DocumentDetail, summary="One document")
def get_document(db: DB, document_id: Id) -> DocumentDetail:
    return _detail(db, document_id)


@router.get("/documents/{document_id}/versions", response_model=VersionList, summary="A document's versions")
def list_versions(
    db: DB,
    document_id: Id,
    channel: Annotated[ChannelName | None, Query(description="Only this channel.")] = None,
    kind: Annotated[VersionKindName | None, Query(description="Only versions of this kind.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> VersionList:
    """Versions by channel, then number (without their text); `since`/`until` bound `observed_at`."""
    page = reading.version_page(
        db,
        document_id=document_id,
        channel=channel,
        kind=kind,
        since=utc(since, "since"),
        until=utc(until, "until"),
        limit=limit,
        cursor=cursor,
    )
    if not page.items:  # versions imply their document; an empty page may be a missing one (404)
        reading.get_document(db, document_id=document_id)
    return VersionList(items=[present.version_out(v) for v in page.items], next_cursor=page.next_cursor)


def _channel(db: DB, document_id: int, channel: str | None) -> str:
    reading.get_document(db, document_id=document_id)
    found = channel or reading.main_channel(db, document_id=document_id)
    if found is None:
        raise reading.NotFoundError(f"document {document_id} has no versions yet")
    return found


@router.get("/documents/{document_id}/versions/{seq}", response_model=VersionDetail, summary="One version")
def get_version(db: DB, document_id: Id, seq: Seq, channel: Channel = None) -> VersionDetail:
    """One version with its text and metadata."""
    if channel is None:
        return present.version_detail(reading.version_on_main_channel(db, document_id=document_id, seq=seq))
    ch = _channel(db, document_id, channel)
    return present.version_detail(reading.get_version(db, document_id=document_id, channel=ch, seq=seq))


DIFF_MEDIA = {
    "text": "text/plain",
    "unified": "text/x-diff",
    "markdown": "text/markdown",
    "html": "text/html",
    "html-side": "text/html",
}
DIFF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The diff: JSON for `format=json`, else the rendered text or page.",
        "content": {media: {"schema": {"type": "string"}} for media in sorted(set(DIFF_MEDIA.values()))},
    }
}


@router.get(
    "/documents/{document_id}/diff",
    response_model=DiffOut,
    responses=DIFF_RESPONSES,
    summary="The diff between two versions",
)
def get_diff(
    db: DB,
    document_id: Id,
    channel: Channel = None,
    from_seq: Annotated[
        int | None,
        Query(
            alias="from",
            ge=1,
            le=MAX_ID,
            description="Older version (default: the one `to` "
            "is compared to: the previous version that is not a deletion).",
        ),
    ] = None,
    to_seq: Annotated[
        int | None, Query(alias="to", ge=1, le=MAX_ID, description="Newer version (default: the latest).")
    ] = None,
    fmt: Annotated[
        DiffFormat, Query(alias="format", description="text, unified, markdown, html, html-side or json.")
    ] = "json",
) -> Response:
    """What changed between two versions of one channel, in any diff format."""
    diff = version_diff(db, document_id=document_id, channel=channel, from_seq=from_seq, to_seq=to_seq)
    rendered = diff.render(fmt)
    if fmt == "json":
        return JSONResponse(present.diff_out(diff, json.loads(rendered)).model_dump(mode="json"))
    if fmt in ("html", "html-side"):
        policy = csp_with_styles(style_hashes(rendered))
        return HTMLResponse(rendered, headers={"Content-Security-Policy": policy})
    return PlainTextResponse(rendered, media_type=DIFF_MEDIA[fmt])


# -- across the archive -------------------------------------------------------------------------


@router.get("/changes", response_model=ChangeList, summary="Versions across the archive, newest first")
def list_changes(
    db: DB,
    story: StoryFilter = None,
    source: SourceFilter = None,
    kind: Annotated[VersionKindName | None, Query(description="Only versions of this kind.")] = None,
    document_kind: Annotated[DocumentKindName | None, Query(description="article or post.")] = None,
    channel: Annotated[ChannelName | None, Query(description="Only this channel.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ChangeList:
    """Every recorded version (a first capture, an edit, a deletion...) by `observed_at`, newest first."""
    page = reading.change_page(
        db,
        story_id=_story_id(db, story),
        source_id=_source_id(db, source),
        document_kind=document_kind,
        kind=kind,
        channel=channel,
        since=utc(since, "since"),
        until=utc(until, "until"),
        limit=limit,
        cursor=cursor,
    )
    return ChangeList(items=[present.change_out(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/search", response_model=SearchOut, summary="Full-text search")
def search_versions(
    db: DB,
    q: Annotated[
        str,
        Query(
            min_length=1, max_length=1000, description='Words (all required), "a phrase", prefix*, -excluded.'
        ),
    ],
    story: StoryFilter = None,
    source: SourceFilter = None,
    channel: Annotated[ChannelName | None, Query(description="Only this channel.")] = None,
    since: Since = None,
    until: Until = None,
    all_versions: Annotated[bool, Query(description="Search every version, not only the latest.")] = False,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many hits, best first.")] = 50,
) -> SearchOut:
    """Versions matching `q`, best first, each with a snippet (the latest version of each document
    and channel unless `all_versions`)."""
    hits = search(
        db,
        q,
        story_id=_story_id(db, story),
        source_id=_source_id(db, source),
        channel=channel,
        since=utc(since, "since"),
        until=utc(until, "until"),
        all_versions=all_versions,
        limit=limit,
    )
    return SearchOut(query=q, all_versions=all_versions, hits=[present.hit_out(h) for h in hits])


@router.get("/sources", response_model=SourceList, summary="Sources")
def list_sources(db: DB) -> SourceList:
    return SourceList(items=[present.source_out(s) for s in catalog.list_sources(db)])
