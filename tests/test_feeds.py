"""Feed parsing: every feed variant of the shared corpus and our own fixtures, parsed from bytes.

The feedparser test files of the corpus (feeds/feedparser-illformed, feeds/feedparser-encoding)
state their expected outcome in a comment (``Header:``, ``Expect:``, ``SkipUnless:``). For each
file we check (1) the expectation itself, evaluated on the feedparser result that parse_feed
reads (``read_with_feedparser``, given the file's Content-Type header), and (2) what parse_feed
makes of it: "bozo" files give a FeedError or a "not well-formed" warning, "not bozo" files never
do, parse_feed reports the same encoding, and nothing is lost (every feedparser entry is either a
candidate or a "skipped" warning). Two deliberate readings, both documented at their constants:
chardet 7 names some encodings by their supersets, and one line-noise file decodes differently.
"""

from __future__ import annotations

import codecs
import gzip
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from scraper.core.feeds import (
    COMMON_FEED_PATHS,
    FeedError,
    ParsedFeed,
    common_feed_urls,
    discover_feeds,
    html_to_text,
    parse_feed,
    parse_json_feed,
    read_with_feedparser,
)
from scraper.core.types import Channel
from scraper.core.urls import canonicalize

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
BASE = "https://corpus.example/feeds/"

# chardet 7 reports a superset codec where feedparser's suite names the legacy one; for text in
# the legacy encoding both decode identically.
ENCODING_SUPERSETS = {"euc_kr": "cp949", "gb2312": "gb18030", "shift_jis": "cp932", "tis-620": "cp874"}
# The "unguessable characters" file: feedparser's suite assumed chardet guesses windows-1252;
# chardet 7 guesses ISO-8859-15. What must hold either way: bozo, and the entry is kept.
EXPECTATION_OVERRIDES = {"bozo_linenoise.xml": "bozo and len(entries) == 1"}
COMMENT_ENCODINGS = ("utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-be", "latin-1")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def corpus_file(corpus: Path, relative: str) -> bytes:
    path = corpus / "feeds" / relative
    if not path.is_file():
        pytest.skip(f"{path} is not in this corpus")
    return path.read_bytes()


# --- our own fixtures: one per format -----------------------------------------------------


def test_rss_091():
    feed = parse_feed(fixture("rss091.xml"), "https://news.example/world/rss.xml")
    assert feed.version == "rss091n"
    assert feed.title == "News Example – World"
    assert feed.encoding == "iso-8859-1"
    assert [entry.url for entry in feed.entries] == [
        "https://news.example/2025/12/29/kremlin-drones-residence",  # utm_* removed
        "https://news.example/2025/12/28/cafe-culture-novgorod",
    ]
    assert feed.entries[1].title == "Café culture returns to Novgorod"
    assert feed.warnings == []


def test_rss_092_summary_html_becomes_plain_paragraphs():
    feed = parse_feed(fixture("rss092.xml"), "https://news.example/rss.xml", "application/rss+xml")
    assert feed.version == "rss092"
    (entry,) = feed.entries
    assert entry.url == "https://news.example/2025/12/30/zelensky-fabrication"  # fragment dropped
    assert entry.summary == "Kyiv says the Valdai attack never happened.\n\nSecond paragraph."


def test_rss_10_rdf():
    feed = parse_feed(fixture("rss10.rdf"), "https://news.example/rss10")
    assert feed.version == "rss10"
    (entry,) = feed.entries
    assert entry.url == "https://news.example/2025/12/31/trump-possible-never-happened"  # ref=rss removed
    assert entry.title == "Trump: “possible” the attack never happened"
    assert entry.updated == datetime(2025, 12, 31, 8, 30, tzinfo=UTC)  # dc:date, in UTC
    assert feed.observations[0].content.metadata["author"] == "A. Reporter"


