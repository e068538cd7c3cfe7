"""`storytrail serve`: the JSON API, Atom feeds and HTML pages (api.app) under uvicorn."""

from __future__ import annotations

import errno
import ipaddress
from typing import TYPE_CHECKING, Annotated

import typer

from jobs.cli.common import ConfigOpt, DbOpt, context, err, fail, out, ready_engine

if TYPE_CHECKING:
    import socket

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
    """Serve the archive: HTML pages, the JSON API, Atom feeds, /healthz and /metrics.

    HTML pages at /, the JSON API at /api (OpenAPI at /openapi.json), Atom feeds at /feeds.
    Read-only unless STORYTRAIL_API_TOKEN is set.
    """
    import uvicorn
    from sqlmodel import Session

    from api.app import create_app
    from jobs.logs import configure_logging
    from jobs.services import utcnow
    from jobs.sync import sync_config

    ctx = context(db, config)
    sock = listen(host, port)  # before anything else: a busy port is the first thing to say
    port = sock.getsockname()[1]
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
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx.settings, engine),
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
            proxy_headers=False,
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        engine.dispose()


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one line saying why there is none."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail(f"--host {host!r}: cannot resolve it ({exc.strerror})", 2)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        fail(f"cannot listen on {_display(host)}:{port}: {reason} (choose another --port or --host)")
    sock.set_inheritable(True)
    return sock


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _display(host: str) -> str:
    return f"[{host}]" if ":" in host else host
