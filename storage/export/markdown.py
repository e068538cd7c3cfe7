"""``markdown``: a readable report of the story's evolution (CommonMark with GFM tables).

The timeline as a table, then per document its versions: the first one's text, later ones as
diffs (``render(diff, "markdown")``), deletions as notes. Every piece of archived text is
backslash-escaped (``md_escape``), so ``<script>`` or ``|`` in a page shows as text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from scraper.core.diff_render import md_escape, render
from storage.export.report import KIND_LABELS, Entry, Section, paragraphs, sections
from storage.export.story import Progress, StoryExport, iso
from storage.timeline import Timeline, TimelineEvent


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    progress.start(source.version_count(), "markdown: versions")
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\n".join(header(source, source.timeline())) + "\n")
        for section in sections(source):
            out.write("\n".join(document_lines(section)) + "\n")
            written += len(section.entries)
            progress.advance(len(section.entries))
    return written


def header(source: StoryExport, timeline: Timeline) -> list[str]:
    story = source.story
    facts = [f"story `{md_escape(story.slug)}`", f"exported {iso(source.now)}",
             f"{len(source.links)} documents, {source.version_count()} versions"]  # fmt: skip
    if story.query:
        facts.insert(1, f"query: {md_escape(story.query)}")
    lines = [f"# {md_escape(story.title or story.slug)}", "", " \u00b7 ".join(facts), "", "## Timeline", ""]
    lines += [
        "| time (UTC) | event | outlet | document | version | what happened |",
        "|---|---|---|---|---|---|",
    ]
    lines += [timeline_row(event) for event in timeline.events]
    return [*lines, "", "## Documents", ""]


def timeline_row(event: TimelineEvent) -> str:
    version = f"{event.channel} v{event.seq}" if event.seq is not None else ""
    what = event.summary
    if event.headline_changed and event.previous_title is not None:
        what += f" (headline was: {event.previous_title})"
    cells = [f"{event.at:%Y-%m-%d %H:%M:%S}", KIND_LABELS[event.kind], event.outlet, event.title or event.url,
             version, what]  # fmt: skip
    return "| " + " | ".join(md_escape(c) for c in cells) + " |"


def document_lines(section: Section) -> list[str]:
    link, doc = section.link, section.document
    found = f"discovered {link.discovered_at:%Y-%m-%d %H:%M:%S} UTC via {link.via}"
    if link.reason:
        found += f" ({link.reason})"
    lines = [f"### {section.number}. {md_escape(section.title)} \u2014 {md_escape(section.outlet)}", "",
             f"URL: {md_escape(doc.url)}  ", f"{md_escape(found)}; status: {md_escape(doc.status)}",
             ""]  # fmt: skip
    for entry in section.entries:
        lines += [*entry_lines(entry), ""]
    return lines


def entry_lines(entry: Entry) -> list[str]:
    lines = [f"#### {md_escape(entry.heading)}", ""]
    v = entry.version
    if v.kind == "tombstone":
        status = f" (HTTP {v.http_status})" if v.http_status else ""
        return [*lines, f"Gone{status}: the {v.channel} no longer exists (tombstone)."]
    if v.kind == "revert" and v.revert_of is not None:
        lines += [f"Back to the content of version {v.revert_of}.", ""]
    if entry.show_text:
        return lines + list(text_lines(entry))
    assert entry.diff is not None
    rendered = render(entry.diff, "markdown", old=entry.old, new=entry.new, **entry.labels)
    return lines + [
        ("##" + line if line.startswith("#") else line) for line in rendered.rstrip("\n").split("\n")
    ]


def text_lines(entry: Entry) -> Iterator[str]:
    v = entry.version
    for name, value in (("Title", v.title), ("Byline", v.byline), ("Published", iso(v.published))):
        if value:
            yield f"**{name}:** {md_escape(value)}  "
    yield ""
    body = paragraphs(v.text)
    for at, paragraph in enumerate(body):
        yield f"> {md_escape(paragraph)}"
        if at + 1 < len(body):
            yield ">"
    if not body:
        yield "_(no text)_"
