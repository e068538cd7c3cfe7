"""Structured logging: JSON lines that parse and carry the extra fields; human output; errors."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.logging import RichHandler

from jobs.logs import NOISY_LIBRARIES, configure_logging, get_logger

EXTRA = {
    "url": "https://news.example/2025/12/30/putin-residence-drone-claim",
    "source": "world-news",
    "story": "valdai-residence-claim",
    "outcome": "new_version",
    "duration_ms": 412,
}


@pytest.fixture(autouse=True)
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    library_levels = {name: logging.getLogger(name).level for name in NOISY_LIBRARIES}
    yield
    for name, library_level in library_levels.items():
        logging.getLogger(name).setLevel(library_level)
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_parse_and_carry_the_extra_fields():
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    before = datetime.now(UTC)
    get_logger("jobs.tasks").info("checked %s", "one page", extra=EXTRA)
    (record,) = json_lines(out)
    assert record["level"] == "INFO"
    assert record["logger"] == "jobs.tasks"
    assert record["message"] == "checked one page"
    assert {key: record[key] for key in EXTRA} == EXTRA
    stamp = datetime.fromisoformat(record["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= stamp <= datetime.now(UTC) + timedelta(seconds=5)
    assert list(record)[:4] == ["timestamp", "level", "logger", "message"]


def test_json_keeps_non_ascii_text_and_reports_exceptions():
    out = io.StringIO()
    configure_logging("json", stream=out)
    log = get_logger("scraper.extract")
    log.warning("заголовок изменён", extra={"url": "https://tass.ru/x"})
    try:
        raise ValueError("bad markup")
    except ValueError:
        log.exception("extraction failed", extra={"url": "https://tass.ru/x"})
    first, second = json_lines(out)
    assert first["message"] == "заголовок изменён"
    assert "заголовок" in out.getvalue()
    assert second["level"] == "ERROR"
    assert "ValueError: bad markup" in second["exc_info"]


def test_level_filters_records():
    out = io.StringIO()
    configure_logging("json", "warning", stream=out)
    log = get_logger("jobs.daemon")
    log.info("quiet")
    log.error("loud")
    assert [r["message"] for r in json_lines(out)] == ["loud"]


def test_plain_human_output_carries_extras_when_not_a_terminal():
    out = io.StringIO()
    configure_logging("human", "DEBUG", stream=out)
    get_logger("jobs.tasks").debug("fetched", extra={"url": "https://news.example/a", "duration_ms": 12})
    line = out.getvalue().strip()
    assert " DEBUG jobs.tasks fetched " in line
    assert "url=https://news.example/a" in line and "duration_ms=12" in line
    assert datetime.fromisoformat(line.split(" ", 1)[0]).utcoffset() == timedelta(0)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_human_output_uses_rich_on_a_terminal():
    out = Terminal()
    configure_logging("human", stream=out)
    assert any(isinstance(h, RichHandler) for h in logging.getLogger().handlers)
    get_logger("jobs.daemon").info("scheduler started")
    assert "scheduler started" in out.getvalue()


def test_configuring_again_replaces_our_handler_only():
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", stream=first)
    configure_logging("json", stream=second)
    get_logger("jobs").info("once")
    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1
    assert foreign in logging.getLogger().handlers
    logging.getLogger().removeHandler(foreign)


def test_noisy_libraries_are_quieted_unless_debugging():
    configure_logging("json", "INFO", stream=io.StringIO())
    assert logging.getLogger("httpx").level == logging.WARNING
    configure_logging("json", "DEBUG", stream=io.StringIO())
    assert logging.getLogger("httpx").level == logging.DEBUG


def test_unknown_format_names_it_and_the_choices():
    with pytest.raises(ValueError, match=r"unknown log format 'yaml': choose one of human, json"):
        configure_logging("yaml")


def test_unknown_level_names_it_and_the_choices():
    with pytest.raises(ValueError, match=r"unknown log level 'LOUD': choose one of DEBUG, INFO, WARNING"):
        configure_logging("json", "LOUD")
