"""Commands for reading the archive: timeline, search, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jobs.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    context,
    err,
    fail,
    out,
    parse_time,
    print_json,
    ready_engine,
    short_time,
)
from jobs.cli.tables import Col, print_table
from scraper.core.notify import EVENT_KINDS

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from storage.search import SearchHit
    from storage.timeline import TimelinePage

EXPORT_FORMATS_HELP = (
    "The file format: jsonl, csv, markdown, html, atom, warc, wacz, newsedits, parquet"
    " (a wrong one lists all)."
)


def register(app: typer.Typer) -> None:
    app.command("timeline")(timeline_cmd)
    app.command("search")(search_cmd)
    app.command("export")(export_cmd)


def timeline_cmd(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The story.")],
    at: Annotated[
        str | None, typer.Option("--at", metavar="TIME", help="The story as a reader saw it at TIME.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="TIME", help="Only events from TIME on.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="TIME", help="Only events up to TIME.")
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            metavar="KIND",
            help=f"Only events of KIND (repeat or comma-separate: {', '.join(EVENT_KINDS)}).",
        ),
    ] = None,
    min_significance: Annotated[
        float | None,
        typer.Option(
            "--min-significance",
            metavar="X",
            min=0.0,
            max=1.0,
            help="Only events with a significance of at least X (0-1).",
        ),
    ] = None,
    newest: Annotated[bool, typer.Option("--newest-first", help="Newest events first.")] = False,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, max=1000, help="At most N events (a page).")
    ] = 200,
    cursor: Annotated[
        str | None,
        typer.Option("--cursor", metavar="CURSOR", help="The next page: the cursor a page printed."),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The story's documents and changes in time order, a page at a time."""
    from sqlmodel import Session

    from storage import catalog
    from storage.reading import ReadingError
    from storage.timeline import EventFilter, InvalidWindowError, timeline_page

    when, start, end = (
        parse_time(v, f) if v else None for v, f in ((at, "--at"), (since, "--since"), (until, "--until"))
    )
    kinds = tuple(k.strip() for value in kind or () for k in value.split(",") if k.strip())
    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        story = catalog.get_story(session, slug=slug)
        assert story.id is not None
        try:
            order = "desc" if newest else "asc"
            window = EventFilter(kinds=kinds, since=start, until=end, at=when,
                                 min_significance=min_significance, order=order)  # fmt: skip
            result = timeline_page(session, story.id, filter=window, limit=limit, cursor=cursor)
        except InvalidWindowError as exc:
            fail(f"timeline: {exc}", 2)
        except ReadingError as exc:
            fail(f"--cursor: {exc}", 2)
    if as_json:
        print_json(result.to_json())
        return
    _print_timeline(result)


def _print_timeline(result: TimelinePage) -> None:
    at = result.filter.at
    as_of = f" as of {short_time(at)} UTC" if at else ""
    columns = [
        Col("#", "number"),
        Col("outlet", "fixed"),
        Col("title", "title"),
        Col("discovered (UTC)", "fixed"),
        Col("via"),
        Col("versions", "number"),
        Col("state"),
    ]
    rows: list[tuple[str, ...]] = []
    for n, d in enumerate(result.documents, start=1):
        state = (
            "deleted" if d.deleted else ", ".join(f"{c} v{s}" for c, s in d.latest.items()) or "not captured"
        )
        rows.append(
            (str(n), d.outlet, d.title or d.url, short_time(d.discovered_at), d.via, str(d.versions), state)
        )
    print_table(
        columns, rows, title=f"{result.title} — {len(result.documents)} documents on this page{as_of}"
    )
    columns = [
        Col("time (UTC)", "fixed"),
        Col("event", "fixed"),
        Col("outlet", "fixed"),
        Col("document", "title"),
        Col("version", "fixed"),
        Col("what happened", "title", 60),
    ]
    page = result.events
    rows = []  # the same shape: tuples of strings
    for e in page.items:
        what = e.summary + (f" (was: {e.previous_title})" if e.previous_title else "")
        version = f"{e.channel} v{e.seq}" if e.seq is not None else ""
        rows.append((short_time(e.at), e.kind, e.outlet, e.title or e.url or "", version, what))
    if not out.is_terminal:
        out.print()
    print_table(columns, rows, title=f"{len(page.items)} events")
    if page.next_cursor:
        err.print(f"more events: --cursor {page.next_cursor}", highlight=False, markup=False)


