"""Server-rendered HTML pages (Jinja2, autoescaped): stories, a story's timeline, a document's
history, one version, a diff (inline or side by side), search, and the API's own index.

No JavaScript anywhere: every control is a link or a GET form."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import links
from api.deps import DB, BadParameterError, State, utc
from api.diffs import UnsafeDiffHTMLError, embeddable, version_diff
from api.glance import headline_evolution, merge_channels, picture
from api.routes_api import MAX_ID
from storage import catalog, reading
from storage.documents import aliases
from storage.glance import headline_history, story_marks
from storage.search import DocumentHit, SearchError, by_document, search
from storage.timeline import EVENT_KINDS, EventFilter, story_document_states, timeline_page

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Seq = Annotated[int, Path(ge=1, le=MAX_ID)]
Text = Annotated[str | None, Query(max_length=1000)]
Cursor = Annotated[str | None, Query(max_length=1000)]
PAGE_SIZE = 100
TIMELINE_PAGE = 50  # events per story page, as the API's pages (then "More events", a keyset cursor)
DIFFABLE = {"change", "headline", "deleted", "restored", "reverted", "reextracted"}
COVERAGE_ROWS = 50  # the documents found last; the rest through /api/documents?story=


def page(state: State, template: str, **context: Any) -> HTMLResponse:
    html = state.templates.get_template(template).render(links=links, **context)
    return HTMLResponse(html)


def form_time(value: str | None, name: str) -> datetime | None:
    """A time from a GET form (``datetime-local`` sends ``2025-12-29T19:00``; blank means none)."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadParameterError(f"{name} {value!r} is not a time (write e.g. 2025-12-30T12:00)") from None
    return utc(parsed, name)


def blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


@router.get("/", response_class=HTMLResponse)
def stories_page(db: DB, state: State, cursor: Cursor = None) -> HTMLResponse:
    result = reading.story_page(db, limit=PAGE_SIZE, cursor=cursor)
    return page(state, "stories.html", stories=result.items, next_cursor=result.next_cursor)


@router.get("/stories/{slug}", response_class=HTMLResponse)
def story_page(
    db: DB,
    state: State,
    slug: Annotated[str, Path(min_length=1, max_length=200)],
    at: Text = None,
    since: Text = None,
    until: Text = None,
    kind: Text = None,
    min_significance: Text = None,
    order: Literal["asc", "desc"] = "desc",
    cursor: Cursor = None,
) -> HTMLResponse:
    """The story at a glance (the lane picture), its coverage, and its timeline, newest first."""
    story = catalog.get_story(db, slug=slug)
    assert story.id is not None
    when, start, end = form_time(at, "at"), form_time(since, "since"), form_time(until, "until")
    least = form_number(min_significance, "min significance")
    chosen = (kind.strip(),) if kind and kind.strip() else ()
    window = EventFilter(kinds=chosen, since=start, until=end, at=when, min_significance=least, order=order)
    result = timeline_page(db, story.id, filter=window, limit=TIMELINE_PAGE, cursor=cursor)
    summary = reading.story_summaries(db, stories=[story])[0]
    coverage = story_document_states(db, story.id, at=when, limit=COVERAGE_ROWS)
    form = {"at": at or "", "since": since or "", "until": until or "", "order": order, "kind": kind or "",
            "min_significance": min_significance or ""}  # fmt: skip
    return page(
        state,
        "story.html",
        story=story,
        summary=summary,
        timeline=result,
        documents=coverage,
        glance=picture(story_marks(db, story_id=story.id, at=when)),
        entries=merge_channels(result.events.items),
        next_cursor=result.events.next_cursor,
        form=form,
        kinds=EVENT_KINDS,
        diffable=DIFFABLE,
    )


def form_number(value: str | None, name: str) -> float | None:
    """A number between 0 and 1 from a GET form (blank means none)."""
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1:
        raise BadParameterError(f"{name} {value!r} is not a number from 0 to 1 (write e.g. 0.5)")
    return number


@router.get("/documents/{document_id}/headlines", response_class=HTMLResponse)
def headlines_page(db: DB, state: State, document_id: Id) -> HTMLResponse:
    """Every headline the document had, in order, with the words changed marked."""
    doc = reading.get_document(db, document_id=document_id)
    summary = reading.document_summaries(db, documents=[doc])[0]
    evolution = headline_evolution(document_id, headline_history(db, document_id=document_id))
    return page(state, "headlines.html", doc=doc, summary=summary, evolution=evolution)


