"""A diff between two stored versions, rendered by ``scraper.core.diff_render.render`` for the API
and embedded in our HTML pages.

``render`` escapes every piece of archived text in its ``html`` and ``html-side`` formats. Before
the body of such a page is put into one of ours unescaped, :func:`embeddable` checks it anyway:
only the handful of tags and attributes the renderer is known to write may appear (no script, no
event handler, no URL), else :class:`UnsafeDiffHTMLError` is raised and the page shows the plain
text format instead. The check costs one lxml parse.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from lxml import html as lxml_html
from markupsafe import Markup
from sqlmodel import Session

from scraper.core.diff import Diff, diff_contents
from scraper.core.diff_render import render
from scraper.core.types import Content
from storage import reading
from storage.documents import version_content
from storage.models import Version

ALLOWED_TAGS = frozenset(
    {"article", "p", "ins", "del", "span", "table", "tbody", "thead", "tr", "th", "td", "ul", "li"}
)
ALLOWED_ATTRIBUTES = frozenset({"class", "title"})
_BODY = re.compile(r"<body>(.*)</body>", re.DOTALL)
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


class UnsafeDiffHTMLError(ValueError):
    """The renderer's HTML holds a tag or attribute it is not known to write."""


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """Two versions of one channel of a document and the diff between them."""

    document_id: int
    url: str
    channel: str
    old: Version
    new: Version
    diff: Diff

    @property
    def old_content(self) -> Content:
        return version_content(self.old)

    @property
    def new_content(self) -> Content:
        return version_content(self.new)

    @property
    def labels(self) -> dict[str, str]:
        return {"old_label": label(self.old), "new_label": label(self.new)}

    def render(self, fmt: str) -> str:
        return render(self.diff, fmt, old=self.old_content, new=self.new_content, **self.labels)


def label(version: Version) -> str:
    return f"{version.channel} v{version.seq} ({version.observed_at:%Y-%m-%d %H:%M} UTC)"


def version_diff(
    session: Session, *, document_id: int, channel: str | None, from_seq: int | None, to_seq: int | None
) -> VersionDiff:
    """The diff from ``from_seq`` (default: what ``to_seq`` is compared to) to ``to_seq`` (default:
    the latest version)."""
    doc = reading.get_document(session, document_id=document_id)
    channel = channel or reading.main_channel(session, document_id=document_id) or "page"
    if to_seq is None:
        new = reading.latest_version(session, document_id=document_id, channel=channel)
    else:
        new = reading.get_version(session, document_id=document_id, channel=channel, seq=to_seq)
    if from_seq is None:
        old = reading.diff_base(session, document_id=document_id, channel=channel, version=new)
    else:
        old = reading.get_version(session, document_id=document_id, channel=channel, seq=from_seq)
    diff = diff_contents(version_content(old), version_content(new))
    return VersionDiff(document_id, doc.url, channel, old, new, diff)


def embeddable(page: str) -> Markup:
    """The body of an ``html`` / ``html-side`` page from ``render``, checked (see the module doc)."""
    found = _BODY.search(page)
    if found is None:
        raise UnsafeDiffHTMLError("the rendered diff has no <body>")
    body = found.group(1).strip()
    if body:
        for element in lxml_html.fragments_fromstring(body):
            if isinstance(element, str):
                continue
            _check_tree(element)
    return Markup(body)  # noqa: S704 - every tag and attribute was checked above


def _check_tree(root: lxml_html.HtmlElement) -> None:
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else "<comment or instruction>"
        if tag not in ALLOWED_TAGS:
            raise UnsafeDiffHTMLError(f"the rendered diff holds a <{tag}> element")
        unexpected = set(element.attrib) - ALLOWED_ATTRIBUTES
        if unexpected:
            raise UnsafeDiffHTMLError(f"the rendered diff holds a {sorted(unexpected)[0]!r} attribute")


def style_hashes(page: str) -> list[str]:
    """CSP source expressions ('sha256-...') for the inline ``<style>`` blocks of a rendered page."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii") + "'"
        for css in _STYLE.findall(page)
    ]
