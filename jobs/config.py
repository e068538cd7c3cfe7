"""The TOML config file: [[source]], [[story]] and [settings], validated with line numbers."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jobs.constants import SOURCE_KINDS
from scraper.core.languages import UnknownLanguageError, check_languages
from scraper.http_options import RequestOptionsError, check_header, check_proxy

__all__ = ["SOURCE_KINDS", "Config", "ConfigError", "SourceConfig", "StoryConfig", "load_config"]
ENV_ONLY = frozenset({"wayback_access_key", "wayback_secret_key"})  # secrets: never in the file
DURATION = re.compile(r"^\s*(\d+\s*[smhdw]\s*)+$")


class ConfigError(ValueError):
    """A config problem, with the file and line it is on."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.message = path, line, message


def _check_duration(value: str | None) -> str | None:
    if value is not None and not DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration (write e.g. 90s, 5m, 1h30m, 2d, 1w)")
    return value


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    kind: Literal["feed", "sitemap", "page", "search", "mastodon", "bluesky", "telegram", "reddit", "youtube"]
    url: str = Field(min_length=1)
    every: str = "10m"
    cron: str | None = None
    archive: Literal["matched", "all"] = "matched"
    api: str | None = None
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)  # regexes removed from text before hashing
    remove: list[str] = Field(default_factory=list)  # CSS selectors removed before extraction
    recheck_min: str | None = None
    recheck_max: str | None = None
    delay: float | None = None  # per-host minimum delay override, seconds
    max_items: int = 500
    enabled: bool = True
    credentials: dict[str, str] = Field(default_factory=dict)  # names of env variables, never secrets
    # request settings (scraper.http_options): secrets only by the name of their env variable
    headers: dict[str, str] = Field(default_factory=dict)
    cookies: str | None = None  # a Netscape cookie file, relative to the config file
    auth: str | None = None  # "bearer:ENV_VAR" or "basic:ENV_VAR"
    proxy: str | None = None
    user_agent: str | None = None
    fetcher: Literal["http", "browser"] = "http"  # "browser": render pages in Chromium
    screenshot: bool = False  # with the browser: a full-page PNG per new version
    wayback: bool = False  # submit each new page version to the Wayback Machine (Save Page Now)

    _durations = field_validator("every", "recheck_min", "recheck_max")(_check_duration)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            _request_option(check_header, name, text)
        return value

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str | None) -> str | None:
        kind, sep, var = (value or "bearer:X").partition(":")
        if not sep or kind.strip().lower() not in ("bearer", "basic") or not var.strip():
            raise ValueError(
                f"{value!r} must be 'bearer:ENV_VAR' or 'basic:ENV_VAR' (the name, not the secret)"
            )
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        return _request_option(check_proxy, value) if value is not None else None

    @field_validator("url", "api")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("ignore")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"ignore pattern {pattern!r} is not a valid regex: {exc}") from None
        return value


