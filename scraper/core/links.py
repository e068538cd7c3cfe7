"""What a fetched HTML page links to: its declared canonical URL, the article links of a
section or front page, and the outgoing links of an article (for link following).

Parsing is lxml.html (lenient, like a browser); URLs are resolved against ``<base href>`` and
the page URL, then canonicalized (:func:`scraper.core.urls.canonicalize`).

Heuristics of :func:`article_links`, in order:

1. links inside ``<nav>`` or ``role=navigation|banner|contentinfo``, and inside the page's own
   ``<header>`` and ``<footer>`` (not an ``<article>``'s), are menus, not coverage: dropped;
2. non-http(s) links, assets (images, media, scripts, documents, archives), share buttons and
   the page itself or the site's home page: dropped;
3. navigation and service pages (tag, category, author, topic, page N, login, contact...;
   courlan's filters): dropped;
4. other sites: dropped unless ``same_site=False`` (same site = same registered domain, so
   ``edition.cnn.com`` belongs to ``www.cnn.com``);
5. ``exclude`` patterns (regexes searched in the canonical URL) drop; ``include`` patterns,
   when given, keep only what matches one of them and replace step 6;
6. what is left must look like an article: a date in the path (``/2025/12/30/``, ``2025-12-30``),
   a slug of three words or more (``putin-residence-drone-claim``), a numeric id of six digits or
   more, or an anchor text of four words or more on a path at least two segments deep.

Links to the same URL are merged; the longest anchor text becomes the candidate's title.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from courlan import extract_domain, is_navigation_page, is_not_crawlable
from lxml import etree

from scraper.core.types import Candidate
from scraper.core.urls import InvalidURL, canonicalize, join_url

_PAGE_CHROME_TAGS = frozenset({"header", "footer"})
_BOILERPLATE_ROLES = frozenset({"navigation", "banner", "contentinfo"})
_ASSET = re.compile(
    r"\.(jpe?g|png|gif|webp|avif|svg|ico|bmp|tiff?|css|js|mjs|json|xml|rss|atom|pdf|docx?|xlsx?|pptx?"
    r"|zip|gz|tgz|rar|7z|mp3|m4a|ogg|wav|flac|mp4|m4v|mov|avi|webm|mkv|woff2?|ttf|otf|eot|exe|dmg|apk)$",
    re.IGNORECASE,
)
_SHARE = re.compile(
    r"/(share|sharer|intent/tweet|intent/post|submit)\b|[?&](share|shareArticle)=", re.IGNORECASE
)
_DATE_PATH = re.compile(r"/(19|20)\d{2}/(0?[1-9]|1[0-2])(/|$)|(19|20)\d{2}-\d{2}-\d{2}|/(19|20)\d{6}(/|$)")
_SLUG = re.compile(r"[^\W_]+(?:[-_][^\W_]+){2,}")
_LONG_ID = re.compile(r"\d{6,}")
_MIN_TITLE_WORDS = 4


class PatternError(ValueError):
    """An include/exclude pattern of a source is not a valid regular expression."""

    def __init__(self, pattern: str, error: re.error) -> None:
        super().__init__(f"link pattern {pattern!r} is not a valid regular expression: {error}")
        self.pattern = pattern


# --- parsing ------------------------------------------------------------------------------


def parse_html(html: str | bytes) -> Any:
    """The lxml root of an HTML document, or None for an empty or unparseable body."""
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def document_base(root: Any, page_url: str) -> str:
    """The URL relative links resolve against: ``<base href>`` if any, else the page URL."""
    declared = str(root.xpath("string(//base/@href)") or "").strip()
    try:
        return join_url(page_url, declared) if declared else page_url
    except InvalidURL:
        return page_url


# --- canonical URL ------------------------------------------------------------------------


def canonical_from_html(html: str | bytes, base_url: str) -> str | None:
    """The canonical URL a fetched page declares, canonicalized; None when it declares none.

    ``<link rel="canonical">`` wins over ``<meta property="og:url">``. A declaration pointing at
    the site's home page from a deeper page is ignored: a common template mistake which, if
    trusted, would merge every article of a site into one document.
    """
    root = parse_html(html)
    if root is None:
        return None
    base = document_base(root, base_url)
    for declared in _declared_canonicals(root):
        try:
            found = _usable_canonical(join_url(base, declared), base_url)
        except InvalidURL:
            continue
        if found is not None:
            return found
    return None


def _declared_canonicals(root: Any) -> list[str]:
    links = [link.get("href") or "" for link in root.iter("link") if "canonical" in _rel(link)]
    metas = [
        meta.get("content") or ""
        for meta in root.iter("meta")
        if (meta.get("property") or meta.get("name") or "").strip().lower() == "og:url"
    ]
    return [value.strip() for value in (*links, *metas) if value.strip()]


def _usable_canonical(declared: str, page_url: str) -> str | None:
    try:
        found = canonicalize(declared)
    except InvalidURL:
        return None
    if urlsplit(found).path == "/" and urlsplit(page_url).path not in ("", "/"):
        return None
    return found


def _rel(element: Any) -> list[str]:
    return str(element.get("rel") or "").lower().split()


# --- section and front pages --------------------------------------------------------------


def article_links(
    html: str | bytes,
    base_url: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    same_site: bool = True,
) -> list[Candidate]:
    """Candidates for the article links of a section or front page (module docstring)."""
    includes, excludes = compile_patterns(include), compile_patterns(exclude)
    titles: dict[str, str] = {}
    for url, text in _content_links(html, base_url):
        if same_site and not _same_site(url, base_url):
            continue
        if any(p.search(url) for p in excludes) or is_navigation_page(url) or is_not_crawlable(url):
            continue
        keep = any(p.search(url) for p in includes) if includes else looks_like_article(url, text)
        if keep and len(text) >= len(titles.get(url, "")):
            titles[url] = text
    return [Candidate(url=url, title=title or None, via="source") for url, title in titles.items()]


def compile_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    """Compile a source's include/exclude regexes; raise :class:`PatternError` on a bad one."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as error:
            raise PatternError(pattern, error) from error
    return compiled