def test_rss_20_entries_observations_and_skips():
    url = "https://news.example/feeds/world.xml"
    feed = parse_feed(fixture("rss20.xml"), url, "application/rss+xml; charset=utf-8")
    assert feed.version == "rss20"
    assert [entry.url for entry in feed.entries] == [
        "https://news.example/2025/12/29/russia-says-ukraine-attacked-residence",  # relative, fbclid removed
        "https://news.example/2025/12/30/full-text-only",
    ]
    first = feed.entries[0]
    assert first.title == "Russia says Ukraine attacked Putin’s residence with 91 drones"
    assert first.summary == "Lavrov said all drones were shot down."  # script dropped
    assert first.published == datetime(2025, 12, 29, 15, 5, tzinfo=UTC)
    assert first.updated is None  # RSS has no separate modification date
    assert first.raw["id"] == "news-example-1001"
    assert first.raw["feed_url"] == url
    assert feed.entries[1].summary == "Only content:encoded, no description."
    assert len(feed.warnings) == 2
    assert all(warning.startswith(f"{url}: entry ") for warning in feed.warnings)
    assert "mailto:weather@news.example" in feed.warnings[1]


def test_every_entry_has_a_feed_observation_with_the_entry_content():
    feed = parse_feed(fixture("rss20.xml"), "https://news.example/feeds/world.xml")
    assert len(feed.observations) == len(feed.entries)
    for entry, observation in zip(feed.entries, feed.observations, strict=True):
        assert observation.channel is Channel.FEED
        assert observation.url == entry.url
        content = observation.content
        assert content.canonical_url == entry.url
        assert content.title == entry.title
        assert content.text == (entry.summary or "")
        assert content.published == entry.published
        assert content.modified == entry.updated
    assert feed.observations[0].content.metadata["tags"] == ["World", "Russia"]


def test_atom():
    feed = parse_feed(fixture("atom.xml"), "https://news.example/atom.xml")
    assert feed.version == "atom10"
    (entry,) = feed.entries
    assert entry.url == "https://news.example/2026/01/02/kremlin-revises-stance"  # xml:base resolved
    assert entry.title == "Kremlin revises stance after alleged attack"  # type="html" -> text
    assert entry.summary == 'Peskov: talks position "will be revised" <not HTML>.'  # type="text" kept
    assert entry.published == datetime(2026, 1, 2, 5, 0, tzinfo=UTC)
    assert entry.updated == datetime(2026, 1, 2, 9, 15, tzinfo=UTC)


def test_json_feed():
    url = "https://news.example/feed.json"
    feed = parse_feed(fixture("feed.json"), url)
    assert feed.version == "json11"
    assert feed.title == "News Example JSON"
    first, second = feed.entries
    assert first.url == "https://news.example/2026/01/03/satellite-images-valdai"  # gclid removed
    assert first.summary == "Imagery shows the residence intact.\n\nAnalysts doubt the claim."
    assert first.published == datetime(2026, 1, 3, 11, 0, tzinfo=UTC)
    assert first.updated == datetime(2026, 1, 3, 13, 30, tzinfo=UTC)
    assert feed.observations[0].content.metadata == {
        "id": "3003",
        "author": "Imagery desk",
        "tags": ["Russia", "Ukraine"],
    }
    assert second.url == "https://other.example/analysis/valdai-claim"  # external_url
    assert second.summary == "A short summary."
    assert feed.warnings == [
        f"{url}: entry 3 skipped: it has no http(s) link (found: none)",
        f"{url}: entry 4 skipped: it is not a JSON object",
    ]


def test_json_feed_is_detected_by_its_first_byte_whatever_the_content_type():
    body = fixture("feed.json")
    assert parse_feed(body, "https://n.example/f", "application/feed+json").version == "json11"
    assert parse_feed(body, "https://n.example/f", "text/plain").version == "json11"
    assert parse_feed(b"\xef\xbb\xbf  " + body, "https://n.example/f").version == "json11"
    assert parse_feed(fixture("rss20.xml"), "https://n.example/f", "application/json").version == "rss20"


