"""Names and defaults the command line shows in its help, kept in a module that imports nothing
(so ``storytrail --help`` does not load pydantic, the ORM or the extractor to print them)."""

from __future__ import annotations

VERSION = "0.1.0"  # pyproject.toml [project] version (tests/test_cli.py keeps them in step)

DEFAULT_DB = "sqlite:///./storytrail.db"
DEFAULT_CONFIG = "./storytrail.toml"
DEMO_DB = "sqlite:///./storytrail-demo.db"

SOURCE_KINDS = ("feed", "sitemap", "page", "search", "mastodon", "bluesky", "telegram", "reddit", "youtube")
DIFF_FORMATS = ("text", "unified", "markdown", "html", "html-side", "json")
