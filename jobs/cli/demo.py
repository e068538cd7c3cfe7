"""`storytrail demo`: the whole pipeline on an evolving local news site, offline.

The demo keeps its archive in its own file (``./storytrail-demo.db``), apart from the user's
``./storytrail.db``, and serves its site on a fixed port (8765, else any free one, said so), so
its URLs are the same from run to run and the README's Quick start can name them. A second run
replaces the previous run's file: the demo is refreshed, never doubled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jobs.cli.common import ConfigOpt, DbOpt, context, fail, out, ready_engine, run
from jobs.constants import DEMO_DB

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from jobs.demo.run import DemoResult

DEMO_PORT = 8765
NEXT_STEPS = (
    "storytrail versions {url} --db {db}",
    "storytrail diff {url} --format unified --db {db}",
    "storytrail timeline valdai-residence-claim --db {db}",
    'storytrail search "Tver" --all-versions --db {db}',
    "storytrail serve --db {db}    # then open http://127.0.0.1:8080/",
)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    port: Annotated[
        int,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help=f"Port for the demo site on 127.0.0.1 (default {DEMO_PORT}, else any free one; 0: any).",
        ),
    ] = DEMO_PORT,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve an evolving sample news site on 127.0.0.1, archive it, print versions and a diff.

    The archive goes to its own file, ./storytrail-demo.db (or --db); a second run refreshes it.
    """
    from jobs.demo.run import run_demo

    url = db or DEMO_DB
    ctx = context(url, config)
    note = _prepare(url, own_file=_is_demo_file(url))
    out.print(f"[bold]storytrail demo[/] — archive in {url}{note}", highlight=False)
    engine = ready_engine(ctx)
    if db is not None:
        _refuse_second_copy(engine, url)
    result = run(
        run_demo(ctx.settings, engine, port=port, fallback=True, say=lambda s: out.print(s, highlight=False))
    )
    if result.port_note:
        out.print(result.port_note, highlight=False)
    _summary(engine, result, url)


def _is_demo_file(url: str) -> bool:
    return _sqlite_file(url) == _sqlite_file(DEMO_DB)


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    name = url.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(name).expanduser().resolve() if name and name != ":memory:" else None


def _prepare(url: str, *, own_file: bool) -> str:
    """Remove the previous run's demo file (only when it holds nothing but the demo)."""
    path = _sqlite_file(url)
    if not own_file or path is None or not path.exists():
        return " (the demo's own file; your archive stays in ./storytrail.db)" if own_file else ""
    others = _not_demo(url)
    if others:
        fail(f"{path} holds more than the demo ({others}); the demo will not replace it: pass --db NEW_FILE")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return " — refreshing it: the previous run's copy is replaced, not doubled"


def _not_demo(url: str) -> str:
    """What in this database is not the demo's (empty when it is only the demo)."""
    from sqlmodel import Session

    from jobs.demo.content import STORY_SLUG
    from jobs.demo.run import FEED_SOURCE, PAGE_SOURCE
    from storage import catalog
    from storage.db import make_engine
    from storage.migrate import current_revision

    engine = make_engine(url)
    try:
        if current_revision(engine) is None:
            return ""
        with Session(engine) as session:
            demo = (FEED_SOURCE, PAGE_SOURCE)
            sources = [s.name for s in catalog.list_sources(session) if s.name not in demo]
            stories = [s.slug for s in catalog.list_stories(session) if s.slug != STORY_SLUG]
    finally:
        engine.dispose()
    names = [f"source {n!r}" for n in sources] + [f"story {s!r}" for s in stories]
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def _refuse_second_copy(engine: Engine, url: str) -> None:
    from sqlmodel import Session

    from jobs.demo.content import STORY_SLUG
    from storage import catalog

    with Session(engine) as session:
        if any(s.slug == STORY_SLUG for s in catalog.list_stories(session)):
            fail(
                f"{url} already holds the demo story from an earlier run; run the demo on its own file "
                f"(the default, {DEMO_DB}, is refreshed each run) or on a new --db"
            )


def _summary(engine: Engine, result: DemoResult, url: str) -> None:
    from sqlmodel import Session

    from scraper.core.diff import diff_contents
    from scraper.core.diff_render import render
    from storage import documents as docs

    out.print()
    with Session(engine) as session:
        for page in result.urls:
            doc = docs.get_document(session, url=page)
            assert doc.id is not None
            out.print(f"[bold]{page}[/]", highlight=False)
            for v in docs.list_versions(session, document_id=doc.id, channel="page"):
                line = f"  v{v.seq} {v.kind:<11} {v.observed_at:%Y-%m-%d %H:%M}  {v.title or ''}"
                out.print(line, highlight=False)
        first = docs.get_document(session, url=result.urls[1])
        assert first.id is not None
        vs = docs.list_versions(session, document_id=first.id, channel="page")
        old, new = docs.version_content(vs[0]), docs.version_content(vs[-1])
    out.print()
    out.print(f"[bold]diff {result.urls[1]} --from {vs[0].seq} --to {vs[-1].seq}[/]", highlight=False)
    out.print(render(diff_contents(old, new), "text", old=old, new=new), highlight=False, markup=False)
    out.print()
    db = url if url == DEMO_DB else f"'{url}'"
    out.print("next (read the demo's archive with --db; its site stops with the demo):", highlight=False)
    for line in NEXT_STEPS:
        out.print(f"  {line.format(url=result.urls[0], db=db)}", highlight=False)
