"""`storytrail run [--once]`: the daemon (scheduled polling, adaptive re-checks, /healthz, /metrics)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from jobs.cli.common import AppContext, ConfigOpt, DbOpt, context, fail, out, run

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from jobs.settings import Settings

WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Polls and checks run at once (default: STORYTRAIL_GLOBAL_CONCURRENCY, 16)."
    ),
]
HealthPortOpt = Annotated[
    int | None,
    typer.Option(
        "--health-port",
        min=0,
        max=65535,
        help="Port for /healthz and /metrics (default: $PORT, else STORYTRAIL_METRICS_PORT; 0: any free).",
    ),
]
HealthHostOpt = Annotated[
    str | None,
    typer.Option(
        "--health-host",
        help="Address for /healthz and /metrics (default: STORYTRAIL_METRICS_HOST, 127.0.0.1).",
    ),
]
NoHealthOpt = Annotated[bool, typer.Option("--no-health", help="Serve no /healthz and /metrics.")]
DispatchOpt = Annotated[
    float,
    typer.Option(
        "--dispatch-interval",
        min=0.01,
        help="Seconds between dispatcher rounds (/healthz fails after 3 missed).",
    ),
]
OnceOpt = Annotated[
    bool,
    typer.Option("--once", help="One pass over every source and document that is due, then exit (for cron)."),
]


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)


def run_command(
    once: OnceOpt = False,
    workers: WorkersOpt = None,
    health_port: HealthPortOpt = None,
    health_host: HealthHostOpt = None,
    no_health: NoHealthOpt = False,
    dispatch_interval: DispatchOpt = 5.0,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run the daemon: poll sources on their schedules and re-check documents as the policy says.

    Migrates the database first, and brings the config file's sources and stories in. SIGTERM or
    Ctrl-C stops it cleanly: in-flight work finishes (or its lease is given back) and it exits 0.
    """
    from jobs.daemon import DaemonOptions, ListenError, serve
    from jobs.logs import configure_logging
    from jobs.signals import catch_early_signals

    catch_early_signals()
    ctx = context(db, config)
    configure_logging(ctx.settings.log_format, ctx.settings.log_level)
    engine = _ready(ctx)
    port = None if no_health or once else _health_port(health_port, ctx.settings)
    try:
        options = DaemonOptions.from_settings(
            ctx.settings,
            dispatch_interval=dispatch_interval,
            health_port=port,
            health_host=health_host or ctx.settings.metrics_host,
            **({"workers": workers} if workers else {}),
        )
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        summary = run(serve(ctx.settings, options, engine=engine, once=once))
    except ListenError as exc:
        fail(f"{exc} (choose another --health-port, or --no-health)")
    finally:
        engine.dispose()
    if once:
        out.print(summary.line(), highlight=False)


def _ready(ctx: AppContext) -> Engine:
    """The database, reachable, migrated, with the config file's sources and stories in it."""
    from sqlmodel import Session

    from jobs.daemon import prepare_database, wait_for_database
    from jobs.services import utcnow
    from jobs.sync import sync_config

    engine = ctx.engine()
    wait_for_database(engine)
    prepare_database(engine)
    from jobs.daemon import idle_warning
    from jobs.logs import get_logger

    with Session(engine) as session:
        sync_config(session, ctx.config, now=utcnow())
        session.commit()
        warning = idle_warning(session, config_path=ctx.settings.config)
    if warning:
        get_logger("jobs.daemon").warning(warning)
    return engine


def _health_port(flag: int | None, settings: Settings) -> int:
    """--health-port, else $PORT (as container platforms set it), else STORYTRAIL_METRICS_PORT."""
    if flag is not None:
        return flag
    env = os.environ.get("PORT", "").strip()
    if not env:
        return settings.metrics_port
    if not env.isdigit() or int(env) > 65535:
        fail(f"PORT={env!r} is not a port number (0-65535)", 2)
    return int(env)