# --- bad input: one clear line naming the URL and the cause --------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "cause"),
    [
        (b"", None, "the response body is empty"),
        (b"  \n\t ", None, "the response body is empty"),
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body></html>",
            "text/html",
            "HTML page",
        ),
        (b"<html lang=en><body><p>Not a feed</p></body></html>", None, "HTML page"),
        (b'<?xml version="1.0"?><catalog><book/></catalog>', None, "root element: <catalog>"),
        (b'<rss version="2.0"><channel><item><title>x</title></item', None, "malformed rss20 feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', None, "not valid JSON"),
        (b'{"hello": "world"}', None, "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": 3}', None, "without an items list"),
        (b"[1, 2, 3]", None, "not a JSON Feed"),
        (gzip.compress(b"<rss/>", mtime=0), None, "gzip"),
    ],
)
def test_unusable_bodies_raise_feed_error(body, content_type, cause):
    url = "https://news.example/broken.xml"
    with pytest.raises(FeedError) as caught:
        parse_feed(body, url, content_type)
    message = str(caught.value)
    assert message.startswith(f"{url}: not a usable feed: ")
    assert cause in message
    assert "\n" not in message
    assert caught.value.url == url


def test_malformed_feed_with_entries_keeps_them_and_warns():
    body = fixture("rss20.xml").replace(b"</channel>", b"<broken></channel>")
    url = "https://news.example/feeds/world.xml"
    feed = parse_feed(body, url)
    assert [entry.url for entry in feed.entries] == [
        "https://news.example/2025/12/29/russia-says-ukraine-attacked-residence",
        "https://news.example/2025/12/30/full-text-only",
    ]
    assert feed.warnings[0].startswith(f"{url}: feed is not well-formed (")
    assert feed.warnings[0].endswith("kept the 2 entries read")


def test_well_formed_feed_without_entries_is_an_empty_feed():
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed(body, "https://news.example/quiet.xml")
    assert feed == ParsedFeed(
        url="https://news.example/quiet.xml", version="rss20", title="Quiet", encoding="utf-8"
    )


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("LEAKED-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><item><title>&x;</title><link>https://n.example/a</link></item></channel></rss>'
    ).encode()
    feed = parse_feed(body, "https://n.example/feed.xml")
    assert "LEAKED" not in repr(feed)


def test_entity_expansion_is_bounded():
    entities = "".join(f'<!ENTITY {chr(98 + i)} "{f"&{chr(97 + i)};" * 10}">' for i in range(8))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">{entities}]>'
        '<rss version="2.0"><channel><item><title>&i;</title><link>https://n.example/a</link></item></channel></rss>'
    ).encode()
    feed = parse_feed(body, "https://n.example/feed.xml")
    assert len(repr(feed)) < 10_000
    assert "not well-formed" in feed.warnings[0]


def test_json_feed_parser_rejects_json_feed_lookalikes():
    with pytest.raises(FeedError, match="not a JSON Feed"):
        parse_json_feed(b'{"version": "1.0", "items": []}', "https://x.example/f")


def test_html_to_text():
    assert html_to_text("Plain  text\n with   spaces") == "Plain text with spaces"
    assert html_to_text("<p>One</p><p>Two<br>lines</p>") == "One\n\nTwo\nlines"
    assert html_to_text("A &amp; B") == "A & B"
    assert html_to_text("<style>p{}</style><p>Shown</p>") == "Shown"
    assert html_to_text("") == ""


# --- discovery ----------------------------------------------------------------------------


def test_discover_feeds_reads_alternate_links():
    html = """<html><head><base href="https://news.example/world/">
      <link rel="alternate" type="application/rss+xml" title="RSS" href="rss.xml">
      <link rel="Alternate" type="application/atom+xml" href="/atom.xml">
      <link rel="alternate" type="application/feed+json" href="https://news.example/feed.json">
      <link rel="alternate" type="application/json" href="https://news.example/wp-json/wp/v2/posts/1">
      <link rel="alternate" type="application/rss+xml" href="rss.xml">
      <link rel="alternate" hreflang="de" href="https://news.example/de/">
      <link rel="stylesheet" type="text/css" href="/site.css">
      <link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
    </head><body></body></html>"""
    assert discover_feeds(html, "https://news.example/world/index.html") == [
        "https://news.example/world/rss.xml",
        "https://news.example/atom.xml",
        "https://news.example/feed.json",
    ]


