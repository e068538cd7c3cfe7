"""The story query language: parsing (luqum), errors, evaluation, and its algebraic properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.core.query import (
    FIELDS,
    And,
    MatchResult,
    Not,
    Or,
    PreparedText,
    QueryError,
    Term,
    compile_query,
    fold,
    prepare_fields,
    tokenize,
)

VALDAI = "(Putin OR Kremlin) AND (residence OR Valdai OR Novgorod) AND drone*"


def evaluate(query: str, title: str = "", summary: str = "", text: str | None = None) -> MatchResult:
    return compile_query(query).evaluate({"title": title, "summary": summary, "text": text})


# --- folding ------------------------------------------------------------------------------


def test_fold_removes_case_and_accents():
    assert fold("Valdaï PUTIN Café Ñandú") == "valdai putin cafe nandu"
    assert fold("Straße") == "strasse"
    assert fold("ﬁle") == "file"


def test_tokenize_splits_on_punctuation():
    assert tokenize("Putin's 91-drone 'attack'!") == ["putin", "s", "91", "drone", "attack"]
    assert tokenize("Путин, Новгород") == ["путин", "новгород"]


# --- parsing ------------------------------------------------------------------------------


def test_design_example_compiles_to_the_expected_tree():
    query = compile_query(VALDAI)
    assert query.root == And(
        (
            Or((Term("Putin", ("putin",)), Term("Kremlin", ("kremlin",)))),
            Or(
                (
                    Term("residence", ("residence",)),
                    Term("Valdai", ("valdai",)),
                    Term("Novgorod", ("novgorod",)),
                )
            ),
            Term("drone*", ("drone*",)),
        )
    )
    assert str(query) == VALDAI


def test_implicit_operator_between_bare_terms_is_and():
    assert compile_query("Putin drone*").root == compile_query("Putin AND drone*").root
    assert not evaluate("Putin drone*", "Putin speaks").matched
    assert evaluate("Putin drone*", "Putin speaks about drones").matched


def test_minus_and_not_are_negation_and_plus_is_required():
    assert compile_query("-Trump").root == Not(Term("Trump", ("trump",)))
    assert compile_query("NOT Trump").root == Not(Term("Trump", ("trump",)))
    assert compile_query("+Putin").root == Term("Putin", ("putin",))


def test_operator_precedence_follows_lucene():
    # a OR b AND c == a OR (b AND c)
    assert evaluate("a OR b AND c", "a").matched
    assert not evaluate("a OR b AND c", "b").matched
    assert evaluate("(a OR b) AND c", "b c").matched


def test_phrase_needs_consecutive_tokens_in_order():
    assert evaluate('"drone attack"', "a drone attack on Valdai").matched
    assert evaluate('"drone attack"', "Drone-attack claims").matched
    assert not evaluate('"drone attack"', "attack by drone").matched
    assert not evaluate('"drone attack"', "drone strike and attack").matched


def test_phrase_does_not_span_two_fields():
    assert not evaluate('"drone attack"', title="Valdai drone", summary="attack denied").matched


def test_wildcards():
    assert evaluate("drone*", "Drones over Valdai").matched
    assert evaluate("drone*", "a drone").matched
    assert not evaluate("drone*", "droning on").matched
    assert evaluate("dr?ne", "drone").matched
    assert not evaluate("dr?ne", "drain").matched
    assert evaluate("*grad", "Kaliningrad").matched
    assert evaluate("Nov*rod", "Novgorod").matched
    assert evaluate('"putin* residence"', "putin* residence").matched  # wildcards are literal in phrases
    assert not evaluate('"putin* residence"', "putins residence").matched


def test_escaped_wildcard_is_literal():
    assert not evaluate(r"drone\*", "drones").matched
    assert evaluate(r"drone\*", "drone").matched


def test_field_prefix_restricts_to_that_field():
    assert evaluate("title:Putin", title="Putin speaks").matched
    assert not evaluate("title:Putin", title="Peskov speaks", summary="Putin").matched
    assert evaluate("summary:(Valdai OR Novgorod)", summary="near Novgorod").matched
    assert compile_query("TITLE:Putin").root == Term("title:Putin", ("putin",), "title")


def test_text_field_is_only_there_after_the_fetch():
    query = compile_query("text:Valdai")
    assert not query.evaluate({"title": "Attack", "summary": "Drones"}).matched
    assert query.evaluate({"title": "Attack", "summary": "Drones", "text": "Near Valdai"}).matched
    assert compile_query("NOT text:Valdai").evaluate({"title": "Attack"}).matched


def test_unfielded_term_matches_any_field_given():
    assert evaluate("Valdai", text="residence near Valdai").matched
    assert not evaluate("Valdai", text=None).matched


def test_match_reports_the_positive_terms_that_matched_in_query_order():
    result = evaluate(VALDAI, "Kremlin: drones hit Putin's Valdai residence")
    assert result == MatchResult(True, ("Putin", "Kremlin", "residence", "Valdai", "drone*"))
    assert evaluate("Putin AND NOT Trump", "Putin").terms == ("Putin",)
    assert evaluate("title:Putin", "Putin").terms == ("title:Putin",)
    assert evaluate("Putin OR Putin", "Putin").terms == ("Putin",)


def test_non_match_reports_no_terms():
    assert evaluate(VALDAI, "Putin visits Valdai") == MatchResult(False, ())


def test_case_and_accents_are_ignored_on_both_sides():
    assert evaluate("valdaï", "VALDAI").matched
    assert evaluate("PUTIN", "putin").matched
    assert evaluate("Résidence", "residence").matched
    assert evaluate("Путин", "ПУТИН").matched


def test_prepared_text_gives_the_same_result_as_a_mapping():
    fields = {"title": "Kremlin: drones over Valdai", "summary": "Putin's residence"}
    query = compile_query(VALDAI)
    assert query.evaluate(prepare_fields(fields)) == query.evaluate(fields)
    assert isinstance(prepare_fields(fields), PreparedText)
    assert set(prepare_fields({"title": "x", "summary": None, "text": ""}).fields) == {"title"}


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "reason", "position"),
    [
        ("(Putin OR Kremlin", "unexpected end of expression", 17),
        ("Putin OR OR drone", "unexpected 'OR'", 9),
        ("Putin AND", "unexpected end of expression", 9),
        (")", "unexpected ')'", 0),
        ('Putin AND "drone attack', "unterminated quoted phrase", 10),
        ("author:Smith", "unknown field 'author'", 0),
        ("title:(summary:x)", "nested inside field 'title'", 7),
        ("Putin~2", "fuzzy matching", 0),
        ('"drone attack"~3', "proximity search", 0),
        ("Putin^2", "boosts", 0),
        ("[a TO b]", "ranges", 0),
        ("/dr.ne/", "regular expressions", 0),
        ("putin and drone", "'and' is read as a word", 6),
        ("Putin AND *", "bare wildcard", 10),
        ("Putin AND &&", "no letters or digits", 10),
    ],
)
def test_syntax_errors_quote_the_query_and_point_at_the_problem(query, reason, position):
    with pytest.raises(QueryError) as caught:
        compile_query(query)
    error = caught.value
    assert reason in error.reason
    assert error.position == position
    message = str(error)
    assert repr(query) in message.splitlines()[0]
    assert message.splitlines()[-2].strip() == query
    caret_line = message.splitlines()[-1]
    assert caret_line.index("^") - 4 == position


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_is_an_error(query):
    with pytest.raises(QueryError, match="empty"):
        compile_query(query)


def test_query_error_is_a_value_error():
    assert issubclass(QueryError, ValueError)


def test_quoting_an_operator_word_searches_it():
    assert evaluate('Putin "and" drone*', "Putin and drones").matched


# --- properties ---------------------------------------------------------------------------

WORDS = ["putin", "kremlin", "valdai", "novgorod", "residence", "drone", "drones", "attack", "trump", "talks"]
ACCENTED = {"a": "áàâäã", "e": "éèêë", "i": "íìîï", "o": "óòôöõ", "u": "úùûü", "n": "ñ", "c": "ç"}

word_lists = st.lists(st.sampled_from(WORDS), max_size=12)


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    """Random well-formed queries over WORDS, with AND, OR, NOT, phrases, prefixes and fields."""
    if depth >= 2 or draw(st.booleans()):
        word = draw(st.sampled_from(WORDS))
        shape = draw(st.sampled_from(["word", "prefix", "phrase", "field"]))
        if shape == "prefix":
            return word[: draw(st.integers(2, len(word)))] + "*"
        if shape == "phrase":
            return f'"{word} {draw(st.sampled_from(WORDS))}"'
        if shape == "field":
            return f"{draw(st.sampled_from(FIELDS[:2]))}:{word}"
        return word
    left, right = draw(queries(depth + 1)), draw(queries(depth + 1))
    operator = draw(st.sampled_from(["AND", "OR", "NOT"]))
    return f"({left}) AND NOT ({right})" if operator == "NOT" else f"({left}) {operator} ({right})"


def fields_of(title: list[str], summary: list[str]) -> dict[str, str]:
    return {"title": " ".join(title), "summary": " ".join(summary)}


@given(queries(), word_lists, word_lists)
def test_not_q_is_the_negation_of_q(query, title, summary):
    fields = fields_of(title, summary)
    assert (
        compile_query(f"NOT ({query})").evaluate(fields).matched
        != compile_query(query).evaluate(fields).matched
    )


@given(queries(), queries(), word_lists, word_lists)
def test_a_and_b_implies_a_and_b(a, b, title, summary):
    fields = fields_of(title, summary)
    if compile_query(f"({a}) AND ({b})").evaluate(fields).matched:
        assert compile_query(a).evaluate(fields).matched
        assert compile_query(b).evaluate(fields).matched


@given(queries(), queries(), word_lists, word_lists)
def test_a_or_b_is_a_or_b(a, b, title, summary):
    fields = fields_of(title, summary)
    either = compile_query(a).evaluate(fields).matched or compile_query(b).evaluate(fields).matched
    assert compile_query(f"({a}) OR ({b})").evaluate(fields).matched == either


@given(queries(), word_lists, word_lists)
def test_matched_terms_come_from_the_query(query, title, summary):
    result = compile_query(query).evaluate(fields_of(title, summary))
    if not result.matched:
        assert result.terms == ()
    for term in result.terms:
        assert term.split(":")[-1] in query


@st.composite
def disguised(draw: st.DrawFn, words: list[str]) -> str:
    """The same words with random case changes and accents added."""
    out = []
    for word in words:
        letters = []
        for letter in word:
            if letter in ACCENTED and draw(st.booleans()):
                letter = draw(st.sampled_from(ACCENTED[letter]))
            letters.append(letter.upper() if draw(st.booleans()) else letter)
        out.append("".join(letters))
    return " ".join(out)


@given(st.data(), queries(), word_lists, word_lists)
def test_case_and_accents_never_change_the_result(data, query, title, summary):
    compiled = compile_query(query)
    plain = compiled.evaluate(fields_of(title, summary))
    dressed = {"title": data.draw(disguised(title)), "summary": data.draw(disguised(summary))}
    assert compiled.evaluate(dressed) == plain


@given(st.data(), queries(), word_lists)
def test_case_and_accents_in_the_query_never_change_the_result(data, query, title):
    def dress(word: str) -> str:
        if word in ("AND", "OR", "NOT", "(", ")"):
            return word
        field, colon, term = word.rpartition(":")
        return field + colon + str(data.draw(disguised([term])))

    dressed = " ".join(dress(word) for word in query.replace("(", " ( ").replace(")", " ) ").split())
    fields = fields_of(title, [])
    assert compile_query(dressed).evaluate(fields).matched == compile_query(query).evaluate(fields).matched


@given(st.text(max_size=40))
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(st.text(max_size=60))
def test_compile_never_raises_anything_but_query_error(text):
    with contextlib.suppress(QueryError):
        compile_query(text)


@given(queries(), word_lists, word_lists)
def test_the_fast_check_and_the_term_collection_agree(query, title, summary):
    from scraper.core.query import _evaluate, _matches, _Text

    compiled, prepared = compile_query(query), prepare_fields(fields_of(title, summary))
    for languages in (None, ("en", "pl")):
        text = _Text(prepared, languages)
        assert _matches(compiled.root, text) == (_evaluate(compiled.root, text) is not None)
