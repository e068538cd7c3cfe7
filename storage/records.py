"""Plain read records shared by the ORM read path (storage.reading) and the light one (storage.lite).

Nothing here imports SQLAlchemy, so `storytrail versions` can build them without loading the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A version's metadata and change summary, without its text."""

    id: int
    document_id: int
    channel: str
    seq: int
    kind: str
    revert_of: int | None
    observed_at: datetime
    last_confirmed_at: datetime
    http_status: int | None
    content_hash: str
    raw_sha256: str | None
    title: str | None
    byline: str | None
    published: datetime | None
    modified: datetime | None
    canonical_url: str | None
    language: str | None
    extractor: str | None
    extractor_version: str | None
    change_summary: dict[str, Any]
    wayback_url: str | None = None  # its snapshot in the Wayback Machine, when it was preserved

    @property
    def summary(self) -> str:
        return str((self.change_summary or {}).get("summary", ""))
