"""Commands for the archive itself: init, config check, check, versions, show, diff, reextract."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from jobs.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    context,
    err,
    fail,
    iso,
    light_database_url,
    out,
    parse_time,
    print_json,
    print_table,
    ready_engine,
    run,
    short_time,
)
from jobs.cli.tables import Col
from jobs.constants import DIFF_FORMATS as FORMATS

if TYPE_CHECKING:
    from sqlmodel import Session

    from jobs.pipeline import CheckReport
    from scraper.http_options import RequestOptions
    from storage.models import Version
    from storage.records import VersionInfo

config_app = typer.Typer(help="Work with the config file.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(config_app, name="config")
    config_app.command("check")(config_check)
    app.command("check")(check)
    app.command("versions")(versions)
    app.command("show")(show)
    app.command("diff")(diff)
    app.command("reextract")(reextract)


def init(db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Create or upgrade the database (alembic upgrade head) and write a sample config if none exists."""
    from jobs.config import SAMPLE_CONFIG
    from storage.db import redact

    ctx = context(db, config)
    engine = ready_engine(ctx)
    engine.dispose()
    path = Path(ctx.settings.config)
    if not path.exists():
        path.write_text(SAMPLE_CONFIG, encoding="utf-8")
        out.print(f"wrote a sample config to {path}")
    out.print(f"database ready: {redact(ctx.settings.database_url)}")  # no password in logs


