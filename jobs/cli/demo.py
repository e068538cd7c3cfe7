"""`storytrail demo`: the whole pipeline on an evolving local news site, offline."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from jobs.cli.common import ConfigOpt, DbOpt, context, out, ready_engine, run


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    port: Annotated[
        int, typer.Option("--port", help="Port for the demo site on 127.0.0.1 (0: any free port).")
    ] = 0,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve an evolving sample news site on 127.0.0.1, archive it, print versions and a diff."""
    from jobs.demo.run import run_demo
    from scraper.core.diff import diff_contents
    from scraper.core.diff_render import render
    from storage import documents as docs

    ctx = context(db, config)
    engine = ready_engine(ctx)
    out.print(f"[bold]storytrail demo[/] — database {ctx.settings.database_url}", highlight=False)
    result = run(run_demo(ctx.settings, engine, port=port, say=lambda s: out.print(s, highlight=False)))
    out.print()
    with Session(engine) as session:
        for url in result.urls:
            doc = docs.get_document(session, url=url)
            assert doc.id is not None
            rows = docs.list_versions(session, document_id=doc.id, channel="page")
            out.print(f"[bold]{url}[/]", highlight=False)
            for v in rows:
                out.print(
                    f"  v{v.seq} {v.kind:<11} {v.observed_at:%Y-%m-%d %H:%M}  {v.title or ''}",
                    highlight=False,
                )
        first = docs.get_document(session, url=result.urls[1])
        assert first.id is not None
        vs = docs.list_versions(session, document_id=first.id, channel="page")
        old, new = docs.version_content(vs[0]), docs.version_content(vs[-1])
    out.print()
    out.print(f"[bold]diff {result.urls[1]} --from {vs[0].seq} --to {vs[-1].seq}[/]", highlight=False)
    out.print(render(diff_contents(old, new), "text", old=old, new=new), highlight=False, markup=False)
    out.print()
    out.print("next:", highlight=False)
    for line in (
        f"storytrail versions {result.urls[0]}",
        f"storytrail diff {result.urls[0]} --format unified",
        "storytrail timeline valdai-residence-claim",
        'storytrail search "Tver" --all-versions',
        "storytrail serve    # then open http://127.0.0.1:8080/",
    ):
        out.print(f"  {line}", highlight=False)
