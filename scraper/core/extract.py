"""Article extraction: raw HTML in, ``Content`` out (a pure function of the HTML).

trafilatura finds the main text and most metadata; htmldate supplies the update date; what the
markup states outright (JSON-LD, meta tags, ``<link rel=canonical>``, ``<html lang>``) is read
with lxml as a fallback and for full timestamps where trafilatura keeps only a day. The HTML is
parsed once: trafilatura, htmldate and the markup readers all work on the same lxml tree.

trafilatura runs in precision mode (less boilerplate, fewer false versions). Precision mode
sometimes keeps a fragment of the article (a reprint notice, the part before an ad); when its
text is a small share of the page's paragraph text, the default mode runs once more on the
same tree and wins if it finds several times more text (see ``looks_truncated``).

Exceptions::

    ExtractionError
     +-- EmptyDocumentError      the body is empty or blank
     +-- NotHTMLError            binary data or text without markup
     +-- NoContentError          neither text nor a title could be found
          +-- TooDeepError       elements nest past the parser's limit, so the text is cut
    InvalidSelectorError         a per-source ``remove_selectors`` rule is not valid CSS
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import dateutil.parser

from scraper.core.normalize import to_utc
from scraper.core.types import Content, Extracted
from scraper.core.urls import InvalidURL, canonicalize, join_url

if TYPE_CHECKING:
    from lxml.html import HtmlElement
    from trafilatura.settings import Document

# trafilatura, htmldate, lxml and bs4 are imported where they are used, not here: the main
# process of a pool only needs the names and errors below (~40 MB and ~0.7 s less per command).

EXTRACTOR_NAME = "trafilatura"
GLUE_VERSION = 2  # bump when this module changes what it returns for the same HTML
EXTRACTOR_VERSION = f"{version('trafilatura')}+st{GLUE_VERSION}"

FAVOR_PRECISION = True  # measured on the shared corpus: see tests/extraction_baseline.json
# Precision text below this share of the page's <p> text looks truncated (3 of 158 corpus pages);
# the default mode's text replaces it when it is at least RECALL_GAIN times longer.
TRUNCATED_SHARE = 0.15
RECALL_GAIN = 4
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
ARTICLE_TYPES = frozenset(
    {"Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
     "BackgroundNewsArticle", "ReviewNewsArticle", "LiveBlogPosting", "BlogPosting", "Report",
     "SocialMediaPosting", "TechArticle", "ScholarlyArticle"}
)  # fmt: skip
_MARKUP = re.compile(
    r"<\s*(?:!doctype|html|head|body|meta|title|article|main|div|p|span|section|h[1-6]|a|script)\b",
    re.IGNORECASE,
)
MAX_DEPTH = 250  # libxml2 stops reading HTML at 256 levels of nesting: what follows is lost
# an element with MAX_DEPTH ancestors, as a fixed path (2.5x cheaper than counting every
# element's ancestors: 0.24 vs 0.61 ms a corpus page)
_TOO_DEEP = "boolean(/" + "/".join(["*"] * (MAX_DEPTH + 1)) + ")"
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\ufffd]")


class ExtractionError(Exception):
    """Raised when a body cannot be turned into content. The message names the URL and cause."""

    def __init__(self, url: str | None, reason: str) -> None:
        super().__init__(f"cannot extract {url or '<unknown URL>'}: {reason}")
        self.url = url
        self.reason = reason

    def __reduce__(self) -> tuple[type[ExtractionError], tuple[str | None, str]]:
        return (type(self), (self.url, self.reason))  # survives the trip back from a worker


class EmptyDocumentError(ExtractionError):
    pass


class NotHTMLError(ExtractionError):
    pass


class NoContentError(ExtractionError):
    pass


class TooDeepError(NoContentError):
    """Elements nest past the parser's depth limit: whatever text it finds is cut (a suspect
    extraction, never a version)."""


class InvalidSelectorError(ValueError):
    """A ``remove_selectors`` rule is not a CSS selector soupsieve understands."""

    def __init__(self, selector: str, error: Exception) -> None:
        super().__init__(f"remove selector {selector!r} is not valid CSS: {error}")
        self.selector = selector


@dataclass(frozen=True, slots=True)
class Markup:
    """What the page states outright in JSON-LD, meta tags and link elements."""

    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    description: str | None = None
    site_name: str | None = None
    schema_type: str | None = None
    organizations: tuple[str, ...] = ()  # JSON-LD publisher and organization authors


def extract(html: str | bytes, url: str | None = None, *, remove_selectors: Sequence[str] = ()) -> Extracted:
    """Extract the article in ``html`` (a str, or raw bytes whose encoding is guessed).

    ``remove_selectors`` are CSS selectors removed from the DOM first (per-source ignore rules).
    A page with a title but no text gives ``text=""``; see the module docstring for errors.
    """
    from trafilatura import load_html
    from trafilatura.utils import decode_file

    text = _checked_markup(decode_file(html) if isinstance(html, bytes) else html, url)
    if remove_selectors:
        text = _without(text, remove_selectors)
    tree = load_html(text)
    if tree is None:
        raise NotHTMLError(url, "lxml could not parse the body as HTML")
    if tree.xpath(_TOO_DEEP):
        raise TooDeepError(
            url, f"elements nest more than {MAX_DEPTH} deep; the HTML parser stops there, so the text is cut"
        )
    content = _content(tree, url)
    if not content.text and not content.title:
        raise NoContentError(url, "no article text and no title found")
    return Extracted(content=content, extractor=EXTRACTOR_NAME, extractor_version=EXTRACTOR_VERSION)


def _checked_markup(text: str, url: str | None) -> str:
    if not text.strip():
        raise EmptyDocumentError(url, "the body is empty")
    head = text[:4096]
    if len(_BINARY.findall(head)) > len(head) // 20:
        raise NotHTMLError(url, "the body looks like binary data, not HTML")
    if not _MARKUP.search(text[:65536]):
        raise NotHTMLError(url, "the body has no HTML markup")
    return text


def _without(text: str, selectors: Sequence[str]) -> str:
    from bs4 import BeautifulSoup
    from soupsieve import SelectorSyntaxError

    soup = BeautifulSoup(text, "lxml")
    for selector in selectors:
        try:
            matches = soup.select(selector)
        except SelectorSyntaxError as error:
            raise InvalidSelectorError(selector, error) from error
        for element in matches:
            element.decompose()
    return str(soup)


def _content(tree: HtmlElement, url: str | None) -> Content:
    markup = read_markup(tree, url)
    document = _trafilatura(tree, url)
    published = choose_published(markup.published, parse_date(document.date))
    modified = to_utc(markup.modified or _updated(tree, url))
    publishers = _site_keys(markup.site_name, document.sitename, document.hostname, *markup.organizations)
    return Content(
        title=trim_site_name(document.title or markup.title, publishers),
        byline=people_only(document.author or markup.author, publishers),
        text=body_text(document.body),
        published=to_utc(published),
        modified=_later(modified, to_utc(published)),
        canonical_url=markup.canonical_url,
        language=markup.language,
        description=document.description or markup.description,
        metadata=_metadata(document, markup)
        | _local_date(published, markup.published)
        | ({"modified_from": "markup" if markup.modified else "htmldate"} if modified else {}),
    )


def choose_published(stated: datetime | None, found: datetime | None) -> datetime | None:
    """The publication date, in the page's own offset.

    htmldate's day (``found``) is right more often than the page's JSON-LD/meta timestamp
    (measured on the corpus: 111 vs 108 of 128 gold days), but it often knows only the day or
    mislabels the offset; the page's timestamp gives the exact instant when both agree on the day.
    """
    if found is None or (stated is not None and stated.date() == found.date()):
        return stated
    return found


def _later(modified: datetime | None, published: datetime | None) -> datetime | None:
    """An update date is kept only when it is after publication."""
    return modified if modified and (published is None or modified > published) else None


def _local_date(published: datetime | None, stated: datetime | None) -> dict[str, str]:
    """The publication time in the page's own offset (for display and day checks), and whether
    the page stated it in JSON-LD/meta tags ("markup") or htmldate inferred it ("htmldate")."""
    if published is None:
        return {}
    return {
        "published_local": published.isoformat(),
        "published_from": "markup" if published is stated else "htmldate",
    }


def _trafilatura(tree: HtmlElement, url: str | None) -> Document:
    """trafilatura's text and metadata (precision mode, default mode where precision looks
    truncated); metadata alone when it finds no text. ``tree`` is left untouched."""
    from trafilatura import extract_metadata

    document = _bare(tree, url, precision=FAVOR_PRECISION)
    if FAVOR_PRECISION and looks_truncated(_length(document), _paragraph_chars(tree)):
        balanced = _bare(tree, url, precision=False)
        if _length(balanced) >= RECALL_GAIN * max(_length(document), 1):
            document = balanced
    if document is not None:
        return document
    return extract_metadata(tree, default_url=url, date_config=_DATE_PARAMS)


_DATE_PARAMS = {"original_date": True, "extensive_search": True, "outputformat": ISO_FORMAT}


def _bare(tree: HtmlElement, url: str | None, *, precision: bool) -> Document | None:
    from trafilatura import bare_extraction
    from trafilatura.settings import Document

    document = bare_extraction(
        tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
        favor_precision=precision, date_extraction_params=_DATE_PARAMS,
    )  # fmt: skip
    return document if isinstance(document, Document) else None


def looks_truncated(text_chars: int, paragraph_chars: int) -> bool:
    """The extracted text is a small share of what the page's paragraphs hold."""
    return text_chars < TRUNCATED_SHARE * paragraph_chars


