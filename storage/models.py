"""SQLModel tables (DESIGN.md, data model). Times are timezone-aware UTC everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


def _time(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column_kwargs={}, sa_type=UTCDateTime, nullable=nullable, index=index)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_type=JSONType, nullable=False)


class Source(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    kind: str = Field(
        max_length=32
    )  # feed, sitemap, page, search, mastodon, bluesky, telegram, reddit, youtube
    url: str
    params: dict[str, Any] = _json(dict)  # include/exclude, api, archive, template, credentials names...
    every: str | None = Field(default=None, max_length=64)  # "10m" or a cron expression
    politeness: dict[str, Any] = _json(dict)
    ignore_patterns: list[str] = _json(list)  # regexes removed from text before hashing
    remove_selectors: list[str] = _json(list)  # CSS selectors removed before extraction
    enabled: bool = True
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = _time()
    next_poll_at: datetime | None = _time(index=True)
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _time()
    created_at: datetime | None = _time()


class Story(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=200)
    title: str
    query: str = ""
    seeds: list[str] = _json(list)
    languages: list[str] = _json(list)
    active_from: datetime | None = _time()
    active_until: datetime | None = _time()
    settings: dict[str, Any] = _json(dict)  # threshold, recheck_min/max, link_depth
    created_at: datetime | None = _time()


class Document(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_document_status_next_check", "status", "next_check"),)  # the work queue
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True)  # canonical URL (articles) or public post URL (posts)
    kind: str = Field(default="article", max_length=16)  # article | post
    platform: str | None = Field(default=None, max_length=32)
    status: str = Field(default="active", max_length=16, index=True)  # active, gone, retired, seen
    source_id: int | None = Field(default=None, foreign_key="source.id", ondelete="SET NULL")
    first_seen: datetime | None = _time()
    last_seen: datetime | None = _time()
    last_changed_at: datetime | None = _time()
    next_check: datetime | None = _time(index=True)
    check_interval_s: int | None = None
    unchanged_checks: int = 0
    missing_count: int = 0
    etag: str | None = None
    last_modified: str | None = None
    simhash: int | None = Field(default=None, sa_type=sa.BigInteger)
    duplicate_of: int | None = Field(default=None, foreign_key="document.id", ondelete="SET NULL")
    settings: dict[str, Any] = _json(dict)  # per-document overrides (ignore rules from its source...)
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _time()


class DocumentAlias(SQLModel, table=True):
    __tablename__ = "document_alias"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True)
    document_id: int = Field(foreign_key="document.id", index=True, ondelete="CASCADE")


class Version(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("document_id", "channel", "seq", name="uq_version_doc_channel_seq"),
        # a story's counts (reading.story_summaries) read this index alone (migration 0010)
        sa.Index("ix_version_document_kind_observed", "document_id", "kind", "observed_at"),
        # at most one latest version per (document, channel): storage.documents.add_version keeps
        # it, storage.bulk repairs it after a load (migration 0011)
        sa.Index(
            "ux_version_latest",
            "document_id",
            "channel",
            unique=True,
            sqlite_where=sa.text("latest"),
            postgresql_where=sa.text("latest"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", ondelete="CASCADE")
    channel: str = Field(default="page", max_length=8)
    seq: int
    kind: str = Field(default="normal", max_length=16)  # normal, revert, tombstone, reextracted
    revert_of: int | None = None  # seq this version returns to (kind revert)
    observed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_confirmed_at: datetime = Field(sa_type=UTCDateTime)
    http_status: int | None = None
    content_hash: str = Field(max_length=64, index=True)
    raw_sha256: str | None = Field(default=None, max_length=64)
    title: str | None = None
    byline: str | None = None
    description: str | None = None
    published: datetime | None = _time()
    modified: datetime | None = _time()
    canonical_url: str | None = None
    language: str | None = Field(default=None, max_length=16)
    text: str = ""
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSONType, nullable=False, sa_column_kwargs={"name": "metadata"}
    )
    extractor: str | None = Field(default=None, max_length=64)
    extractor_version: str | None = Field(default=None, max_length=64)
    normalizer_version: str | None = Field(default=None, max_length=16)
    change_summary: dict[str, Any] = _json(dict)
    screenshot_sha256: str | None = Field(default=None, max_length=64)  # a PNG blob (browser captures)
    wayback_url: str | None = None  # its snapshot in the Wayback Machine (storage.wayback), when opted in
    # the newest version (highest seq, tombstones included) of its document and channel: what
    # search covers by default (storage.search; migration 0011)
    latest: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Check(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    document_id: int | None = Field(default=None, foreign_key="document.id", index=True, ondelete="CASCADE")
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    channel: str = Field(default="page", max_length=8)
    # new_version, unchanged, not_modified, error, gone, robots_denied, suspect
    outcome: str = Field(max_length=16)
    http_status: int | None = None
    bytes: int | None = None
    duration_ms: int | None = None
    error: str | None = None
    version_id: int | None = Field(default=None, foreign_key="version.id", ondelete="SET NULL")
    # capture evidence, for WARC export
    url: str | None = None
    final_url: str | None = None
    raw_sha256: str | None = Field(default=None, max_length=64, index=True)
    request_headers: list[list[str]] = _json(list)
    response_headers: list[list[str]] = _json(list)
    http_version: str | None = Field(default=None, max_length=16)
    # a browser capture: raw_sha256 is the rendered DOM, network_sha256 the response as sent
    network_sha256: str | None = Field(default=None, max_length=64)


class Blob(SQLModel, table=True):
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    compression: str = Field(default="zstd", max_length=8)
    data: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime | None = _time()


class StoryDocument(SQLModel, table=True):
    __tablename__ = "story_document"
    __table_args__ = (
        sa.UniqueConstraint("story_id", "document_id", name="uq_story_document"),
        sa.Index(
            "ix_story_document_story_found", "story_id", "discovered_at", "id"
        ),  # coverage, newest first
    )
    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True, ondelete="CASCADE")
    document_id: int = Field(foreign_key="document.id", index=True, ondelete="CASCADE")
    score: float = 0.0
    reason: str = ""
    via: str = Field(default="seed", max_length=16)  # source, link, seed, social, manual
    source_id: int | None = Field(default=None, foreign_key="source.id", ondelete="SET NULL")
    from_document_id: int | None = Field(default=None, foreign_key="document.id", ondelete="SET NULL")
    depth: int = 0
    discovered_at: datetime = Field(sa_type=UTCDateTime)


class Measurement(SQLModel, table=True):
    """Engagement counts over time (likes, reposts, views): measurements, never content."""

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    name: str = Field(max_length=32)
    value: float


class NodeLease(SQLModel, table=True):
    """Named leases between daemons sharing one database (the scheduler leader)."""

    __tablename__ = "node_lease"
    name: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=120)
    until: datetime = Field(sa_type=UTCDateTime)


class Event(SQLModel, table=True):
    """Append-only record of what a person would care about, written in the same transaction as
    the change it reports (storage.versions.apply). The monotonic ``id`` is the cursor that the
    timeline, the Atom feeds and notification delivery read from.

    kind: new_coverage (story_id set), first_version, change, headline, moved, deleted, restored,
    reverted, suspect, reextracted.
    """

    __table_args__ = (
        sa.Index("ix_event_document_id_id", "document_id", "id"),
        sa.Index("ix_event_story_id_id", "story_id", "id"),
        sa.Index("ix_event_kind_id", "kind", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    kind: str = Field(max_length=24)
    document_id: int | None = Field(default=None, foreign_key="document.id", ondelete="CASCADE")
    story_id: int | None = Field(default=None, foreign_key="story.id", ondelete="CASCADE")
    channel: str | None = Field(default=None, max_length=8)
    version_id: int | None = Field(default=None, foreign_key="version.id", ondelete="SET NULL")
    seq: int | None = None
    prev_seq: int | None = None
    significance: float | None = None
    summary: str = ""  # the one-line text a person reads (timeline, feed entry, notification)
    data: dict[str, Any] = _json(dict)  # kind-specific details: old/new title, revert_of, from_url...


class NotifyTarget(SQLModel, table=True):
    """Where a story's events are sent: a webhook URL or an Apprise URL, with its filters.

    ``cursor``: events up to this id have been considered for this target (deliveries fan out
    from there; events before the target existed are never sent).
    """

    __tablename__ = "notify_target"
    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True, ondelete="CASCADE")
    target: str  # http(s) webhook URL or any Apprise URL
    kind: str = Field(default="webhook", max_length=16)  # webhook | apprise
    events: list[str] = _json(list)  # event kinds; empty: the default set
    min_significance: float | None = None
    secret_env: str | None = Field(default=None, max_length=120)  # name of the variable, never the secret
    quiet_hours: str | None = Field(default=None, max_length=16)  # "22:00-07:00" (UTC)
    digest: str | None = Field(default=None, max_length=32)  # "1h": one message per interval
    enabled: bool = True
    origin: str = Field(default="cli", max_length=8)  # config | cli
    cursor: int = 0
    created_at: datetime | None = _time()


class Delivery(SQLModel, table=True):
    """One event for one target. (event_id, target_id) is the idempotency key a receiver sees."""

    __table_args__ = (
        sa.UniqueConstraint("event_id", "target_id", name="uq_delivery_event_target"),
        sa.Index("ix_delivery_target_status_event", "target_id", "status", "event_id"),
        sa.Index("ix_delivery_status_next_attempt", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE")
    target_id: int = Field(foreign_key="notify_target.id", ondelete="CASCADE")
    status: str = Field(default="pending", max_length=8)  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _time()
    last_error: str | None = None
    sent_at: datetime | None = _time()
    created_at: datetime = Field(sa_type=UTCDateTime)


class NoiseRule(SQLModel, table=True):
    """An ignore rule learnt from a site's history (scraper.core.noise): proposed, then accepted."""

    __tablename__ = "noise_rule"
    __table_args__ = (sa.UniqueConstraint("site", "rule", name="uq_noise_rule_site_rule"),)
    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(max_length=255, index=True)  # host name, without www.
    rule: str  # a regex, multi-line mode, as the ignore rules take them
    scope: str = Field(max_length=8)  # site | page
    status: str = Field(default="proposed", max_length=16)  # proposed | accepted
    pages: int = 0
    changes: int = 0
    false_versions: int = 0
    examples: list[str] = _json(list)
    reason: str = ""
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = _time()