@pytest.mark.parametrize("html", ["", "   ", b"", "<html><body>no feeds</body></html>"])
def test_discover_feeds_finds_nothing_gracefully(html):
    assert discover_feeds(html, "https://news.example/") == []


def test_common_feed_urls():
    urls = common_feed_urls("https://news.example/some/page")
    assert urls[0] == "https://news.example/feed"
    assert len(urls) == len(COMMON_FEED_PATHS)
    assert "https://news.example/feed.json" in urls


# --- the shared corpus: real feeds --------------------------------------------------------

REAL_FEEDS = {
    # relative path: (version, entries, first entry URL)
    "diffengine/feed1.xml": ("rss20", 20, "https://www.washingtonpost.com/news/post-nation/wp/2017/01/07/"),
    "diffengine/feed2.xml": ("rss20", 24, "https://www.washingtonpost.com/world/national-security/"),
    "feedjira/TechCrunch.xml": ("rss20", 20, "http://feedproxy.google.com/~r/Techcrunch/"),
    "feedjira/HREFConsideredHarmful.xml": ("rss10", 10, "http://www.avibryant.com/2008/09/"),
    "feedjira/CRE.xml": ("rss20", 30, "http"),
    "feedjira/HuffPostCanada.xml": ("rss20", 2, "http"),
    "feedjira/TypePadNews.xml": ("atom10", 10, "http"),
    "feedjira/google_alerts_atom.xml": ("atom10", 20, "https://www.google.com/url?"),
    "feedjira/youtube_atom.xml": ("atom10", 15, "http://www.youtube.com/watch?v="),
    "feedjira/itunes.xml": ("rss20", 3, "http://example.com/podcasts/"),
    "feedjira/json_feed.json": ("json1", 20, "http://inessential.com/2017/06/02/"),
    "feedjira/json_feed_with_escaped_uris.json": ("json11", 30, "https://lukedorny.com/updates/"),
    "trafilatura-resources/feed.json": ("json1", 25, "https://www.npr.org/2021/10/29/1050315385/"),
    "trafilatura-resources/feed1.atom": ("atom10", 2, "http://example.org/2003/12/13/atom03"),
    "trafilatura-resources/feed2.rss": ("rss20", 1, "http://www.example.com/blog/post/1"),
    "news-crawl/feed-with-sitemap-namespace.xml": ("rss20", 2, "https://example.com/lorem/123"),
}


@pytest.mark.parametrize("relative", sorted(REAL_FEEDS))
def test_real_feeds(corpus, relative):
    version, count, first_url = REAL_FEEDS[relative]
    feed = parse_feed(corpus_file(corpus, relative), BASE + relative)
    assert feed.version == version
    assert len(feed.entries) == count
    assert feed.entries[0].url.startswith(first_url)
    assert all(entry.title for entry in feed.entries)
    assert all(entry.url == canonicalize(entry.url) for entry in feed.entries)
    assert not any("skipped" in warning for warning in feed.warnings)


def test_real_feed_details(corpus):
    wapo = parse_feed(corpus_file(corpus, "diffengine/feed2.xml"), BASE + "feed2.xml")
    assert wapo.title == "Politics"
    assert str(wapo.entries[0].title).startswith("Declassified report says Putin ‘ordered’ effort")
    npr = parse_feed(corpus_file(corpus, "trafilatura-resources/feed.json"), BASE + "feed.json")
    first = npr.entries[0]
    assert (
        first.url
        == "https://www.npr.org/2021/10/29/1050315385/keller-rinaudo-how-can-delivery-drones-save-lives"
    )
    assert first.published == datetime(2021, 10, 29, 14, 26, tzinfo=UTC)
    assert first.summary is not None and first.summary.startswith("In rural areas, basic health care")


