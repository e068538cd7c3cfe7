"""Value types shared by the scraper and its callers.

Everything here is a frozen dataclass of plain values: no I/O, no clock, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """How a document was observed (DESIGN.md: each channel has its own version sequence)."""

    PAGE = "page"
    FEED = "feed"
    API = "api"


class VersionKind(StrEnum):
    NORMAL = "normal"
    REVERT = "revert"
    TOMBSTONE = "tombstone"
    REEXTRACTED = "reextracted"


class CheckOutcome(StrEnum):
    NEW_VERSION = "new_version"
    UNCHANGED = "unchanged"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"
    GONE = "gone"
    ROBOTS_DENIED = "robots_denied"
    SUSPECT = "suspect"  # the extraction is not to be trusted (no text, lost text, mojibake)


@dataclass(frozen=True, slots=True)
class Content:
    """The fields of an observation that make up a version (DESIGN.md, versioning rules).

    ``text`` is the body (paragraphs separated by a blank line). ``metadata`` holds everything
    else worth keeping (description, tags, image, site name, engagement counts...) and never
    takes part in the content hash.
    """

    title: str | None = None
    byline: str | None = None
    text: str = ""
    published: datetime | None = None
    modified: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Extracted:
    """What an extractor made of one raw body."""

    content: Content
    extractor: str
    extractor_version: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A link found by polling a source: maybe follow-up coverage of a story."""

    url: str
    title: str | None = None
    summary: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    source_name: str | None = None
    via: str = "source"  # source | link | seed | social
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Observation:
    """Content seen for a document through a non-page channel (feed entry, social post)."""

    url: str
    channel: Channel
    content: Content
    raw: dict[str, Any] = field(default_factory=dict)
    gone: bool = False
    measurements: dict[str, float] = field(default_factory=dict)
    links: tuple[str, ...] = ()