def looks_like_article(url: str, anchor_text: str = "") -> bool:
    """Step 6 of the module docstring: does this URL (and its link text) look like an article?"""
    path = urlsplit(url).path
    if _DATE_PATH.search(path) or _LONG_ID.search(path):
        return True
    segments = [segment for segment in path.split("/") if segment]
    if any(_SLUG.fullmatch(_strip_extension(segment)) for segment in segments):
        return True
    return len(segments) >= 2 and len(anchor_text.split()) >= _MIN_TITLE_WORDS


def _strip_extension(segment: str) -> str:
    return re.sub(r"\.(s?html?|php|aspx?|jsp)$", "", segment, flags=re.IGNORECASE)


def _same_site(url: str, page_url: str) -> bool:
    return _site(url) == _site(page_url)


def _site(url: str) -> str:
    """The registered domain (courlan's public-suffix data); for hosts it does not know (IP
    addresses, reserved names like ``news.example``) the last two labels of the host name."""
    known = extract_domain(url)
    if known:
        return known
    host = urlsplit(url).hostname or ""
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return host
    return ".".join(host.split(".")[-2:])


# --- link following -----------------------------------------------------------------------


def outgoing_links(html: str | bytes, base_url: str) -> list[str]:
    """Canonical http(s) URLs an article links to, in page order, for link following.

    Looks inside the page's main ``<article>`` (the one with the most text) when there is one,
    else the whole page; menus, page headers and footers, assets, share buttons, navigation
    pages (tags, authors...) and the page's own URL are left out. Links to other sites are
    kept: they are often the sources of a story.
    """
    found: dict[str, None] = {}
    for url, _text in _content_links(html, base_url, scope=_main_article):
        if not is_navigation_page(url) and not is_not_crawlable(url):
            found.setdefault(url, None)
    return list(found)


def _main_article(root: Any) -> Any:
    articles = list(root.iter("article"))
    return max(articles, key=lambda element: len(element.text_content())) if articles else root


# --- shared link walk ---------------------------------------------------------------------


def _content_links(html: str | bytes, base_url: str, *, scope: Any = None) -> Iterator[tuple[str, str]]:
    """(canonical URL, anchor text) of every http(s) non-asset link outside page chrome."""
    root = parse_html(html)
    if root is None:
        return
    base = document_base(root, base_url)
    own = _own_urls(base_url)
    for anchor in (scope(root) if scope else root).iter("a"):
        url = _link_target(anchor, base)
        if url is None or url in own or _in_boilerplate(anchor):
            continue
        yield url, " ".join(anchor.text_content().split())


def _link_target(anchor: Any, base: str) -> str | None:
    href = str(anchor.get("href") or "").strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = canonicalize(join_url(base, href))
    except InvalidURL:
        return None
    path = urlsplit(url).path
    if _ASSET.search(path) or _SHARE.search(url):
        return None
    return url


def _own_urls(page_url: str) -> set[str]:
    try:
        page = canonicalize(page_url)
    except InvalidURL:
        return set()
    parts = urlsplit(page)
    return {page, f"{parts.scheme}://{parts.netloc}/"}


def _in_boilerplate(element: Any) -> bool:
    """Inside a menu, or the page's own header or footer (an article's header is content)."""
    ancestors = list(element.iterancestors())
    in_article = any(ancestor.tag == "article" for ancestor in ancestors)
    for ancestor in ancestors:
        if ancestor.tag == "nav" or str(ancestor.get("role") or "").lower() in _BOILERPLATE_ROLES:
            return True
        if ancestor.tag in _PAGE_CHROME_TAGS and not in_article:
            return True
    return False
