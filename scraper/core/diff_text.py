"""Cutting a body into sentences and words for the diff, losslessly.

A body (``Content.text``) becomes a list of :class:`Unit`: one sentence (or one line of a list or
table) each, with the whitespace that follows it kept in ``sep``. Joining ``body + sep`` of every
unit gives the text back exactly, which is what lets a diff be applied and checked.

Comparison never looks at the exact text: it uses a *key* folded like the versioning rules fold
text (whitespace runs, quote styles, dashes, invisible characters), so a change of nothing but
those, which never makes a new version, is no change in a diff either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from scraper.core.normalize import fold_characters

# Line boundaries, as str.splitlines (and so the normalizer) sees them.
_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# A whitespace run that may end a sentence: with a line break, or after sentence punctuation and
# any closing quotes, brackets or invisible characters.
_CANDIDATE = re.compile(rf"\s*{_LINE_BREAK.pattern}\s*|(?<=[.!?\u2026])[^\s\w.!?\u2026]*(\s+)")
# Quotes of every style (any may open a sentence once folded to ' or "), brackets.
_LEADING_PUNCTUATION = re.compile(r"^[\W_]+")
_OPENERS = frozenset(
    "\"'`([{\u00ab\u00bb\u2039\u203a\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f"
    "\u2032\u2033\u2035\u2036\u301d\u301e\u301f\u02bc\u00b4"
)
_WORD = re.compile(r"\s*\S+\s*")
_ABBREVIATIONS = frozenset(
    ("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "lt", "col", "sgt", "capt", "cmdr", "adm",
     "gov", "sen", "rep", "rev", "hon", "pres", "inc", "ltd", "co", "corp", "vs", "etc", "al", "approx",
     "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
     "mon", "tue", "wed", "thu", "fri", "sat", "sun")
)  # fmt: skip
_BEFORE_NUMBER = frozenset({"no", "nos", "fig", "vol", "art", "p", "pp"})


@dataclass(frozen=True, slots=True)
class Unit:
    """One sentence of a body: its exact text, the whitespace after it, and its comparison key."""

    body: str
    sep: str
    key: str
    para: int  # number of the paragraph (or line) it belongs to, from 0


def key(text: str) -> str:
    """The comparison form of ``text``: characters folded as the versioning rules fold them
    (:func:`scraper.core.normalize.fold_characters`), whitespace runs made single spaces."""
    return " ".join(fold_characters(text).split())


def visible(text: str) -> bool:
    """``bool(key(text))``, fast: folding never removes a letter or a digit."""
    return any(c.isalnum() for c in text) or bool(key(text))


def breaks_line(whitespace: str) -> bool:
    """True when a separator holds a line break: the next sentence starts a new paragraph."""
    return _LINE_BREAK.search(whitespace) is not None


def count_sentences(text: str) -> int:
    """``len(segment(text))``, without computing keys."""
    end = len(text.rstrip())
    return (len(_cuts(text, end)) + 1) if end else int(bool(text))


def words(body: str) -> list[str]:
    """Word tokens with the whitespace after them attached; they join back into ``body``."""
    return _WORD.findall(body)


def word_count(text: str) -> int:
    return len(text.split())


def segment(text: str) -> list[Unit]:
    """Cut ``text`` into sentences; ``"".join(u.body + u.sep for u in units) == text``."""
    end = len(text.rstrip())
    if end == 0:
        return [Unit(body="", sep=text, key="", para=0)] if text else []
    units: list[Unit] = []
    start = para = 0
    for cut_start, cut_end in [*_cuts(text, end), (end, len(text))]:
        body = text[start:cut_start]
        units.append(Unit(body=body, sep=text[cut_start:cut_end], key=key(body), para=para))
        para += breaks_line(text[cut_start:cut_end])
        start = cut_end
    return units


def _cuts(text: str, end: int) -> list[tuple[int, int]]:
    """Spans of the whitespace runs that separate two sentences, inside ``text[:end]``."""
    cuts = []
    for match in _CANDIDATE.finditer(text, 0, end):
        span = match.span(1) if match.group(1) is not None else match.span()
        if span[0] == 0 or span[1] >= end:
            continue
        if breaks_line(text[span[0] : span[1]]) or (
            _starts_sentence(text, span[1]) and not _abbreviated(text, match.start() - 1, span[1])
        ):
            cuts.append(span)
    return cuts


def _starts_sentence(text: str, at: int) -> bool:
    """True when a capital or a digit comes next on this line, after any opening quotes,
    invisible characters and spaces."""
    for char in _from(text, at):
        if char.isupper() or char.isdigit():
            return True
        if _LINE_BREAK.match(char) or not (char in _OPENERS or char.isspace() or _invisible(char)):
            return False
    return False


def _from(text: str, start: int) -> Iterator[str]:
    return (text[i] for i in range(start, len(text)))


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in ("Cf", "Cc")


def _abbreviated(text: str, period: int, after: int) -> bool:
    """True when the full stop at ``period`` closes an abbreviation ("Mr.", "U.S.", "J.", "No. 5")."""
    if text[period] != "." or text[period - 1 : period] in (".", "\u2026"):
        return False  # "?", "!", "\u2026" and "..." end sentences
    before = text[max(0, period - 40) : period]
    word = "" if not before or before[-1].isspace() else before.split()[-1]
    word = _LEADING_PUNCTUATION.sub("", fold_characters(word))
    lowered = word.lower()
    if lowered in _BEFORE_NUMBER:
        return text[after].isdigit()
    return len(word) == 1 or "." in word or lowered in _ABBREVIATIONS
