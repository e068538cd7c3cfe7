"""The NewsEdits tables of a story (Spangher et al., 2022, "NewsEdits: A News Article Revision
Dataset and a Document-Level Reasoning Challenge"), shared by the ``newsedits`` (SQLite) and
``parquet`` exports.

``entryversion``       one row per version of each article's main channel (page if it has one,
                       else api, else feed; tombstones left out): ``source`` (outlet), ``entry_id``
                       (document id), ``version`` (seq), ``title``, ``url``, ``created`` (observed,
                       ISO 8601 UTC), ``num_versions``, ``summary`` (the body text, as NewsEdits
                       names it), ``kind``, ``significance``, ``edit_classes`` (JSON list)
``split_sentences``    ``source, entry_id, version, sent_idx, sentence``: each version's sentences
                       as the diff cuts them (:func:`scraper.core.diff_text.segment`)
``matched_sentences``  ``source, entry_id, version_x, version_y, sent_idx_x, sent_idx_y, label``:
                       every sentence of two consecutive versions paired by the diff, labelled
                       ``addition`` (x null), ``deletion`` (y null), ``edit``, ``refactor`` (moved)
                       or ``unchanged`` (:mod:`scraper.core.diff_pairs`)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from scraper.core.diff_pairs import sentence_pairs
from scraper.core.diff_text import segment
from storage.export.story import Step, StoryExport, iso
from storage.timeline import outlet

TABLES: dict[str, tuple[str, ...]] = {
    "entryversion": ("source", "entry_id", "version", "title", "url", "created", "num_versions", "summary",
                     "kind", "significance", "edit_classes"),
    "split_sentences": ("source", "entry_id", "version", "sent_idx", "sentence"),
    "matched_sentences": ("source", "entry_id", "version_x", "version_y", "sent_idx_x", "sent_idx_y",
                          "label"),
}  # fmt: skip
CHANNELS = ("page", "api", "feed")


def rows(source: StoryExport) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows for the story (see the module docstring)."""
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for _, doc in source.links:
        assert doc.id is not None
        steps = _main_channel([s for s in source.steps(doc.id) if s.version.kind != "tombstone"])
        for step in steps:
            _add(tables, step, outlet(doc.url), doc.id, doc.url, len(steps))
    return tables


def _main_channel(steps: list[Step]) -> list[Step]:
    for channel in CHANNELS:
        found = [s for s in steps if s.version.channel == channel]
        if found:
            return found
    return []


def _add(
    tables: dict[str, list[dict[str, Any]]], step: Step, site: str, doc_id: int, url: str, n: int
) -> None:
    v = step.version
    summary = v.change_summary or {}
    tables["entryversion"].append({
        "source": site, "entry_id": doc_id, "version": v.seq, "title": v.title, "url": url,
        "created": iso(v.observed_at), "num_versions": n, "summary": v.text, "kind": v.kind,
        "significance": summary.get("significance"),
        "edit_classes": json.dumps([c.get("class") for c in summary.get("classes", [])]),
    })  # fmt: skip
    for at, unit in enumerate(segment(v.text)):
        if unit.body:
            tables["split_sentences"].append(
                {"source": site, "entry_id": doc_id, "version": v.seq, "sent_idx": at, "sentence": unit.body}
            )
    if step.base is not None and step.diff is not None:
        tables["matched_sentences"] += list(_pairs(step, site, doc_id))


def _pairs(step: Step, site: str, doc_id: int) -> Iterator[dict[str, Any]]:
    assert step.base is not None and step.diff is not None
    for x, y, label in sentence_pairs(step.diff):
        yield {"source": site, "entry_id": doc_id, "version_x": step.base.seq, "version_y": step.version.seq,
               "sent_idx_x": x, "sent_idx_y": y, "label": label}  # fmt: skip
