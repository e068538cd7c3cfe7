"""`storytrail stories list|add|show`: the stories storytrail follows and the coverage found."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from jobs.cli.common import (
    AppContext,
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
    run,
)
from jobs.cli.tables import Col

if TYPE_CHECKING:
    from sqlmodel import Session

    from jobs.config import StoryConfig
    from storage.models import Document, Story, StoryDocument

DEFAULT_LINK_DEPTH = 1  # jobs.discovery.DEFAULT_LINK_DEPTH (tests/test_cli.py keeps them in step)

stories_app = typer.Typer(
    help="The stories storytrail follows, and the coverage found for them.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(stories_app, name="stories")


def _synced(ctx: AppContext) -> Session:
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.sync import sync_config

    session = Session(ready_engine(ctx), expire_on_commit=False)
    sync_config(session, ctx.config, now=utcnow())
    session.commit()
    return session


@stories_app.command("list")
def list_stories(db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List stories with their query and how many documents they have."""
    from jobs.discovery import threshold_of
    from storage import catalog
    from storage import discovery as disc

    ctx = context(db, config)
    with _synced(ctx) as session:
        stories = catalog.list_stories(session)
        counts = disc.story_document_counts(session)
    if as_json:
        print_json([_story_json(s, counts.get(s.id or 0, 0)) for s in stories])
        return
    if not stories:
        out.print("no stories yet: add one with `storytrail stories add` or in the config file")
        return
    columns = [Col("slug", "url"), Col("title", "title"), Col("query", "text"),
               Col("documents", "number"), Col("threshold", "number"), Col("seeds", "number")]  # fmt: skip
    cells = [
        (s.slug, s.title, s.query or "-", str(counts.get(s.id or 0, 0)), f"{threshold_of(s):.2f}",
         str(len(s.seeds)))
        for s in stories
    ]  # fmt: skip
    print_table(columns, cells)


def _story_json(story: Story, documents: int | None = None) -> dict[str, Any]:
    from jobs.discovery import threshold_of

    settings = story.settings or {}
    data: dict[str, Any] = {
        "slug": story.slug, "title": story.title, "query": story.query, "seeds": story.seeds,
        "languages": story.languages, "threshold": threshold_of(story),
        "link_depth": settings.get("link_depth", DEFAULT_LINK_DEPTH), "origin": settings.get("origin"),
        "wayback": bool(settings.get("wayback")),
        "active_from": iso(story.active_from), "active_until": iso(story.active_until),
        "created_at": iso(story.created_at),
    }  # fmt: skip
    if documents is not None:
        data["documents"] = documents
    return data


SeedOpt = Annotated[
    list[str] | None, typer.Option("--seed", metavar="URL", help="A seed article (repeat for several).")
]
LanguageOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--language",
        metavar="CODE",
        help="A language the story is followed in (en, pl, ru, uk...; repeat for several).",
    ),
]


