"""Which encoding a fetched body is in, and its text.

The order, first match wins (a simplified WHATWG "encoding sniffing"):

1. a byte-order mark (UTF-8, UTF-16);
2. the charset of the HTTP Content-Type, if the body decodes strictly with it;
3. ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` in the first 4 KB, the same way;
4. detection (charset_normalizer), ties broken towards windows-1252;
5. UTF-8 with replacement characters.

Labels follow WHATWG: ``ISO-8859-1``, ``latin1`` and ``US-ASCII`` mean windows-1252. A declared
legacy encoding loses to UTF-8 when the body is valid UTF-8 with non-ASCII bytes: that body is
UTF-8 mislabelled (the common "header says iso-8859-1, page is utf-8" case), since real legacy
text almost never forms valid multi-byte UTF-8 sequences.

Encoding names returned are Python codec names (``utf-8``, ``cp1252``, ``iso8859-1``...).
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

PRESCAN_BYTES = 4096
NEAR_CHAOS = 0.02  # guesses this close in chaos are told apart by coherence

# WHATWG label -> the codec that decodes what browsers decode for it.
_WHATWG_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "cp819": "cp1252",
    "ibm819": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "x-cp1252": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs",
}
_UNICODE = frozenset({"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"})
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_CT_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^"';,\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", re.IGNORECASE)


def encoding_for_label(label: str | None) -> str | None:
    """The Python codec for a charset label (WHATWG aliases applied), or None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    try:
        return codecs.lookup(_WHATWG_ALIASES.get(name, name)).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    """The codec named by a Content-Type's charset parameter (``ISO-8859-1`` -> ``cp1252``)."""
    match = _CT_CHARSET.search(content_type or "")
    return encoding_for_label(match.group(1)) if match else None


def meta_charset(body: bytes) -> str | None:
    """The codec a ``<meta>`` tag declares in the first 4 KB (a UTF-16 declaration means UTF-8)."""
    match = _META_CHARSET.search(body[:PRESCAN_BYTES])
    encoding = encoding_for_label(match.group(1).decode("ascii")) if match else None
    return "utf-8" if encoding in ("utf-16", "utf-16-le", "utf-16-be") else encoding


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The text of ``body`` and the encoding used (see the module docstring for the order)."""
    found = _from_bom(body)
    found = found or _declared(body, charset_from_content_type(content_type))
    found = found or _declared(body, meta_charset(body))
    found = found or _detected(body)
    return found or (body.decode("utf-8", errors="replace"), "utf-8")


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _from_bom(body: bytes) -> tuple[str, str] | None:
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace"), encoding
    return None


def _mislabelled_utf8(body: bytes, encoding: str) -> str | None:
    """The UTF-8 text of a body declared as a legacy encoding, when it really is UTF-8."""
    if encoding in _UNICODE or body.isascii():
        return None
    return _strict(body, "utf-8")


def _declared(body: bytes, encoding: str | None) -> tuple[str, str] | None:
    if encoding is None:
        return None
    utf8 = _mislabelled_utf8(body, encoding)
    if utf8 is not None:
        return utf8, "utf-8"
    # windows-1252 leaves five bytes undefined; browsers map them to C1 controls like latin-1.
    for candidate in (encoding, "iso8859-1") if encoding == "cp1252" else (encoding,):
        text = _strict(body, candidate)
        if text is not None:
            return text, candidate
    return None


def _detected(body: bytes) -> tuple[str, str] | None:
    encoding = "utf-8" if _strict(body, "utf-8") is not None else detect_legacy(body)
    if encoding is None:
        return None
    return body.decode(encoding, errors="replace"), encoding


def detect_legacy(body: bytes) -> str | None:
    """charset_normalizer's best guess: among the guesses within NEAR_CHAOS of the least chaotic,
    the most coherent (language-like) one; among equally good guesses, windows-1252 wins.

    (French in windows-1252 reads with no chaos at all as windows-1257 too, "è" becoming "č";
    its letter frequencies are what tell the two apart.)
    """
    matches = list(from_bytes(body))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    near = [m for m in matches if m.chaos <= least + NEAR_CHAOS]
    best = min(near, key=lambda m: (-m.coherence, m.chaos))
    tied = [m for m in near if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    if any("cp1252" in m.could_be_from_charset for m in tied):
        return "cp1252"
    return encoding_for_label(best.encoding)
