"""`storytrail poll [SOURCE...]` and `storytrail sources discover URL [--add]`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from jobs.cli.common import (
    AppContext,
    ConfigOpt,
    DbOpt,
    JsonOpt,
    context,
    err,
    fail,
    out,
    print_json,
    print_table,
    ready_engine,
    run,
)
from jobs.cli.sources import sources_app
from jobs.cli.tables import Col

if TYPE_CHECKING:
    from jobs.polling import PollReport
    from scraper.sources.discover import Discovery, SourceOffer


def register(app: typer.Typer) -> None:
    app.command("poll")(poll)
    sources_app.command("discover")(discover)


# --- poll -----------------------------------------------------------------------------------------


def poll(
    sources: Annotated[
        list[str] | None, typer.Argument(metavar="[SOURCE]...", help="Source names (default: all).")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Poll sources now: find new items, match them to stories, archive the matches.

    Exit status 1 when a source failed (the others are polled all the same).
    """
    from sqlmodel import Session

    from jobs.logs import configure_logging
    from jobs.polling import poll_all
    from jobs.services import open_services, utcnow
    from jobs.sync import sync_config
    from storage import catalog

    ctx = context(db, config)
    configure_logging(ctx.settings.log_format, "ERROR")  # progress and the summary say the rest
    engine = ready_engine(ctx)
    with Session(engine) as session:
        sync_config(session, ctx.config, now=utcnow())
        session.commit()
        total = len(sources) if sources else len(catalog.list_sources(session, enabled_only=True))

    async def go() -> list[PollReport]:
        async with open_services(ctx.settings, engine=engine) as svc:
            with _progress(total) as progress:
                return await poll_all(svc, sources or None, progress=progress)

    reports = run(go())
    if as_json:
        print_json([r.to_json() for r in reports])
    else:
        _summary(reports)
    if any(r.outcome == "error" for r in reports):
        raise typer.Exit(1)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str, PollReport | None], None]]:
    """A live progress bar on stderr at a terminal; one line per source otherwise."""
    if not err.is_terminal:
        yield _plain_progress
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("polling", total=total)

        def update(name: str, report: PollReport | None) -> None:
            if report is None:
                bar.update(task, description=f"polling {escape(name)}")
                return
            bar.advance(task)
            err.print(_progress_line(report), highlight=False)

        yield update


def _plain_progress(name: str, report: PollReport | None) -> None:
    if report is not None:
        err.print(_progress_line(report), highlight=False, markup=False)


def _progress_line(r: PollReport) -> str:
    if r.outcome == "error":
        return f"{r.source}: error: {r.error}"
    if r.outcome == "not_modified":
        return f"{r.source}: not modified (HTTP 304)"
    return f"{r.source}: {r.entries} entries, {r.new} new, {r.matched} matched, {r.fetched} fetched"


