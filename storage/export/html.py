"""``html``: the story report as one self-contained page.

Inline CSS only, no script, no external resource (a Content-Security-Policy that forbids all
three), and every piece of archived text escaped: the page goes through a Jinja2 template with
autoescaping, and the only markup let through unescaped is the diffs' body as
``render(diff, "html")`` writes it, which escapes archived text itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from scraper.core.diff_html import CSS as DIFF_CSS
from scraper.core.diff_render import render
from storage.export.report import KIND_LABELS, Entry, Section, paragraphs, sections
from storage.export.story import Progress, StoryExport, iso
from storage.timeline import TimelineEvent

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"
CSS = DIFF_CSS + (
    "h1{font-size:1.7rem;margin-bottom:.2rem}h3{margin-top:2.5rem;border-top:2px solid #ccc;padding-top:1rem}"
    "h4{margin:1.5rem 0 .3rem;font-size:1rem}.outlet{color:#666;font-weight:400;font-size:.9rem}"
    ".url{word-break:break-all}.note{font-style:italic}.was{color:#666}"
    ".kind-deleted h4{color:#9b1c1c}.kind-restored h4{color:#1c6b2f}.kind-reverted h4{color:#8a5a00}"
    "table.timeline{font-size:.9rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}"
    "dt{color:#555}dd{margin:0}p.text{margin:.5rem 0}"
)


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def write(source: StoryExport, path: Path, progress: Progress) -> int:
    progress.start(source.version_count(), "html: versions")
    docs: list[dict[str, Any]] = []
    for section in sections(source):
        docs.append(section_view(section))
        progress.advance(len(section.entries))
    page = environment().get_template("report.html").render(
        story=source.story, csp=CSP, css=Markup(CSS), exported=iso(source.now), documents=len(source.links),  # noqa: S704 - constant CSS
        versions=source.version_count(), events=[event_view(e) for e in source.timeline().events],
        sections=docs,
    )  # fmt: skip
    path.write_text(page, encoding="utf-8")
    return sum(len(d["entries"]) for d in docs)


def event_view(event: TimelineEvent) -> dict[str, Any]:
    return {
        "time": f"{event.at:%Y-%m-%d %H:%M:%S}", "kind": event.kind.value, "label": KIND_LABELS[event.kind],
        "outlet": event.outlet, "document_id": event.document_id, "title": event.title or event.url,
        "version": f"{event.channel} v{event.seq}" if event.seq is not None else "", "summary": event.summary,
        "previous_title": event.previous_title if event.headline_changed else None,
    }  # fmt: skip


def section_view(section: Section) -> dict[str, Any]:
    link = section.link
    found = f"{link.discovered_at:%Y-%m-%d %H:%M:%S} UTC via {link.via}" + (
        f" ({link.reason})" if link.reason else ""
    )
    entries = [entry_view(e) for e in section.entries]
    return {"number": section.number, "title": section.title, "outlet": section.outlet,
            "document": section.document, "found": found, "entries": entries}  # fmt: skip


def entry_view(entry: Entry) -> dict[str, Any]:
    v = entry.version
    view: dict[str, Any] = {"kind": entry.kind.value, "heading": entry.heading, "summary": "", "note": "",
                            "fields": [], "paragraphs": [], "diff_html": ""}  # fmt: skip
    if v.kind == "tombstone":
        status = f" (HTTP {v.http_status})" if v.http_status else ""
        return view | {"note": f"Gone{status}: the {v.channel} no longer exists (tombstone)."}
    if v.kind == "revert" and v.revert_of is not None:
        view["note"] = f"Back to the content of version {v.revert_of}."
    if entry.show_text:
        fields = [("title", v.title), ("byline", v.byline), ("published", iso(v.published))]
        return view | {"summary": entry.summary, "fields": [(k, x) for k, x in fields if x],
                       "paragraphs": paragraphs(v.text) or ["(no text)"]}  # fmt: skip
    assert entry.diff is not None
    return view | {
        "diff_html": diff_fragment(render(entry.diff, "html", old=entry.old, new=entry.new, **entry.labels))
    }


def diff_fragment(page: str) -> Markup:
    """The inside of ``<body>`` of a page written by the diff's ``html`` renderer.

    That renderer escapes every archived character, so ``<body>`` and ``</body>`` occur in its
    output only as its own tags."""
    if "<body>" not in page or "</body>" not in page:
        raise ValueError("the diff's html renderer no longer writes a <body>: update storage.export.html")
    body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    return Markup(f'<div class="diff">{body}</div>')  # noqa: S704 - escaped by scraper.core.diff_html
