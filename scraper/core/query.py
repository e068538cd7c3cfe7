"""The story query language: Lucene syntax parsed by luqum, evaluated here on folded word tokens.

    (Putin OR Kremlin) AND (residence OR Valdai OR Novgorod) AND drone*

=============================  ===========================================================
``Putin AND drone*``           both terms. The implicit operator between bare terms is AND:
                               ``Putin drone*`` means ``Putin AND drone*``.
``Putin OR Kremlin``           either term
``NOT Trump``, ``-Trump``      negation; ``+Putin`` (required) is the same as a bare term
``(a OR b) AND c``             grouping
``"drone attack"``             phrase: these tokens, consecutive, in this order
``drone*``, ``dr?ne``          wildcards inside one token (``*`` any run, ``?`` one character)
``title:Putin``                one field only: ``title``, ``summary`` or ``text``;
                               ``title:(a OR b)`` scopes a group. Without a prefix a term
                               matches in any field given to :meth:`Query.evaluate`.
=============================  ===========================================================

Matching is case- and accent-insensitive: text and terms are both folded (casefold, NFKD,
combining marks dropped) and split into word tokens, so ``Putin's`` holds the token ``putin``
and ``Valdaï`` matches ``valdai``. Fuzzy (``~``), proximity (``"a b"~3``), boosts (``^``),
ranges and regexes are refused with a :class:`QueryError`, as are lower-case ``and``/``or``/
``not`` written where an operator was probably meant (quote them to search the word).
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.thread import parse as luqum_parse

from scraper.core.folding import fold, surface_tokens, tokenize
from scraper.core.languages import detect, entry_languages, forms

FIELDS = ("title", "summary", "text")
_PATTERN_TOKEN = re.compile(r"[\w*?]+")
_LUQUM_POSITION = re.compile(r"at position (\d+)")
_OPERATOR_WORDS = frozenset({"and", "or", "not"})
_UNSUPPORTED: dict[type[tree.Item], str] = {
    tree.Fuzzy: "fuzzy matching (~)",
    tree.Proximity: 'proximity search ("..."~N)',
    tree.Boost: "boosts (^)",
    tree.Range: "ranges ([a TO b])",
    tree.From: "open ranges (>, >=)",
    tree.To: "open ranges (<, <=)",
    tree.Regex: "regular expressions (/.../)",
}


class QueryError(ValueError):
    """A story query that cannot be compiled; the message quotes it and points at the problem."""

    def __init__(self, query: str, reason: str, position: int | None = None) -> None:
        pointer = "" if position is None else f"\n    {query}\n    {' ' * position}^"
        super().__init__(f"invalid story query {query!r}: {reason}{pointer}")
        self.query = query
        self.reason = reason
        self.position = position


__all__ = ["FIELDS", "FieldTokens", "MatchResult", "PreparedText", "Query", "QueryError", "compile_query",
           "fold", "prepare_fields", "tokenize"]  # fmt: skip

# --- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldTokens:
    """One field of a text, tokenized once so that many queries can be evaluated on it."""

    tokens: tuple[str, ...]
    vocabulary: frozenset[str]
    ordered: tuple[str, ...]  # the vocabulary, sorted: prefix terms bisect it
    surfaces: Mapping[str, str] = dataclasses.field(default_factory=dict)  # folded token -> as written
    _forms: dict[tuple[str, ...], dict[str, str]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, text: str) -> FieldTokens:
        tokens = tuple(tokenize(text))
        vocabulary = frozenset(tokens)
        surfaces: dict[str, str] = {}
        for surface in surface_tokens(text):
            folded = fold(surface)
            if folded in vocabulary:
                surfaces.setdefault(folded, surface)
        return cls(tokens, vocabulary, tuple(sorted(vocabulary)), surfaces)

    def form_index(self, languages: tuple[str, ...]) -> dict[str, str]:
        """Every form of every token in ``languages`` -> the first token that has it (memoized)."""
        index = self._forms.get(languages)
        if index is None:
            index = {}
            for token in self.ordered:
                for form in forms(token, languages, self.surfaces.get(token)):
                    index.setdefault(form, token)
            self._forms[languages] = index
        return index


@dataclass(frozen=True, slots=True)
class PreparedText:
    """Named fields (title, summary, text), each tokenized: what a :class:`Query` evaluates."""

    fields: Mapping[str, FieldTokens]
    vocabulary: frozenset[str] = frozenset()  # of all fields: one lookup for an unfielded word
    ordered: tuple[str, ...] = ()
    sample: str = ""  # the text language detection reads
    _detected: list[str | None] = dataclasses.field(default_factory=list, compare=False, repr=False)

    def language(self) -> str | None:
        """The detected language of the text (memoized), None when unsure."""
        if not self._detected:
            self._detected.append(detect(self.sample))
        return self._detected[0]


def prepare_fields(fields: Mapping[str, str | None]) -> PreparedText:
    """Tokenize each non-empty field once; ``None`` and empty fields are left out."""
    prepared = {name: FieldTokens.of(value) for name, value in fields.items() if value}
    vocabulary = frozenset().union(*(field.vocabulary for field in prepared.values()))
    sample = " ".join(value for value in fields.values() if value)[:2000]
    return PreparedText(prepared, vocabulary, tuple(sorted(vocabulary)), sample)


# --- the compiled query -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a wildcard pattern or a phrase (several tokens), optionally bound to a field."""

    label: str  # as written in the query, for match reasons
    tokens: tuple[str, ...]  # folded; may contain * and ?
    field: str | None = None
    surfaces: tuple[str | None, ...] = dataclasses.field(default=(), compare=False)  # as written


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Term | And | Or | Not


