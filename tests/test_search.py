"""Full-text search (migration 0002: FTS5 on SQLite, tsvector + GIN on PostgreSQL), on both backends."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from storage import catalog
from storage import documents as docs
from storage.migrate import alembic_config
from storage.search import (
    EmptyQueryError,
    InvalidQueryError,
    SearchUnavailableError,
    Term,
    fts5_match,
    parse_query,
    prefix_tsquery,
    search,
    tsquery_sql,
)
from tests.fixtures.reading.story import ONLY_IN_V1, build_story

T0 = datetime(2025, 12, 29, 19, tzinfo=UTC)


def add_doc(session, url: str, versions: list[tuple[str, str]], *, source_id=None, start=T0) -> int:
    """A document with versions (title, text), one hour apart."""
    doc, _ = docs.get_or_create_document(session, url=url, now=start, source_id=source_id)
    for seq, (title, text) in enumerate(versions, start=1):
        at = start + timedelta(hours=seq - 1)
        docs.add_version(session, document_id=doc.id, channel="page", seq=seq, observed_at=at,
                         last_confirmed_at=at, content_hash=f"{url}#{seq}", title=title,
                         text=text)  # fmt: skip
    session.commit()
    return doc.id


async def test_sentence_only_in_an_earlier_version(server, services, engine, clock):
    arc = await build_story(server, services, clock)
    with Session(engine) as s:
        # the same words in a document that is not in the story
        other = add_doc(s, "https://other.example/x", [("Unrelated", ONLY_IN_V1)])
        sid = catalog.get_story(s, slug="valdai").id
        latest = search(s, "deliberate attack", story_id=sid)
        every = search(s, "deliberate attack", story_id=sid, all_versions=True)
        phrase = search(s, '"deliberate attack"', all_versions=True)
    assert latest == []
    assert [(h.url, h.seq) for h in every] == [(arc.url_a, 1)]
    hit = every[0]
    assert "deliberate attack" in [m.lower() for m in hit.matched]
    assert "**deliberate attack**" in hit.snippet().lower() and hit.outlet == "127.0.0.1"
    assert hit.observed_at == arc.times["a1"] and hit.kind == "normal"
    assert {h.document_id for h in phrase} == {hit.document_id, other}


async def test_latest_as_of_until_and_tombstones(server, services, engine, clock):
    arc = await build_story(server, services, clock)
    with Session(engine) as s:
        sid = catalog.get_story(s, slug="valdai").id
        now_hits = search(s, "revise stance", story_id=sid)
        then_hits = search(s, "revise stance", story_id=sid, until=arc.times["a3"] + timedelta(minutes=5))
        while_gone = search(s, "Kremlin", story_id=sid, until=arc.times["b2"])
        every_kind = {h.kind for h in search(s, "Kremlin", story_id=sid, all_versions=True)}
        since = search(s, "Valdai", story_id=sid, all_versions=True, since=arc.times["a3"])
    assert [(h.url, h.seq) for h in now_hits] == [(arc.url_b, 3)]  # A's v4 reverted the sentence away
    assert sorted((h.url, h.seq) for h in then_hits) == sorted([(arc.url_a, 3), (arc.url_b, 1)])
    assert arc.url_b not in {h.url for h in while_gone}  # deleted then: its latest is a tombstone
    assert "tombstone" not in every_kind
    assert all(h.observed_at >= arc.times["a3"] for h in since) and {h.seq for h in since} >= {3, 4}


FIRST_TITLE = "U.S.-Russia talks: Putin's residence"
NASTY = [
    "\"Putin's residence",
    "Putin's",
    "U.S.-Russia talks",
    "a:b OR (c",
    "NEAR(drones residence",
    "title:Valdai",
    "'; DROP TABLE version; --",
    "drone*",
    "*drone",
    "“residence near Valdai”",
    "Валдай",
    "résidence",
    "Valdai % ^ ~ ? & | ! < > { } [ ] \\ --",
    "Valdai -",
    "résidence",
    "Valdai\x00drones",
]


def test_punctuation_and_quotes_never_raise(engine):
    with Session(engine) as s:
        add_doc(s, "https://a.example/1", [(FIRST_TITLE, "Drones near Valdai (Валдай).")])
        add_doc(
            s, "https://a.example/2", [("Résidence", "Une résidence près de Valdaï; drone strike denied.")]
        )
        results = {q: search(s, q) for q in NASTY}
    assert len(results["\"Putin's residence"]) == 1  # unbalanced quote: taken as words
    assert len(results["Putin's"]) == 1 and len(results["U.S.-Russia talks"]) == 1
    assert len(results["drone*"]) == 2 and len(results["*drone"]) == 1  # a prefix only at the end
    assert len(results["Валдай"]) == 1
    assert len(results["title:Valdai"]) == 0  # no field syntax: both words are needed
    assert results["'; DROP TABLE version; --"] == []
    assert results["“residence near Valdai”"] == []  # a phrase: these words in a row (in neither document)
    # accents do not count (both backends): résidence finds residence, Valdai finds Valdaï
    assert sorted(h.url for h in results["résidence"]) == ["https://a.example/1", "https://a.example/2"]
    assert len(results["Valdai % ^ ~ ? & | ! < > { } [ ] \\ --"]) == 2 and len(results["Valdai -"]) == 2
    with Session(engine) as s:
        # the tables survived; case does not matter
        assert sorted(h.url for h in search(s, "VALDAÏ")) == ["https://a.example/1", "https://a.example/2"]
        assert [h.url for h in search(s, "drone* -russia")] == ["https://a.example/2"]  # -word excludes


def test_empty_and_wordless_queries_fail_clearly(engine):
    with Session(engine) as s:
        for text in ("", "   ", "\n"):
            with pytest.raises(EmptyQueryError, match="search text is empty"):
                search(s, text)
        with pytest.raises(InvalidQueryError, match="no word to look for"):
            search(s, "!!! ...")
        with pytest.raises(InvalidQueryError, match="no word to look for"):
            search(s, "-Putin")
        with pytest.raises(InvalidQueryError, match="later than"):
            search(s, "Putin", since=T0, until=T0 - timedelta(days=1))


def test_filters_source_and_channel(engine):
    with Session(engine) as s:
        src, _ = catalog.upsert_source(s, name="wire", now=T0, kind="feed", url="https://wire.example/rss")
        s.commit()
        add_doc(s, "https://wire.example/a", [("Valdai claim", "Drones over Valdai.")], source_id=src.id)
        add_doc(s, "https://blog.example/b", [("Valdai claim", "Drones over Valdai.")])
        assert [h.url for h in search(s, "Valdai", source_id=src.id)] == ["https://wire.example/a"]
        assert len(search(s, "Valdai")) == 2 and search(s, "Valdai", channel="feed") == []
        assert len(search(s, "Valdai", limit=1)) == 1


def test_ranking_prefers_title(engine):
    with Session(engine) as s:
        add_doc(
            s,
            "https://r.example/body",
            [("Other news", "A long text that mentions Valdai once among others.")],
        )
        add_doc(s, "https://r.example/title", [("Valdai", "Nothing else here.")])
        hits = search(s, "Valdai")
    assert [h.url for h in hits] == ["https://r.example/title", "https://r.example/body"]
    assert hits[0].rank >= hits[1].rank


def test_migration_downgrade_and_upgrade_rebuild_the_index(engine):
    with Session(engine) as s:
        add_doc(s, "https://m.example/a", [("Valdai", "Drones.")])
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    with Session(engine) as s, pytest.raises(SearchUnavailableError, match="storytrail init"):
        search(s, "Valdai")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with Session(engine) as s:
        assert [h.url for h in search(s, "drones")] == ["https://m.example/a"]  # existing rows indexed
        add_doc(s, "https://m.example/b", [("Later", "More drones.")])  # and new ones by the triggers
        assert len(search(s, "drones")) == 2


def test_parse_query():
    terms = parse_query('Putin "drone attack" U.S.-led resid* -Trump " ! "')
    assert terms == (
        Term("Putin", ("Putin",)),
        Term("drone attack", ("drone", "attack")),
        Term("U.S.-led", ("U", "S", "led")),
        Term("resid", ("resid",), prefix=True),
        Term("Trump", ("Trump",), negated=True),
    )
    assert fts5_match(terms) == '"Putin" AND "drone attack" AND "U.S.-led" AND "resid"* NOT "Trump"'
    sql, params = tsquery_sql(terms)
    c = "'storytrail_search'"
    assert sql == (f"phraseto_tsquery({c}, :t0) && phraseto_tsquery({c}, :t1) && "
                   f"phraseto_tsquery({c}, :t2) && to_tsquery({c}, :t3) && "
                   f"!!phraseto_tsquery({c}, :t4)")  # fmt: skip
    assert params == {"t0": "Putin", "t1": "drone attack", "t2": "U.S.-led", "t3": "resid:*", "t4": "Trump"}
    assert parse_query('say "it\'s" 2x*')[-1] == Term("2x", ("2x",), prefix=True)


@given(st.text(max_size=40))
def test_any_text_is_a_valid_fts5_query(text):
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61 remove_diacritics 2')")
        db.execute("INSERT INTO t VALUES ('Putin residence drones Valdai')")
        try:
            terms = parse_query(text)
        except InvalidQueryError:
            return
        db.execute("SELECT count(*) FROM t WHERE t MATCH ?", (fts5_match(terms),)).fetchone()
        for term in terms:
            if term.prefix:  # the only text that reaches to_tsquery: letters, digits, <->, :*
                assert re.fullmatch(r"[^\W_]+( <-> [^\W_]+)*:\*", prefix_tsquery(term))


async def test_search_command(server, services, engine, clock, db_url, tmp_path):
    import json

    from jobs.cli.common import CLIError
    from storage.documents import NotFoundError
    from tests.fixtures.reading.story import invoke, run_cli

    arc = await build_story(server, services, clock)
    every = run_cli(db_url, "search", "deliberate attack", "--story", "valdai", "--all-versions", "--json",
                    cwd=tmp_path)  # fmt: skip
    assert every.returncode == 0, every.stderr
    data = json.loads(every.stdout)
    assert data["all_versions"] is True and [(h["url"], h["seq"]) for h in data["hits"]] == [(arc.url_a, 1)]
    assert "**deliberate attack**" in data["hits"][0]["snippet"].lower()
    latest = invoke(db_url, "search", "deliberate attack", "--story", "valdai", "--json")
    assert latest.exit_code == 0 and json.loads(latest.stdout)["hits"] == []
    human = invoke(db_url, "search", "deliberate attack", "--all-versions")
    assert human.exit_code == 0 and arc.url_a in human.stdout and "deliberate attack" in human.stdout
    none = invoke(db_url, "search", "deliberate attack")
    assert none.exit_code == 0 and "try --all-versions" in none.stderr
    empty = invoke(db_url, "search", "  ")
    assert isinstance(empty.exception, CLIError) and empty.exception.code == 2
    assert str(empty.exception).startswith("search TEXT: search text is empty")
    source = invoke(db_url, "search", "Valdai", "--source", "nowhere")
    assert isinstance(source.exception, NotFoundError)
    assert "no source named 'nowhere'" in str(source.exception)


def test_accents_never_count_on_either_backend(engine):
    with Session(engine) as s:
        add_doc(s, "https://a.example/kyiv", [("Kyïv says", "Zelenský called it a fabrication in Kyïv.")])
        add_doc(s, "https://a.example/plain", [("Kyiv says", "Zelensky called it a fabrication.")])
        found = {
            q: sorted(h.url[-4:] for h in search(s, q)) for q in ("kyiv", "ZELENSKÝ", '"kyïv says"', "zelen*")
        }
    assert found == dict.fromkeys(("kyiv", "ZELENSKÝ", '"kyïv says"', "zelen*"), ["kyiv", "lain"])


def test_only_the_newest_candidates_are_ranked(engine, monkeypatch):
    """A frequent word never ranks every match: the index hands back CANDIDATES versions, newest
    first, and only those are ranked (the best match of all, stored first, falls outside)."""
    with Session(engine) as s:
        best = add_doc(s, "https://a.example/best", [("Kremlin Kremlin", "Kremlin Kremlin Kremlin.")])
        for n in range(4):
            add_doc(s, f"https://a.example/{n}", [("Talks", f"Long text {n} " * 40 + "and the Kremlin.")])
        everything = search(s, "kremlin")
        monkeypatch.setattr("storage.search.CANDIDATES", 3)
        newest = search(s, "kremlin", limit=2)
    assert everything[0].document_id == best and len(everything) == 5
    assert len(newest) == 2 and best not in {h.document_id for h in newest}
    assert all(h.snippet() for h in newest)