def _summary(reports: list[PollReport]) -> None:
    if not reports:
        out.print("no sources to poll: add one with `storytrail sources add` or in the config file")
        return
    from rich import box
    from rich.table import Table

    columns = ("source", "outcome", "entries", "new", "matched", "fetched", "seen", "edited", "errors")
    if not out.is_terminal:
        rows = [(r.source, {"not_modified": "304"}.get(r.outcome, r.outcome),
                 *(str(n) for n in (r.entries, r.new, r.matched, r.fetched, r.seen, r.edited, r.errors)))
                for r in reports]  # fmt: skip
        print_table(columns, rows)
        _details(reports)
        return
    table = Table(*columns, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.columns[0].overflow, table.columns[0].min_width = "fold", 16
    for column in table.columns[2:]:
        column.justify, column.no_wrap = "right", True
    for r in reports:
        numbers = (r.entries, r.new, r.matched, r.fetched, r.seen, r.edited, r.errors)
        outcome = {"not_modified": "304"}.get(r.outcome, r.outcome)
        table.add_row(escape(r.source), outcome, *(str(n) for n in numbers))
    out.print(table)
    _details(reports)


def _details(reports: list[PollReport]) -> None:
    for r in reports:
        for match in r.matches:
            out.print(
                f"  {match.story} <- {match.url} ({match.score:.2f}: {match.reason})",
                highlight=False,
                markup=False,
            )
    for r in reports:
        problems = ([r.error] if r.error else []) + r.failures + r.warnings
        for line in problems:
            out.print(
                f"  {r.source}: {line}",
                highlight=False,
                markup=False,
                style="red" if line == r.error else None,
            )


# --- sources discover -----------------------------------------------------------------------------


def discover(
    url: Annotated[str, typer.Argument(help="A site's home page, a section page or a feed URL.")],
    add: Annotated[bool, typer.Option("--add", help="Add what was found as sources.")] = False,
    every: Annotated[str, typer.Option("--every", help="Polling interval for sources added.")] = "10m",
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find a site's feeds, sitemaps and section page, and offer them as sources.

    With --add, every feed and sitemap found is added (and the page itself when there is neither).
    """
    from jobs.services import open_services
    from scraper.sources import SourceError
    from scraper.sources.discover import discover_sources

    ctx = context(db, config)

    async def go() -> Discovery:
        async with open_services(ctx.settings, extract_workers=0) as svc:
            return await discover_sources(svc.fetcher, url)

    try:
        found = run(go())
    except SourceError as exc:
        fail(str(exc))
    added = _add_offers(ctx, found, every) if add else []
    notes = _not_added(found, added) if add else []
    if as_json:
        print_json({"url": url, "offers": [_offer_json(o, added) for o in found.offers],
                    "warnings": found.warnings, "not_added": notes})  # fmt: skip
        return
    _print_offers(found, added, added_flag=add)
    for note in notes:
        out.print(note, highlight=False, markup=False)


def _not_added(found: Discovery, added: list[tuple[str, SourceOffer]]) -> list[str]:
    """Why an offer was not added (the summary never leaves a zero unexplained)."""
    chosen = {id(o) for _, o in added}
    feeds = [o for o in found.offers if o.kind != "page"]
    notes = []
    for offer in found.offers:
        if id(offer) in chosen:
            continue
        if offer.kind == "page" and feeds:
            which = " and ".join(sorted({o.kind for o in feeds}))
            notes.append(f"not added: the section page {offer.url} (the site has a {which}, which lists "
                         "its articles more reliably; add the page with `storytrail sources add NAME URL "
                         "--kind page` if you want it too)")  # fmt: skip
        else:
            notes.append(f"not added: {offer.url} (already a source)")
    return notes


def _offer_json(offer: SourceOffer, added: list[tuple[str, SourceOffer]]) -> dict[str, object]:
    name = next((n for n, o in added if o is offer), None)
    return {"kind": offer.kind, "url": offer.url, "found_by": offer.found_by, "title": offer.title,
            "items": offer.items, "added_as": name}  # fmt: skip


def _print_offers(found: Discovery, added: list[tuple[str, SourceOffer]], *, added_flag: bool) -> None:
    if not found.offers:
        out.print(f"no feeds, sitemaps or article links found at {found.url}", highlight=False)
    else:
        columns = [Col("kind", "fixed"), Col("url", "url"), Col("found by"), Col("title", "title"),
                   Col("items", "number"), Col("added as", "url")]  # fmt: skip
        names = {id(o): n for n, o in added}
        rows = [
            (o.kind, o.url, o.found_by, o.title or "", str(o.items), names.get(id(o), ""))
            for o in found.offers
        ]
        print_table(columns, rows)
        if not added_flag:
            out.print("add them with --add, or one by one with `storytrail sources add NAME URL --kind KIND`")
    for warning in found.warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False)


def _add_offers(ctx: AppContext, found: Discovery, every: str) -> list[tuple[str, SourceOffer]]:
    from sqlmodel import Session

    from jobs.config import SourceConfig
    from jobs.services import utcnow
    from jobs.sync import source_fields
    from storage import catalog

    offers = [o for o in found.offers if o.kind != "page"] or found.offers
    added: list[tuple[str, SourceOffer]] = []
    with Session(ready_engine(ctx)) as session:
        taken = {s.name for s in catalog.list_sources(session)}
        known = {s.url for s in catalog.list_sources(session)}
        for offer in offers:
            if offer.url in known:
                continue
            name = _source_name(offer, taken)
            cfg = SourceConfig(name=name, kind=offer.kind, url=offer.url, every=every)
            catalog.upsert_source(session, name=name, now=utcnow(), **source_fields(cfg, origin="cli"))
            taken.add(name)
            added.append((name, offer))
        session.commit()
    return added


def _source_name(offer: SourceOffer, taken: set[str]) -> str:
    from urllib.parse import urlsplit

    host = (urlsplit(offer.url).hostname or "site").removeprefix("www.")
    base = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") + "-" + offer.kind
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name
