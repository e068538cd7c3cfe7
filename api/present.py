"""Stored values -> the API's JSON shapes (api.schemas), with their links."""

from __future__ import annotations

from api import links
from api.diffs import VersionDiff
from api.schemas import (
    ChangeOut,
    DiffOut,
    DocumentDetail,
    DocumentOut,
    DocumentStateOut,
    EventOut,
    SearchHitOut,
    SourceOut,
    StoryOut,
    StoryRef,
    TimelineOut,
    VersionDetail,
    VersionOut,
)
from storage.models import Source, Version
from storage.reading import Change, DocumentSummary, StorySummary, VersionInfo
from storage.search import SearchHit
from storage.timeline import StoryEventRow, TimelinePage, outlet


def story_out(s: StorySummary) -> StoryOut:
    story = s.story
    return StoryOut(
        slug=story.slug,
        title=story.title,
        query=story.query,
        seeds=list(story.seeds),
        languages=list(story.languages),
        created_at=story.created_at,
        documents=s.documents,
        versions=s.versions,
        last_change_at=s.last_change_at,
        links=links.story_links(story.slug),
    )


def document_out(s: DocumentSummary) -> DocumentOut:
    d = s.document
    assert d.id is not None
    return DocumentOut(
        id=d.id,
        url=d.url,
        outlet=outlet(d.url),
        kind=d.kind,
        platform=d.platform,
        status=d.status,
        first_seen=d.first_seen,
        last_seen=d.last_seen,
        last_changed_at=d.last_changed_at,
        next_check=d.next_check,
        title=s.title,
        versions=s.versions,
        channels=s.channels,
        links=links.document_links(d.id, d.url),
    )


def document_detail(s: DocumentSummary, *, aliases: list[str], stories: list[str]) -> DocumentDetail:
    return DocumentDetail(**document_out(s).model_dump(), aliases=aliases, stories=stories)


def version_out(v: VersionInfo | Version) -> VersionOut:
    return VersionOut(
        document_id=v.document_id,
        channel=v.channel,
        seq=v.seq,
        kind=v.kind,
        revert_of=v.revert_of,
        observed_at=v.observed_at,
        last_confirmed_at=v.last_confirmed_at,
        http_status=v.http_status,
        content_hash=v.content_hash,
        raw_sha256=v.raw_sha256,
        title=v.title,
        byline=v.byline,
        published=v.published,
        modified=v.modified,
        canonical_url=v.canonical_url,
        language=v.language,
        extractor=v.extractor,
        extractor_version=v.extractor_version,
        summary=str((v.change_summary or {}).get("summary", "")),
        change_summary=dict(v.change_summary or {}),
        wayback_url=v.wayback_url,
        links=links.version_links(v.document_id, v.channel, v.seq, first=v.seq == 1),
    )


def version_detail(v: Version) -> VersionDetail:
    return VersionDetail(
        **version_out(v).model_dump(), description=v.description, text=v.text, metadata=dict(v.meta or {})
    )


def change_out(c: Change) -> ChangeOut:
    return ChangeOut(**version_out(c.version).model_dump(), url=c.url, outlet=outlet(c.url))


def event_out(e: StoryEventRow) -> EventOut:
    if e.document_id is not None and e.channel is not None and e.seq is not None:
        related = links.version_links(e.document_id, e.channel, e.seq, first=e.prev_seq is None)
    elif e.document_id is not None:
        related = links.document_links(e.document_id, e.url or "")
    else:
        related = {}
    return EventOut(**e.to_json(), links=related)


def timeline_out(t: TimelinePage) -> TimelineOut:
    f = t.filter
    return TimelineOut(
        story=StoryRef(id=t.story_id, slug=t.slug, title=t.title),
        at=f.at,
        since=f.since,
        until=f.until,
        order="desc" if f.order == "desc" else "asc",
        documents=[DocumentStateOut(**d.to_json()) for d in t.documents],
        events=[event_out(e) for e in t.events.items],
        next_cursor=t.events.next_cursor,
    )


def diff_out(d: VersionDiff, diff_json: dict[str, object]) -> DiffOut:
    return DiffOut(
        document_id=d.document_id,
        url=d.url,
        channel=d.channel,
        from_seq=d.old.seq,
        to_seq=d.new.seq,
        summary=d.diff.summary,
        significance=d.diff.significance,
        diff=diff_json,
        links={
            "html": links.diff_path(d.document_id, d.channel, d.new.seq, from_seq=d.old.seq, html=True),
            "from": links.version_path(d.document_id, d.channel, d.old.seq),
            "to": links.version_path(d.document_id, d.channel, d.new.seq),
        },
    )


def hit_out(h: SearchHit) -> SearchHitOut:
    return SearchHitOut(
        **h.to_json(), links=links.version_links(h.document_id, h.channel, h.seq, first=h.seq == 1)
    )


def source_out(s: Source) -> SourceOut:
    return SourceOut(
        name=s.name,
        kind=s.kind,
        url=s.url,
        every=s.every,
        enabled=s.enabled,
        params=dict(s.params),
        last_polled_at=s.last_polled_at,
        next_poll_at=s.next_poll_at,
    )
