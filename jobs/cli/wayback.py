"""`storytrail wayback status|retry`: the Wayback Machine queue, for an operator."""

from __future__ import annotations

from typing import Annotated

import typer

from jobs.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    context,
    iso,
    out,
    print_json,
    print_table,
    ready_engine,
    short_time,
)
from jobs.cli.tables import Col

wayback_app = typer.Typer(
    help="Preservation in the Wayback Machine: what is queued, archived or given up.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(wayback_app, name="wayback")


@wayback_app.command("status")
def status(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many waiting rows to list.")] = 20,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Counts by status, then the versions given up (with the reason) and the next ones due."""
    from sqlmodel import Session

    from storage import wayback as store

    with Session(ready_engine(context(db, config))) as session:
        counts = store.counts(session)
        waiting = store.not_archived(session, limit=limit)
    totals = {
        name: counts.get(name, 0) for name in (store.PENDING, store.SUBMITTED, store.ARCHIVED, store.DEAD)
    }
    if as_json:
        rows = [
            {"url": w.url, "seq": w.seq, "status": w.status, "attempts": w.attempts,
             "next_attempt_at": iso(w.next_attempt_at), "job_id": w.job_id, "last_error": w.last_error}
            for w in waiting
        ]  # fmt: skip
        print_json({"counts": totals, "waiting": rows})
        return
    out.print(", ".join(f"{n} {name}" for name, n in totals.items()), highlight=False)
    if not waiting:
        return
    columns = [Col("url", "url"), Col("seq", "number"), Col("status", "fixed"), Col("attempts", "number"),
               Col("next attempt (UTC)", "fixed"), Col("last error", "title", max_width=60)]  # fmt: skip
    cells = [
        (w.url, str(w.seq), w.status, str(w.attempts),
         "-" if w.status == store.DEAD else short_time(w.next_attempt_at), w.last_error or "")
        for w in waiting
    ]  # fmt: skip
    print_table(columns, cells)


@wayback_app.command("retry")
def retry(db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Queue every given-up version again (after fixing the keys, or when the archive is back)."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from storage import wayback as store

    with Session(ready_engine(context(db, config))) as session:
        count = store.retry_dead(session, now=utcnow())
    if as_json:
        print_json({"requeued": count})
        return
    out.print(f"{count} versions queued again for the Wayback Machine", highlight=False)
