"""`storytrail notify add|list|test|remove`: where a story's changes are sent."""

from __future__ import annotations

from typing import Annotated

import typer

from jobs.cli.common import ConfigOpt, DbOpt, JsonOpt, context, fail, iso, out, print_json, ready_engine, run
from scraper.core.notify import DEFAULT_EVENTS  # pure and light: the help text names the defaults

notify_app = typer.Typer(
    help="Notifications: send a story's changes to webhooks and Apprise URLs.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")


@notify_app.command("add")
def add(
    slug: Annotated[str, typer.Argument(help="The story to follow.")],
    target: Annotated[
        str,
        typer.Argument(help="An http(s) webhook URL, or any Apprise URL (ntfy://, mailto://, json://...)."),
    ],
    events: Annotated[
        str | None,
        typer.Option(
            "--events", metavar="KIND,...", help=f"Event kinds (default: {','.join(DEFAULT_EVENTS)})."
        ),
    ] = None,
    min_significance: Annotated[
        float | None,
        typer.Option(
            "--min-significance", min=0.0, max=1.0, help="Skip changes less significant than this (0-1)."
        ),
    ] = None,
    secret_env: Annotated[
        str | None,
        typer.Option(
            "--secret-env", metavar="VAR", help="Environment variable holding the webhook signing secret."
        ),
    ] = None,
    quiet_hours: Annotated[
        str | None,
        typer.Option("--quiet-hours", metavar="HH:MM-HH:MM", help="Hold messages in this UTC window."),
    ] = None,
    digest: Annotated[
        str | None, typer.Option("--digest", metavar="DURATION", help="One message per interval, e.g. 1h.")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a story's events to TARGET (a signed JSON webhook, or an Apprise notification)."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.sync import sync_config
    from scraper.core.notify import TargetError, check_events, parse_interval, parse_quiet_hours, target_kind
    from storage import catalog
    from storage import notify as store

    kind_list = [k.strip() for k in (events or "").split(",") if k.strip()]
    try:
        kind = target_kind(target)
        kinds = check_events(kind_list)
        if quiet_hours:
            parse_quiet_hours(quiet_hours)
        if digest:
            parse_interval(digest)
    except TargetError as exc:
        fail(str(exc), 2)
    if secret_env is not None and not secret_env.replace("_", "a").isalnum():
        fail(f"--secret-env {secret_env!r} is not an environment variable name", 2)
    if kind == "apprise":
        from jobs.notify import DeliveryError, check_apprise_url

        try:
            check_apprise_url(target)
        except DeliveryError as exc:
            fail(str(exc), 2 if exc.permanent else 1)
    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        sync_config(session, ctx.config, now=utcnow())
        story = catalog.get_story(session, slug=slug)
        assert story.id is not None
        row, created = store.add_target(
            session,
            story_id=story.id,
            target=target,
            kind=kind,
            now=utcnow(),
            events=kinds,
            min_significance=min_significance,
            secret_env=secret_env,
            quiet_hours=quiet_hours,
            digest=digest,
        )
        session.commit()
        ident = row.id
    if as_json:
        print_json({"id": ident, "story": slug, "target": target, "kind": kind, "created": created})
        return
    verb = "added" if created else "updated"
    out.print(f"{verb} notification #{ident}: {slug} -> {_shown(target)} ({kind})", highlight=False)


@notify_app.command("list")
def list_targets(db: DbOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List notification targets with their filters and delivery counts."""
    from rich.table import Table
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.sync import sync_config
    from storage import notify as store

    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        sync_config(session, ctx.config, now=utcnow())
        session.commit()
        rows = [
            (t, s, store.target_stats(session, target_id=t.id or 0)) for t, s in store.list_targets(session)
        ]
    if as_json:
        print_json(
            [
                {
                    "id": t.id,
                    "story": s.slug,
                    "target": _shown(t.target),
                    "kind": t.kind,
                    "events": t.events or list(DEFAULT_EVENTS),
                    "min_significance": t.min_significance,
                    "secret_env": t.secret_env,
                    "quiet_hours": t.quiet_hours,
                    "digest": t.digest,
                    "enabled": t.enabled,
                    "origin": t.origin,
                    "created_at": iso(t.created_at),
                    "pending": st.pending,
                    "sent": st.sent,
                    "dead": st.dead,
                    "last_error": st.last_error,
                }
                for t, s, st in rows
            ]
        )
        return
    if not rows:
        out.print("no notification targets yet: add one with `storytrail notify add SLUG TARGET`")
        return
    table = Table("id", "story", "target", "kind", "events", "enabled", "sent", "pending", "last error")
    for t, s, st in rows:
        table.add_row(
            str(t.id),
            s.slug,
            _shown(t.target),
            t.kind,
            ",".join(t.events) or "default",
            "yes" if t.enabled else "no",
            str(st.sent),
            str(st.pending),
            st.last_error or "-",
        )
    out.print(table)


@notify_app.command("test")
def test(slug: str, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Send a test message to every target of the story now (nothing is stored)."""
    from sqlmodel import Session

    from jobs.clock import utcnow
    from jobs.sync import sync_config
    from storage import catalog
    from storage import notify as store

    ctx = context(db, config)
    with Session(ready_engine(ctx), expire_on_commit=False) as session:
        sync_config(session, ctx.config, now=utcnow())
        session.commit()
        story = catalog.get_story(session, slug=slug)
        targets = [t for t, _ in store.list_targets(session, story_id=story.id)]
        session.expunge_all()
    if not targets:
        fail(f"story {slug!r} has no notification targets (add one with `storytrail notify add`)")
    failures = run(_send_tests(ctx.settings, story.slug, story.title, targets))
    if failures:
        fail(f"{failures} of {len(targets)} targets failed")


async def _send_tests(settings, slug, title, targets) -> int:  # type: ignore[no-untyped-def]
    from jobs.clock import utcnow
    from jobs.notify import DeliveryError, Sender, redact, sample_view
    from jobs.services import fetch_config
    from scraper.http import Fetcher

    failures = 0
    async with Fetcher(fetch_config(settings)) as fetcher:
        sender = Sender(fetcher, settings.public_url, utcnow)
        for target in targets:
            try:
                await sender.send(target, [sample_view(slug, title, utcnow())], delivery_id=None)
            except DeliveryError as exc:
                failures += 1
                out.print(f"#{target.id} {redact(target.target)}: failed: {exc}", highlight=False)
            else:
                out.print(f"#{target.id} {redact(target.target)}: sent", highlight=False)
    return failures


@notify_app.command("remove")
def remove(
    target_id: Annotated[int, typer.Argument(metavar="ID", help="The id `notify list` shows.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove a notification target and its pending deliveries."""
    from sqlmodel import Session

    from storage import notify as store

    ctx = context(db, config)
    with Session(ready_engine(ctx)) as session:
        row = store.get_target(session, target_id=target_id)
        if row.origin == "config":
            fail(f"notification #{target_id} is defined in {ctx.config.path}: remove it there", 2)
        store.remove_target(session, target_id=target_id)
        session.commit()
    out.print(f"removed notification #{target_id}", highlight=False)


def _shown(target: str) -> str:
    from jobs.notify import redact

    return redact(target)