def _request_option(check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except RequestOptionsError as exc:
        raise ValueError(str(exc)) from None


class StoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = ""
    query: str = ""
    seeds: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    threshold: float = Field(default=0.15, ge=0, le=1)
    link_depth: int = Field(default=1, ge=0, le=3)
    recheck_min: str | None = None
    recheck_max: str | None = None
    fetcher: Literal["http", "browser"] = "http"  # for the story's seeds and documents
    screenshot: bool = False
    wayback: bool = False  # submit each new page version of the story's documents to the Wayback Machine

    _durations = field_validator("recheck_min", "recheck_max")(_check_duration)

    @field_validator("query")
    @classmethod
    def _compiles(cls, value: str) -> str:
        """The matcher's own parser: a query it would refuse is refused here, with the column."""
        if value.strip():
            from scraper.core.query import QueryError, compile_query

            try:
                compile_query(value)
            except QueryError as exc:
                where = "" if exc.position is None else f" at column {exc.position + 1}"
                raise ValueError(f"invalid story query {value!r}{where}: {exc.reason}") from None
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:

        try:
            return list(check_languages(value))
        except UnknownLanguageError as exc:
            raise ValueError(str(exc)) from None


class NotifyConfig(BaseModel):
    """A ``[[notify]]`` table: where a story's events are sent."""

    model_config = ConfigDict(extra="forbid")

    story: str = Field(min_length=1)
    target: str = Field(min_length=1)
    events: list[str] = Field(default_factory=list)
    min_significance: float | None = Field(default=None, ge=0, le=1)
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    quiet_hours: str | None = None
    digest: str | None = None
    enabled: bool = True

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        from scraper.core.notify import target_kind

        target_kind(value)
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        from scraper.core.notify import check_events

        return check_events(value)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        from scraper.core.notify import parse_quiet_hours

        if value is not None:
            parse_quiet_hours(value)
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        from scraper.core.notify import parse_interval

        if value is not None:
            parse_interval(value)
        return value


@dataclass
class Config:
    path: str
    sources: list[SourceConfig] = field(default_factory=list)
    stories: list[StoryConfig] = field(default_factory=list)
    notify: list[NotifyConfig] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    exists: bool = True


def load_config(path: str, *, required: bool = False) -> Config:
    """Read and validate the config file; a missing optional file is an empty config."""
    file = Path(path)
    if not file.exists():
        if required:
            raise ConfigError(path, None, "file not found (run `storytrail init` to write a sample)")
        return Config(path=path, exists=False)
    text = file.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ConfigError(path, line, f"not valid TOML: {exc}") from None
    return _validate(path, text, data)


def _line_from_message(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


def _validate(path: str, text: str, data: dict[str, Any]) -> Config:
    unknown = set(data) - {"source", "story", "notify", "settings"}
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(
            path,
            _key_line(text, name),
            f"unknown table {name!r} (expected [[source]], [[story]], [[notify]], [settings])",
        )
    sources = [
        _item(path, text, "source", i, SourceConfig, raw) for i, raw in enumerate(data.get("source", []))
    ]
    stories = [_item(path, text, "story", i, StoryConfig, raw) for i, raw in enumerate(data.get("story", []))]
    notify = [
        _item(path, text, "notify", i, NotifyConfig, raw) for i, raw in enumerate(data.get("notify", []))
    ]
    _unique(path, text, "source", [s.name for s in sources], "name")
    _unique(path, text, "story", [s.slug for s in stories], "slug")
    settings = data.get("settings", {})
    _validate_settings(path, text, settings)
    return Config(path=path, sources=sources, stories=stories, notify=notify, settings=settings)


def _item(path: str, text: str, table: str, index: int, model: type[BaseModel], raw: Any) -> Any:
    start = _table_line(text, table, index)
    if not isinstance(raw, dict):
        raise ConfigError(path, start, f"[[{table}]] must be a table")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else None
        line = _key_line(text, key, start) if key else start
        label = f"[[{table}]] #{index + 1}" + (f" {key!r}" if key else "")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {key!r}"
        elif err["type"] == "missing":
            msg = f"missing required key {key!r}"
            line = start
        raise ConfigError(path, line, f"{label}: {msg}") from None


def _unique(path: str, text: str, table: str, values: list[str], key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            line = _key_line(text, key, _table_line(text, table, i))
            raise ConfigError(path, line, f"[[{table}]] {key} {value!r} is used twice")
        seen.add(value)


def _validate_settings(path: str, text: str, settings: Any) -> None:
    from jobs.settings import Settings

    if not isinstance(settings, dict):
        raise ConfigError(path, _key_line(text, "settings"), "[settings] must be a table")
    for key in settings:
        if key not in Settings.model_fields:
            raise ConfigError(path, _key_line(text, key), f"[settings] unknown key {key!r}")
        if key in ENV_ONLY:
            raise ConfigError(
                path,
                _key_line(text, key),
                f"[settings] {key!r} is a secret: set STORYTRAIL_{key.upper()} in the environment instead",
            )
    try:
        Settings.model_validate(settings)
    except ValidationError as exc:
        key = str(exc.errors()[0]["loc"][0])
        raise ConfigError(
            path, _key_line(text, key), f"[settings] {key!r}: {exc.errors()[0]['msg']}"
        ) from None


def _table_line(text: str, table: str, index: int) -> int | None:
    found = [n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(f"[[{table}]]")]
    return found[index] if index < len(found) else None


def _key_line(text: str, key: str, after: int | None = None) -> int | None:
    pattern = re.compile(rf"^\s*(\[+\s*)?\"?{re.escape(key)}\"?\s*[=\]]")
    for n, line in enumerate(text.splitlines(), 1):
        if after and n < after:
            continue
        if after and n > after and line.strip().startswith("[") and not pattern.match(line):
            break
        if pattern.match(line):
            return n
    return after


SAMPLE_CONFIG = """\
# storytrail configuration: sources to poll and stories to follow.
# Durations: 90s, 5m, 1h30m, 2d, 1w. Check this file with `storytrail config check`.
#
# This sample follows one real story. Its sources are public feeds of outlets that covered it,
# switched off: set `enabled = true` on the ones you want (and check each outlet's terms), then
# `storytrail run`. Add more with `storytrail sources add`, `sources discover URL --add` or
# `sources import FILE.opml`.

[settings]
# contact_url = "https://example.org/about-our-archive"   # sent in the User-Agent: say who you are
# allow_hosts = ["127.0.0.1", "localhost"]                # lift the private-address guard
# public_url = "http://127.0.0.1:8080"                    # links in notifications

[[story]]
slug = "valdai-residence-claim"
title = "Alleged drone attack on Putin's Valdai residence"
query = '(Putin OR Kremlin) AND (residence OR Valdai OR Novgorod) AND drone*'
seeds = []            # article URLs that define the story, e.g. the first report you read
recheck_min = "5m"
recheck_max = "1d"

# Pages plain GET cannot reach: any [[source]] may add (see README "Reaching pages plain GET cannot")
# fetcher = "browser"        # render in headless Chromium (pages written by JavaScript); also on a [[story]]
# screenshot = true          # with the browser: a full-page PNG per new version
# wayback = true             # also on a [[story]]: each new page version to the Wayback Machine
#                            # (README "Preservation in the Wayback Machine"; keys from the environment)
# headers = { "X-Edition" = "international" }
# cookies = "cookies.txt"    # Netscape format (curl, yt-dlp), relative to this file
# auth = "bearer:NEWS_TOKEN" # or "basic:NEWS_CREDS": the NAME of an environment variable
# proxy = "socks5://127.0.0.1:1080"

[[source]]
name = "aljazeera"
kind = "feed"
url = "https://www.aljazeera.com/xml/rss/all.xml"
every = "10m"
enabled = false       # switch on: enabled = true

[[source]]
name = "cnbc-world"
kind = "feed"
url = "https://www.cnbc.com/id/100727362/device/rss/rss.html"
every = "10m"
enabled = false

[[source]]
name = "sky-news-world"
kind = "feed"
url = "https://feeds.skynews.com/feeds/rss/world.xml"
every = "10m"
enabled = false

[[source]]
name = "nyt-world"
kind = "feed"
url = "https://rss.nytimes.com/services/xml/rss/nyt/World.xml"
every = "15m"
enabled = false

[[source]]
name = "tass"
kind = "feed"
url = "https://tass.com/rss/v2.xml"
every = "15m"
enabled = false

[[source]]
name = "kyiv-independent"
kind = "feed"
url = "https://kyivindependent.com/news-archive/rss/"
every = "15m"
enabled = false

# [[source]]                          # a social source: posts tagged #Valdai on mastodon.social
# name = "mastodon-valdai"
# kind = "mastodon"
# url = "https://mastodon.social/tags/Valdai"
# every = "5m"

# [[notify]]                          # tell someone: a webhook, or any Apprise URL (ntfy://...)
# story = "valdai-residence-claim"
# target = "ntfy://my-valdai-topic"
# events = ["headline", "deleted", "restored"]
"""
