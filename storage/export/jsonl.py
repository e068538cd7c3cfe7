"""``jsonl``: one JSON object per version, with its text, change summary and diff.

Each line holds the story slug, the version's metadata (:func:`~storage.export.story.version_record`),
``text``, ``metadata``, the stored ``change_summary``, ``diff_base_seq`` (the version it is compared
with: the previous one of its channel that is not a tombstone) and ``diff`` (``Diff.to_json()``;
null for a tombstone).
"""

from __future__ import annotations

import json
from pathlib import Path

from storage.export.story import Progress, StoryExport, version_record


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    progress.start(source.version_count(), "jsonl: versions")
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for _, doc in source.links:
            assert doc.id is not None
            for step in source.steps(doc.id):
                v = step.version
                line = {
                    "story": source.story.slug, **version_record(v, doc), "description": v.description,
                    "text": v.text, "metadata": v.meta, "change_summary": v.change_summary,
                    "diff_base_seq": step.base.seq if step.base else None,
                    "diff": step.diff.to_json() if step.diff else None, "wayback_url": v.wayback_url,
                }  # fmt: skip
                out.write(json.dumps(line, ensure_ascii=False, sort_keys=False) + "\n")
                written += 1
                progress.advance()
    return written
