"""Brings the config file's sources and stories into the database (the database holds the state)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from jobs.config import Config, SourceConfig, StoryConfig
from storage import catalog


def source_fields(cfg: SourceConfig, origin: str = "config", base_dir: Path | None = None) -> dict[str, Any]:
    params = {
        "archive": cfg.archive,
        "api": cfg.api,
        "include": cfg.include,
        "exclude": cfg.exclude,
        "recheck_min": cfg.recheck_min,
        "recheck_max": cfg.recheck_max,
        "max_items": cfg.max_items,
        "cron": cfg.cron,
        "credentials": cfg.credentials,
        "headers": cfg.headers,
        "cookies": str((base_dir or Path()) / cfg.cookies) if cfg.cookies else None,
        "auth": cfg.auth,
        "proxy": cfg.proxy,
        "user_agent": cfg.user_agent,
        "fetcher": cfg.fetcher if cfg.fetcher != "http" else None,
        "screenshot": cfg.screenshot or None,
        "wayback": cfg.wayback or None,
        "origin": origin,
    }
    return {
        "kind": cfg.kind,
        "url": cfg.url,
        "every": cfg.every,
        "enabled": cfg.enabled,
        "params": {k: v for k, v in params.items() if v not in (None, [], {})},
        "politeness": {"delay": cfg.delay} if cfg.delay is not None else {},
        "ignore_patterns": cfg.ignore,
        "remove_selectors": cfg.remove,
    }


def story_fields(cfg: StoryConfig, origin: str = "config") -> dict[str, Any]:
    settings = {
        "threshold": cfg.threshold,
        "link_depth": cfg.link_depth,
        "recheck_min": cfg.recheck_min,
        "recheck_max": cfg.recheck_max,
        "fetcher": cfg.fetcher if cfg.fetcher != "http" else None,
        "screenshot": cfg.screenshot or None,
        "wayback": cfg.wayback or None,
        "origin": origin,
    }
    return {
        "title": cfg.title or cfg.slug,
        "query": cfg.query,
        "seeds": cfg.seeds,
        "languages": cfg.languages,
        "settings": {k: v for k, v in settings.items() if v is not None},
    }


def sync_config(session: Session, config: Config, *, now: datetime) -> None:
    """Upsert every configured source and story; disable config sources no longer in the file."""
    names = set()
    for src in config.sources:
        fields = source_fields(src, base_dir=Path(config.path).parent)
        catalog.upsert_source(session, name=src.name, now=now, **fields)
        names.add(src.name)
    for source in catalog.list_sources(session):
        if source.params.get("origin") == "config" and source.name not in names and source.enabled:
            catalog.disable_source(session, source=source)
    for story in config.stories:
        catalog.upsert_story(session, slug=story.slug, now=now, **story_fields(story))  # flushes
    sync_notify(session, config, now=now)


def sync_notify(session: Session, config: Config, *, now: datetime) -> None:
    """Upsert the [[notify]] targets; disable config targets no longer in the file."""
    from scraper.core.notify import target_kind
    from storage import notify

    keep: set[tuple[int, str]] = set()
    for item in config.notify:
        story = catalog.get_story(session, slug=item.story)
        assert story.id is not None
        notify.add_target(
            session,
            story_id=story.id,
            target=item.target,
            kind=target_kind(item.target),
            now=now,
            events=item.events,
            min_significance=item.min_significance,
            secret_env=item.secret_env,
            quiet_hours=item.quiet_hours,
            digest=item.digest,
            origin="config",
            enabled=item.enabled,
        )
        keep.add((story.id, item.target))
    notify.disable_config_targets(session, keep=keep)
