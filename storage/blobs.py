"""Raw bodies, content-addressed by sha256, zstd-compressed (``scraper.core.packing``), stored once.

An extraction worker usually packs the body already (``ExtractorPool.extract_page``): pass its
bytes as ``packed`` and the main process only writes them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import Session

from scraper.core.packing import COMPRESSION, LEVEL, pack, unpack
from storage.models import Blob

__all__ = ["LEVEL", "BlobMissing", "get_blob", "put_blob"]


class BlobMissing(LookupError):  # noqa: N818 - reads better at the call site
    def __init__(self, sha256: str) -> None:
        super().__init__(f"raw body {sha256} is not in the blob store")
        self.sha256 = sha256


def put_blob(
    session: Session, *, data: bytes, now: datetime, sha256: str | None = None, packed: bytes | None = None
) -> str:
    """Store ``data`` unless a blob with the same sha256 exists; return the sha256 (``sha256``:
    the caller's digest of ``data``, so it is not computed twice; ``packed``: ``pack(data)``,
    done by whoever had the bytes and a spare core)."""
    sha = sha256 or hashlib.sha256(data).hexdigest()
    if session.get(Blob, sha) is None:
        body = packed if packed is not None else pack(data)
        session.add(Blob(sha256=sha, size=len(data), data=body, compression=COMPRESSION, created_at=now))
        session.flush()
    return sha


def get_blob(session: Session, *, sha256: str) -> bytes:
    blob = session.get(Blob, sha256)
    if blob is None:
        raise BlobMissing(sha256)
    if blob.compression != COMPRESSION:
        return blob.data
    return unpack(blob.data, blob.size)
