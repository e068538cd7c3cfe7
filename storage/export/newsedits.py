"""``newsedits``: a SQLite database with the NewsEdits tables (storage/export/newsedits_rows.py):
``entryversion``, ``split_sentences`` and ``matched_sentences``, indexed by (entry_id, version)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.export.newsedits_rows import TABLES, rows
from storage.export.story import Progress, StoryExport

TYPES = {"entry_id": "INTEGER", "version": "INTEGER", "num_versions": "INTEGER", "sent_idx": "INTEGER",
         "version_x": "INTEGER", "version_y": "INTEGER", "sent_idx_x": "INTEGER", "sent_idx_y": "INTEGER",
         "significance": "REAL"}  # fmt: skip


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    progress.start(source.version_count(), "newsedits: versions")
    tables = rows(source)
    with sqlite3.connect(path) as db:
        for name, columns in TABLES.items():
            kinds = ", ".join(f"{c} {TYPES.get(c, 'TEXT')}" for c in columns)
            db.execute(f"CREATE TABLE {name} ({kinds})")
            marks = ", ".join("?" for _ in columns)
            db.executemany(
                f"INSERT INTO {name} VALUES ({marks})", [[r[c] for c in columns] for r in tables[name]]
            )
        db.execute("CREATE INDEX ix_entryversion ON entryversion (entry_id, version)")
        db.execute("CREATE INDEX ix_split_sentences ON split_sentences (entry_id, version, sent_idx)")
        db.execute("CREATE INDEX ix_matched_sentences ON matched_sentences (entry_id, version_x, version_y)")
    db.close()
    progress.advance(len(tables["entryversion"]))
    return len(tables["entryversion"])
