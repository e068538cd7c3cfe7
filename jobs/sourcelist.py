"""`sources import` and `sources export`: the async edge. Entries whose kind the list does not
say (and the URL does not show) are fetched once and sniffed; the rest is scraper.core.sourcelist."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlmodel import Session

from jobs.config import SourceConfig
from jobs.sync import source_fields
from scraper.core.sourcelist import (
    Entry,
    Exported,
    Refusal,
    kind_from_url,
    looks_like_opml,
    parse_opml,
    parse_url_list,
    sniff_kind,
    source_name,
    to_opml,
)
from scraper.http import Fetcher, FetchError
from storage import catalog

ACCEPT_ANY = "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/html;q=0.8,*/*;q=0.5"


@dataclass
class ImportReport:
    added: list[tuple[str, str, str]] = field(default_factory=list)  # (name, kind, url)
    refused: list[Refusal] = field(default_factory=list)


def read_list(path: Path) -> tuple[list[Entry], list[Refusal]]:
    """The entries of an OPML file or a plain list of URLs (told apart by extension or a sniff)."""
    data = path.read_bytes()
    if looks_like_opml(path.name, data):
        return parse_opml(data)
    return parse_url_list(data.decode("utf-8-sig", errors="replace"))


async def detect(fetcher: Fetcher, entry: Entry) -> Entry | Refusal:
    """The entry with its kind: as written, from the URL, else from the response."""
    kind = entry.kind or kind_from_url(entry.url)
    if kind is not None:
        return Entry(entry.url, kind, entry.title, entry.line)
    try:
        result = await fetcher.fetch(entry.url, accept=ACCEPT_ANY)
    except FetchError as exc:
        return Refusal(entry.url, f"could not fetch it to tell its kind: {exc.message}", entry.line)
    if result.status >= 400:
        return Refusal(entry.url, f"answered HTTP {result.status}", entry.line)
    sniffed = sniff_kind(result.content_type, result.body)
    if sniffed is None:
        why = f"neither a feed, a sitemap nor a page ({result.content_type or 'no Content-Type'})"
        return Refusal(entry.url, f"{why}; write the kind after the URL", entry.line)
    return Entry(entry.url, sniffed, entry.title, entry.line)


async def import_list(
    fetcher: Fetcher, session: Session, path: Path, *, every: str, now: datetime
) -> ImportReport:
    entries, refused = read_list(path)
    report = ImportReport(refused=list(refused))
    existing = {s.url: s.name for s in catalog.list_sources(session)}
    fresh: list[Entry] = []
    for entry in entries:
        if entry.url in existing:
            report.refused.append(
                Refusal(entry.url, f"already a source ({existing[entry.url]!r})", entry.line)
            )
        elif entry.url not in {e.url for e in fresh}:
            fresh.append(entry)
    detected = await asyncio.gather(*(detect(fetcher, e) for e in fresh))
    taken = set(existing.values())
    for item in detected:
        if isinstance(item, Refusal):
            report.refused.append(item)
            continue
        _add(session, item, every=every, now=now, taken=taken, report=report)
    session.commit()
    return report


def _add(
    session: Session, entry: Entry, *, every: str, now: datetime, taken: set[str], report: ImportReport
) -> None:
    name = source_name(entry.title, entry.url, taken)
    try:
        cfg = SourceConfig(name=name, kind=entry.kind, url=entry.url, every=every)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
        report.refused.append(Refusal(entry.url, msg, entry.line))
        return
    catalog.upsert_source(session, name=name, now=now, **source_fields(cfg, origin="cli"))
    taken.add(name)
    report.added.append((name, cfg.kind, cfg.url))


def export_opml(session: Session) -> str:
    rows = [
        Exported(s.name, s.kind, s.url)
        for s in catalog.list_sources(session)
        if s.kind in ("feed", "sitemap", "page")
    ]
    return to_opml(rows)
