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

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.thread import parse as luqum_parse

FIELDS = ("title", "summary", "text")
_TOKEN = re.compile(r"\w+")
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


# --- folding and tokens -------------------------------------------------------------------


def fold(text: str) -> str:
    """Case- and accent-free form of ``text``: ``"Valdaï PUTIN"`` -> ``"valdai putin"``."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokenize(text: str) -> list[str]:
    """The folded word tokens of ``text`` (letters, digits and underscores)."""
    return _TOKEN.findall(fold(text))


@dataclass(frozen=True, slots=True)
class FieldTokens:
    """One field of a text, tokenized once so that many queries can be evaluated on it."""

    tokens: tuple[str, ...]
    vocabulary: frozenset[str]
    ordered: tuple[str, ...]  # the vocabulary, sorted: prefix terms bisect it

    @classmethod
    def of(cls, text: str) -> FieldTokens:
        tokens = tuple(tokenize(text))
        vocabulary = frozenset(tokens)
        return cls(tokens, vocabulary, tuple(sorted(vocabulary)))


@dataclass(frozen=True, slots=True)
class PreparedText:
    """Named fields (title, summary, text), each tokenized: what a :class:`Query` evaluates."""

    fields: Mapping[str, FieldTokens]
    vocabulary: frozenset[str] = frozenset()  # of all fields: one lookup for an unfielded word
    ordered: tuple[str, ...] = ()


def prepare_fields(fields: Mapping[str, str | None]) -> PreparedText:
    """Tokenize each non-empty field once; ``None`` and empty fields are left out."""
    prepared = {name: FieldTokens.of(value) for name, value in fields.items() if value}
    vocabulary = frozenset().union(*(field.vocabulary for field in prepared.values()))
    return PreparedText(prepared, vocabulary, tuple(sorted(vocabulary)))


# --- the compiled query -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a wildcard pattern or a phrase (several tokens), optionally bound to a field."""

    label: str  # as written in the query, for match reasons
    tokens: tuple[str, ...]  # folded; may contain * and ?
    field: str | None = None


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
    """A compiled story query. Build it with :func:`compile_query`."""

    text: str
    root: Node

    def evaluate(self, fields: Mapping[str, str | None] | PreparedText) -> MatchResult:
        """Evaluate on named fields (``title``, ``summary``, ``text``); absent fields never match."""
        prepared = fields if isinstance(fields, PreparedText) else prepare_fields(fields)
        if not _matches(self.root, prepared):  # cheap, short-circuiting: most candidates stop here
            return MatchResult(False)
        found = _evaluate(self.root, prepared) or ()
        return MatchResult(True, tuple(dict.fromkeys(found)))

    def __str__(self) -> str:
        return self.text


def compile_query(query: str) -> Query:
    """Parse ``query`` (Lucene syntax, see the module docstring) into an evaluable :class:`Query`."""
    if not query.strip():
        raise QueryError(query, "the query is empty")
    try:
        parsed = luqum_parse(query)
    except ParseError as exc:
        raise QueryError(query, _luqum_reason(exc), _luqum_position(exc, query)) from exc
    return Query(query, _convert(parsed, None, query))


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
    return Term(label, tuple(tokens), field)


def _phrase_tokens(written: str) -> list[str]:
    return tokenize(written)  # wildcards inside quotes are literal characters, as in Lucene


def _word_tokens(written: str) -> list[str]:
    unescaped = written.replace("\\*", " ").replace("\\?", " ").replace("\\", "")
    return _PATTERN_TOKEN.findall(fold(unescaped))


def _pos(node: tree.Item) -> int | None:
    pos = getattr(node, "pos", None)
    return pos if isinstance(pos, int) else None


# --- evaluation ---------------------------------------------------------------------------


def _matches(node: Node, text: PreparedText) -> bool:
    """Whether ``node`` matches, stopping as soon as the answer is known."""
    if isinstance(node, Term):
        return _term_hits(node, text)
    if isinstance(node, Not):
        return not _matches(node.child, text)
    if isinstance(node, And):
        return all(_matches(child, text) for child in node.children)
    return any(_matches(child, text) for child in node.children)


def _evaluate(node: Node, text: PreparedText) -> tuple[str, ...] | None:
    """The matched positive terms, or None when ``node`` does not match."""
    if isinstance(node, Term):
        return (node.label,) if _term_hits(node, text) else None
    if isinstance(node, Not):
        return None if _evaluate(node.child, text) is not None else ()
    if isinstance(node, And):
        return _evaluate_and(node.children, text)
    return _evaluate_or(node.children, text)


def _evaluate_and(children: Iterable[Node], text: PreparedText) -> tuple[str, ...] | None:
    found: list[str] = []
    for child in children:
        result = _evaluate(child, text)
        if result is None:
            return None
        found.extend(result)
    return tuple(found)


def _evaluate_or(children: Iterable[Node], text: PreparedText) -> tuple[str, ...] | None:
    results = [result for child in children if (result := _evaluate(child, text)) is not None]
    return tuple(term for result in results for term in result) if results else None


def _term_hits(term: Term, text: PreparedText) -> bool:
    if term.field is not None:
        field = text.fields.get(term.field)
        return field is not None and _field_hits(term.tokens, field)
    if len(term.tokens) == 1:
        return _in_vocabulary(term.tokens[0], text.vocabulary, text.ordered)
    return any(_field_hits(term.tokens, field) for field in text.fields.values())


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
