"""Raw bodies, content-addressed by sha256, zstd-compressed, stored once."""

from __future__ import annotations

import hashlib
from datetime import datetime

import zstandard
from sqlmodel import Session

from storage.models import Blob

LEVEL = 9


class BlobMissing(LookupError):  # noqa: N818 - reads better at the call site
    def __init__(self, sha256: str) -> None:
        super().__init__(f"raw body {sha256} is not in the blob store")
        self.sha256 = sha256


def put_blob(session: Session, *, data: bytes, now: datetime, sha256: str | None = None) -> str:
    """Store ``data`` unless a blob with the same sha256 exists; return the sha256 (``sha256``:
    the caller's digest of ``data``, so it is not computed twice)."""
    sha = sha256 or hashlib.sha256(data).hexdigest()
    if session.get(Blob, sha) is None:
        packed = zstandard.ZstdCompressor(level=LEVEL).compress(data)
        session.add(Blob(sha256=sha, size=len(data), data=packed, created_at=now))
        session.flush()
    return sha


def get_blob(session: Session, *, sha256: str) -> bytes:
    blob = session.get(Blob, sha256)
    if blob is None:
        raise BlobMissing(sha256)
    if blob.compression != "zstd":
        return blob.data
    return zstandard.ZstdDecompressor().decompress(blob.data, max_output_size=max(blob.size, 1))