def _length(document: Document | None) -> int:
    return len(document.text or "") if document is not None else 0


def _paragraph_chars(tree: HtmlElement) -> int:
    """Characters of text inside the page's ``<p>`` elements (cheap: no copy of the tree)."""
    return sum(len(p.text_content()) for p in tree.iterfind(".//p"))


def _updated(tree: HtmlElement, url: str | None) -> datetime | None:
    """The update date by htmldate's structural search (no free-text guessing: sidebars churn)."""
    from htmldate import find_date

    found = find_date(tree, extensive_search=False, original_date=False, outputformat=ISO_FORMAT, url=url)
    return parse_date(found)


def body_text(body: HtmlElement | None) -> str:
    """trafilatura's output tree as text: one paragraph per block, separated by a blank line."""
    from trafilatura.xml import xmltotxt

    if body is None:
        return ""
    blocks = (xmltotxt(child, False) for child in body)
    tidy = ("\n".join(line.strip() for line in block.splitlines() if line.strip()) for block in blocks)
    return "\n\n".join(block for block in tidy if block)


# --- site names out of titles and bylines ------------------------------------------------------

_TITLE_PARTS = re.compile(r"(\s*(?:\||::|»|·|•)\s*|\s+[-\u2013\u2014]\s+)")
_NOT_PEOPLE = frozenset(
    {"admin", "administrator", "author", "name", "no author", "staff", "username", "作者"}
)