@router.get("/documents", response_class=HTMLResponse)
def document_lookup(db: DB, url: Annotated[str, Query(min_length=1, max_length=4000)]) -> Response:
    """``/documents?url=...``: the history page of the document archived at that URL."""
    doc = reading.lookup_document(db, url=url)
    return RedirectResponse(f"/documents/{doc.id}", status_code=303)


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    db: DB,
    state: State,
    document_id: Id,
    channel: Literal["page", "feed", "api"] | None = None,
    cursor: Cursor = None,
) -> HTMLResponse:
    doc = reading.get_document(db, document_id=document_id)
    summary = reading.document_summaries(db, documents=[doc])[0]
    versions = reading.version_page(
        db, document_id=document_id, channel=channel, limit=PAGE_SIZE, cursor=cursor
    )
    return page(
        state,
        "document.html",
        doc=doc,
        summary=summary,
        versions=versions.items,
        next_cursor=versions.next_cursor,
        channel=channel,
        stories=reading.document_stories(db, document_id=document_id),
        aliases=aliases(db, document_id=document_id),
    )


def _channel(db: DB, document_id: int, channel: str | None) -> str:
    found = channel or reading.main_channel(db, document_id=document_id)
    if found is None:
        raise reading.NotFoundError(f"document {document_id} has no versions yet")
    return found


@router.get("/documents/{document_id}/versions/{seq}", response_class=HTMLResponse)
def version_page(
    db: DB, state: State, document_id: Id, seq: Seq, channel: Literal["page", "feed", "api"] | None = None
) -> HTMLResponse:
    doc = reading.get_document(db, document_id=document_id)
    ch = _channel(db, document_id, channel)
    version = reading.get_version(db, document_id=document_id, channel=ch, seq=seq)
    before, after = reading.neighbours(db, document_id=document_id, channel=ch, seq=seq)
    paragraphs = [p.strip() for p in version.text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return page(
        state,
        "version.html",
        doc=doc,
        version=version,
        channel=ch,
        before=before,
        after=after,
        paragraphs=paragraphs,
    )


@router.get("/documents/{document_id}/diff", response_class=HTMLResponse)
def diff_page(
    db: DB,
    state: State,
    document_id: Id,
    channel: Literal["page", "feed", "api"] | None = None,
    from_seq: Annotated[int | None, Query(alias="from", ge=1, le=MAX_ID)] = None,
    to_seq: Annotated[int | None, Query(alias="to", ge=1, le=MAX_ID)] = None,
    view: Literal["inline", "side"] = "inline",
) -> HTMLResponse:
    doc = reading.get_document(db, document_id=document_id)
    diff = version_diff(db, document_id=document_id, channel=channel, from_seq=from_seq, to_seq=to_seq)
    try:
        fragment, fallback = embeddable(diff.render("html" if view == "inline" else "html-side")), None
    except UnsafeDiffHTMLError as exc:
        log.error("diff HTML refused", extra={"document_id": document_id, "error": str(exc)})
        fragment, fallback = None, diff.render("text")
    seqs = reading.channel_seqs(db, document_id=document_id, channel=diff.channel)
    return page(
        state, "diff.html", doc=doc, diff=diff, view=view, fragment=fragment, fallback=fallback, seqs=seqs
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    db: DB,
    state: State,
    q: Text = None,
    story: Annotated[str | None, Query(max_length=200)] = None,
    all_versions: bool = False,
) -> HTMLResponse:
    query, slug = blank(q), blank(story)
    hits: list[DocumentHit] = []
    problem = None
    if query is not None:
        story_id = reading.find_story_id(db, slug=slug) if slug else None
        try:
            # an article's feed entry and page (and, with all_versions, its versions) are one hit
            found = search(db, query, story_id=story_id, all_versions=all_versions, limit=3 * PAGE_SIZE)
            hits = by_document(found)[:PAGE_SIZE]
        except SearchError as exc:
            problem = str(exc)
    stories = reading.story_page(db, limit=500).items
    return page(
        state,
        "search.html",
        q=query or "",
        story=slug or "",
        all_versions=all_versions,
        hits=hits,
        problem=problem,
        stories=stories,
    )


@router.get("/api", response_class=HTMLResponse)
def api_index(state: State, request: Request) -> HTMLResponse:
    """A plain index of the JSON API, from the OpenAPI schema."""
    schema = request.app.openapi()
    routes = [
        (method.upper(), path, op.get("summary", ""), op.get("description", ""))
        for path, ops in schema.get("paths", {}).items()
        for method, op in ops.items()
    ]
    return page(state, "api.html", routes=routes, writes=bool(state.settings.api_token))
