"""Brotli and zstd decoders with an output limit per call (the gzip/deflate one is in scraper.http).

Each stage has ``feed(data, limit) -> bytes`` and ``finish()``; output reaching ``limit`` raises
OutputLimitError, a corrupt or truncated stream raises CodecError. A compression bomb is
stopped after at most ``limit`` bytes (brotli) or ``limit`` plus one small slice's worth (zstd).

brotli: ``brotlicffi`` (not the ``brotli`` module name, which pywb's brotlipy also installs), whose
``decompress(..., output_buffer_limit=)`` stops the output buffer from growing past the limit.

zstd: ``zstandard``'s decompressobj cannot bound its output per call, so input is fed in slices
small enough that even the densest frame (an RLE block: 4 bytes for 128 KiB) cannot produce more
than what is left of the limit, and never fewer than MIN_SLICE bytes at a time. The window size is
capped too, so a frame cannot ask for a huge buffer.
"""

from __future__ import annotations

import brotlicffi
import zstandard

ZSTD_MAX_RATIO = 32 * 1024  # 128 KiB out of a 4-byte RLE block
MIN_SLICE = 16
ZSTD_MAX_WINDOW = 32 * 1024 * 1024


class OutputLimitError(Exception):
    pass


class CodecError(Exception):
    pass


class BrotliStage:
    def __init__(self) -> None:
        self._d = brotlicffi.Decompressor()
        self._fed = False

    def feed(self, data: bytes, limit: int) -> bytes:
        self._fed = self._fed or bool(data)
        try:
            out: bytes = self._d.decompress(data, output_buffer_limit=limit)
        except brotlicffi.error as exc:
            raise CodecError(str(exc) or "invalid brotli data") from exc
        if len(out) >= limit or not self._d.can_accept_more_data():
            raise OutputLimitError
        return out

    def finish(self) -> None:
        if self._fed and not self._d.is_finished():
            raise CodecError("the compressed stream is truncated")


class ZstdStage:
    def __init__(self) -> None:
        decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._d = decompressor.decompressobj()
        self._fed = False

    def feed(self, data: bytes, limit: int) -> bytes:
        self._fed = self._fed or bool(data)
        parts: list[bytes] = []
        produced, start = 0, 0
        while start < len(data) and not self._d.eof:
            size = max(MIN_SLICE, (limit - produced) // ZSTD_MAX_RATIO)
            produced += self._take(parts, data[start : start + size])
            start += size
            if produced >= limit:
                raise OutputLimitError
        return b"".join(parts)

    def _take(self, parts: list[bytes], piece: bytes) -> int:
        try:
            out = self._d.decompress(piece)
        except zstandard.ZstdError as exc:
            raise CodecError(str(exc)) from exc
        parts.append(out)
        return len(out)

    def finish(self) -> None:
        if self._fed and not self._d.eof:
            raise CodecError("the compressed stream is truncated")
