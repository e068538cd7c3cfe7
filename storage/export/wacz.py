"""``wacz``: the story's WARC packaged as WACZ 1.1.1 by py-wacz (run in-process, not in a shell).

The package holds ``archive/<slug>.warc.gz`` (see :mod:`storage.export.warc`), the CDXJ index
py-wacz builds, ``pages/pages.jsonl`` with one page per document of the story that has a
capture (its URL as captured, its latest title), and ``datapackage.json`` with a sha256 of every
file (``datapackage-digest.json`` holds the package's own hash). No ``mainPageURL`` is set (see
:func:`_metadata`).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from sqlmodel import col, select

with warnings.catch_warnings():  # py-wacz -> cdxj-indexer -> pyamf calls utcfromtimestamp on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from wacz.main import main as wacz_main

from storage.export import ExportError
from storage.export.story import Progress, StoryExport
from storage.export.warc import write_warc
from storage.models import Check, Version


class WACZError(ExportError):
    """py-wacz could not build the package."""


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    with tempfile.TemporaryDirectory(prefix="storytrail-wacz-") as tmp:
        warc = Path(tmp) / f"{_safe_name(source.story.slug)}.warc.gz"
        with warc.open("wb") as out:
            records = write_warc(source, out, progress, gzip=True, filename=warc.name)
        pages = page_list(source)
        pages_file = Path(tmp) / "pages.jsonl"
        pages_file.write_text(
            "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages), encoding="utf-8"
        )
        args = ["create", "-o", str(path), str(warc), "-p", str(pages_file), *_metadata(source)]
        run_wacz(args)
    return records


def page_list(source: StoryExport) -> list[dict[str, Any]]:
    """pages.jsonl: a header, then each document with a capture (matched by URL to its first record)."""
    first: dict[int, Check] = {}
    for check in source.captures():
        if check.document_id is not None and check.document_id not in first:
            first[check.document_id] = check
    header = {"format": "json-pages-1.0", "id": "pages", "title": source.story.title or source.story.slug}
    pages: list[dict[str, Any]] = [header]
    for _, doc in source.links:
        capture = first.get(doc.id or 0)
        if capture is None:
            continue
        url = capture.final_url or capture.url
        title = _latest_title(source, doc.id or 0) or doc.url
        pages.append({"url": url, "title": title, "id": f"doc-{doc.id}"})
    return pages


def run_wacz(args: list[str]) -> None:
    """py-wacz's own entry point, its chatter kept off our stdout."""
    log = io.StringIO()
    try:
        with redirect_stdout(log):
            code = wacz_main(args)
    except Exception as exc:  # py-wacz raises bare ValueErrors and friends
        raise WACZError(f"py-wacz failed: {exc}; its log: {_tail(log.getvalue())}") from exc
    if code:
        raise WACZError(f"py-wacz exited with {code}; its log: {_tail(log.getvalue())}")


def _metadata(source: StoryExport) -> list[str]:
    # no --url (mainPageURL): py-wacz 0.5/0.6 then adds a page for every capture of that URL
    story = source.story
    return ["--title", story.title or story.slug, "--desc", f"storytrail captures of story {story.slug}"]


def _latest_title(source: StoryExport, document_id: int) -> str | None:
    query = (
        select(Version.title)
        .where(Version.document_id == document_id, col(Version.title).is_not(None))
        .order_by(col(Version.channel) != "page", col(Version.seq).desc())
    )
    return source.session.exec(query).first()


def _safe_name(slug: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", slug).strip("-.") or "story"


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(empty)"