def config_check(db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Validate the config file; errors name the line."""
    ctx = context(db, config, config_required=True)
    summary = {
        "config": ctx.config.path,
        "sources": len(ctx.config.sources),
        "stories": len(ctx.config.stories),
    }
    if as_json:
        print_json({"ok": True, **summary})
        return
    out.print(f"{ctx.config.path}: ok ({summary['sources']} sources, {summary['stories']} stories)")


def check(
    url: Annotated[str, typer.Argument(help="The page to fetch now.")],
    story: Annotated[
        str | None, typer.Option("--story", metavar="SLUG", help="Attach the page to this story.")
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", metavar="'NAME: VALUE'", help="Send this request header (repeatable)."),
    ] = None,
    cookies: Annotated[
        str | None,
        typer.Option("--cookies", metavar="FILE", help="Send cookies from this Netscape cookie file."),
    ] = None,
    browser: Annotated[
        bool, typer.Option("--browser", help="Render the page in headless Chromium (the browser extra).")
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch one URL now and record a version (or a check when nothing changed)."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.sync import sync_config

    options = _one_off_options(header or [], cookies)
    ctx = context(db, config)
    if browser:
        from scraper.browser import browser_problem

        problem = browser_problem(ctx.settings.chromium)
        if problem:
            fail(f"--browser: {problem}")
    engine = ready_engine(ctx)
    with Session(engine) as session:
        sync_config(session, ctx.config, now=utcnow())
        session.commit()

    async def go() -> CheckReport:
        from jobs.pipeline import check_url
        from jobs.services import open_services

        # one page: extract inline rather than start a process pool
        async with open_services(ctx.settings, engine=engine, extract_workers=0) as svc:
            svc.fetcher.default_options = options
            svc.render_all = browser
            return await check_url(svc, url, story_slug=story)

    report = run(go())
    failed = report.outcome.value in ("error", "robots_denied")
    if as_json:
        print_json(report.to_json())
    elif failed:
        err.print(f"error: {report.error}", highlight=False, markup=False)
    else:
        out.print(_report_line(report), highlight=False)
    if failed:
        raise typer.Exit(1)


def _one_off_options(headers: list[str], cookies: str | None) -> RequestOptions:
    from scraper.http_options import RequestOptions, RequestOptionsError, load_cookies, parse_header

    try:
        parsed = tuple(parse_header(h) for h in headers)
    except RequestOptionsError as exc:
        fail(f"--header: {exc}", 2)
    try:
        jar = load_cookies(cookies) if cookies else None
    except RequestOptionsError as exc:
        fail(f"--cookies: {exc}", 2)
    return RequestOptions(headers=parsed, cookies=jar)


def _report_line(r: CheckReport) -> str:
    o = r.outcome.value
    if o == "new_version":
        kind = "" if r.kind == "normal" else f" ({r.kind})"
        return f"version {r.seq}{kind} of {r.url}: {r.summary}"
    if o in ("unchanged", "not_modified"):
        how = "HTTP 304" if o == "not_modified" else "same content"
        return f"unchanged ({how}): {r.url} is still version {r.seq}"
    if o == "gone":
        return f"gone: {r.url}: {r.summary}"
    if o == "suspect":
        kept = f"still version {r.seq}" if r.seq else "no version yet"
        return f"suspect extraction, no version made ({kept}): {r.url}: {r.details.get('warning')}"
    return f"{o}: {r.error}"


def _find(session: Session, url: str) -> int:
    from scraper.core.urls import canonicalize
    from storage import documents as docs

    doc = docs.find_document(session, url=url) or docs.get_document(session, url=canonicalize(url))
    assert doc.id is not None
    return doc.id


def _channel(session: Session, document_id: int, channel: str | None) -> str:
    from storage import documents as docs

    if channel:
        return channel
    found = {v.channel for v in docs.list_versions(session, document_id=document_id)}
    for name in ("page", "api", "feed"):
        if name in found:
            return name
    return "page"


ChannelOpt = Annotated[
    str | None, typer.Option("--channel", help="page, feed or api (default: page, else the one that exists).")
]


def versions(
    url: str, channel: ChannelOpt = None, db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """List the versions of a document (titles are shortened at a terminal; `show` gives them whole)."""
    from scraper.core.urls import canonicalize
    from storage import lite

    # The light path (storage.lite: the driver alone, no ORM) reads a current database; a new or
    # outdated one, or a URL form it does not know, goes through ready_engine first (create,
    # migrate, every URL error), then is read the same way.
    database = light_database_url(db, config) or context(db, config).settings.database_url
    if not lite.can_read(database):
        ready_engine(context(db, config)).dispose()
    if not lite.can_read(database):  # e.g. sqlite:///:memory:, or URL options only SQLAlchemy knows
        return _versions_orm(url, channel, db, config, as_json)
    with lite.connect(database) as reader:
        if not lite.is_current(reader):
            ready_engine(context(db, config)).dispose()
        doc_id = lite.find_document_id(reader, [url, canonicalize(url)])
        rows = lite.list_versions(reader, document_id=doc_id, channel=channel)
    _print_versions(url, rows, as_json)


def _versions_orm(url: str, channel: str | None, db: str | None, config: str | None, as_json: bool) -> None:
    from sqlmodel import Session

    from storage import documents as docs

    with Session(ready_engine(context(db, config))) as session:
        rows = docs.list_versions(session, document_id=_find(session, url), channel=channel)
    _print_versions(url, rows, as_json)


def _print_versions(url: str, rows: Sequence[Version | VersionInfo], as_json: bool) -> None:
    if as_json:
        print_json([_version_json(v) for v in rows])
        return
    columns = [Col("channel", "fixed"), Col("seq", "number"), Col("kind", "fixed"),
               Col("observed (UTC)", "fixed"), Col("last confirmed", "fixed"), Col("title", "title"),
               Col("change", "title", max_width=60)]  # fmt: skip
    cells: list[tuple[str, ...]] = [
        (v.channel, str(v.seq), v.kind, short_time(v.observed_at), short_time(v.last_confirmed_at),
         v.title or "", str(v.change_summary.get("summary", "")))
        for v in rows
    ]  # fmt: skip
    if any(v.wayback_url for v in rows):  # preserved versions: their Wayback Machine snapshots
        columns.append(Col("wayback", "url"))
        cells = [(*c, v.wayback_url or "") for c, v in zip(cells, rows, strict=True)]
    print_table(columns, cells, title=url)


def _version_json(v: Version | VersionInfo, *, text: bool = False) -> dict[str, object]:
    data: dict[str, object] = {
        "channel": v.channel,
        "seq": v.seq,
        "kind": v.kind,
        "revert_of": v.revert_of,
        "observed_at": iso(v.observed_at),
        "last_confirmed_at": iso(v.last_confirmed_at),
        "http_status": v.http_status,
        "content_hash": v.content_hash,
        "raw_sha256": v.raw_sha256,
        "title": v.title,
        "byline": v.byline,
        "published": iso(v.published),
        "modified": iso(v.modified),
        "canonical_url": v.canonical_url,
        "language": v.language,
        "extractor": v.extractor,
        "extractor_version": v.extractor_version,
        "change_summary": v.change_summary,
        "wayback_url": v.wayback_url,
    }
    if text:
        full = cast("Version", v)  # `show` passes a model row; the light listing has no text
        data |= {"description": full.description, "text": full.text, "metadata": full.meta}
    return data


def show(
    url: str,
    version: Annotated[int | None, typer.Option("--version", metavar="N", help="Version number.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", metavar="TIME", help="The version current at this time.")
    ] = None,
    channel: ChannelOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print one version's content (the latest, version N, or as it was at TIME)."""
    if version is not None and at is not None:
        fail("give --version or --at, not both", 2)
    from sqlmodel import Session

    when = parse_time(at, "--at") if at is not None else None
    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        doc_id = _find(session, url)
        ch = _channel(session, doc_id, channel)
        v = _pick(session, doc_id, ch, version, when)
    if as_json:
        print_json(_version_json(v, text=True))
        return
    out.print(f"[bold]{v.title or '(no title)'}[/]", highlight=False)
    meta = [f"{v.channel} version {v.seq} ({v.kind})", f"observed {short_time(v.observed_at)}"]
    if v.byline:
        meta.append(f"by {v.byline}")
    if v.published:
        meta.append(f"published {short_time(v.published)}")
    out.print(" · ".join(meta), style="dim", highlight=False)
    if v.wayback_url:
        out.print(f"Wayback Machine: {v.wayback_url}", style="dim", highlight=False, markup=False)
    out.print()
    out.print(v.text or "(no text)", highlight=False, markup=False)


def _pick(session: Session, doc_id: int, channel: str, seq: int | None, when: datetime | None) -> Version:
    from storage import documents as docs

    if seq is not None:
        return docs.get_version(session, document_id=doc_id, channel=channel, seq=seq)
    if when is not None:
        found = docs.version_at(session, document_id=doc_id, channel=channel, at=when)
        if found is None:
            fail(f"no {channel} version existed yet at {iso(when)}")
        return found
    latest = docs.latest_version(session, document_id=doc_id, channel=channel)
    if latest is None:
        fail(f"no {channel} versions recorded for this document")
    return latest


def diff(
    url: str,
    from_seq: Annotated[
        int | None, typer.Option("--from", metavar="N", help="Older version (default: the one before --to).")
    ] = None,
    to_seq: Annotated[
        int | None, typer.Option("--to", metavar="M", help="Newer version (default: the latest).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")] = "text",
    channel: ChannelOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what changed between two versions of a document."""
    if as_json:
        fmt = "json"
    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not one of: {', '.join(FORMATS)}", 2)
    from sqlmodel import Session

    from storage import documents as docs

    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        doc_id = _find(session, url)
        ch = _channel(session, doc_id, channel)
        new = _pick(session, doc_id, ch, to_seq, None)
        old_seq = from_seq if from_seq is not None else new.seq - 1
        if old_seq < 1:
            fail(f"{url} has only one {ch} version: nothing to compare (see `storytrail show`)")
        old = docs.get_version(session, document_id=doc_id, channel=ch, seq=old_seq)
    from scraper.core.diff import diff_contents
    from scraper.core.diff_render import render

    old_c, new_c = docs.version_content(old), docs.version_content(new)
    result = diff_contents(old_c, new_c)
    labels = {
        "old_label": f"{ch} v{old.seq} ({short_time(old.observed_at)})",
        "new_label": f"{ch} v{new.seq} ({short_time(new.observed_at)})",
    }
    if fmt == "text" and out.is_terminal:
        from jobs.diffview import render_rich

        out.print(f"[bold]{url}[/]  {labels['old_label']} → {labels['new_label']}", highlight=False)
        out.print(render_rich(result))
        return
    import sys

    sys.stdout.write(render(result, fmt, old=old_c, new=new_c, **labels).rstrip("\n") + "\n")


def reextract(
    url: Annotated[str | None, typer.Argument(help="One document (or use --all).")] = None,
    all_docs: Annotated[bool, typer.Option("--all", help="Every document with a stored raw body.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-derive text from stored raw bodies with the current extractor (kind `reextracted`)."""
    if bool(url) == all_docs:
        fail("give a URL or --all", 2)
    from sqlmodel import Session

    from storage import documents as docs

    ctx = context(db, config)
    engine = ready_engine(ctx)
    with Session(engine) as session:
        ids = [_find(session, url)] if url else docs.documents_with_pages(session)

    async def go() -> list[CheckReport | None]:
        from jobs.pipeline import reextract_document
        from jobs.services import open_services

        async with open_services(ctx.settings, engine=engine) as svc:
            return [await reextract_document(svc, i) for i in ids]

    with Session(engine) as session:
        skipped = _skip_reasons(session, ids)  # before: afterwards every one is current
    reports = [r for r in run(go()) if r is not None]
    changed = [r for r in reports if r.outcome.value == "new_version"]
    if as_json:
        print_json({"documents": len(ids), "reextracted": len(reports), "changed": len(changed),
                    "skipped": skipped})  # fmt: skip
        return
    err.print(_reextract_line(len(ids), len(reports), len(changed), skipped), highlight=False, markup=False)


def _skip_reasons(session: Session, ids: list[int]) -> dict[str, int]:
    """Why documents will not be re-extracted: counts by reason."""
    from scraper.core.extract import EXTRACTOR_VERSION
    from storage import documents as docs

    reasons: dict[str, int] = {}
    for doc_id in ids:
        latest = docs.latest_version(session, document_id=doc_id, channel="page")
        if latest is not None and latest.kind == "tombstone":
            why = "deleted (the latest version is a tombstone)"
        elif latest is None or latest.raw_sha256 is None:
            why = "no stored page body"
        elif latest.extractor_version == EXTRACTOR_VERSION:
            why = f"already extracted by the current extractor ({EXTRACTOR_VERSION})"
        else:
            continue
        reasons[why] = reasons.get(why, 0) + 1
    return reasons


def _reextract_line(documents: int, done: int, changed: int, skipped: dict[str, int]) -> str:
    if not documents:
        return "0 documents: nothing has a stored page body yet (`storytrail check URL` archives one)"
    line = f"{documents} documents, {done} re-extracted, {changed} gave new text"
    why = [f"{n} {reason}" for reason, n in skipped.items()]
    if why:
        line += f" (skipped: {'; '.join(why)})"
    if done and not changed:
        line += "; the current extractor gives the same text as before"
    return line
