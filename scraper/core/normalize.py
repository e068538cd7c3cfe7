"""Text normalization: the rules that decide which differences are not a new version.

DESIGN.md, versioning rules: whitespace, quote styles and zero-width characters never make a
version. ``normalize_text`` folds them away; ``normalize_content`` applies it to every field of a
``Content`` and removes what a source's ignore rules name. Both are idempotent.

Bump ``NORMALIZER_VERSION`` whenever a rule here changes: stored hashes depend on it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from scraper.core.types import Content

NORMALIZER_VERSION = "1"

# Invisible format characters: zero-width space/joiners, bidi marks and isolates, word joiner
# and invisible operators, BOM, soft hyphen, Mongolian vowel separator.
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
_INVISIBLE += "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u02bc\u00b4`"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u2036\u301d\u301e\u301f"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63"
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_SPACES += "\u202f\u205f\u3000"
_LIGATURES = "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"  # NFKC is safe for these (Latin only)


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {ord(c): "" for c in _INVISIBLE}
    table.update({ord(c): "'" for c in _SINGLE_QUOTES})
    table.update({ord(c): '"' for c in _DOUBLE_QUOTES})
    table.update({ord(c): "-" for c in _DASHES})
    table.update({ord(c): " " for c in _SPACES})
    table.update({ord(c): unicodedata.normalize("NFKC", c) for c in _LIGATURES})
    table[ord("\u2026")] = "..."
    # control characters other than whitespace (NUL, BEL, C1 controls...) carry no text
    table.update({cp: "" for cp in (*range(0x20), *range(0x7F, 0xA0)) if not chr(cp).isspace()})
    return table


_FOLD = _fold_table()


class InvalidIgnorePatternError(ValueError):
    """A per-source ignore rule is not a valid regular expression."""

    def __init__(self, pattern: str, error: re.error) -> None:
        super().__init__(f"ignore pattern {pattern!r} is not a valid regular expression: {error}")
        self.pattern = pattern


def fold_characters(text: str) -> str:
    """NFC, then fold quotes, dashes and odd spaces to ASCII and drop invisible characters.

    NFC runs again last: dropping a zero-width character can leave a letter next to a combining
    mark, which NFC then composes. Nothing NFC composes is in the fold table, so this is stable.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).translate(_FOLD))


def _layout(text: str) -> str:
    """One space between words, no space at line ends, paragraphs split by one blank line."""
    paragraphs: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join("\n".join(lines) for lines in paragraphs if lines)


def normalize_text(text: str) -> str:
    """The canonical form of a body of text (idempotent)."""
    return _layout(fold_characters(text))


def normalize_line(text: str | None) -> str | None:
    """A one-line field (title, byline): normalized, line breaks become spaces, empty is None."""
    if text is None:
        return None
    return " ".join(normalize_text(text).split()) or None


def normalize_language(language: str | None) -> str | None:
    """``en_US `` -> ``en-us``; empty is None."""
    if language is None:
        return None
    return language.strip().replace("_", "-").lower() or None


def to_utc(moment: datetime | None) -> datetime | None:
    """A timezone-aware UTC datetime; a naive one is taken to be UTC already."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def compile_ignore_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    """Compile per-source ignore rules (multi-line mode); raise ``InvalidIgnorePatternError``."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.MULTILINE))
        except re.error as error:
            raise InvalidIgnorePatternError(pattern, error) from error
    return compiled


def remove_ignored(text: str, patterns: Sequence[re.Pattern[str]]) -> str:
    """Normalize ``text`` and remove every match of ``patterns`` until nothing more matches.

    Patterns see normalized text (plain quotes, single spaces), so rules are written against
    what a reader sees. Repeating until stable keeps the result idempotent; it ends because
    each change removes characters and normalizing removed text never lengthens it.
    """
    current = normalize_text(text)
    while True:
        stripped = current
        for pattern in patterns:
            stripped = pattern.sub("", stripped)
        stripped = normalize_text(stripped)
        if stripped == current:
            return current
        current = stripped


def normalize_content(content: Content, *, ignore_patterns: Sequence[str] = ()) -> Content:
    """Normalize every field that makes a version; ``ignore_patterns`` apply to the body text.

    ``canonical_url`` and ``metadata`` are returned untouched.
    """
    return replace(
        content,
        title=normalize_line(content.title),
        byline=normalize_line(content.byline),
        text=remove_ignored(content.text, compile_ignore_patterns(ignore_patterns)),
        description=normalize_line(content.description),
        published=to_utc(content.published),
        modified=to_utc(content.modified),
        language=normalize_language(content.language),
    )
