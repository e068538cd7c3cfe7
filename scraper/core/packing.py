"""Raw bodies packed for the blob store: zstd at one level, a pure function of the bytes.

It lives in the core so that an extraction worker can pack the body it already holds (the main
process then only writes the bytes); ``storage.blobs`` packs with the same function otherwise.

The level, measured on the bench's 300 pages (37 MB of real and generated HTML; packed/raw and CPU
per page): 3 -> 0.169 (0.31 ms), 6 -> 0.156 (0.95 ms), 9 -> 0.153 (1.43 ms), 19 -> 0.145 (37 ms);
long-distance matching gains nothing on single pages, a dictionary trained on the same pages 5%.
6 is the knee: a third less CPU than 9 for 2% more bytes.
"""

from __future__ import annotations

import zstandard

LEVEL = 6
COMPRESSION = "zstd"  # the Blob.compression of what ``pack`` returns


def pack(raw: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=LEVEL).compress(raw)


def unpack(packed: bytes, size: int) -> bytes:
    """The raw bytes of ``packed`` (``size``: their length, which bounds the output)."""
    return zstandard.ZstdDecompressor().decompress(packed, max_output_size=max(size, 1))