class StoryEvent(SQLModel, table=True):
    """Which events belong to which story's timeline: a read index, kept by database triggers
    (migration 0008), never written by code. A ``new_coverage`` event belongs to its own story; a
    document's event (story_id NULL) to every story the document is linked to, including stories
    that link it later. ``at`` and ``kind`` are copied from the event so a timeline page is one
    range read of ``(story_id, at, event_id)``, whatever the story's size."""

    __tablename__ = "story_event"
    __table_args__ = (sa.Index("ix_story_event_story_at", "story_id", "at", "event_id"),)
    story_id: int = Field(foreign_key="story.id", primary_key=True, ondelete="CASCADE")
    event_id: int = Field(foreign_key="event.id", primary_key=True, index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=24)


class WaybackCapture(SQLModel, table=True):
    """One page version to preserve in the Wayback Machine (Save Page Now), written in the same
    transaction as the version (storage.versions.apply) when its source or a story opted in.

    status: pending (to submit, at ``next_attempt_at``), submitted (``job_id`` known: its status
    is asked at ``next_attempt_at``), archived (the snapshot is ``Version.wayback_url``), dead
    (given up; ``last_error`` says why). Claimed under a lease like other work (storage.wayback).
    """

    __tablename__ = "wayback_capture"
    __table_args__ = (sa.Index("ix_wayback_capture_status_next", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="version.id", unique=True, ondelete="CASCADE")
    url: str
    status: str = Field(default="pending", max_length=12)
    job_id: str | None = Field(default=None, max_length=120)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = _time()
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _time()
    last_error: str | None = None
    archived_at: datetime | None = _time()
    created_at: datetime = Field(sa_type=UTCDateTime)
