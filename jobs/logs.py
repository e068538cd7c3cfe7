"""Logging for the daemon and the CLI: one call configures the root logger.

``json``: one JSON object per line (python-json-logger) with ``timestamp`` (UTC, ISO 8601),
``level``, ``logger``, ``message`` and every ``extra`` field the call passed, e.g.::

    log.info("fetched", extra={"url": url, "source": "world-news", "outcome": "unchanged",
                               "duration_ms": 412})

``human``: rich's coloured handler when the stream is a terminal, else plain text lines that
still carry the extra fields as ``key=value``.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from rich.console import Console
from rich.logging import RichHandler

FORMATS = ("human", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
NOISY_LIBRARIES = (
    "httpx",
    "httpcore",
    "apscheduler.executors",
    "apscheduler.scheduler",
    "alembic.runtime.plugins",
    "alembic.runtime.migration",
)
_MARK = "_storytrail_handler"  # set on the handlers we install, so a second call replaces them


HEAD_FIELDS = ("timestamp", "level", "logger", "message")


class _JsonLines(JsonFormatter):
    """timestamp, level, logger and message first, then the extra fields."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        head: dict[str, Any] = {key: log_data.pop(key) for key in HEAD_FIELDS if key in log_data}
        return {**head, **log_data}


class _PlainWithExtras(logging.Formatter):
    """``2025-12-30T09:14:03+00:00 INFO storytrail.fetch fetched url=... outcome=...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="seconds")

    def format(self, record: logging.LogRecord) -> str:
        extras = extra_fields(record)
        line = super().format(record)
        if not extras:
            return line
        first, newline, rest = line.partition("\n")
        pairs = " ".join(f"{key}={value}" for key, value in extras.items())
        return f"{first} {pairs}{newline}{rest}"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a call passed through ``extra=`` (everything that is not a LogRecord attribute)."""
    reserved = set(RESERVED_ATTRS) | {"message", "asctime", "color_message"}
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in reserved and not key.startswith("_")
    }


def json_formatter() -> logging.Formatter:
    return _JsonLines(
        ["levelname", "name", "message"],
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
        json_ensure_ascii=False,
    )


def _handler(fmt: str, stream: TextIO) -> logging.Handler:
    if fmt == "json":
        handler: logging.Handler = logging.StreamHandler(stream)
        handler.setFormatter(json_formatter())
    elif stream.isatty():
        handler = RichHandler(console=Console(file=stream), rich_tracebacks=True, log_time_format="[%X]")
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_PlainWithExtras())
    setattr(handler, _MARK, True)
    return handler


def configure_logging(fmt: str = "human", level: str = "INFO", *, stream: TextIO | None = None) -> None:
    """Send every log record at ``level`` or above to ``stream`` (default: stderr) as ``fmt``.

    Calling it again replaces what an earlier call installed (and nothing else).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: choose one of {', '.join(FORMATS)}")
    name = level.upper()
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: choose one of {', '.join(LEVELS)}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(_handler(fmt, stream if stream is not None else sys.stderr))
    root.setLevel(name)
    library_level = logging.DEBUG if name == "DEBUG" else logging.WARNING
    for library in NOISY_LIBRARIES:
        logging.getLogger(library).setLevel(library_level)


def get_logger(name: str) -> logging.Logger:
    """The stdlib logger ``name`` (pass ``__name__``); records go where :func:`configure_logging` said."""
    return logging.getLogger(name)