@stories_app.command("add")
def add_story(
    slug: Annotated[str, typer.Argument(help="Short unique name: lower-case letters, digits and dashes.")],
    title: Annotated[str | None, typer.Option("--title", help="A title for people.")] = None,
    query: Annotated[
        str, typer.Option("--query", help="Story query, e.g. '(Putin OR Kremlin) AND drone*'.")
    ] = "",
    seed: SeedOpt = None,
    language: LanguageOpt = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Seed similarity needed to match (0-1; default 0.15).")
    ] = None,
    link_depth: Annotated[
        int,
        typer.Option("--link-depth", help="How many links deep to follow from the story's documents (0-3)."),
    ] = DEFAULT_LINK_DEPTH,
    wayback: Annotated[
        bool,
        typer.Option(
            "--wayback", help="Submit each new page version of its documents to the Wayback Machine."
        ),
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add (or update) a story, then fetch its seed articles."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.sync import story_fields
    from storage import catalog

    cfg = _story_config(slug, title, query, seed or [], threshold, link_depth, language or [], wayback)
    ctx = context(db, config)
    if any(s.slug == slug for s in ctx.config.stories):
        fail(f"story {slug!r} is defined in {ctx.config.path}: change it there", 2)
    engine = ready_engine(ctx)
    with Session(engine, expire_on_commit=False) as session:
        fields = story_fields(cfg, origin="cli")
        if threshold is None:
            fields["settings"].pop("threshold", None)
        story, created = catalog.upsert_story(session, slug=slug, now=utcnow(), **fields)
        session.commit()
        archived = _archived(session, cfg.seeds)
    assert story.id is not None
    seeds = run(_fetch_seeds(ctx, engine, story.id))
    seeds["already_archived"] = archived
    if as_json:
        print_json({**_story_json(story), "created": created, "seeds_fetched": seeds})
        return
    verb = "added" if created else "updated"
    out.print(f"{verb} story {slug!r}: {len(cfg.seeds)} seeds, {_seed_line(seeds)}", highlight=False)


def _archived(session: Session, seeds: list[str]) -> int:
    """How many seeds were archived before this command (they are linked, not fetched again)."""
    from scraper.core.urls import InvalidURL, canonicalize
    from storage import documents as docs

    found = 0
    for url in seeds:
        try:
            doc = docs.find_document(session, url=url) or docs.find_document(session, url=canonicalize(url))
        except InvalidURL:
            doc = None
        found += doc is not None
    return found


def _story_config(
    slug: str,
    title: str | None,
    query: str,
    seeds: list[str],
    threshold: float | None,
    link_depth: int,
    languages: list[str],
    wayback: bool = False,
) -> StoryConfig:
    from pydantic import ValidationError

    from jobs.config import StoryConfig
    from scraper.core.matching import DEFAULT_THRESHOLD
    from scraper.core.query import QueryError, compile_query
    from scraper.core.urls import InvalidURL, canonicalize

    if query.strip():
        try:
            compile_query(query)
        except QueryError as exc:
            fail(f"--query: {exc}".splitlines()[0], 2)
    for url in seeds:
        try:
            canonicalize(url)
        except InvalidURL as exc:
            fail(f"--seed: {exc}", 2)
    if not query.strip() and not seeds:
        fail("give a --query, a --seed, or both: a story needs something to match on", 2)
    try:
        chosen = threshold if threshold is not None else DEFAULT_THRESHOLD
        return StoryConfig(
            slug=slug, title=title or slug, query=query, seeds=seeds, threshold=chosen, link_depth=link_depth,
            languages=languages, wayback=wayback,
        )  # fmt: skip
    except ValidationError as exc:
        e = exc.errors()[0]
        name = str(e["loc"][0]) if e["loc"] else "slug"
        flag = "SLUG" if name == "slug" else "--" + name.replace("_", "-").replace("languages", "language")
        fail(f"{flag}: {e['msg'].removeprefix('Value error, ')}", 2)


async def _fetch_seeds(ctx: AppContext, engine: Any, story_id: int) -> dict[str, int]:
    from jobs.polling import prepare_rules
    from jobs.services import open_services

    async with open_services(ctx.settings, engine=engine, extract_workers=0) as svc:
        prepared = await prepare_rules(svc, story_ids=[story_id])
    report = prepared.report
    return {"fetched": report.fetched, "failed": report.errors, "linked": report.matched}


def _seed_line(seeds: dict[str, int]) -> str:
    line = f"{seeds['fetched']} fetched now"
    if seeds.get("already_archived") and not seeds["fetched"]:
        many = seeds["already_archived"]
        line += f" ({'it was' if many == 1 else f'all {many} were'} already archived: linked to the story)"
    elif seeds.get("already_archived"):
        line += f" ({seeds['already_archived']} already archived: linked, not fetched again)"
    if seeds["failed"]:
        line += f" ({seeds['failed']} failed: see `storytrail stories show`)"
    if seeds["linked"]:
        line += f", {seeds['linked']} linked documents found"
    return line


@stories_app.command("show")
def show_story(
    slug: Annotated[str, typer.Argument(help="The story's slug.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The story's documents: score, reason, how each was found, versions, status."""
    from storage import catalog

    ctx = context(db, config)
    with _synced(ctx) as session:
        story = catalog.get_story(session, slug=slug)
        assert story.id is not None
        rows = [
            _document_json(session, link, doc)
            for link, doc in catalog.story_documents(session, story_id=story.id)
        ]
        _fill_names(session, rows)
    counts = {"documents": len(rows), "duplicates": sum(1 for r in rows if r["duplicate_of"])}
    counts["independent"] = counts["documents"] - counts["duplicates"]
    if as_json:
        print_json({"story": _story_json(story, len(rows)), "counts": counts, "documents": rows})
        return
    _print_story(story, rows, counts)


def _document_json(session: Session, link: StoryDocument, doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id, "url": doc.url, "title": None, "status": doc.status, "score": link.score,
        "reason": link.reason, "via": link.via, "source_id": link.source_id, "source": None,
        "from_document_id": link.from_document_id, "from_url": None, "depth": link.depth,
        "discovered_at": iso(link.discovered_at), "first_seen": iso(doc.first_seen),
        "last_changed_at": iso(doc.last_changed_at), "next_check": iso(doc.next_check),
        "duplicate_of_id": doc.duplicate_of, "duplicate_of": None, "versions": {},
    }  # fmt: skip


def _fill_names(session: Session, rows: list[dict[str, Any]]) -> None:
    from storage import discovery as disc

    ids = [r["id"] for r in rows]
    versions = disc.version_counts(session, document_ids=ids)
    titles = disc.latest_titles(session, document_ids=ids)
    sources = disc.source_names(session, source_ids=[r["source_id"] for r in rows if r["source_id"]])
    linked = [r["from_document_id"] for r in rows] + [r["duplicate_of_id"] for r in rows]
    urls = disc.document_urls(session, document_ids=[i for i in linked if i])
    for row in rows:
        row["versions"] = versions.get(row["id"], {})
        row["title"] = titles.get(row["id"])
        row["source"] = sources.get(row["source_id"])
        row["from_url"] = urls.get(row["from_document_id"])
        row["duplicate_of"] = urls.get(row["duplicate_of_id"])


def _print_story(story: Story, rows: list[dict[str, Any]], counts: dict[str, int]) -> None:
    from rich.table import Table

    from jobs.discovery import threshold_of

    out.print(f"[bold]{escape(story.title)}[/] ({story.slug})", highlight=False)
    settings = [f"query: {story.query or '-'}", f"threshold {threshold_of(story):.2f}",
                f"link depth {(story.settings or {}).get('link_depth', DEFAULT_LINK_DEPTH)}"]  # fmt: skip
    if (story.settings or {}).get("wayback"):
        settings.append("preserved in the Wayback Machine")
    out.print(escape(" · ".join(settings)), style="dim", highlight=False)
    independent, duplicates = counts["independent"], counts["duplicates"]
    line = f"{counts['documents']} documents ({independent} independent, {duplicates} duplicates)"
    out.print(line, highlight=False)
    if not rows:
        out.print("no documents yet: run `storytrail poll`")
        return
    if not out.is_terminal:  # piped: one row per document, every value whole
        columns = ["url", "title", "status", "score", "via", "versions", "reason", "near copy of"]
        print_table(columns, [_plain_cells(row) for row in rows])
        return
    table = Table("document", "status", "score", "via", "versions")
    table.columns[0].overflow = "fold"
    for row in rows:
        table.add_row(*_cells(row))
    out.print(table)


def _via(row: dict[str, Any]) -> str:
    via = str(row["via"]) + (f" {row['source']}" if row["source"] else "")
    if row["from_url"]:
        via += f" from {row['from_url']} (depth {row['depth']})"
    return via


def _version_counts(row: dict[str, Any]) -> str:
    versions = row["versions"]
    return ", ".join(f"{c} {versions[c]}" for c in ("page", "feed", "api") if c in versions) or "-"


def _plain_cells(row: dict[str, Any]) -> list[str]:
    status = row["status"] + (" (copy)" if row["duplicate_of"] else "")
    return [row["url"], row["title"] or "", status, f"{row['score']:.2f}", _via(row), _version_counts(row),
            row["reason"] or "", row["duplicate_of"] or ""]  # fmt: skip


def _cells(row: dict[str, Any]) -> list[str]:
    via, counts = _via(row), _version_counts(row)
    lines = [f"[bold]{escape(row['title'])}[/]"] if row["title"] else []
    lines += [escape(row["url"]), f"[dim]{escape(row['reason'])}[/]"]
    if row["duplicate_of"]:
        lines.append(f"[yellow]near copy of {escape(row['duplicate_of'])}[/]")
    status = row["status"] + (" (copy)" if row["duplicate_of"] else "")
    return ["\n".join(lines), status, f"{row['score']:.2f}", escape(via), counts]
