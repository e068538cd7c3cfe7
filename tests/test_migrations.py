"""Models and migrations agree: autogenerate against a migrated database finds nothing to do."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.migrate import current_revision, head_revision


def test_models_match_migrations(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(ctx, SQLModel.metadata) if not _ignorable(d)]
    assert diff == []


def _ignorable(entry) -> bool:
    # full-text search objects are created by migrations only, never by models
    text = repr(entry)
    return "fts" in text or "search_vector" in text or "tsv" in text


def test_upgrade_is_at_head(engine):
    assert current_revision(engine) == head_revision()
