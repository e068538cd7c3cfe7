"""`storytrail sources list|add|remove`."""

from __future__ import annotations

from typing import Annotated

import typer

from jobs.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    context,
    fail,
    iso,
    out,
    print_json,
    print_table,
    ready_engine,
    short_time,
)
from jobs.cli.tables import Col
from jobs.constants import SOURCE_KINDS

sources_app = typer.Typer(
    help="The sources storytrail polls (config file and command line).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")


@sources_app.command("list")
def list_sources(db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List sources with their kind, schedule and last poll."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.sync import sync_config
    from storage import catalog

    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        sync_config(session, ctx.config, now=utcnow())
        session.commit()
        rows = catalog.list_sources(session)
    if as_json:
        print_json(
            [
                {
                    "name": s.name,
                    "kind": s.kind,
                    "url": s.url,
                    "every": s.every,
                    "enabled": s.enabled,
                    "params": s.params,
                    "last_polled_at": iso(s.last_polled_at),
                    "next_poll_at": iso(s.next_poll_at),
                }
                for s in rows
            ]
        )
        return
    if not rows:
        out.print("no sources yet: add one with `storytrail sources add` or in the config file")
        return
    columns = [Col("name", "url"), Col("kind", "fixed"), Col("url", "url"), Col("every", "fixed"),
               Col("enabled", "fixed"), Col("last polled (UTC)", "fixed")]  # fmt: skip
    cells = [
        (s.name, s.kind, s.url, s.every or "-", "yes" if s.enabled else "no", short_time(s.last_polled_at))
        for s in rows
    ]
    print_table(columns, cells)


@sources_app.command("add")
def add_source(
    name: Annotated[str, typer.Argument(help="A short unique name.")],
    url: Annotated[str, typer.Argument(help="Feed, sitemap, page, search template or social account URL.")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {', '.join(SOURCE_KINDS)}.")] = "feed",
    every: Annotated[str, typer.Option("--every", help="Polling interval, e.g. 10m.")] = "10m",
    archive: Annotated[str, typer.Option("--archive", help="matched (default) or all.")] = "matched",
    api: Annotated[str | None, typer.Option("--api", help="API base override (social sources).")] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="URL regex to keep (page sources).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="URL regex to drop (page sources).")
    ] = None,
    wayback: Annotated[
        bool, typer.Option("--wayback", help="Submit each new page version to the Wayback Machine.")
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add (or update) a source in the database."""
    from pydantic import ValidationError
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.config import SourceConfig
    from jobs.sync import source_fields
    from storage import catalog

    try:
        cfg = SourceConfig(
            name=name,
            kind=kind,
            url=url,
            every=every,
            archive=archive,
            api=api,
            include=include or [],
            exclude=exclude or [],
            wayback=wayback,
        )
    except ValidationError as exc:
        e = exc.errors()[0]
        flag = (
            "--" + str(e["loc"][0])
            if e["loc"] and e["loc"][0] not in ("name", "url")
            else str(e["loc"][0]).upper()
        )
        fail(f"{flag}: {e['msg'].removeprefix('Value error, ')}", 2)
    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        source, created = catalog.upsert_source(
            session, name=name, now=utcnow(), **source_fields(cfg, origin="cli")
        )
        session.commit()
    if as_json:
        print_json({"name": source.name, "kind": source.kind, "url": source.url, "created": created})
        return
    out.print(f"{'added' if created else 'updated'} source {name!r} ({kind}) {url}", highlight=False)


@sources_app.command("remove")
def remove_source(name: str, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Remove a source (its documents and versions stay)."""
    from sqlmodel import Session

    from storage import catalog

    ctx = context(db, config)
    if any(s.name == name for s in ctx.config.sources):
        fail(f"source {name!r} is defined in {ctx.config.path}: remove it there", 2)
    with Session(ready_engine(ctx)) as session:
        catalog.remove_source(session, name=name)
        session.commit()
    out.print(f"removed source {name!r}", highlight=False)