def _key(text: str) -> str:
    """Letters and digits only, case and accents folded: "Aktuálně.cz" -> "aktualnecz"."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold()) if ch.isalnum())


def _site_keys(*names: str | None) -> tuple[str, ...]:
    """Comparable forms of the site's names; a hostname gives its registrable label."""
    keys = {_key(_host_label(name) if "." in name and " " not in name else name) for name in names if name}
    return tuple(key for key in keys if len(key) >= 3)


def _host_label(hostname: str) -> str:
    labels = [label for label in hostname.lower().split(".") if label not in ("www", "m", "amp")]
    return max(labels[:-1] or labels, key=len)


def _is_site(text: str, site_keys: Sequence[str]) -> bool:
    """``text`` names the site: it contains a site name that is at least half of it."""
    key = _key(text)
    return bool(key) and any(site in key and 2 * len(site) >= len(key) for site in site_keys)


def trim_site_name(title: str | None, site_keys: Sequence[str]) -> str | None:
    """Drop a leading or trailing "| Site Name" part (and what follows a trailing one)."""
    if not title:
        return title
    parts = _TITLE_PARTS.split(title)  # text, separator, text, ...
    texts = parts[::2]
    cut = next((i for i in range(1, len(texts)) if _is_site(texts[i], site_keys)), len(texts))
    start = 1 if cut > 1 and _is_site(texts[0], site_keys) else 0
    kept = "".join(parts[2 * start : 2 * cut - 1]).strip()
    return kept or title


