"""What a browser capture keeps beside its version: the raw network response and a screenshot.

A browser capture's Check has the rendered DOM as ``raw_sha256`` (what was extracted) and the
response as the server sent it as ``network_sha256``; a new version may carry a full-page PNG
(``Version.screenshot_sha256``). Both are blobs, deduplicated by sha256.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage import blobs
from storage.models import Check, Story, StoryDocument, Version

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def keep_network_response(session: Session, *, document_id: int, body: bytes, now: datetime) -> str:
    """Store the raw response and note it on the document's latest check; its sha256."""
    sha = blobs.put_blob(session, data=body, now=now)
    check = session.exec(
        select(Check).where(Check.document_id == document_id).order_by(col(Check.id).desc()).limit(1)
    ).first()
    if check is not None:
        check.network_sha256 = sha
        session.add(check)
    return sha


def keep_screenshot(
    session: Session, *, document_id: int, channel: str, seq: int, png: bytes, now: datetime
) -> str | None:
    """Store a PNG for version ``seq`` (once per distinct image); its sha256, None if not a PNG."""
    if not png.startswith(PNG_MAGIC):
        return None
    version = session.exec(
        select(Version).where(
            Version.document_id == document_id, Version.channel == channel, Version.seq == seq
        )
    ).first()
    if version is None:
        return None
    version.screenshot_sha256 = blobs.put_blob(session, data=png, now=now)
    session.add(version)
    return version.screenshot_sha256


def screenshot_png(session: Session, *, sha256: str) -> bytes | None:
    """A stored screenshot, or None when ``sha256`` is no screenshot of any version."""
    used = session.exec(select(Version.id).where(Version.screenshot_sha256 == sha256).limit(1)).first()
    if used is None:
        return None
    try:
        return blobs.get_blob(session, sha256=sha256)
    except blobs.BlobMissing:
        return None


def story_settings_of(session: Session, *, document_id: int) -> list[dict[str, object]]:
    """The settings of every story the document belongs to."""
    rows = session.exec(
        select(Story.settings).join(StoryDocument, col(StoryDocument.story_id) == col(Story.id))
        .where(StoryDocument.document_id == document_id)
    )  # fmt: skip
    return [dict(r or {}) for r in rows]
