"""One Settings object: STORYTRAIL_* environment variables, then the config file's [settings].

Nothing reads the environment at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DB = "sqlite:///./storytrail.db"
DEFAULT_CONFIG = "./storytrail.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYTRAIL_", extra="ignore")

    database_url: str = DEFAULT_DB
    config: str = DEFAULT_CONFIG

    # HTTP
    user_agent: str = "storytrail/0.1 (+{contact})"
    contact_url: str = "https://github.com/storytrail/storytrail"
    allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_body_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 3
    retry_backoff: float = 1.0
    retry_max_wait: float = 60.0
    per_host_delay: float = 1.0
    per_host_concurrency: int = 2
    global_concurrency: int = 16
    respect_robots: bool = True

    # the browser fetcher (scraper.browser): Debian's Chromium, never downloaded
    chromium: str = "/usr/bin/chromium"
    browser_pages: int = Field(default=2, ge=1)  # pages rendered at once per process
    screenshot_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1)

    # processing
    extract_workers: int = Field(default_factory=lambda: os.cpu_count() or 1)

    # daemon, api, logs
    log_format: str = "human"  # human | json
    log_level: str = "INFO"
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108
    api_token: str | None = None
    public_url: str = (
        "http://127.0.0.1:8080"  # where people reach `storytrail serve` (links in notifications)
    )
    lease_seconds: int = 300
    shutdown_grace: float = 20.0
    check_retention_days: int | None = None  # prune unchanged checks older than this (versions stay)

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @property
    def full_user_agent(self) -> str:
        return self.user_agent.format(contact=self.contact_url)


def load_settings(
    *, database_url: str | None = None, config: str | None = None, file_settings: dict[str, Any] | None = None
) -> Settings:
    """Settings from (lowest first) the config file's [settings], the environment, the flags."""
    env = Settings()
    merged: dict[str, Any] = {**(file_settings or {})}
    for name in Settings.model_fields:
        if f"STORYTRAIL_{name.upper()}" in os.environ:
            merged[name] = getattr(env, name)
    if database_url:
        merged["database_url"] = database_url
    if config:
        merged["config"] = config
    return Settings.model_validate({**env.model_dump(), **merged})