def search_cmd(
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help='Words (all required), "a phrase", prefix*, -excluded.')
    ],
    story: Annotated[
        str | None, typer.Option("--story", metavar="SLUG", help="Only this story's documents.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", metavar="NAME", help="Only documents from this source.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="TIME", help="Versions observed from TIME on.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="TIME", help="Versions observed up to TIME (the latest then)."),
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Search every version, not only the latest.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, help="At most N hits.")] = 50,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Full-text search over the latest versions (or all of them)."""
    from sqlmodel import Session

    from storage import catalog
    from storage.search import SearchError, search

    start, end = (parse_time(v, f) if v else None for v, f in ((since, "--since"), (until, "--until")))
    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        story_id = catalog.get_story(session, slug=story).id if story else None
        source_id = catalog.get_source(session, name=source).id if source else None
        try:
            hits = search(session, text, story_id=story_id, source_id=source_id, since=start, until=end,
                          all_versions=all_versions, limit=limit)  # fmt: skip
        except SearchError as exc:
            fail(f"search TEXT: {exc}", 2)
    if as_json:
        print_json({"query": text, "all_versions": all_versions, "hits": [h.to_json() for h in hits]})
        return
    if not hits:
        hint = "" if all_versions else " (try --all-versions)"
        which = "version" if all_versions else "latest version"
        err.print(f"no {which} matches {text!r}{hint}", highlight=False, markup=False)
        return
    for hit in hits:
        _print_hit(hit)


def _print_hit(hit: SearchHit) -> None:
    from rich.text import Text

    head = Text(
        f"{hit.outlet} · {hit.channel} v{hit.seq} · {short_time(hit.observed_at)} UTC · ", style="dim"
    )
    head.append(hit.title or hit.url, style="bold")
    out.print(head)
    out.print(Text(hit.url, style="dim"))
    snippet = Text("  ")
    for part, matched in hit.parts:
        snippet.append(part, style="bold yellow" if matched else "")
    out.print(snippet)
    out.print()


class BarProgress:
    """Exporters report to this; it draws a rich progress bar on stderr."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None

    def start(self, total: int, description: str) -> None:
        self.task = self.bar.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, steps)


def export_cmd(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The story.")],
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help=EXPORT_FORMATS_HELP)],
    output: Annotated[
        Path, typer.Option("--output", metavar="PATH", help="The file to write (parquet: a new folder).")
    ],
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export every version of a story: jsonl, csv, markdown, html, atom, warc, wacz, newsedits or parquet."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlmodel import Session

    from storage import catalog
    from storage.export import FORMATS, ExportError, OutputNotWritableError, UnknownFormatError, export_story

    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not one of: {', '.join(FORMATS)}", 2)
    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        story = catalog.get_story(session, slug=slug)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        try:
            with Progress(*columns, console=err, transient=not err.is_terminal) as bar:
                result = export_story(session, story, fmt, output, progress=BarProgress(bar))
        except UnknownFormatError as exc:
            fail(f"--format: {exc}", 2)
        except OutputNotWritableError as exc:
            fail(f"--output: {exc}", 1)
        except ExportError as exc:
            fail(f"export {slug}: {exc}", 1)
    if as_json:
        print_json(result.to_json())
        return
    counts = f"{result.documents} documents, {result.versions} versions, {result.records} records"
    err.print(
        f"wrote {result.path} ({result.format}, {result.bytes:,} bytes: {counts})",
        highlight=False,
        markup=False,
    )