@dataclass(frozen=True, slots=True)
class MatchResult:
    matched: bool
    terms: tuple[str, ...] = ()  # the positive terms that matched, in query order


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled story query. Build it with :func:`compile_query`.

    ``languages`` None: words match literally (folded). A tuple (empty: whatever language each
    text is detected in): words also match their inflected and transliterated forms
    (:mod:`scraper.core.languages`), and the reason names the form found: ``rezydencja
    ("rezydencję")``."""

    text: str
    root: Node
    languages: tuple[str, ...] | None = None

    def evaluate(self, fields: Mapping[str, str | None] | PreparedText) -> MatchResult:
        """Evaluate on named fields (``title``, ``summary``, ``text``); absent fields never match."""
        prepared = fields if isinstance(fields, PreparedText) else prepare_fields(fields)
        text = _Text(prepared, self._entry_languages(prepared))
        if not _matches(self.root, text):  # cheap, short-circuiting: most candidates stop here
            return MatchResult(False)
        found = _evaluate(self.root, text) or ()
        return MatchResult(True, tuple(dict.fromkeys(found)))

    def _entry_languages(self, prepared: PreparedText) -> tuple[str, ...] | None:
        if self.languages is None:
            return None
        return entry_languages(prepared.language(), self.languages)

    def __str__(self) -> str:
        return self.text


def compile_query(query: str, languages: Iterable[str] | None = None) -> Query:
    """Parse ``query`` (Lucene syntax, see the module docstring) into an evaluable :class:`Query`;
    with ``languages`` (codes, maybe none) its words also match inflected and transliterated forms."""
    if not query.strip():
        raise QueryError(query, "the query is empty")
    try:
        parsed = luqum_parse(query)
    except ParseError as exc:
        raise QueryError(query, _luqum_reason(exc), _luqum_position(exc, query)) from exc
    chosen = None if languages is None else tuple(languages)
    return Query(query, _convert(parsed, None, query), chosen)


def _luqum_reason(exc: ParseError) -> str:
    if isinstance(exc, IllegalCharacterError) and "'\"" in str(exc):
        return 'unterminated quoted phrase (a " without its closing ")'
    reason = str(exc).removeprefix("Syntax error in input : ").rstrip("!")
    reason = _LUQUM_POSITION.sub("", reason).removesuffix(" at the end")
    return " ".join(reason.split())


def _luqum_position(exc: ParseError, query: str) -> int:
    found = _LUQUM_POSITION.search(str(exc))
    return int(found.group(1)) if found else len(query)


def _convert(node: tree.Item, field: str | None, query: str) -> Node:
    if isinstance(node, tree.AndOperation | tree.UnknownOperation):
        return And(tuple(_convert(child, field, query) for child in node.children))
    if isinstance(node, tree.OrOperation):
        return Or(tuple(_convert(child, field, query) for child in node.children))
    if isinstance(node, tree.Not | tree.Prohibit):
        return Not(_convert(node.children[0], field, query))
    if isinstance(node, tree.Group | tree.FieldGroup | tree.Plus):
        return _convert(node.children[0], field, query)
    if isinstance(node, tree.SearchField):
        return _convert(node.expr, _field_name(node, field, query), query)
    if isinstance(node, tree.Word | tree.Phrase):
        return _term(node, field, query)
    what = _UNSUPPORTED.get(type(node), type(node).__name__)
    raise QueryError(query, f"unsupported syntax: {what}", _pos(node))


def _field_name(node: tree.SearchField, outer: str | None, query: str) -> str:
    name = str(node.name).lower()
    if name not in FIELDS:
        raise QueryError(query, f"unknown field {node.name!r} (fields: {', '.join(FIELDS)})", _pos(node))
    if outer is not None and outer != name:
        raise QueryError(query, f"field {name!r} is nested inside field {outer!r}", _pos(node))
    return name


def _term(node: tree.Word | tree.Phrase, field: str | None, query: str) -> Term:
    written = str(node.value)
    if isinstance(node, tree.Word) and written.lower() in _OPERATOR_WORDS:
        reason = f"{written!r} is read as a word: write operators in capitals ({written.upper()}) or quote it"
        raise QueryError(query, reason, _pos(node))
    tokens = _phrase_tokens(written) if isinstance(node, tree.Phrase) else _word_tokens(written)
    if not tokens:
        raise QueryError(query, f"{written!r} holds no letters or digits", _pos(node))
    if any(not token.strip("*?") for token in tokens):
        raise QueryError(query, f"{written!r} is a bare wildcard: it would match everything", _pos(node))
    label = written if field is None else f"{field}:{written}"
    surfaces = surface_tokens(written)
    return Term(label, tuple(tokens), field, tuple(surfaces) if len(surfaces) == len(tokens) else ())


def _phrase_tokens(written: str) -> list[str]:
    return tokenize(written)  # wildcards inside quotes are literal characters, as in Lucene


def _word_tokens(written: str) -> list[str]:
    unescaped = written.replace("\\*", " ").replace("\\?", " ").replace("\\", "")
    return _PATTERN_TOKEN.findall(fold(unescaped))


def _pos(node: tree.Item) -> int | None:
    pos = getattr(node, "pos", None)
    return pos if isinstance(pos, int) else None


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Text:
    """A prepared text and the languages its words are matched in (None: literally)."""

    prepared: PreparedText
    languages: tuple[str, ...] | None


def _matches(node: Node, text: _Text) -> bool:
    """Whether ``node`` matches, stopping as soon as the answer is known."""
    if isinstance(node, Term):
        return _term_hit(node, text) is not None
    if isinstance(node, Not):
        return not _matches(node.child, text)
    if isinstance(node, And):
        return all(_matches(child, text) for child in node.children)
    return any(_matches(child, text) for child in node.children)


def _evaluate(node: Node, text: _Text) -> tuple[str, ...] | None:
    """The matched positive terms, or None when ``node`` does not match."""
    if isinstance(node, Term):
        hit = _term_hit(node, text)
        return (hit,) if hit is not None else None
    if isinstance(node, Not):
        return None if _evaluate(node.child, text) is not None else ()
    if isinstance(node, And):
        return _evaluate_and(node.children, text)
    return _evaluate_or(node.children, text)


def _evaluate_and(children: Iterable[Node], text: _Text) -> tuple[str, ...] | None:
    found: list[str] = []
    for child in children:
        result = _evaluate(child, text)
        if result is None:
            return None
        found.extend(result)
    return tuple(found)


def _evaluate_or(children: Iterable[Node], text: _Text) -> tuple[str, ...] | None:
    results = [result for child in children if (result := _evaluate(child, text)) is not None]
    return tuple(term for result in results for term in result) if results else None


def _term_hit(term: Term, text: _Text) -> str | None:
    """How ``term`` matched: its label (literally), ``label ("form found")``, or None."""
    prepared = text.prepared
    if term.field is not None:
        field = prepared.fields.get(term.field)
        fields = [field] if field is not None else []
    else:
        fields = list(prepared.fields.values())
    if term.field is None and len(term.tokens) == 1:
        if _in_vocabulary(term.tokens[0], prepared.vocabulary, prepared.ordered):
            return term.label
    elif any(_field_hits(term.tokens, field) for field in fields):
        return term.label
    if text.languages is None or _wildcard(term):
        return None
    for field in fields:
        found = _form_hit(term, field, text.languages)
        if found is not None:
            return f'{term.label} ("{found}")'
    return None


def _wildcard(term: Term) -> bool:
    return any("*" in token or "?" in token for token in term.tokens)


def _form_hit(term: Term, field: FieldTokens, languages: tuple[str, ...]) -> str | None:
    """The text's words that share a form with the term's words (in a row for a phrase)."""
    wanted = [forms(token, languages, _surface(term, at)) for at, token in enumerate(term.tokens)]
    index = field.form_index(languages)
    if len(wanted) == 1:
        token = next((index[form] for form in sorted(wanted[0]) if form in index), None)
        return None if token is None else field.surfaces.get(token, token)
    if not all(any(form in index for form in options) for options in wanted):
        return None
    tokens, width = field.tokens, len(wanted)
    for i in range(len(tokens) - width + 1):
        window = tokens[i : i + width]
        if all(options & forms(token, languages, field.surfaces.get(token)) for options, token in
               zip(wanted, window, strict=True)):  # fmt: skip
            return " ".join(field.surfaces.get(token, token) for token in window)
    return None


def _surface(term: Term, at: int) -> str | None:
    return term.surfaces[at] if at < len(term.surfaces) else None


def _field_hits(patterns: tuple[str, ...], field: FieldTokens) -> bool:
    if len(patterns) == 1:
        return _in_vocabulary(patterns[0], field.vocabulary, field.ordered)
    if not all(_in_vocabulary(pattern, field.vocabulary, field.ordered) for pattern in patterns):
        return False
    tokens, width = field.tokens, len(patterns)
    return any(
        all(_token_is(pattern, token) for pattern, token in zip(patterns, tokens[i : i + width], strict=True))
        for i in range(len(tokens) - width + 1)
    )


def _in_vocabulary(pattern: str, vocabulary: frozenset[str], ordered: tuple[str, ...]) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern in vocabulary
    prefix = pattern[:-1]
    if pattern.endswith("*") and "*" not in prefix and "?" not in prefix:
        at = bisect_left(ordered, prefix)
        return at < len(ordered) and ordered[at].startswith(prefix)
    regex = _wildcard_regex(pattern)
    return any(regex.fullmatch(token) for token in ordered)


def _token_is(pattern: str, token: str) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern == token
    return _wildcard_regex(pattern).fullmatch(token) is not None


@lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts))
