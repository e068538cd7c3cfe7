"""``parquet``: the NewsEdits tables (storage/export/newsedits_rows.py) as one Parquet file each
in a folder: ``entryversion.parquet``, ``split_sentences.parquet``, ``matched_sentences.parquet``.
Needs pyarrow (the optional ``research`` extra: ``pip install 'storytrail[research]'``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.export.newsedits_rows import TABLES, rows
from storage.export.story import Progress, StoryExport

INTEGERS = {
    "entry_id",
    "version",
    "num_versions",
    "sent_idx",
    "version_x",
    "version_y",
    "sent_idx_x",
    "sent_idx_y",
}


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    pa, pq = _pyarrow()
    progress.start(source.version_count(), "parquet: versions")
    tables = rows(source)
    path.mkdir()
    for name, columns in TABLES.items():
        schema = pa.schema([(c, _type(pa, c)) for c in columns])
        table = pa.Table.from_pylist(tables[name], schema=schema)
        pq.write_table(table, path / f"{name}.parquet")
    progress.advance(len(tables["entryversion"]))
    return len(tables["entryversion"])


def _type(pa: Any, column: str) -> Any:
    if column in INTEGERS:
        return pa.int64()
    return pa.float64() if column == "significance" else pa.string()


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        from storage.export import MissingDependencyError

        hint = "install the research extra: pip install 'storytrail[research]'"
        raise MissingDependencyError(f"the parquet export needs pyarrow ({hint})") from exc
    return pa, pq
