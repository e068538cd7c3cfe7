"""``csv``: one row per version with its change summary (RFC 4180: CRLF, quotes doubled, UTF-8).

The change summary's headline fields get columns of their own (``summary``, ``significance``,
words added and removed, the fields that changed); the whole summary is kept as JSON in
``change_summary``, and the version's body in ``text`` (last, as it is the longest).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from storage.export.story import Progress, StoryExport, version_record
from storage.models import Document, Version

COLUMNS = (
    "story", "document_url", "outlet", "channel", "seq", "kind", "revert_of", "observed_at",
    "last_confirmed_at", "http_status", "title", "byline", "published", "modified", "language",
    "content_hash", "raw_sha256", "summary", "significance", "words_added", "words_removed",
    "fields_changed", "change_summary", "text",
)  # fmt: skip


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    progress.start(source.version_count(), "csv: versions")
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        for _, doc in source.links:
            assert doc.id is not None
            for version in source.versions(doc.id):
                writer.writerow(row(source.story.slug, version, doc))
                written += 1
                progress.advance()
    return written


def row(slug: str, version: Version, doc: Document) -> dict[str, Any]:
    record = version_record(version, doc)
    summary = version.change_summary or {}
    stats = summary.get("stats") or {}
    fields = [f.get("field", "") for f in summary.get("fields") or [] if isinstance(f, dict)]
    values = {
        "story": slug, "summary": summary.get("summary", ""), "significance": summary.get("significance", ""),
        "words_added": stats.get("words_added", ""), "words_removed": stats.get("words_removed", ""),
        "fields_changed": " ".join(fields), "change_summary": json.dumps(summary, ensure_ascii=False),
        "text": version.text,
    }  # fmt: skip
    return {name: _cell(values[name] if name in values else record.get(name)) for name in COLUMNS}


def _cell(value: Any) -> Any:
    return "" if value is None else value