def people_only(byline: str | None, site_keys: Sequence[str]) -> str | None:
    """Drop organisations (the site, its publisher) and placeholders from a "; "-joined byline."""
    if not byline:
        return byline
    names = [n.strip() for n in byline.split(";")]
    people = [n for n in names if n and n.casefold() not in _NOT_PEOPLE and not _is_site(n, site_keys)]
    return "; ".join(people) or None


def _metadata(document: Document, markup: Markup) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "sitename": document.sitename or markup.site_name,
        "hostname": document.hostname,
        "tags": _split_terms(document.tags),
        "categories": _split_terms(document.categories),
        "image": document.image,
        "license": document.license,
        "pagetype": document.pagetype,
        "schema_type": markup.schema_type,
    }
    return {key: value for key, value in fields.items() if value}


def _split_terms(values: list[str] | None) -> list[str]:
    terms = (term.strip() for value in values or [] for term in value.split(","))
    return list(dict.fromkeys(term for term in terms if term))


# --- what the markup states: JSON-LD, meta and link elements ---------------------------------


def read_markup(tree: HtmlElement, url: str | None = None) -> Markup:
    """Read JSON-LD (the first article-like object) and meta tags; JSON-LD wins where both exist."""
    article = _article_object(tree)
    metas = _meta_index(tree)
    return Markup(
        title=_text(article.get("headline")) or _meta(metas, "og:title", "twitter:title") or _title(tree),
        author=_ld_author(article.get("author")) or _meta_author(metas),
        published=parse_date(_text(article.get("datePublished")) or _meta(metas, *_PUBLISHED_META)),
        modified=parse_date(_text(article.get("dateModified")) or _meta(metas, *_MODIFIED_META)),
        canonical_url=_canonical(tree, metas, url),
        language=_language(tree, metas) or _text(article.get("inLanguage")),
        description=_meta(metas, "og:description", "description") or _text(article.get("description")),
        site_name=_meta(metas, "og:site_name") or _ld_name(article.get("publisher")),
        schema_type=_ld_type(article),
        organizations=_ld_organizations(article),
    )


_PUBLISHED_META = ("article:published_time", "datePublished", "og:published_time", "pubdate", "publishdate")
_MODIFIED_META = ("article:modified_time", "dateModified", "og:updated_time", "article:updated_time")


def _meta_index(tree: HtmlElement) -> dict[str, str]:
    """Each meta name/property/itemprop (lower case) -> its first non-empty ``content``."""
    index: dict[str, str] = {}
    for element in tree.iterfind(".//meta[@content]"):
        value = (element.get("content") or "").strip()
        if not value:
            continue
        for key in (element.get("property"), element.get("name"), element.get("itemprop")):
            if key:
                index.setdefault(key.lower(), value)
    return index


def _meta(metas: dict[str, str], *names: str) -> str | None:
    """The first non-empty ``content`` of a meta element named (name/property/itemprop) ``names``."""
    return next((metas[name.lower()] for name in names if name.lower() in metas), None)


