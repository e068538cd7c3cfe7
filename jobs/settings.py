"""One Settings object: STORYTRAIL_* environment variables, then the config file's [settings].

Nothing reads the environment at import time: call :func:`load_settings`. Every value is checked
when the object is built; a bad environment value is a :class:`SettingsError` whose one line names
the variable and says why (``STORYTRAIL_MAX_BODY_BYTES='lots': should be a valid integer``).
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobs.constants import DEFAULT_CONFIG, DEFAULT_DB

__all__ = ["DEFAULT_CONFIG", "DEFAULT_DB", "Settings", "SettingsError", "load_settings"]

ENV_PREFIX = "STORYTRAIL_"

_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$"
)

Seconds = Annotated[float, Field(ge=0)]
PositiveSeconds = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(ge=0, le=65535)]


class SettingsError(ValueError):
    """A setting that cannot be used; the message names where it came from and why."""

    def __init__(self, name: str, value: Any, reason: str) -> None:
        shown = f"={value!r}" if value is not None else ""
        super().__init__(f"{name}{shown}: {reason}")
        self.name, self.value, self.reason = name, value, reason


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = DEFAULT_DB
    config: str = DEFAULT_CONFIG

    # HTTP
    user_agent: str = "storytrail/0.1 (+{contact})"
    contact_url: str = "https://github.com/storytrail/storytrail"
    allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    connect_timeout: PositiveSeconds = 10.0
    read_timeout: PositiveSeconds = 20.0
    total_timeout: PositiveSeconds = 60.0
    max_body_bytes: int = Field(default=15 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    retries: int = Field(default=3, ge=0)
    retry_backoff: Seconds = 1.0
    retry_max_wait: Seconds = 60.0
    per_host_delay: Seconds = 1.0
    per_host_concurrency: int = Field(default=2, ge=1)
    global_concurrency: int = Field(default=16, ge=1)
    respect_robots: bool = True

    # the browser fetcher (scraper.browser): Debian's Chromium, never downloaded
    chromium: str = "/usr/bin/chromium"
    browser_pages: int = Field(default=2, ge=1)  # pages rendered at once per process
    screenshot_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1)

    # processing
    extract_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0)

    # daemon, api, logs
    log_format: Literal["human", "json"] = "human"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    metrics_host: str = "127.0.0.1"
    metrics_port: Port = 9108
    api_token: str | None = None
    public_url: str = (
        "http://127.0.0.1:8080"  # where people reach `storytrail serve` (links in notifications)
    )
    lease_seconds: int = Field(default=300, ge=1)
    shutdown_grace: Seconds = 20.0
    check_retention_days: int | None = Field(default=None, ge=1)  # prune unchanged checks older than this

    # preservation in the Wayback Machine (jobs.wayback): the keys only from the environment
    wayback_endpoint: str = "https://web.archive.org/save"
    wayback_access_key: SecretStr | None = None
    wayback_secret_key: SecretStr | None = Field(default=None, validate_default=True)
    wayback_min_interval: Seconds = 10.0  # between two submissions, all daemons together
    wayback_poll_interval: Seconds = 10.0  # between two status requests of a submitted job

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("allow_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            problem = allow_entry_problem(entry)
            if problem:
                raise ValueError(f"{entry!r} {problem}")
        return value

    @field_validator("wayback_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("wayback_access_key", "wayback_secret_key", mode="before")
    @classmethod
    def _empty_key(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value  # an unset compose variable

    @field_validator("wayback_secret_key")
    @classmethod
    def _both_keys(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        access = info.data.get("wayback_access_key")
        if (access is None) != (value is None):
            missing = "STORYTRAIL_WAYBACK_SECRET_KEY" if value is None else "STORYTRAIL_WAYBACK_ACCESS_KEY"
            raise ValueError(f"the Wayback Machine keys go together: {missing} is not set")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def full_user_agent(self) -> str:
        return self.user_agent.format(contact=self.contact_url)


def allow_entry_problem(entry: str) -> str | None:
    """Why ``entry`` is not a host name, an IP address or a CIDR network (None when it is one)."""
    text = entry.strip().lower().strip("[]")
    if "/" in text or ":" in text or re.fullmatch(r"[\d.]+", text):
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return "is not an IP address or CIDR network"
        return None
    if not _HOST_NAME.match(text):
        return "is not a host name, an IP address or a CIDR network"
    return None


def _reason(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message.split(", unable to")[0]
    return message[:1].lower() + message[1:] if message.startswith("Input ") else message


def _env_error(exc: ValidationError) -> SettingsError:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "?"
    variable = f"{ENV_PREFIX}{name.upper()}"
    return SettingsError(variable, os.environ.get(variable), _reason(error).removeprefix("input "))


def from_environment() -> Settings:
    """The settings the environment gives (defaults elsewhere); a bad value names its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise _env_error(exc) from None


def load_settings(
    *, database_url: str | None = None, config: str | None = None, file_settings: dict[str, Any] | None = None
) -> Settings:
    """Settings from (lowest first) the config file's [settings], the environment, the flags."""
    env = from_environment()
    merged: dict[str, Any] = {**(file_settings or {})}
    for name in Settings.model_fields:
        if f"{ENV_PREFIX}{name.upper()}" in os.environ:
            merged[name] = getattr(env, name)
    if database_url:
        merged["database_url"] = database_url
    if config:
        merged["config"] = config
    try:
        return Settings.model_validate({**env.model_dump(), **merged})
    except ValidationError as exc:  # the file's [settings] are checked with line numbers before this
        error = exc.errors()[0]
        raise SettingsError(f"[settings] {error['loc'][0]}", None, _reason(error)) from None
