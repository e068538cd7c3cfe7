"""`storytrail backup PATH`, `restore PATH`, `copy --to URL`: move and keep archives safe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jobs.cli.common import ConfigOpt, DbOpt, JsonOpt, context, fail, out, print_json, ready_engine


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("copy")(copy)


def _report(verb: str, counts: dict[str, int], as_json: bool, **extra: str) -> None:
    if as_json:
        print_json({**extra, "counts": counts})
        return
    main = ("story", "document", "version", "check", "blob", "event")
    figures = ", ".join(f"{counts.get(t, 0)} {t}" for t in main)
    out.print(f"{verb}: {figures} ({sum(counts.values())} rows in {len(counts)} tables)", highlight=False)


def backup(
    path: Annotated[Path, typer.Argument(help="A new file: a SQLite copy, or a portable dump (.zip).")],
    portable: Annotated[
        bool,
        typer.Option("--portable", help="Write the portable dump even from SQLite."),
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Snapshot the archive while the daemon runs: SQLite's online backup, or a portable dump
    (PostgreSQL: JSON lines per table in a zip). Either restores into SQLite or PostgreSQL."""
    from storage.backup import BackupError
    from storage.backup import backup as do_backup

    engine = ready_engine(context(db, config))
    try:
        result = do_backup(engine, path, portable=portable)
    except BackupError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    kind = "SQLite copy" if result.kind == "sqlite" else "portable dump"
    _report(f"wrote a {kind} to {path}", result.counts, as_json, path=str(path), kind=result.kind)


def restore(
    path: Annotated[Path, typer.Argument(help="A file written by `storytrail backup`.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore a backup into the (empty) database given by --db; row counts are checked."""
    from storage.backup import BackupError
    from storage.backup import restore as do_restore
    from storage.db import redact

    ctx = context(db, config)
    engine = ctx.engine()
    try:
        counts = do_restore(path, engine)
    except BackupError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    _report(f"restored {path} into {redact(ctx.settings.database_url)}", counts, as_json)


def copy(
    to: Annotated[str, typer.Option("--to", metavar="URL", help="The (empty) database to copy into.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the archive into another database (SQLite <-> PostgreSQL); row counts are checked."""
    from storage.backup import BackupError
    from storage.backup import copy as do_copy
    from storage.db import make_engine

    ctx = context(db, config)
    if to == ctx.settings.database_url:
        fail("--to names the database being copied", 2)
    source = ready_engine(ctx)
    target = make_engine(to)
    try:
        counts = do_copy(source, target)
    except BackupError as exc:
        fail(str(exc))
    finally:
        source.dispose()
        target.dispose()
    _report(f"copied into {to}", counts, as_json, to=to)
