"""Source adapters, one per source kind, looked up by kind: ``adapter_for("feed")``.

Every adapter has the same shape (:class:`scraper.sources.base.Adapter`)::

    async def poll(fetcher, source: SourceSpec, *, stories: Sequence[StorySpec]) -> PollResult

and returns plain values (candidates, observations, validators, warnings) or raises a
:class:`SourceError`; it never touches the database. A new kind plugs in with one line in
``BUILTIN`` (``"kind": "module:function"``, imported when first used) or with :func:`register`.
"""

from __future__ import annotations

import importlib
from typing import cast

from scraper.sources.base import (
    Adapter,
    PollResult,
    SourceConfigError,
    SourceError,
    SourceFetchError,
    SourceParseError,
    SourceSpec,
    StorySpec,
    Validators,
)

BUILTIN: dict[str, str] = {
    "feed": "scraper.sources.feed:poll_feed",
    "sitemap": "scraper.sources.sitemap:poll_sitemap",
    "page": "scraper.sources.page:poll_page",
    "search": "scraper.sources.search:poll_search",
    "mastodon": "scraper.sources.social:poll_social",
    "bluesky": "scraper.sources.social:poll_social",
    "telegram": "scraper.sources.social:poll_social",
    "reddit": "scraper.sources.social:poll_social",
    "youtube": "scraper.sources.social:poll_social",
}
_registered: dict[str, Adapter] = {}


class UnknownKindError(LookupError):
    """No adapter is known for a source kind."""

    def __init__(self, kind: str) -> None:
        known = ", ".join(sorted({*BUILTIN, *_registered}))
        super().__init__(f"no adapter for source kind {kind!r} (known: {known})")
        self.kind = kind


def register(kind: str, adapter: Adapter) -> None:
    """Use ``adapter`` for sources of ``kind`` (replacing any earlier one)."""
    _registered[kind] = adapter


def adapter_for(kind: str) -> Adapter:
    """The adapter that polls sources of ``kind``; :class:`UnknownKindError` if there is none."""
    if kind in _registered:
        return _registered[kind]
    target = BUILTIN.get(kind)
    if target is None:
        raise UnknownKindError(kind)
    module, name = target.split(":")
    adapter = cast(Adapter, getattr(importlib.import_module(module), name))
    _registered[kind] = adapter
    return adapter


def kinds() -> list[str]:
    """Every kind with an adapter."""
    return sorted({*BUILTIN, *_registered})


__all__ = [
    "BUILTIN",
    "Adapter",
    "PollResult",
    "SourceConfigError",
    "SourceError",
    "SourceFetchError",
    "SourceParseError",
    "SourceSpec",
    "StorySpec",
    "UnknownKindError",
    "Validators",
    "adapter_for",
    "kinds",
    "register",
]
