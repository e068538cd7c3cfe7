"""Full-text search over archived versions: SQLite FTS5 or PostgreSQL tsvector (migration 0002).

Search text is a list of words that must all occur; ``"quoted words"`` is a phrase, ``word*`` a
prefix, ``-word`` (or ``-"a phrase"``) excludes. Anything else in the text is taken literally:
punctuation and quotes never make the backend raise: each term is handed to the backend's own
tokenizer as a quoted FTS5 string or as ``phraseto_tsquery`` text, never as query syntax.
Matching is case-insensitive, accent-insensitive and without stemming on both backends (FTS5
``unicode61 remove_diacritics 2``; PostgreSQL's ``storytrail_search`` configuration: ``simple``
after ``unaccent``, migration 0008), so ``Kyiv`` finds ``Kyïv`` and both find the same versions
(but for rare tokenizer differences: PostgreSQL keeps ``U.S.`` or ``e-mail`` as words of their
own and also indexes their parts). A PostgreSQL whose role could not create the ``unaccent``
extension searches accent-sensitively.

Ranking costs what a page of hits costs, not what every match of a frequent word would: the
index hands back at most :data:`CANDIDATES` matching versions (the most recently stored first:
FTS5 reads its doclists backwards; PostgreSQL, for latest versions, walks the primary key
backwards over the newest :data:`RECENT_WINDOW` versions and takes any older candidates from the
partial GIN index of latest versions, sorted by id; for all versions the planner walks the
primary key or sorts the GIN matches), only those are ranked (bm25, title 4 / byline 2 / text 1;
``ts_rank_cd``), and snippets are made for the returned hits only. A word matched by fewer
versions than that is ranked over all of its matches. On SQLite the snippets come from one more
MATCH over the rowid range of the hits, not one MATCH per hit (``+rowid`` keeps the planner from
that): FTS5 builds a prefix term's merged doclist again for every MATCH, which made ``fabric*``
20 times a full merge.

By default only the latest version of each document and channel is searched ("what the coverage
says now": ``version.latest``, migration 0011); ``all_versions=True`` searches every version, so
a sentence that was later edited out is still found. With ``until`` the latest version is the
one current at that time.
Tombstones are never hits.

    SearchError
     ├── InvalidQueryError        the text has no word to look for, or the filters contradict
     │    └── EmptyQueryError     the text is empty
     └── SearchUnavailableError   the database has no full-text index (migration 0002 not applied)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from storage.timeline import outlet
from storage.types import UTCDateTime

MARK_START, MARK_END = "\ue000", "\ue001"  # private-use sentinels around matches in snippets
SNIPPET_TOKENS = 24
CANDIDATES = 1000  # matching versions ranked at most (the newest); see the module docstring
RECENT_WINDOW = 20_000  # PostgreSQL: newest versions walked for latest-version candidates (see below)
TS_CONFIG = "storytrail_search"  # PostgreSQL text search configuration (migration 0008)
_WORD = re.compile(r"[^\W_]+")
_TERM = re.compile(r'(-?)("[^"]*"|“[^”]*”|\S+)')
_MARKED = re.compile(f"{MARK_START}(.*?){MARK_END}", re.DOTALL)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SearchError(ValueError):
    """A search could not run."""


class InvalidQueryError(SearchError):
    """The search text or filters cannot give a result."""


class EmptyQueryError(InvalidQueryError):
    """The search text is empty."""


class SearchUnavailableError(SearchError):
    """The database has no full-text index."""


@dataclass(frozen=True, slots=True)
class Term:
    """One part of a query: ``text`` as the user wrote it (a word, a phrase, a token with
    punctuation), the ``words`` in it, maybe a prefix (``word*``), maybe excluded (``-word``)."""

    text: str
    words: tuple[str, ...]
    prefix: bool = False
    negated: bool = False


def parse_query(text: str) -> tuple[Term, ...]:
    """The terms of ``text``; raises :class:`InvalidQueryError` when nothing is left to look for."""
    if not text or not text.strip():
        raise EmptyQueryError("search text is empty: give at least one word to look for")
    text = _CONTROL.sub(" ", text)  # NUL ends an FTS5 string and PostgreSQL refuses it
    terms = tuple(term for match in _TERM.finditer(text) if (term := _term(*match.groups())) is not None)
    if not any(not t.negated for t in terms):
        raise InvalidQueryError(
            f"search text {text!r} has no word to look for (punctuation alone is ignored; "
            "-word only excludes)"
        )
    return terms


def _term(sign: str, raw: str) -> Term | None:
    quoted = len(raw) >= 2 and (raw[0], raw[-1]) in (('"', '"'), ("“", "”"))
    text = raw[1:-1] if quoted else raw
    prefix = not quoted and text.endswith("*")
    text = text.rstrip("*").strip() if prefix else text.strip()
    words = tuple(_WORD.findall(text))
    if not words:  # punctuation alone: the backends' tokenizers would find nothing either
        return None
    return Term(text=text, words=words, prefix=prefix, negated=sign == "-")


def fts5_match(terms: tuple[Term, ...]) -> str:
    """An FTS5 MATCH expression: every term a quoted string (FTS5 tokenizes it like the indexed
    text), so nothing the user typed is read as FTS5 syntax."""
    positive = " AND ".join(_fts5_term(t) for t in terms if not t.negated)
    negative = "".join(f" NOT {_fts5_term(t)}" for t in terms if t.negated)
    return positive + negative


def _fts5_term(term: Term) -> str:
    quoted = '"' + term.text.replace('"', '""') + '"'
    return quoted + "*" if term.prefix else quoted


def tsquery_sql(terms: tuple[Term, ...]) -> tuple[str, dict[str, str]]:
    """A PostgreSQL tsquery expression and its bound parameters.

    A term goes to ``phraseto_tsquery`` as typed (PostgreSQL's parser splits it exactly as it
    split the indexed text, and never raises); a prefix term to ``to_tsquery`` as word tokens
    joined by ``<->`` with ``:*`` on the last, a string of letters, digits and operators only."""
    parts, params = [], {}
    for at, term in enumerate(terms):
        name = f"t{at}"
        if term.prefix:
            params[name] = prefix_tsquery(term)
            expression = f"to_tsquery('{TS_CONFIG}', :{name})"
        else:
            params[name] = term.text
            expression = f"phraseto_tsquery('{TS_CONFIG}', :{name})"
        parts.append(f"!!{expression}" if term.negated else expression)
    return " && ".join(parts), params


def prefix_tsquery(term: Term) -> str:
    return " <-> ".join([*term.words[:-1], term.words[-1] + ":*"])


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching version, with a snippet whose matched words are marked."""

    version_id: int
    document_id: int
    url: str
    channel: str
    seq: int
    kind: str
    observed_at: datetime
    title: str | None
    rank: float
    parts: tuple[tuple[str, bool], ...]  # the snippet: (text, matched) pieces in order

    @property
    def outlet(self) -> str:
        return outlet(self.url)

    def snippet(self, start: str = "**", end: str = "**") -> str:
        """The snippet text with every match between ``start`` and ``end``."""
        return "".join(f"{start}{text}{end}" if hit else text for text, hit in self.parts)

    @property
    def matched(self) -> tuple[str, ...]:
        return tuple(text for text, hit in self.parts if hit)

    def to_json(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id, "document_id": self.document_id, "url": self.url,
            "outlet": self.outlet, "channel": self.channel, "seq": self.seq, "kind": self.kind,
            "observed_at": self.observed_at.isoformat().replace("+00:00", "Z"), "title": self.title,
            "rank": self.rank, "snippet": self.snippet(), "snippet_parts": [list(p) for p in self.parts],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class DocumentHit:
    """One article (or post) in a result list: its best hit and its other matching channels and
    versions (a feed entry and its page are one article to a reader)."""

    best: SearchHit
    others: tuple[SearchHit, ...] = ()

    @property
    def hits(self) -> tuple[SearchHit, ...]:
        return (self.best, *self.others)


def by_document(hits: list[SearchHit]) -> list[DocumentHit]:
    """``hits`` grouped by document, in the order of each document's best hit."""
    groups: dict[int, list[SearchHit]] = {}
    for hit in hits:
        groups.setdefault(hit.document_id, []).append(hit)
    return [DocumentHit(group[0], tuple(group[1:])) for group in groups.values()]


def split_marked(snippet: str) -> tuple[tuple[str, bool], ...]:
    """(text, matched) pieces of a snippet marked with :data:`MARK_START` / :data:`MARK_END`."""
    pieces = _MARKED.split(_SPACE.sub(" ", snippet).strip())
    parts: list[tuple[str, bool]] = []
    for at, text in enumerate(pieces):
        hit = at % 2 == 1
        if hit and len(parts) >= 2 and parts[-2][1] and not parts[-1][1] and not parts[-1][0].strip():
            gap = parts.pop()[0]  # "**a** **b**" reads better as "**a b**"
            parts[-1] = (parts[-1][0] + gap + text, True)
        elif text:
            parts.append((text, hit))
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class Filters:
    story_id: int | None = None
    source_id: int | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    all_versions: bool = False


def search(
    session: Session,
    text: str,
    *,
    story_id: int | None = None,
    source_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    all_versions: bool = False,
    channel: str | None = None,
    limit: int = 50,
) -> list[SearchHit]:
    """Versions matching ``text``, best first (see the module docstring for the query syntax)."""
    terms = parse_query(text)
    if limit < 1:
        raise InvalidQueryError(f"limit must be at least 1 (got {limit})")
    if since and until and since > until:
        raise InvalidQueryError(f"since ({since.isoformat()}) is later than until ({until.isoformat()})")
    filters = Filters(story_id, source_id, channel, since, until, all_versions)
    dialect = session.get_bind().dialect.name
    statement, params = _statement(dialect, terms, filters, limit)
    try:
        rows = session.execute(statement, params).mappings().all()
    except (OperationalError, ProgrammingError) as exc:
        if _index_missing(exc):
            raise SearchUnavailableError(
                "this database has no full-text index: run `storytrail init` (alembic upgrade head)"
            ) from exc
        raise
    return [_hit(row) for row in rows]


def _statement(dialect: str, terms: tuple[Term, ...], f: Filters, limit: int) -> tuple[Any, dict[str, Any]]:
    where, params = _filters(f)
    params["limit"], params["candidates"] = limit, max(limit, CANDIDATES)
    if dialect == "sqlite":
        sql, params["match"] = _SQLITE.format(where=where), fts5_match(terms)
        params |= {"start": MARK_START, "end": MARK_END, "ellipsis": "…", "tokens": SNIPPET_TOKENS}
    elif dialect == "postgresql":
        query, query_params = tsquery_sql(terms)
        latest = not f.all_versions and f.until is None
        join = "JOIN document d ON d.id = v.document_id" if f.source_id is not None else ""
        candidates = (_PG_LATEST_CANDIDATES if latest else _PG_CANDIDATES).format(
            where=where, query=query, join=join
        )
        sql = _POSTGRES.format(candidates=candidates, query=query, config=TS_CONFIG)
        if latest:
            params["window"] = RECENT_WINDOW
        params |= query_params
        params["options"] = f'StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=15, ' \
                            'MaxFragments=2, FragmentDelimiter=" … "'  # fmt: skip
    else:
        raise SearchUnavailableError(f"full-text search is not implemented for {dialect}")
    binds = [sa.bindparam(name, type_=UTCDateTime()) for name in ("since", "until") if name in params]
    statement = sa.text(sql).bindparams(*binds).columns(observed_at=UTCDateTime())
    return statement, params


def _filters(f: Filters) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = ["v.kind <> 'tombstone'"]
    params: dict[str, Any] = {}
    if f.story_id is not None:
        clauses.append(
            "v.document_id IN (SELECT sd.document_id FROM story_document sd WHERE sd.story_id = :story_id)"
        )
        params["story_id"] = f.story_id
    if f.source_id is not None:
        clauses.append("d.source_id = :source_id")
        params["source_id"] = f.source_id
    if f.channel is not None:
        clauses.append("v.channel = :channel")
        params["channel"] = f.channel
    if f.since is not None:
        clauses.append("v.observed_at >= :since")
        params["since"] = f.since
    if f.until is not None:
        clauses.append("v.observed_at <= :until")
        params["until"] = f.until
    if not f.all_versions and f.until is None:
        clauses.append("v.latest")
    elif not f.all_versions:
        clauses.append(_CURRENT_AT_UNTIL)
    return " AND ".join(clauses), params


# the version current at ``until``: no later version of its channel observed by then
_CURRENT_AT_UNTIL = (
    "NOT EXISTS (SELECT 1 FROM version later WHERE later.document_id = v.document_id "
    "AND later.channel = v.channel AND later.seq > v.seq AND later.observed_at <= :until)"
)

_SQLITE = """
WITH candidates AS (
    SELECT version_fts.rowid AS id, -bm25(version_fts, 4.0, 2.0, 1.0) AS score
    FROM version_fts
    JOIN version v ON v.id = version_fts.rowid
    JOIN document d ON d.id = v.document_id
    WHERE version_fts MATCH :match AND {where}
    ORDER BY version_fts.rowid DESC
    LIMIT :candidates
), best AS (
    SELECT id, score FROM candidates ORDER BY score DESC, id DESC LIMIT :limit
)
SELECT v.id AS version_id, v.document_id, d.url, v.channel, v.seq, v.kind, v.observed_at, v.title,
       snippet(version_fts, -1, :start, :end, :ellipsis, :tokens) AS snippet, best.score
FROM version_fts
CROSS JOIN best ON best.id = +version_fts.rowid
JOIN version v ON v.id = best.id
JOIN document d ON d.id = v.document_id
WHERE version_fts MATCH :match
  AND version_fts.rowid BETWEEN (SELECT min(id) FROM best) AND (SELECT max(id) FROM best)
ORDER BY best.score DESC, v.observed_at DESC, v.id DESC
"""

_PG_CANDIDATES = """candidates AS MATERIALIZED (
    SELECT v.id
    FROM version v {join}
    WHERE v.search_tsv @@ ({query}) AND {where}
    ORDER BY v.id DESC
    LIMIT :candidates
)"""

# The newest CANDIDATES matching latest versions, in two bounded steps. The planner prices
# ``search_tsv @@`` as a cheap filter, but on a row it detoasts a ~5 kB tsvector: walking the
# primary key backwards through every latest version for a rarer word cost 2.2 s at 90,609
# versions. So the walk backwards is confined to the newest RECENT_WINDOW versions (it stops
# sooner for a frequent word, whose candidates are all there); only when that finds fewer than
# CANDIDATES, the older matches come from the GIN index of latest versions
# (ix_version_latest_search_tsv, migration 0011): a bitmap of the word's latest matches, never
# a walk (``v.id + 0`` is no index order). Same rows as one ``ORDER BY v.id DESC LIMIT``.
_PG_LATEST_CANDIDATES = """edge AS MATERIALIZED (
    SELECT coalesce(max(id), 0) - :window AS id FROM version
), recent AS MATERIALIZED (
    SELECT v.id
    FROM version v {join}
    WHERE v.id > (SELECT id FROM edge) AND v.search_tsv @@ ({query}) AND {where}
    ORDER BY v.id DESC
    LIMIT :candidates
), older AS MATERIALIZED (
    SELECT v.id
    FROM version v {join}
    WHERE (SELECT count(*) FROM recent) < :candidates
      AND v.id + 0 <= (SELECT id FROM edge) AND v.search_tsv @@ ({query}) AND {where}
    ORDER BY v.id + 0 DESC
    LIMIT :candidates
), candidates AS (
    SELECT id FROM recent
    UNION ALL
    (SELECT id FROM older ORDER BY id DESC LIMIT :candidates - (SELECT count(*) FROM recent))
)"""

_POSTGRES = """
WITH {candidates}, hits AS (
    SELECT v.id AS version_id, v.document_id, d.url, v.channel, v.seq, v.kind, v.observed_at, v.title,
           ts_rank_cd(v.search_tsv, {query}) AS score
    FROM candidates c
    JOIN version v ON v.id = c.id
    JOIN document d ON d.id = v.document_id
    ORDER BY score DESC, v.observed_at DESC, v.id DESC
    LIMIT :limit
)
SELECT hits.*, ts_headline('{config}', CASE WHEN to_tsvector('{config}', left(v.text, 500000)) @@ ({query})
                                         THEN left(v.text, 500000)
                                         ELSE concat_ws(E'\\n', v.title, v.byline, left(v.text, 500000)) END,
                           {query}, :options) AS snippet
FROM hits
JOIN version v ON v.id = hits.version_id
ORDER BY hits.score DESC, hits.observed_at DESC, hits.version_id DESC
"""


def _hit(row: Any) -> SearchHit:
    return SearchHit(
        version_id=row["version_id"], document_id=row["document_id"], url=row["url"], channel=row["channel"],
        seq=row["seq"], kind=row["kind"], observed_at=row["observed_at"], title=row["title"],
        rank=float(row["score"] or 0.0), parts=split_marked(row["snippet"] or ""),
    )  # fmt: skip


def _index_missing(exc: Exception) -> bool:
    message = str(getattr(exc, "orig", exc))
    return "version_fts" in message or "search_tsv" in message
