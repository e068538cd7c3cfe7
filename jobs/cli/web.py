"""`storytrail serve`: the JSON API, Atom feeds and HTML pages (api.app) under uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer
from sqlmodel import Session

from jobs.cli.common import ConfigOpt, DbOpt, context, err, out, ready_engine
from jobs.services import utcnow

HostOpt = Annotated[
    str,
    typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: everyone)."),
]
PortOpt = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    host: HostOpt = "127.0.0.1", port: PortOpt = 8080, db: DbOpt = None, config: ConfigOpt = None
) -> None:
    """Serve the archive: HTML pages at /, the JSON API at /api (OpenAPI at /openapi.json), Atom
    feeds at /feeds, /healthz and /metrics. Read-only unless STORYTRAIL_API_TOKEN is set."""
    import uvicorn

    from api.app import create_app
    from jobs.logs import configure_logging
    from jobs.sync import sync_config

    ctx = context(db, config)
    configure_logging(ctx.settings.log_format, ctx.settings.log_level)
    engine = ready_engine(ctx)
    with Session(engine) as session:
        sync_config(session, ctx.config, now=utcnow())
        session.commit()
    if not is_loopback(host):
        err.print(
            f"note: listening on {host}: anyone who can reach this address can read the archive",
            highlight=False,
            markup=False,
        )
    writes = (
        "enabled (Authorization: Bearer <token>)" if ctx.settings.api_token else "disabled (no API token)"
    )
    out.print(
        f"serving http://{_display(host)}:{port}/ — API at /api, OpenAPI at /openapi.json; writes {writes}",
        highlight=False,
        markup=False,
    )
    try:
        uvicorn.run(
            create_app(ctx.settings, engine),
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
            proxy_headers=False,
        )
    finally:
        engine.dispose()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _display(host: str) -> str:
    return f"[{host}]" if ":" in host else host