def test_real_feed_with_markup_errors_keeps_its_entries(corpus):
    feed = parse_feed(corpus_file(corpus, "feedjira/InvalidDateFormat.xml"), BASE + "InvalidDateFormat.xml")
    assert len(feed.entries) == 2
    assert "not well-formed" in feed.warnings[0]


@pytest.mark.parametrize(
    ("relative", "cause"),
    [
        ("feedjira/TechCrunchFirstEntry.xml", "not well-formed XML"),  # a lone <item>, not a feed
        ("feedjira/PaulDixExplainsNothingFirstEntryContent.xml", "not well-formed XML"),
        ("news-crawl/sitemap-news.xml", "root element: <urlset>"),
        ("trafilatura-resources/sitemap2.xml", "root element: <sitemapindex>"),
        ("trafilatura-resources/sitemap.xml.gz", "gzip"),
    ],
)
def test_corpus_files_that_are_not_feeds(corpus, relative, cause):
    with pytest.raises(FeedError, match=re.escape(cause)):
        parse_feed(corpus_file(corpus, relative), BASE + relative)


# --- the shared corpus: feedparser's ill-formed and encoding cases --------------------------


def header_comment(body: bytes) -> dict[str, str]:
    """``Header`` / ``Expect`` / ``SkipUnless`` lines of a feedparser test file (any encoding)."""
    for encoding in COMMENT_ENCODINGS:
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "Description:" in text or "Expect:" in text:
            found = {}
            for key in ("Header", "Expect", "SkipUnless"):
                match = re.search(rf"^\s*{key}:\s*(.*?)\s*$", text, re.MULTILINE)
                if match:
                    found[key] = match.group(1)
            return found
    return {}


def same_encoding(actual: str | None, expected: str) -> bool:
    if actual is None:
        return False
    got, want = codecs.lookup(actual).name, codecs.lookup(expected).name
    return got == want or ENCODING_SUPERSETS.get(want) == got


def expectation_holds(expect: str, result: Any) -> bool:
    expression = re.sub(r"encoding == ('[^']*')", r"same_encoding(encoding, \1)", expect)
    names = {**dict(result), "feedparser": feedparser, "same_encoding": same_encoding}
    return bool(eval(expression, {"__builtins__": {"ord": ord, "isinstance": isinstance, "len": len}}, names))


def skipped(condition: str | None) -> bool:
    if not condition:
        return False
    try:
        return not eval(condition, {"__builtins__": {"__import__": __import__}})
    except Exception:
        return True


def check_feedparser_case(path: Path, name: str) -> list[str]:
    """Problems with one feedparser test file: [] when expectation and parse_feed agree."""
    body = path.read_bytes()
    comment = header_comment(body)
    content_type = comment["Header"].split(":", 1)[1].strip() if "Header" in comment else None
    expect = EXPECTATION_OVERRIDES.get(path.name, comment.get("Expect", "1"))
    url = BASE + name
    result = read_with_feedparser(body, url, content_type)
    problems = [] if expectation_holds(expect, result) else [f"expectation {expect!r} does not hold"]
    try:
        feed = parse_feed(body, url, content_type)
    except FeedError as error:
        if not expect.startswith("bozo") or any(entry.get("link") for entry in result.entries):
            problems.append(f"parse_feed raised {error}")
        return problems
    malformed = [warning for warning in feed.warnings if "not well-formed" in warning]
    if expect.startswith("bozo") and not malformed:
        problems.append("bozo file without a FeedError or a not-well-formed warning")
    if expect.startswith("not bozo") and malformed:
        problems.append(f"well-formed file with warning {malformed[0]!r}")
    skipped_entries = [warning for warning in feed.warnings if " skipped: " in warning]
    if len(feed.entries) + len(skipped_entries) != len(result.entries):
        problems.append(
            f"{len(result.entries)} entries read, {len(feed.entries)} kept, {len(skipped_entries)} skipped"
        )
    if feed.encoding != result.get("encoding"):
        problems.append(f"encoding {feed.encoding!r} != feedparser's {result.get('encoding')!r}")
    return problems


