"""`storytrail serve`: the JSON API, Atom feeds and HTML pages (api.app) under uvicorn."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobs.cli.common import ConfigOpt, DbOpt, context, err, fail, out, ready_engine

if TYPE_CHECKING:
    import socket

    from fastapi import FastAPI

HostOpt = Annotated[
    str,
    typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: everyone)."),
]
PortOpt = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")]
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        help="Server processes sharing the port (uvicorn workers; one runs one request's Python at a "
        "time). They exit with storytrail, SIGKILL included.",
    ),
]
# what a worker process (spawned, so it imports this module afresh) needs to build the app
WORKER_ENV = "STORYTRAIL_SERVE_WORKER"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8080,
    workers: WorkersOpt = 1,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the archive: HTML pages, the JSON API, Atom feeds, /healthz and /metrics.

    HTML pages at /, the JSON API at /api (OpenAPI at /openapi.json), Atom feeds at /feeds.
    Read-only unless STORYTRAIL_API_TOKEN is set. With --workers N, N processes answer on the
    same port (this one supervises them and restarts one that dies).
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
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "server_header": False,
        "proxy_headers": False,
    }
    if workers > 1:
        _serve_workers(sock, workers, db, config, options)
        engine.dispose()
        return
    server = uvicorn.Server(uvicorn.Config(create_app(ctx.settings, engine), **options))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        engine.dispose()


def _serve_workers(
    sock: socket.socket, workers: int, db: str | None, config: str | None, options: dict[str, Any]
) -> None:
    """``workers`` uvicorn processes on ``sock``, supervised by this one (uvicorn's Multiprocess:
    SIGINT / SIGTERM stop them all, a dead one is restarted). Each is spawned and builds the app
    itself (:func:`worker_app`); each asks the kernel to kill it when this process dies, so none
    outlives a SIGKILL of storytrail (``scraper.lifeline``)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[WORKER_ENV] = json.dumps({"db": db, "config": config, "parent": os.getpid()})
    settings = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        workers=workers,
        **options,
    )
    try:
        Multiprocess(settings, sockets=[sock]).run()
    finally:
        sock.close()


def worker_app() -> FastAPI:
    """The app in a ``--workers`` process: dies with its parent, then opens the archive as the
    parent did (the parent has migrated it and synchronised the config already)."""
    from api.app import create_app
    from jobs.logs import configure_logging
    from scraper.lifeline import follow

    spec = json.loads(os.environ[WORKER_ENV])
    follow(int(spec["parent"]))
    ctx = context(spec["db"], spec["config"])
    configure_logging(ctx.settings.log_format, ctx.settings.log_level)
    return create_app(ctx.settings, ctx.engine())


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
