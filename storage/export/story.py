"""What every exporter reads: a story, its documents, their versions, diffs and captures.

Versions are loaded one document at a time, so an export never holds a whole story's text.
A version is compared with the previous version of its channel that is not a tombstone: a
restored page is diffed against what it said before it disappeared, and a tombstone has no diff.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlmodel import Session, col, func, select

from scraper.core.diff import Diff, diff_contents
from storage.catalog import story_documents
from storage.documents import version_content
from storage.models import Check, Document, Story, StoryDocument, Version
from storage.timeline import Timeline, outlet, timeline


class Progress(Protocol):
    """Where an exporter reports how far it got (the CLI draws a progress bar)."""

    def start(self, total: int, description: str) -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class NullProgress:
    def start(self, total: int, description: str) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Step:
    """One version with what it is compared to: ``base`` (None for a first version or a tombstone)."""

    version: Version
    base: Version | None
    diff: Diff | None

    @property
    def label(self) -> str:
        return version_label(self.version)

    @property
    def base_label(self) -> str:
        return version_label(self.base) if self.base is not None else ""


@dataclass
class StoryExport:
    """A story and the documents linked to it, read from ``session`` on demand."""

    session: Session
    story: Story
    links: list[tuple[StoryDocument, Document]]
    now: datetime
    output_name: str = ""  # the file name the export will have (a WARC is gzipped unless it ends in .warc)

    @classmethod
    def load(
        cls, session: Session, story: Story, *, now: datetime | None = None, output_name: str = ""
    ) -> StoryExport:
        assert story.id is not None
        links = story_documents(session, story_id=story.id)
        return cls(session, story, links, now or datetime.now(UTC), output_name)

    @property
    def document_ids(self) -> list[int]:
        return [doc.id for _, doc in self.links if doc.id is not None]

    def versions(self, document_id: int) -> list[Version]:
        """Every version of one document, by channel then seq."""
        query = select(Version).where(Version.document_id == document_id)
        return list(self.session.exec(query.order_by(col(Version.channel), col(Version.seq))))

    def version_count(self) -> int:
        if not self.document_ids:
            return 0
        query = (
            select(func.count()).select_from(Version).where(col(Version.document_id).in_(self.document_ids))
        )
        return int(self.session.exec(query).one())

    def steps(self, document_id: int) -> Iterator[Step]:
        return steps(self.versions(document_id))

    def timeline(self) -> Timeline:
        assert self.story.id is not None
        return timeline(self.session, self.story.id)

    def captures(self) -> list[Check]:
        """The page fetches of the story's documents that got an HTTP response, oldest first."""
        if not self.document_ids:
            return []
        query = select(Check).where(
            col(Check.document_id).in_(self.document_ids), Check.channel == "page",
            col(Check.http_status).is_not(None), col(Check.url).is_not(None),
        )  # fmt: skip
        return list(self.session.exec(query.order_by(col(Check.at), col(Check.id))))


def steps(versions: Sequence[Version]) -> Iterator[Step]:
    """Each version (ordered by channel, seq) with its diff against the last non-tombstone one."""
    base: dict[str, Version] = {}
    for version in versions:
        if version.kind == "tombstone":
            yield Step(version, None, None)
            continue
        previous = base.get(version.channel)
        old = version_content(previous) if previous is not None else None
        yield Step(version, previous, diff_contents(old, version_content(version)))
        base[version.channel] = version


def version_label(version: Version) -> str:
    return f"{version.channel} v{version.seq} ({version.observed_at:%Y-%m-%d %H:%M:%S} UTC)"


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def version_record(version: Version, doc: Document) -> dict[str, Any]:
    """A version's metadata as JSON-able values (no text)."""
    return {
        "document_url": doc.url, "outlet": outlet(doc.url), "document_id": doc.id, "channel": version.channel,
        "seq": version.seq, "kind": version.kind, "revert_of": version.revert_of,
        "observed_at": iso(version.observed_at), "last_confirmed_at": iso(version.last_confirmed_at),
        "http_status": version.http_status, "content_hash": version.content_hash,
        "raw_sha256": version.raw_sha256, "title": version.title, "byline": version.byline,
        "description": version.description, "published": iso(version.published),
        "modified": iso(version.modified), "canonical_url": version.canonical_url,
        "language": version.language,
        "extractor": version.extractor, "extractor_version": version.extractor_version,
        "normalizer_version": version.normalizer_version,
    }  # fmt: skip