def _title(tree: HtmlElement) -> str | None:
    element = tree.find(".//title")
    return _text(element.text_content()) if element is not None else None


def _meta_author(metas: dict[str, str]) -> str | None:
    author = _meta(metas, "author", "article:author", "byl", "dc.creator")
    return author if author and not author.startswith(("http://", "https://")) else None


def _canonical(tree: HtmlElement, metas: dict[str, str], url: str | None) -> str | None:
    hrefs = (link.get("href") for link in tree.iterfind(".//link[@href]") if _is_canonical(link))
    declared = next((href.strip() for href in hrefs if href and href.strip()), None)
    declared = declared or _meta(metas, "og:url")
    if not declared:
        return None
    try:
        return canonicalize(join_url(url or "", declared))
    except InvalidURL:
        return None


def _is_canonical(link: HtmlElement) -> bool:
    return "canonical" in (link.get("rel") or "").lower().split()


def _language(tree: HtmlElement, metas: dict[str, str]) -> str | None:
    root = tree.getroottree().getroot()
    declared = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    declared = declared or _meta(metas, "content-language", "og:locale", "language")
    if not declared:
        for element in tree.iterfind(".//meta[@http-equiv]"):
            if (element.get("http-equiv") or "").lower() == "content-language":
                declared = element.get("content")
    first = (declared or "").split(",")[0].strip().replace("_", "-")
    return first or None


_TZ_NAMES = {"UTC": 0, "GMT": 0, "Z": 0, "BST": 3600, "CET": 3600, "CEST": 7200, "EET": 7200,
             "EEST": 10800, "MSK": 10800, "EST": -18000, "EDT": -14400, "CST": -21600, "CDT": -18000,
             "MST": -25200, "MDT": -21600, "PST": -28800, "PDT": -25200}  # fmt: skip


_NO_YEAR = datetime(1, 1, 1)  # dateutil fills what the text lacks from this, never from the clock


def parse_date(value: str | None) -> datetime | None:
    """A stated date or timestamp (ISO 8601, RFC 2822, or ``Tue Jan 28 15:28:56 CET 2020``),
    in its own offset (naive when the page gives none); junk gives None."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        parsed = dateutil.parser.parse(text, default=_NO_YEAR, tzinfos=_TZ_NAMES)
    except (ValueError, OverflowError, TypeError):
        return None
    return None if parsed.year == _NO_YEAR.year else parsed  # no year stated: not a date


def _json_ld(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's ld+json scripts, ``@graph`` members included."""
    for script in tree.iterfind(".//script[@type]"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            continue
        yield from _objects(data)


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _objects(item)
    elif isinstance(data, dict):
        yield data
        yield from _objects(data.get("@graph"))


def _article_object(tree: HtmlElement) -> dict[str, Any]:
    return next((obj for obj in _json_ld(tree) if _ld_type(obj)), {})


def _ld_type(obj: dict[str, Any]) -> str | None:
    declared = obj.get("@type")
    types = declared if isinstance(declared, list) else [declared]
    return next((t for t in types if isinstance(t, str) and t in ARTICLE_TYPES), None)


def _ld_author(value: Any) -> str | None:
    people = value if isinstance(value, list) else [value]
    names = [name for person in people if (name := _ld_name(person))]
    return "; ".join(dict.fromkeys(names)) or None


def _ld_organizations(article: dict[str, Any]) -> tuple[str, ...]:
    authors = article.get("author")
    entries = [*(authors if isinstance(authors, list) else [authors]), article.get("publisher")]
    orgs = (
        e
        for e in entries
        if isinstance(e, dict) and e.get("@type") in ("Organization", "NewsMediaOrganization")
    )
    return tuple(name for org in orgs if (name := _ld_name(org)))


def _ld_name(value: Any) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None
