"""URL identity (canonicalize) and search-source URL templates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.core.urls import InvalidURL, TemplateError, canonicalize, fill_search_template


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://news.example/a", "https://news.example/a"),
        ("HTTPS://News.Example/A/B", "https://news.example/A/B"),  # path case is the site's
        ("https://news.example", "https://news.example/"),
        ("https://news.example:443/a", "https://news.example/a"),
        ("http://news.example:80/a", "http://news.example/a"),
        ("http://news.example:8080/a", "http://news.example:8080/a"),
        ("https://news.example./a", "https://news.example/a"),
        ("https://news.example/a#comments", "https://news.example/a"),
        ("  https://news.example/a  ", "https://news.example/a"),
        ("https://news.example/a?utm_source=rss&utm_medium=feed&id=7", "https://news.example/a?id=7"),
        ("https://news.example/a?fbclid=IwAR0&gclid=x1", "https://news.example/a"),
        ("https://news.example/a?ref=rss", "https://news.example/a"),
        ("https://news.example/a?ref=RSS", "https://news.example/a"),
        ("https://news.example/a?ref=homepage", "https://news.example/a?ref=homepage"),
        ("https://news.example/a?UTM_Campaign=x&page=2", "https://news.example/a?page=2"),
        ("https://user:pw@news.example/a", "https://news.example/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
        ("http://127.0.0.1:8081/feed", "http://127.0.0.1:8081/feed"),
    ],
)
def test_canonicalize(url, canonical):
    assert canonicalize(url) == canonical


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://news.example/a", "only http and https"),
        ("mailto:desk@news.example", "only http and https"),
        ("/relative/path", "only http and https"),
        ("https:///no-host", "no host"),
        ("http://news.example:notaport/", "not a usable URL"),
        ("http://[::1/", "not a usable URL"),
    ],
)
def test_canonicalize_refuses_unusable_urls(url, reason):
    with pytest.raises(InvalidURL, match=reason) as caught:
        canonicalize(url)
    assert caught.value.url == url
    assert isinstance(caught.value, ValueError)


hosts = st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}(\.[a-zA-Z]{2,5}){1,2}", fullmatch=True)
paths = st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,8}", fullmatch=True), max_size=4).map(
    lambda p: "/" + "/".join(p)
)
params = st.lists(
    st.tuples(
        st.sampled_from(["id", "page", "utm_source", "fbclid", "ref", "q", "gclid", "utm_medium"]),
        st.sampled_from(["1", "rss", "a b", "x&y", "", "ü"]),
    ),
    max_size=4,
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    from urllib.parse import urlencode

    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    query = urlencode(draw(params))
    fragment = draw(st.sampled_from(["", "#top", "#"]))
    return f"{scheme}://{draw(hosts)}{port}{draw(paths)}{'?' + query if query else ''}{fragment}"


@given(urls())
def test_canonicalize_is_idempotent(url):
    once = canonicalize(url)
    assert canonicalize(once) == once


@given(urls())
def test_canonical_urls_carry_no_tracking_or_fragment(url):
    canonical = canonicalize(url)
    assert "#" not in canonical
    for tracking in ("utm_", "fbclid", "gclid", "ref=rss"):
        assert tracking not in canonical


@given(urls(), st.sampled_from(["utm_source=x", "fbclid=abc", "gclid=1", "ref=rss"]))
def test_adding_a_tracking_parameter_never_changes_identity(url, tracking):
    base, _, fragment = url.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}{tracking}"
    assert canonicalize(joined) == canonicalize(url)


# --- search templates ---------------------------------------------------------------------


def test_fill_search_template_encodes_the_query():
    template = "https://search.example/find?q={query}&sort=new"
    query = '(Putin OR Kremlin) AND "drone attack" & Valdaï/Новгород'
    filled = fill_search_template(template, query)
    assert filled == (
        "https://search.example/find?q=%28Putin%20OR%20Kremlin%29%20AND%20%22drone%20attack%22"
        "%20%26%20Valda%C3%AF%2F%D0%9D%D0%BE%D0%B2%D0%B3%D0%BE%D1%80%D0%BE%D0%B4&sort=new"
    )


def test_fill_search_template_in_a_path_and_twice():
    assert fill_search_template("https://s.example/tag/{query}/rss?x={query}", "a b") == (
        "https://s.example/tag/a%20b/rss?x=a%20b"
    )


def test_fill_search_template_leaves_other_braces_alone():
    assert (
        fill_search_template("https://s.example/?q={query}&f={json}", "x")
        == "https://s.example/?q=x&f={json}"
    )


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("https://search.example/find?q=", "no {query} placeholder"),
        ("ftp://search.example/{query}", "not an http or https URL"),
        ("{query}", "not an http or https URL"),
    ],
)
def test_bad_templates_are_refused(template, reason):
    with pytest.raises(TemplateError, match=reason):
        fill_search_template(template, "Valdai")


@given(st.text(max_size=50))
def test_filled_query_decodes_back(query):
    from urllib.parse import unquote, urlsplit

    filled = fill_search_template("https://s.example/search?q={query}", query)
    assert unquote(urlsplit(filled).query.removeprefix("q="), errors="surrogatepass") == query
