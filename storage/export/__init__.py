"""Exports of a story: every version, diff and capture in a form another tool reads.

=============  ===========================================================================
``jsonl``      one JSON object per version: metadata, text, change summary, diff (json form)
``csv``        one row per version with its change summary (RFC 4180)
``markdown``   a readable report: the timeline, then each document's versions and diffs
``html``       the same report as one self-contained page (inline CSS, no script)
``atom``       an Atom 1.0 feed of the changes
``warc``       WARC 1.1 of every capture (request, response or revisit records); ``.warc`` for
               an uncompressed file, gzip per record otherwise
``wacz``       the WARC packaged as WACZ (py-wacz), with pages.jsonl listing the documents
``newsedits``  a NewsEdits-compatible SQLite database: versions, their sentences, and sentence
               pairs labelled addition, deletion, edit, refactor (storage/export/newsedits_rows.py)
``parquet``    the same tables as Parquet files in a folder (pyarrow: the ``research`` extra)
=============  ===========================================================================

Each exporter is a module of this package named after its format, with ``write(source, path,
progress) -> records`` (:func:`exporter` looks it up); the file
appears at ``output`` only when the export succeeded (written beside it, then renamed).

    ExportError
     ├── UnknownFormatError       the format is not one of FORMATS
     ├── MissingDependencyError   the format needs an optional package that is not installed
     └── OutputNotWritableError   the output path cannot be written
"""

from __future__ import annotations

import importlib
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from storage.export.story import NullProgress, Progress, StoryExport
from storage.models import Story

Writer = Callable[[StoryExport, Path, Progress], int]


class ExportError(Exception):
    """An export could not be written."""


class UnknownFormatError(ExportError, ValueError):
    def __init__(self, fmt: str) -> None:
        super().__init__(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
        self.format = fmt


class MissingDependencyError(ExportError):
    """The format needs an optional package (``pyarrow`` for parquet) that is not installed."""


class OutputNotWritableError(ExportError, OSError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot write the export to {path}: {reason}")
        self.path = path


@dataclass(frozen=True, slots=True)
class ExportResult:
    format: str
    path: Path
    bytes: int
    records: int  # versions (jsonl, csv, atom entries, report sections) or WARC records
    documents: int
    versions: int

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "path": str(self.path), "bytes": self.bytes, "records": self.records,
                "documents": self.documents, "versions": self.versions}  # fmt: skip


FORMATS = ("jsonl", "csv", "markdown", "html", "atom", "warc", "wacz", "newsedits", "parquet")
SUFFIXES = {"jsonl": ".jsonl", "csv": ".csv", "markdown": ".md", "html": ".html", "atom": ".atom",
            "warc": ".warc.gz", "wacz": ".wacz", "newsedits": ".db", "parquet": ""}  # fmt: skip
FOLDER_FORMATS = frozenset({"parquet"})  # written as a folder of files


def export_story(
    session: Session,
    story: Story,
    fmt: str,
    output: Path,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Write ``story`` in format ``fmt`` to ``output``."""
    writer = exporter(fmt)
    output = Path(output)
    folder = fmt in FOLDER_FORMATS
    check_folder_output(output) if folder else check_output(output)
    source = StoryExport.load(session, story, now=now, output_name=output.name)
    partial = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        records = writer(source, partial, progress or NullProgress())
        partial.replace(output)
    except OSError as exc:
        raise OutputNotWritableError(output, exc.strerror or str(exc)) from exc
    finally:
        shutil.rmtree(partial) if partial.is_dir() else partial.unlink(missing_ok=True)
    size = sum(f.stat().st_size for f in output.iterdir()) if folder else output.stat().st_size
    return ExportResult(fmt, output, size, records, len(source.links), source.version_count())


def exporter(fmt: str) -> Writer:
    """The ``write`` function of format ``fmt`` (its module is imported only when asked for)."""
    if fmt not in FORMATS:
        raise UnknownFormatError(fmt)
    module = importlib.import_module(f"storage.export.{fmt}")
    writer: Writer = module.write
    return writer


def check_folder_output(output: Path) -> None:
    """Raise :class:`OutputNotWritableError` unless ``output`` is a new or empty folder we may write."""
    if output.exists() and not output.is_dir():
        raise OutputNotWritableError(output, "it is a file (give a folder name)")
    if output.is_dir() and any(output.iterdir()):
        raise OutputNotWritableError(output, "the folder is not empty")
    parent = output.parent if str(output.parent) else Path()
    if not parent.is_dir():
        raise OutputNotWritableError(output, f"the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputNotWritableError(output, f"no permission to write in {parent}")


def check_output(output: Path) -> None:
    """Raise :class:`OutputNotWritableError` unless a file can be created or replaced at ``output``."""
    parent = output.parent if str(output.parent) else Path()
    if output.is_dir():
        raise OutputNotWritableError(output, "it is a folder (give a file name)")
    if not parent.is_dir():
        raise OutputNotWritableError(output, f"the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputNotWritableError(output, f"no permission to write in {parent}")
    if output.exists() and not os.access(output, os.W_OK):
        raise OutputNotWritableError(output, "the file exists and is read-only")