@pytest.mark.parametrize(("folder", "minimum"), [("feedparser-illformed", 19), ("feedparser-encoding", 81)])
def test_feedparser_expectations(corpus, folder, minimum):
    root = corpus / "feeds" / folder
    if not root.is_dir():
        pytest.skip(f"{root} is not in this corpus")
    checked, problems = 0, {}
    for path in sorted(root.rglob("*.xml")):
        name = str(path.relative_to(root))
        if skipped(header_comment(path.read_bytes()).get("SkipUnless")):
            continue
        checked += 1
        found = check_feedparser_case(path, name)
        if found:
            problems[name] = found
    assert problems == {}
    assert checked >= minimum


@pytest.mark.parametrize(
    ("relative", "content_type", "title", "encoding"),
    [
        ("feedparser-encoding/euc-kr.xml", None, "\ub144", "euc-kr"),
        ("feedparser-encoding/big5.xml", None, None, "big5"),
        ("feedparser-encoding/utf-16le-bom.xml", None, None, "utf-16le"),
        ("feedparser-encoding/utf-32be-autodetect.xml", None, None, "utf-32be"),
        ("feedparser-encoding/http_text_xml_charset.xml", 'text/xml;charset= "us-ascii"', None, "us-ascii"),
        ("feedparser-illformed/always_strip_doctype.xml", None, "found", "utf-8"),
    ],
)
def test_odd_encodings_are_read_correctly(corpus, relative, content_type, title, encoding):
    feed = parse_feed(corpus_file(corpus, relative), BASE + relative, content_type)
    assert feed.encoding is not None and codecs.lookup(feed.encoding).name == codecs.lookup(encoding).name
    if title is not None:
        assert feed.title == title


def test_corrupted_ampersands_give_the_right_link(corpus):
    relative = "feedparser-illformed/rss_item_link_corrupted_ampersands.xml"
    feed = parse_feed(corpus_file(corpus, relative), BASE + relative)
    assert [entry.url for entry in feed.entries] == ["http://link/get?a=1&b=2"]
    assert "not well-formed" in feed.warnings[0]


@pytest.mark.parametrize(
    "relative",
    [
        "feedparser-illformed/aaa_illformed.xml",
        "feedparser-illformed/rss_empty_document.xml",
        "feedparser-illformed/undeclared_namespace.xml",
        "feedparser-encoding/bozo_invalid-bytes-with-bom.xml",
    ],
)
def test_malformed_corpus_feeds_without_entries_raise(corpus, relative):
    with pytest.raises(FeedError) as caught:
        parse_feed(corpus_file(corpus, relative), BASE + relative)
    assert str(caught.value).startswith(BASE + relative + ": not a usable feed: ")


def test_max_entries_reads_the_newest_and_counts_the_rest() -> None:
    from scraper.sources.base import newest_first

    days = [3, 1, 5, 2, 4]
    items = "".join(
        f"<item><title>d{d}</title><link>https://a.example/{d}</link>"
        f"<pubDate>{d:02d} Dec 2025 10:00:00 GMT</pubDate></item>"
        for d in days
    )
    body = (
        f'<rss version="2.0"><channel><title>t</title>{items}<item><title>none</title></item></channel></rss>'
    )
    whole = parse_feed(body.encode(), "https://a.example/feed")
    capped = parse_feed(body.encode(), "https://a.example/feed", max_entries=2)
    assert (
        [c.title for c in capped.entries]
        == ["d5", "d4"]
        == [c.title for c in newest_first(whole.entries, 2)[0]]
    )
    assert capped.left_out == 4  # three older dated entries and the undated one, never read
