"""`storytrail sources import FILE` and `storytrail sources export --format opml`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jobs.cli.common import ConfigOpt, DbOpt, JsonOpt, context, fail, out, print_json, ready_engine, run
from jobs.cli.sources import sources_app


def register(app: typer.Typer) -> None:
    """The commands hang off `storytrail sources` (jobs.cli.sources); nothing to add at the top."""


@sources_app.command("import")
def import_sources(
    file: Annotated[
        Path, typer.Argument(help="An OPML file, or a text file with one URL a line (optionally: URL kind).")
    ],
    every: Annotated[str, typer.Option("--every", help="Polling interval of the new sources.")] = "10m",
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add the feeds of an OPML file, or a list of feed, sitemap and page URLs (kind detected)."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.config import DURATION
    from jobs.services import fetch_config
    from jobs.sourcelist import ImportReport, import_list
    from scraper.http import Fetcher

    if not file.is_file():
        fail(f"FILE {str(file)!r}: no such file", 2)
    if not DURATION.match(every):
        fail(f"--every {every!r} is not a duration (e.g. 10m)", 2)
    ctx = context(db, config)

    async def go() -> ImportReport:
        async with Fetcher(fetch_config(ctx.settings)) as fetcher:
            with Session(ready_engine(ctx)) as session:
                return await import_list(fetcher, session, file, every=every, now=utcnow())

    report = run(go())
    whole = next((r for r in report.refused if r.what == "the file"), None)
    if whole is not None and not report.added:
        fail(f"{file}: {whole.reason}")
    if as_json:
        print_json(
            {
                "added": [{"name": n, "kind": k, "url": u} for n, k, u in report.added],
                "refused": [{"url": r.what, "reason": r.reason, "line": r.line} for r in report.refused],
            }
        )
        return
    for name, kind, url in report.added:
        out.print(f"added {name!r} ({kind}) {url}", highlight=False)
    for r in report.refused:
        where = f"line {r.line}: " if r.line else ""
        out.print(f"refused {where}{r.what}: {r.reason}", highlight=False)
    out.print(f"{len(report.added)} added, {len(report.refused)} refused", highlight=False)


@sources_app.command("export")
def export_sources(
    fmt: Annotated[str, typer.Option("--format", help="opml (the only format).")] = "opml",
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of to stdout.")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the feed, sitemap and page sources as OPML (feed readers read the feeds)."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.sourcelist import export_opml
    from jobs.sync import sync_config

    if fmt != "opml":
        fail(f"--format {fmt!r}: only opml is supported", 2)
    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        sync_config(session, ctx.config, now=utcnow())
        session.commit()
        text = export_opml(session)
    if output is None:
        out.file.write(text)
        return
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output}", highlight=False)
