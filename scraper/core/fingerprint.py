"""Fingerprints: the content hash that decides what counts as a version, the raw-body hash,
and a simhash for near-duplicates (syndicated wire copies of one story)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime

from scraper.core.normalize import normalize_content, normalize_text
from scraper.core.types import Content

HASHED_FIELDS = ("title", "byline", "text", "published", "modified", "canonical_url", "language")
SIMHASH_BITS = 64
SHINGLE_WORDS = 3
_WORD = re.compile(r"\w+")


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def hashed_payload(content: Content, *, ignore_patterns: Sequence[str] = (), normalized: bool = False) -> str:
    """The canonical JSON that ``content_hash`` digests: normalized hashed fields, sorted keys
    (``normalized``: ``content`` is normalized already, so it is not normalized twice)."""
    if not normalized:
        content = normalize_content(content, ignore_patterns=ignore_patterns)
    fields = {name: _jsonable(getattr(content, name)) for name in HASHED_FIELDS}
    for name in inferred_dates(content):
        fields[name] = None
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def inferred_dates(content: Content) -> tuple[str, ...]:
    """Dates the extractor guessed rather than read from the page's markup.

    A guess (htmldate scanning the page) can move while the article does not, so it is kept on
    the version but never makes one: storytrail must not invent a publisher's edit.
    """
    meta = content.metadata
    return tuple(name for name in ("published", "modified") if meta.get(f"{name}_from") == "htmldate")


def content_hash(content: Content, *, ignore_patterns: Sequence[str] = (), normalized: bool = False) -> str:
    """sha256 hex of the normalized hashed fields; ``metadata`` and ``description`` do not count.

    Normalizes internally (unless ``normalized``: the caller did, with its ignore rules), so
    whitespace, quote styles and zero-width characters never change it; ``ignore_patterns`` are
    the source's ignore rules (regexes removed from the body text).
    """
    payload = hashed_payload(content, ignore_patterns=ignore_patterns, normalized=normalized)
    return hashlib.sha256(payload.encode()).hexdigest()


def body_sha256(raw: bytes) -> str:
    """sha256 hex of a raw body, as stored (content-addressed blobs, WARC digests)."""
    return hashlib.sha256(raw).hexdigest()


def shingles(text: str, size: int = SHINGLE_WORDS) -> list[str]:
    """Overlapping runs of ``size`` words of the normalized, case-folded text."""
    words = _WORD.findall(normalize_text(text).casefold())
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def _shingle_bits(shingle: str) -> str:
    """The shingle's 64-bit hash as a string of 0s and 1s, most significant bit first."""
    digest = hashlib.blake2b(shingle.encode(), digest_size=SIMHASH_BITS // 8).digest()
    return f"{int.from_bytes(digest, 'big'):0{SIMHASH_BITS}b}"


def simhash(text: str) -> int:
    """64-bit Charikar simhash over word shingles; 0 for text without words.

    Bit i is set when more than half of the shingle hashes have it set. trafilatura's own
    Simhash samples single words; shingles keep word order, which keeps unrelated texts in the
    same language apart (measured on the corpus: closest unrelated pair 21 bits, vs 4 for words).
    """
    hashes = [_shingle_bits(shingle) for shingle in shingles(text)]
    table = "".join(hashes)  # column i of this row-major table is bit i of every hash
    majority = "".join("1" if 2 * table[i :: SIMHASH_BITS].count("1") > len(hashes) else "0"
                       for i in range(SIMHASH_BITS))  # fmt: skip
    return int(majority, 2) if hashes else 0


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return (a ^ b).bit_count()


def near_duplicate(a: str, b: str, *, max_distance: int = 3) -> bool:
    """True when the simhashes of ``a`` and ``b`` differ in at most ``max_distance`` bits.

    A text without words is nobody's duplicate.
    """
    if not _WORD.search(a) or not _WORD.search(b):
        return False
    return hamming(simhash(a), simhash(b)) <= max_distance
