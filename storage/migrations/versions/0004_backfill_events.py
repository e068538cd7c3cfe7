"""back-fill the event table from the versions and story links of an existing database

Every version becomes the events storage.versions.apply would have written for it (first_version,
change, headline, deleted, restored, reverted, reextracted), every story link a new_coverage
event; in time order, so the ids follow the times. A database that has events already is left
as it is. Works on SQLite and PostgreSQL (plain Core statements, JSON decoded by the column type).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
_UTC = storage.types.UTCDateTime(timezone=True)
_JSON = storage.types.JSONType

version = sa.table(
    "version",
    sa.column("id", sa.Integer),
    sa.column("document_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("revert_of", sa.Integer),
    sa.column("observed_at", _UTC),
    sa.column("title", sa.String),
    sa.column("change_summary", _JSON),
)
story_document = sa.table(
    "story_document",
    sa.column("story_id", sa.Integer),
    sa.column("document_id", sa.Integer),
    sa.column("score", sa.Float),
    sa.column("reason", sa.String),
    sa.column("via", sa.String),
    sa.column("source_id", sa.Integer),
    sa.column("discovered_at", _UTC),
)
document = sa.table("document", sa.column("id", sa.Integer), sa.column("url", sa.String))
event = sa.table(
    "event",
    sa.column("at", _UTC),
    sa.column("kind", sa.String),
    sa.column("document_id", sa.Integer),
    sa.column("story_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("version_id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("prev_seq", sa.Integer),
    sa.column("significance", sa.Float),
    sa.column("summary", sa.String),
    sa.column("data", _JSON),
)
_ORDER = {"new_coverage": 0, "first_version": 1, "change": 1, "restored": 1, "reverted": 1, "deleted": 1}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.select(sa.func.count()).select_from(event)).scalar():
        return
    rows = sorted([*_version_events(bind), *_coverage_events(bind)], key=_when)
    for start in range(0, len(rows), BATCH):
        bind.execute(event.insert(), rows[start : start + BATCH])


def downgrade() -> None:
    pass  # the events stay: they describe versions that exist


def _when(row: dict[str, Any]) -> tuple[Any, int, int, int]:
    return (row["at"], _ORDER.get(row["kind"], 2), row["document_id"] or 0, row["seq"] or 0)


def _version_events(bind: sa.Connection) -> Iterator[dict[str, Any]]:
    query = sa.select(version).order_by(version.c.document_id, version.c.channel, version.c.seq)
    last: tuple[int, str] | None = None
    compared: Any = None  # (seq, title) of the latest version that is not a tombstone
    for row in bind.execute(query).mappings():
        if (row["document_id"], row["channel"]) != last:
            last, compared = (row["document_id"], row["channel"]), None
        yield from _events_of(row, compared)
        if row["kind"] != "tombstone":
            compared = (row["seq"], row["title"])


def _events_of(row: Any, compared: tuple[int, str | None] | None) -> Iterator[dict[str, Any]]:
    summary = dict(row["change_summary"] or {})
    where = "" if row["channel"] == "page" else f" ({row['channel']})"
    prev = compared[0] if compared else None
    base = {
        "at": row["observed_at"],
        "document_id": row["document_id"],
        "story_id": None,
        "channel": row["channel"],
        "version_id": row["id"],
        "seq": row["seq"],
        "prev_seq": prev,
    }
    kind, text, significance = _kind_of(row, summary, compared)
    data: dict[str, Any] = {"kind": row["kind"]}
    if kind == "first_version":
        data["title"] = row["title"]
    if kind == "reverted":
        data["revert_of"] = row["revert_of"]
    if kind == "deleted":
        base["prev_seq"] = summary.get("last_seq")
        data = {"http_status": None}
    yield {**base, "kind": kind, "summary": text + where, "significance": significance, "data": data}
    headline = kind not in ("first_version", "deleted", "reextracted") and compared is not None
    if headline and row["title"] is not None and compared is not None and compared[1] is not None:
        if row["title"] != compared[1]:
            data = {"old_title": compared[1], "new_title": row["title"]}
            text = f"headline: {row['title']}{where}"
            yield {**base, "kind": "headline", "summary": text, "significance": significance, "data": data}


def _kind_of(row: Any, summary: dict[str, Any], compared: Any) -> tuple[str, str, float | None]:
    significance = summary.get("significance")
    text = str(summary.get("summary") or "")
    if row["kind"] == "tombstone":
        return "deleted", "deleted", 1.0
    if row["seq"] == 1 or compared is None and not summary.get("restored"):
        return "first_version", "first version", 1.0
    if row["kind"] == "reextracted":
        return "reextracted", "re-extracted", 0.0
    if summary.get("restored"):
        return "restored", text or "restored after deletion", significance
    if row["kind"] == "revert":
        return "reverted", text or f"reverted to version {row['revert_of']}", significance
    return "change", text, significance


def _coverage_events(bind: sa.Connection) -> Iterator[dict[str, Any]]:
    query = sa.select(story_document, document.c.url).join(
        document, document.c.id == story_document.c.document_id
    )
    for row in bind.execute(query).mappings():
        data = {
            "url": row["url"],
            "via": row["via"],
            "score": row["score"],
            "reason": row["reason"],
            "source_id": row["source_id"],
        }
        yield {
            "at": row["discovered_at"],
            "kind": "new_coverage",
            "document_id": row["document_id"],
            "story_id": row["story_id"],
            "channel": None,
            "version_id": None,
            "seq": None,
            "prev_seq": None,
            "significance": None,
            "summary": f"new coverage: {row['url']}",
            "data": data,
        }
