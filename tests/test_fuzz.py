"""Fuzzing every parser of untrusted input (hypothesis, a bounded number of examples each):
no exception escapes other than the module's own typed errors.

Inputs are random bytes and text, and documents shaped like the real thing (RSS, Atom, JSON
Feed, sitemaps, platform JSON, Telegram pages) with random values where the fields go, so the
parsers get past their first checks.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protego import Protego

from scraper.core import social
from scraper.core.charset import decode_html
from scraper.core.extract import ExtractionError, InvalidSelectorError, extract
from scraper.core.feeds import FeedError, discover_feeds, parse_feed
from scraper.core.links import canonical_from_html, outgoing_links
from scraper.core.query import QueryError, compile_query
from scraper.core.recheck import DurationError, format_duration, parse_duration
from scraper.core.sitemaps import SitemapError, parse_sitemap
from scraper.core.social.common import SocialError
from scraper.core.social.mastodon import parse_account, parse_history
from scraper.core.urls import InvalidURL, TemplateError, canonicalize, fill_search_template
from scraper.http import parse_retry_after, robots_token
from storage.search import SearchError, fts5_match, parse_query, split_marked, tsquery_sql
from tests.hostile import START

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = "https://news.example/feed"

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
urlish = st.sampled_from(
    ["https://a.example/x", "http://b.example/", "/rel", "mailto:x@y", "", "http://[::1"]
)
texts = st.text(max_size=60) | urlish
dates = st.sampled_from(["2025-12-30T10:00:00Z", "Tue, 30 Dec 2025 10:00:00 GMT", "2025-13-45", "", "0"])


def xml_text(value: str) -> str:
    """``value`` made storable in XML (control characters dropped), escaped."""
    return escape(
        "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 0x20 and ch not in "\ufffe\uffff")
    )


def fields_of(keys: list[str], values: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={key: values for key in keys})


# --- feeds ----------------------------------------------------------------------------------


def _rss(items: list[tuple[str, str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{xml_text(t)}</title><link>{xml_text(link)}</link><guid>{xml_text(g)}</guid>"
        f"<pubDate>{xml_text(d)}</pubDate><description>{xml_text(t)}</description></item>"
        for t, link, g, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def _atom(items: list[tuple[str, str, str, str]]) -> bytes:
    body = "".join(
        f'<entry><title type="html">{xml_text(t)}</title><link href="{xml_text(link)}"/>'
        f"<id>{xml_text(g)}</id><updated>{xml_text(d)}</updated><content>{xml_text(t)}</content></entry>"
        for t, link, g, d in items
    )
    return f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{body}</feed>'.encode()


feed_items = st.lists(st.tuples(texts, texts, texts, dates), max_size=5)


@FUZZ
@given(st.one_of(st.binary(max_size=300), feed_items.map(_rss), feed_items.map(_atom)), st.booleans())
def test_feeds(body: bytes, cut: bool) -> None:
    data = body[: len(body) // 2] if cut else body
    try:
        parsed = parse_feed(data, BASE, "application/rss+xml")
    except FeedError:
        return
    assert len(parsed.entries) == len(parsed.observations)


json_feed_items = st.lists(
    json_values
    | fields_of(
        [
            "id",
            "url",
            "external_url",
            "title",
            "summary",
            "content_text",
            "content_html",
            "authors",
            "author",
            "tags",
            "date_published",
            "date_modified",
        ],
        json_values | urlish | dates,
    ),
    max_size=5,
)


@FUZZ
@given(json_feed_items, json_values)
def test_json_feed(items: list[Any], title: Any) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
    try:
        parsed = parse_feed(json.dumps(doc).encode(), BASE)
    except FeedError:
        return
    assert len(parsed.entries) + len(parsed.warnings) >= sum(1 for i in items if isinstance(i, dict)) - len(
        parsed.warnings
    )


def test_json_feed_bad_item_is_a_warning_and_the_rest_is_kept() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"id": "1", "url": "https://a.example/1", "title": "kept", "authors": 4, "tags": 5},
            {"id": "2", "url": {"no": "link"}},
            {"id": "3", "url": "https://a.example/3", "title": "kept too"},
        ],
    }
    parsed = parse_feed(json.dumps(doc).encode(), BASE)
    assert [c.title for c in parsed.entries] == ["kept", "kept too"]
    assert parsed.warnings == [f"{BASE}: entry 2 skipped: it has no http(s) link (found: none)"]


# --- sitemaps -------------------------------------------------------------------------------


def _urlset(entries: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<url><loc>{xml_text(loc)}</loc><lastmod>{xml_text(mod)}</lastmod><news:news><news:title>"
        f"{xml_text(title)}</news:title><news:publication_date>{xml_text(mod)}</news:publication_date>"
        f'</news:news><xhtml:link rel="alternate" hreflang="{xml_text(title)[:5]}" '
        f'href="{xml_text(loc)}"/></url>'
        for loc, mod, title in entries
    )
    return (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9" '
        f'xmlns:xhtml="http://www.w3.org/1999/xhtml">{body}</urlset>'
    ).encode()


def _index(entries: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<sitemap><loc>{xml_text(a)}</loc><lastmod>{xml_text(b)}</lastmod></sitemap>" for a, b, _ in entries
    )
    return f"<sitemapindex>{body}</sitemapindex>".encode()


sitemap_entries = st.lists(st.tuples(texts, dates | st.text(max_size=12), texts), max_size=5)
plain_lists = st.lists(texts, max_size=5).map(
    lambda lines: ("https://a.example/\n" + "\n".join(lines)).encode()
)


@FUZZ
@given(
    st.one_of(st.binary(max_size=300), sitemap_entries.map(_urlset), sitemap_entries.map(_index), plain_lists)
)
def test_sitemaps(body: bytes) -> None:
    try:
        parsed = parse_sitemap(body, "https://news.example/sitemap.xml", max_urls=50)
    except SitemapError:
        return
    assert all(c.url.startswith(("http://", "https://")) for c in parsed.urls)


# --- robots.txt (protego, as scraper.http uses it) ----------------------------------------------

robots_lines = st.lists(
    st.tuples(
        st.sampled_from(
            ["User-agent", "Disallow", "Allow", "Crawl-delay", "Sitemap", "Request-rate", "Host", "x"]
        ),
        st.text(max_size=20),
    ),
    max_size=8,
).map(lambda pairs: "\n".join(f"{k}: {v}" for k, v in pairs))


@FUZZ
@given(robots_lines | st.text(max_size=200), st.text(max_size=20), st.text(max_size=30))
def test_robots(text: str, agent: str, path: str) -> None:
    parser = Protego.parse(text)
    token = robots_token(agent)
    assert isinstance(parser.can_fetch("https://a.example/" + path, token), bool)
    delay = parser.crawl_delay(token)
    assert delay is None or float(delay) >= 0 or float(delay) < 0
    list(parser.sitemaps)


@FUZZ
@given(st.text(max_size=40))
def test_retry_after(value: str) -> None:
    wait = parse_retry_after(value, START)
    assert wait is None or wait >= 0


# --- HTML: extraction, links, charsets ----------------------------------------------------------

html_parts = st.lists(
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<div>",
            "</div>",
            "<article>",
            "<h1>",
            "</h1>",
            "<title>",
            "</title>",
            "<br>",
            '<a href="/x">',
            '<a href="javascript:1">',
            "</a>",
            "<script>",
            "</script>",
            '<meta charset="koi8-r">',
            '<link rel="canonical" href="http://[::1">',
            '<link rel="alternate" type="application/rss+xml" href="/f">',
            '<base href="//">',
            "<!--",
            "-->",
            "<![CDATA[",
            "&amp;",
            "&#0;",
            "\x00",
            "Valdai drone claim. ",
            '<script type="application/ld+json">{"@type":"NewsArticle","headline":',
            "}</script>",
            "<time>",
        ]
    )
    | st.text(max_size=20),
    max_size=25,
).map("".join)


@FEW
@given(html_parts | st.text(max_size=200))
def test_extract(html: str) -> None:
    with contextlib.suppress(ExtractionError):
        extract(html, "https://news.example/a")


@FEW
@given(st.binary(max_size=200))
def test_extract_bytes(body: bytes) -> None:
    with contextlib.suppress(ExtractionError):
        extract(body, "https://news.example/a")


@FUZZ
@given(st.text(max_size=30))
def test_extract_remove_selectors(selector: str) -> None:
    page = "<html><body><article><p>Valdai drone claim, text.</p></article></body></html>"
    with contextlib.suppress(ExtractionError, InvalidSelectorError):
        extract(page, remove_selectors=[selector])


@FUZZ
@given(html_parts | st.text(max_size=200), st.binary(max_size=100))
def test_links_and_discovery(html: str, raw: bytes) -> None:
    for page in (html, raw):
        outgoing_links(page, "https://news.example/a")
        canonical_from_html(page, "https://news.example/a")
        discover_feeds(page, "https://news.example/a")


@FUZZ
@given(
    st.binary(max_size=200),
    st.sampled_from([None, "text/html", "text/html; charset=nope", "text/html; charset=utf-16"]),
)
def test_charset(body: bytes, content_type: str | None) -> None:
    text, encoding = decode_html(body, content_type)
    assert isinstance(text, str) and encoding


# --- social platforms ---------------------------------------------------------------------------

mastodon_status = fields_of(
    [
        "id",
        "url",
        "uri",
        "content",
        "spoiler_text",
        "created_at",
        "edited_at",
        "language",
        "account",
        "card",
        "media_attachments",
        "replies_count",
        "reblogs_count",
        "favourites_count",
        "reblog",
        "tags",
    ],
    json_values | urlish | dates,
)
bluesky_post = fields_of(
    ["uri", "cid", "author", "record", "embed", "indexedAt", "likeCount", "repostCount"],
    json_values | fields_of(["handle", "did", "text", "createdAt", "facets", "embed"], json_values | dates),
)
reddit_thing = fields_of(
    ["kind", "data"],
    json_values
    | fields_of(["id", "name", "permalink", "url", "title", "selftext", "created_utc", "score"], json_values),
)


def _bodies(*shapes: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    documents = st.one_of(json_values, *shapes)
    return st.one_of(st.binary(max_size=100), documents.map(lambda d: json.dumps(d).encode()))


PLATFORM_JSON = {
    "mastodon.timeline": _bodies(st.lists(mastodon_status, max_size=3)),
    "mastodon.status": _bodies(mastodon_status),
    "mastodon.search": _bodies(fields_of(["statuses"], st.lists(mastodon_status, max_size=3) | json_values)),
    "bluesky.feed": _bodies(
        fields_of(
            ["feed", "cursor"], st.lists(fields_of(["post", "reply", "reason"], bluesky_post), max_size=3)
        )
    ),
    "bluesky.thread": _bodies(fields_of(["thread"], fields_of(["post", "replies", "parent"], bluesky_post))),
    "reddit.listing": _bodies(
        fields_of(["kind", "data"], fields_of(["children", "after"], st.lists(reddit_thing, max_size=3)))
    ),
}


def _social(kind: str, body: bytes, base: str) -> None:
    try:
        page = social.parse(kind, body, base)
    except SocialError:
        return
    assert all(o.url.startswith(("http://", "https://")) for o in page.observations)


@FUZZ
@given(st.data())
def test_social_json(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(PLATFORM_JSON)))
    base = "https://bsky.example/xrpc" if kind.startswith("bluesky") else "https://mastodon.example/api/v1/x"
    _social(kind, data.draw(PLATFORM_JSON[kind]), base)


@FUZZ
@given(_bodies(st.lists(mastodon_status, max_size=3)), _bodies(mastodon_status))
def test_mastodon_history_and_account(history: bytes, account: bytes) -> None:
    url = "https://mastodon.example/api/v1/statuses/1/history"
    with contextlib.suppress(SocialError):
        parse_history(history, url, document_url="https://mastodon.example/@a/1")
    with contextlib.suppress(SocialError):
        parse_account(account, "https://mastodon.example/api/v1/accounts/lookup")


def _telegram(messages: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f'<div class="tgme_widget_message" data-post="{escape(post)}"><div class="tgme_widget_message_text">'
        f'{text}</div><a class="tgme_widget_message_date" href="{escape(post)}">'
        f'<time datetime="{escape(when)}"></time></a></div>'
        for post, text, when in messages
    )
    return f"<html><body>{body}</body></html>".encode()


telegram_messages = st.lists(
    st.tuples(st.sampled_from(["chan/1", "chan/x", "", "/", "chan/"]) | texts, html_parts, dates), max_size=4
)


@FUZZ
@given(st.one_of(st.binary(max_size=200), telegram_messages.map(_telegram)))
def test_telegram_pages(body: bytes) -> None:
    _social("telegram.preview", body, "https://t.me/s/chan")


def _rss_like(items: list[tuple[str, str, str, str]]) -> bytes:
    return _atom(items)


@FUZZ
@given(
    st.sampled_from(["reddit.rss", "youtube.feed"]), st.one_of(st.binary(max_size=200), feed_items.map(_atom))
)
def test_social_feeds(kind: str, body: bytes) -> None:
    _social(
        kind,
        body,
        "https://www.reddit.com/r/x/.rss"
        if kind == "reddit.rss"
        else "https://www.youtube.com/feeds/videos.xml",
    )


# --- story queries, search syntax, durations, URLs ----------------------------------------------

query_parts = st.lists(
    st.sampled_from(
        [
            "Putin",
            "drone*",
            "dr?ne",
            "AND",
            "OR",
            "NOT",
            "and",
            "(",
            ")",
            '"',
            "title:",
            "text:",
            "x:",
            "~2",
            "^3",
            "[a TO b]",
            "/re/",
            "-",
            "+",
            "*",
            "?",
            " ",
            "\\",
            ":",
            "{",
            "}",
            ">",
            "Valdaï",
        ]
    )
    | st.text(max_size=6),
    max_size=12,
).map("".join)


@FUZZ
@given(query_parts | st.text(max_size=40), st.text(max_size=40))
def test_story_queries(query: str, text: str) -> None:
    try:
        compiled = compile_query(query)
    except QueryError:
        return
    assert isinstance(compiled.evaluate({"title": text, "text": query}).matched, bool)


@FUZZ
@given(query_parts | st.text(max_size=40))
def test_search_syntax(text: str) -> None:
    try:
        terms = parse_query(text)
    except SearchError:
        return
    assert "\x00" not in fts5_match(terms)
    sql, params = tsquery_sql(terms)
    assert sql and all("\x00" not in value for value in params.values())


@FUZZ
@given(st.text(max_size=60))
def test_search_snippets(snippet: str) -> None:
    split_marked(snippet)


@FUZZ
@given(st.from_regex(r"\A(\d{1,25}[smhdwSMHDW]){0,4}\Z") | st.text(max_size=12))
def test_durations(text: str) -> None:
    try:
        duration = parse_duration(text)
    except DurationError:
        return
    assert parse_duration(format_duration(duration)) == duration


url_parts = st.lists(
    st.sampled_from(
        [
            "http://",
            "https://",
            "HTTP://",
            "file://",
            "//",
            "[",
            "]",
            "::1",
            "127.0.0.1",
            ":",
            "99999",
            "@",
            "?",
            "utm_source=x",
            "&",
            "=",
            "#",
            "%",
            "%zz",
            "/",
            "a.example",
            "é",
            "\x00",
            " ",
            "\\",
            "xn--",
        ]
    )
    | st.text(max_size=5),
    max_size=10,
).map("".join)


@FUZZ
@given(url_parts | st.text(max_size=40))
def test_urls(url: str) -> None:
    try:
        canonical = canonicalize(url)
    except InvalidURL:
        return
    assert canonicalize(canonical) == canonical


@FUZZ
@given(url_parts | st.text(max_size=30), st.text(max_size=20))
def test_search_templates(template: str, query: str) -> None:
    with contextlib.suppress(TemplateError):
        fill_search_template(template + "{query}", query)
