"""``atom``: an Atom 1.0 feed (RFC 4287) of the story's changes, newest first.

One entry per version: its title is ``outlet: what happened — headline``, its summary the stored
change summary, its content the diff as plain text (or the opening of a first version). Entry
ids are tag URIs (RFC 4151) built from the document URL, channel, seq and content hash, so the
same version has the same id in every export, whatever the database.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from lxml import etree

from scraper.core.diff_render import render
from storage.export.report import KIND_LABELS, Entry, Section, paragraphs, sections
from storage.export.story import Progress, StoryExport, iso

ATOM = "http://www.w3.org/2005/Atom"
TAG = "tag:storytrail,2025:"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
OPENING_CHARS = 1200


def feed_id(slug: str) -> str:
    return f"{TAG}story/{quote(slug, safe='')}"


def entry_id(url: str, channel: str, seq: int, content_hash: str) -> str:
    """A stable id for one version of the document at ``url``."""
    doc = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return f"{TAG}version/{doc}/{quote(channel, safe='')}/{seq}-{content_hash[:12]}"


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    progress.start(source.version_count(), "atom: versions")
    entries: list[tuple[datetime, int, etree._Element]] = []
    for section in sections(source):
        for item in section.entries:
            entries.append((item.version.observed_at, item.version.id or 0, entry(section, item)))
        progress.advance(len(section.entries))
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    feed = feed_element(source, entries[0][0] if entries else source.now)
    feed.extend(element for _, _, element in entries)
    path.write_bytes(etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True))
    return len(entries)


def feed_element(source: StoryExport, updated: datetime) -> etree._Element:
    story = source.story
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _text(feed, "id", feed_id(story.slug))
    _text(feed, "title", f"storytrail: {story.title or story.slug}")
    _text(feed, "subtitle", f"Every change storytrail recorded in the coverage of story {story.slug}")
    _text(feed, "updated", iso(updated) or "")
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "storytrail")
    _text(feed, "generator", "storytrail")
    return feed


def entry(section: Section, item: Entry) -> etree._Element:
    v, doc = item.version, section.document
    element = etree.Element(f"{{{ATOM}}}entry")
    _text(element, "id", entry_id(doc.url, v.channel, v.seq, v.content_hash))
    what = item.summary or KIND_LABELS[item.kind]
    _text(element, "title", f"{section.outlet}: {what} \u2014 {v.title or doc.url}")
    _text(element, "updated", iso(v.observed_at) or "")
    _text(element, "published", iso(v.observed_at) or "")
    etree.SubElement(element, f"{{{ATOM}}}link", rel="alternate", href=_safe(doc.url))
    author = etree.SubElement(element, f"{{{ATOM}}}author")
    _text(author, "name", section.outlet or "unknown")
    etree.SubElement(element, f"{{{ATOM}}}category", term=item.kind.value, label=KIND_LABELS[item.kind])
    _text(element, "summary", f"{KIND_LABELS[item.kind]} ({v.channel} v{v.seq}): {what}").set("type", "text")
    _text(element, "content", content_text(item)).set("type", "text")
    return element


def content_text(item: Entry) -> str:
    v = item.version
    if v.kind == "tombstone":
        return f"The {v.channel} is gone" + (f" (HTTP {v.http_status})." if v.http_status else ".")
    if item.diff is not None and not item.show_text:
        return render(item.diff, "text", old=item.old, new=item.new, **item.labels)
    opening = "\n\n".join(paragraphs(v.text))
    return opening[:OPENING_CHARS] + ("\u2026" if len(opening) > OPENING_CHARS else "")


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ATOM}}}{name}")
    child.text = _safe(value)
    return child


def _safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters, lone surrogates)."""
    return _NOT_XML.sub("", text)
