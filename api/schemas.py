"""The JSON shapes of the HTTP API (they are the OpenAPI schema at /openapi.json).

Times are ISO 8601 in UTC (``2025-12-29T19:00:00Z``). Every list is keyset-paginated: pass the
``next_cursor`` of a page as ``cursor`` to get the next one; it is null on the last page.
``links`` hold paths on this server: the JSON resource, its HTML page, related resources.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

DiffFormat = Literal["text", "unified", "markdown", "html", "html-side", "json"]
EventKindName = Literal[
    "new_coverage",
    "first_version",
    "change",
    "headline",
    "moved",
    "deleted",
    "restored",
    "reverted",
    "suspect",
    "reextracted",
]
VersionKindName = Literal["normal", "revert", "tombstone", "reextracted"]
ChannelName = Literal["page", "feed", "api"]
DocumentKindName = Literal["article", "post"]


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in a sentence.")
    status: int = Field(description="The HTTP status, repeated.")
    details: list[dict[str, Any]] | None = Field(default=None, description="Each invalid parameter (422).")


class StoryOut(BaseModel):
    slug: str
    title: str
    query: str
    seeds: list[str]
    languages: list[str]
    created_at: datetime | None
    documents: int = Field(description="Documents linked to the story.")
    versions: int = Field(description="Versions of those documents (re-extractions not counted).")
    last_change_at: datetime | None = Field(description="When the latest of those versions was observed.")
    links: dict[str, str]


class StoryList(BaseModel):
    items: list[StoryOut]
    next_cursor: str | None


class StoryRef(BaseModel):
    id: int
    slug: str
    title: str


class EventOut(BaseModel):
    id: int = Field(description="The event's id: monotonic, the cursor of the Atom feeds and notifications.")
    at: datetime
    kind: EventKindName
    document_id: int | None
    url: str | None
    outlet: str
    channel: str | None
    seq: int | None
    prev_seq: int | None = Field(description="The version this one is compared to (changes).")
    version_id: int | None
    title: str | None
    summary: str
    headline_changed: bool
    previous_title: str | None
    revert_of: int | None
    significance: float | None
    details: dict[str, Any]
    links: dict[str, str]


class DocumentStateOut(BaseModel):
    document_id: int
    url: str
    outlet: str
    discovered_at: datetime
    via: str
    score: float
    reason: str
    title: str | None
    deleted: bool
    latest: dict[str, int]
    last_changed_at: datetime | None
    versions: int


class TimelineOut(BaseModel):
    story: StoryRef
    at: datetime | None = Field(description="The story as a reader saw it at this time (null: now).")
    since: datetime | None
    until: datetime | None
    order: Literal["asc", "desc"]
    documents: list[DocumentStateOut] = Field(
        description="The documents this page's events are about, as of `at` (newest found first)."
    )
    events: list[EventOut]
    next_cursor: str | None


class DocumentOut(BaseModel):
    id: int
    url: str
    outlet: str
    kind: str
    platform: str | None
    status: str
    first_seen: datetime | None
    last_seen: datetime | None
    last_changed_at: datetime | None
    next_check: datetime | None
    title: str | None = Field(description="The latest title of its main channel (page, else api, else feed).")
    versions: int
    channels: dict[str, int] = Field(description="Channel -> latest version number.")
    links: dict[str, str]


class DocumentDetail(DocumentOut):
    aliases: list[str]
    stories: list[str] = Field(description="Slugs of the stories it belongs to.")


class DocumentList(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None


class VersionOut(BaseModel):
    document_id: int
    channel: str
    seq: int
    kind: str
    revert_of: int | None
    observed_at: datetime
    last_confirmed_at: datetime
    http_status: int | None
    content_hash: str
    raw_sha256: str | None
    title: str | None
    byline: str | None
    published: datetime | None
    modified: datetime | None
    canonical_url: str | None
    language: str | None
    extractor: str | None
    extractor_version: str | None
    summary: str = Field(description="What changed, in one line.")
    change_summary: dict[str, Any]
    wayback_url: str | None = Field(
        default=None, description="Its snapshot in the Wayback Machine, when its source or story opted in."
    )
    links: dict[str, str]


class VersionDetail(VersionOut):
    description: str | None
    text: str
    metadata: dict[str, Any]


class VersionList(BaseModel):
    items: list[VersionOut]
    next_cursor: str | None


class ChangeOut(VersionOut):
    url: str
    outlet: str


class ChangeList(BaseModel):
    items: list[ChangeOut]
    next_cursor: str | None


class DiffOut(BaseModel):
    document_id: int
    url: str
    channel: str
    from_seq: int
    to_seq: int
    summary: str
    significance: float
    diff: dict[str, Any] = Field(description="The diff in the `json` format: labels, fields, blocks, stats.")
    links: dict[str, str]


class SearchHitOut(BaseModel):
    version_id: int
    document_id: int
    url: str
    outlet: str
    channel: str
    seq: int
    kind: str
    observed_at: datetime
    title: str | None
    rank: float
    snippet: str = Field(description="The matching passage, matches between ** and **.")
    snippet_parts: list[tuple[str, bool]] = Field(description="The snippet as (text, matched) pieces.")
    links: dict[str, str]


class SearchOut(BaseModel):
    query: str
    all_versions: bool
    hits: list[SearchHitOut]


class SourceOut(BaseModel):
    name: str
    kind: str
    url: str
    every: str | None
    enabled: bool
    params: dict[str, Any]
    last_polled_at: datetime | None
    next_poll_at: datetime | None


class SourceList(BaseModel):
    items: list[SourceOut]


class CreatedOut(BaseModel):
    created: bool = Field(description="False when an existing row was updated.")
    links: dict[str, str]


class CheckIn(BaseModel):
    url: str = Field(min_length=1, max_length=4000, description="The http(s) URL to fetch now.")
    story: str | None = Field(default=None, max_length=200, description="Attach the document to this story.")


class CheckOut(BaseModel):
    url: str
    outcome: str
    document_id: int | None
    channel: str
    seq: int | None
    kind: str | None
    revert_of: int | None
    http_status: int | None
    summary: str
    error: str | None
    links: dict[str, str]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]
    reason: str | None = None
