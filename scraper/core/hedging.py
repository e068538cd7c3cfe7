"""Hedging and attribution words: "alleged", "reportedly", "according to", "said"...

A headline that drops "alleged", or a sentence that loses its "according to the ministry", states
as fact what was a claim; the reverse walks a fact back. These word lists, per language, let the
diff call such edits out (:mod:`scraper.core.diff_classes`). Entries are matched on folded text
(casefold, accents dropped, as :func:`scraper.core.query.fold`); an entry ending in ``*`` also
matches inflected forms ("rzekom*" is "rzekomy", "rzekomego", "rzekomo"...).

Two kinds: ``hedge`` (the claim is doubted or unconfirmed) and ``attribution`` (the claim is
someone's: "said", "according to"). Adding or removing either changes what the text asserts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from scraper.core.folding import fold

HEDGES: dict[str, tuple[str, ...]] = {
    "en": ("alleged*", "allegedly", "claim*", "reportedly", "purported*", "supposed*", "apparent*",
           "unconfirmed", "unverified", "possibl*", "may have", "might have", "suspected"),
    "de": ("angeblich*", "mutmasslich*", "vermeintlich*", "offenbar", "unbestatigt*", "soll", "sollen",
           "moglicherweise"),
    "pl": ("rzekom*", "podobno", "domniema*", "prawdopodobnie", "niepotwierdzon*", "byc moze"),
    "ru": ("якобы", "предположительно", "предполагаем*", "возможно", "неподтвержд*", "вероятно"),
    "uk": ("нібито", "імовірно", "ймовірно", "можливо", "непідтвердж*", "начебто"),
    "fr": ("presume*", "pretendu*", "aurait", "auraient", "suppose*", "apparemment", "non confirme*"),
    "es": ("presunt*", "supuest*", "habria", "habrian", "aparentemente", "sin confirmar", "posiblemente"),
}  # fmt: skip
ATTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "en": ("said", "says", "say", "according to", "told", "stated", "insisted", "denied"),
    "de": ("sagte*", "laut", "zufolge", "erklarte*", "behauptet*", "teilte mit", "nach angaben"),
    "pl": ("powiedzia*", "według", "twierdzi*", "oświadczy*", "przekaza*", "podał*", "zdaniem"),
    "ru": ("заявил*", "сообщил*", "по словам", "по данным", "утвержда*", "сказал*", "по информации"),
    "uk": ("заявив", "заявила", "заявили", "повідомив*", "повідомил*", "за словами", "за даними",
           "стверджу*", "сказав"),
    "fr": ("selon", "a declare", "affirme*", "a dit", "ont dit", "a indique"),
    "es": ("segun", "dijo", "afirmo", "afirma*", "declaro", "aseguro", "informo"),
}  # fmt: skip
LANGUAGES = tuple(HEDGES)


@dataclass(frozen=True, slots=True)
class HedgeChange:
    """A hedging or attribution word that one side has and the other has not."""

    word: str  # as found in the text (folded)
    kind: str  # "hedge" | "attribution"
    change: str  # "added" | "removed"


def hedge_words(text: str, languages: tuple[str, ...] = LANGUAGES) -> Counter[tuple[str, str]]:
    """Every (kind, folded word) of ``text`` that is a hedge or an attribution, with counts."""
    found: Counter[tuple[str, str]] = Counter()
    folded = fold(text)
    for kind, pattern in _patterns(tuple(sorted(languages))):
        found.update((kind, " ".join(m.group(0).split())) for m in pattern.finditer(folded))
    return found


def hedge_changes(old: str, new: str, languages: tuple[str, ...] = LANGUAGES) -> list[HedgeChange]:
    """Hedges and attributions removed from ``old`` or added in ``new``, removed first.

    Hedges are compared word by word ("alleged" -> "reportedly" is one removed, one added);
    attributions by their number, so "says" -> "said" is no change but a dropped "said" is."""
    before, after = hedge_words(old, languages), hedge_words(new, languages)
    removed, added = before - after, after - before
    net = sum(n for (kind, _), n in before.items() if kind == "attribution") - sum(
        n for (kind, _), n in after.items() if kind == "attribution"
    )
    return [HedgeChange(w, k, "removed") for k, w in _keep_attributions(removed, max(net, 0))] + [
        HedgeChange(w, k, "added") for k, w in _keep_attributions(added, max(-net, 0))
    ]


def _keep_attributions(found: Counter[tuple[str, str]], keep: int) -> list[tuple[str, str]]:
    """Every hedge of ``found``, and only its first ``keep`` attributions."""
    out: list[tuple[str, str]] = []
    for kind, word in found.elements():
        if kind == "attribution":
            if keep <= 0:
                continue
            keep -= 1
        out.append((kind, word))
    return out


@lru_cache(maxsize=16)
def _patterns(languages: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (kind, _compile([entry for lang in languages if lang in table for entry in table[lang]]))
        for kind, table in (("hedge", HEDGES), ("attribution", ATTRIBUTIONS))
    )


def _compile(entries: list[str]) -> re.Pattern[str]:
    alternatives = sorted({_entry_pattern(entry) for entry in entries}, key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")


def _entry_pattern(entry: str) -> str:
    stem = fold(entry)
    words = [re.escape(part) for part in stem.rstrip("*").split()]
    return r"\s+".join(words) + (r"\w*" if stem.endswith("*") else "")
