"""Word forms for matching in a story's languages: stems, lemmas, transliterations.

A query word meets a text word when they share a *form*. The forms of a folded token are the
token itself, its Latin transliteration (anyascii: "путина" -> "putina"), and, for each language
the entry is matched in, the stem of both (Snowball stemmers; Ukrainian, which Snowball lacks,
through simplemma's lemmatizer), again with the stems transliterated. So ``rezydencja`` meets
"rezydencję" (Polish stem "rezydencj") and ``Putin`` meets "Путина" (Russian stem "путин",
transliterated "putin"). Stemmed forms carry their language ("pl:rezydencj"), so two words only
meet through the stemmer of one language.

An entry's language is detected with py3langid, restricted to :data:`SUPPORTED`; it is matched
in its detected language when the story lists it (or lists none), else in the story's languages
and the detected one.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from scraper.core.folding import fold

# ISO 639-1 code -> Snowball algorithm; None: lemmatized with simplemma instead.
SUPPORTED: dict[str, str | None] = {
    "en": "english", "de": "german", "pl": "polish", "ru": "russian", "uk": None, "fr": "french",
    "es": "spanish", "it": "italian", "pt": "portuguese", "nl": "dutch", "sv": "swedish",
    "da": "danish", "no": "norwegian", "fi": "finnish", "cs": "czech", "ro": "romanian",
    "hu": "hungarian", "tr": "turkish", "el": "greek", "lt": "lithuanian", "ca": "catalan",
}  # fmt: skip
MIN_CONFIDENCE = 0.5  # detection below this probability is "unknown"
MIN_STEM_LENGTH = 3  # tokens shorter than this are matched literally only


class UnknownLanguageError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown language {code!r}: use one of {', '.join(sorted(SUPPORTED))}")
        self.code = code


def check_languages(codes: Iterable[str]) -> tuple[str, ...]:
    """The codes lower-cased and de-duplicated; :class:`UnknownLanguageError` for one not supported."""
    out: list[str] = []
    for code in codes:
        value = code.strip().lower()
        if value not in SUPPORTED:
            raise UnknownLanguageError(code)
        if value not in out:
            out.append(value)
    return tuple(out)


def detect(text: str) -> str | None:
    """The language of ``text`` among :data:`SUPPORTED`, or None when unsure or too short."""
    if sum(c.isalpha() for c in text) < 8:
        return None
    language, probability = _identifier().classify(text)
    return str(language) if probability >= MIN_CONFIDENCE else None


def entry_languages(detected: str | None, story: tuple[str, ...]) -> tuple[str, ...]:
    """The languages an entry is matched in (see the module docstring)."""
    if detected is not None and (not story or detected in story):
        return (detected,)
    return tuple(dict.fromkeys([*story, *([detected] if detected else [])]))


@lru_cache(maxsize=65536)
def forms(token: str, languages: tuple[str, ...], surface: str | None = None) -> frozenset[str]:
    """Every form of the folded ``token`` (as written: ``surface``, accents kept) in ``languages``."""
    latin = transliterate(token)
    found = {token, latin}
    if len(token) < MIN_STEM_LENGTH:
        return frozenset(found)
    spellings = {token, latin, *([surface] if surface else [])}
    for language in languages:
        for spelling in spellings:
            stemmed = fold(stem(spelling, language))
            found.update((f"{language}:{stemmed}", f"{language}:{transliterate(stemmed)}"))
    return frozenset(found)


def transliterate(token: str) -> str:
    """The Latin, accent-free form of a folded token ("путина" -> "putina")."""
    if token.isascii():
        return token
    from anyascii import anyascii

    return fold(anyascii(token)).replace("'", "")


def stem(token: str, language: str) -> str:
    algorithm = SUPPORTED.get(language)
    if algorithm is None:
        return _lemma(token, language) if language in SUPPORTED else token
    return str(_stemmer(algorithm).stemWord(token))


@lru_cache(maxsize=32)
def _stemmer(algorithm: str) -> Any:
    import snowballstemmer  # imported on first use: `storytrail versions` never stems

    return snowballstemmer.stemmer(algorithm)


def _lemma(token: str, language: str) -> str:
    import simplemma  # imported on first use (~30 ms): config checks need only SUPPORTED

    return fold(simplemma.lemmatize(token, lang=language))


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(sorted(SUPPORTED))
    return identifier
