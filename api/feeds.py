"""Atom feeds of the newest changes (every story, or one), built from ``storage.export.atom``.

The entries are exactly the Atom export's (same ids, titles, summaries and diff text, from
``atom.entry``), but a feed served over HTTP holds only the newest :data:`FEED_ENTRIES` versions,
so its cost does not grow with the archive: only the documents those versions belong to are read.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree
from sqlmodel import Session

from storage import reading
from storage.documents import list_versions
from storage.export import atom
from storage.export.report import Entry, Section, entries
from storage.export.story import StoryExport, steps
from storage.models import Story, StoryDocument

FEED_ENTRIES = 100
ALL_ID = f"{atom.TAG}changes"


def changes_feed(
    session: Session, *, story: Story | None, now: datetime, self_url: str, limit: int = FEED_ENTRIES
) -> bytes:
    """The newest ``limit`` changes of ``story`` (None: of the whole archive) as an Atom document."""
    page = reading.change_page(session, story_id=story.id if story else None, limit=limit)
    wanted = {c.version.id for c in page.items}
    built: list[tuple[datetime, int, etree._Element]] = []
    for document_id in dict.fromkeys(c.version.document_id for c in page.items):
        section = _section(session, document_id, wanted)
        built += [(i.version.observed_at, i.version.id or 0, atom.entry(section, i)) for i in section.entries]
    built.sort(key=lambda e: (e[0], e[1]), reverse=True)
    feed = atom.feed_element(
        StoryExport(session, story or _everything(), [], now), built[0][0] if built else now
    )
    if story is None:
        _retitle(feed)
    etree.SubElement(feed, f"{{{atom.ATOM}}}link", rel="self", href=self_url)
    feed.extend(element for _, _, element in built)
    document: bytes = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return document


def _section(session: Session, document_id: int, wanted: set[int]) -> Section:
    """One document's report entries for the ``wanted`` version ids (diffed as the export does)."""
    doc = reading.get_document(session, document_id=document_id)
    items: list[Entry] = [
        i for i in entries(steps(list_versions(session, document_id=document_id))) if i.version.id in wanted
    ]
    link = StoryDocument(
        story_id=0, document_id=document_id, discovered_at=doc.first_seen or items[0].version.observed_at
    )
    return Section(0, link, doc, items)


def _everything() -> Story:
    return Story(slug="all", title="every story")


def _retitle(feed: etree._Element) -> None:
    texts = {
        "id": ALL_ID,
        "title": "storytrail: every change",
        "subtitle": "Every change storytrail recorded, in every story and outside them",
    }
    for name, text in texts.items():
        element = feed.find(f"{{{atom.ATOM}}}{name}")
        if element is not None:
            element.text = text
