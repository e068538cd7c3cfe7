"""The content of the readable reports (markdown, html): a story's timeline, then each document's
versions, each with what a reader needs to see (the text of a first version, the diff of a later
one, a note for a deletion). The renderers only lay it out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from scraper.core.diff import Diff
from scraper.core.types import Content
from storage.documents import version_content
from storage.export.story import Step, StoryExport
from storage.models import Document, StoryDocument, Version
from storage.timeline import EventKind, VersionRow, event_kind, outlet

KIND_LABELS = {
    EventKind.DISCOVERED: "discovered", EventKind.CAPTURED: "first captured", EventKind.CHANGED: "changed",
    EventKind.HEADLINE: "headline changed", EventKind.DELETED: "deleted", EventKind.RESTORED: "restored",
    EventKind.REVERTED: "reverted", EventKind.REEXTRACTED: "re-extracted (not an edit)",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    """One version in a report."""

    version: Version
    kind: EventKind
    base: Version | None
    diff: Diff | None
    old: Content | None
    new: Content

    @property
    def heading(self) -> str:
        v = self.version
        when = f"{v.observed_at:%Y-%m-%d %H:%M:%S} UTC"
        return f"{v.channel} v{v.seq} \u00b7 {KIND_LABELS[self.kind]} \u00b7 {when}"

    @property
    def summary(self) -> str:
        return str((self.version.change_summary or {}).get("summary", ""))

    @property
    def show_text(self) -> bool:
        """A first version (or one with nothing to compare to) is shown whole, not as a diff."""
        return self.kind != EventKind.DELETED and (self.base is None or self.diff is None)

    @property
    def labels(self) -> dict[str, str]:
        base = self.base
        old = f"{base.channel} v{base.seq} ({base.observed_at:%Y-%m-%d %H:%M} UTC)" if base else ""
        v = self.version
        return {"old_label": old, "new_label": f"{v.channel} v{v.seq} ({v.observed_at:%Y-%m-%d %H:%M} UTC)"}


@dataclass(frozen=True, slots=True)
class Section:
    """One document of the story with its versions."""

    number: int
    link: StoryDocument
    document: Document
    entries: list[Entry]

    @property
    def outlet(self) -> str:
        return outlet(self.document.url)

    @property
    def title(self) -> str:
        titled = [e.version.title for e in self.entries if e.version.title]
        return titled[-1] if titled else self.document.url


def sections(source: StoryExport) -> Iterator[Section]:
    """The story's documents in order of discovery, each with its report entries."""
    for number, (link, doc) in enumerate(source.links, start=1):
        assert doc.id is not None
        yield Section(number, link, doc, entries(source.steps(doc.id)))


def entries(steps: Iterator[Step]) -> list[Entry]:
    out: list[Entry] = []
    previous: dict[str, Version] = {}
    for step in steps:
        v = step.version
        before = previous.get(v.channel)
        kind = event_kind(VersionRow.of(v), VersionRow.of(before) if before is not None else None)
        old = version_content(step.base) if step.base is not None else None
        out.append(Entry(v, kind, step.base, step.diff, old, version_content(v)))
        previous[v.channel] = v
    return out


def paragraphs(text: str) -> list[str]:
    """A body's paragraphs (blank-line separated; single line breaks kept inside a paragraph)."""
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
