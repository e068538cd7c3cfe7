"""Case- and accent-free forms of text and its word tokens, shared by queries, matching and
the hedging word lists."""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"\w+")


def fold(text: str) -> str:
    """Case- and accent-free form of ``text``: ``"Valdaï PUTIN"`` -> ``"valdai putin"``."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokenize(text: str) -> list[str]:
    """The folded word tokens of ``text`` (letters, digits and underscores)."""
    return _TOKEN.findall(fold(text))


def surface_tokens(text: str) -> list[str]:
    """The word tokens of ``text`` case-folded but with their accents (for stemmers)."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text.casefold()))
