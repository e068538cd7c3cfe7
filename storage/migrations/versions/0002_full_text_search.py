"""full-text search over versions

SQLite: an external-content FTS5 table ``version_fts`` over version(title, byline, text), kept in
sync by three triggers (insert, delete, update of those columns), tokenizer ``unicode61
remove_diacritics 0`` (case-insensitive, accent-sensitive, no stemming: what PostgreSQL's
``simple`` configuration does, so both backends find the same versions).

PostgreSQL: a stored generated column ``version.search_tsv`` (``simple`` configuration: lowercased
words, no stemming and no stop words, so every language is treated alike and both backends match
the same words; title weighted A, byline B, text C) with a GIN index ``ix_version_search_tsv``.
The text is indexed up to its first 500,000 characters (a tsvector holds at most 1 MB).

These objects live in migrations only, never in storage/models.py (their names contain "fts" or
"tsv", which tests/test_migrations.py leaves out of the model comparison).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE version_fts USING fts5(
        title, byline, text,
        content='version', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0'
    )""",
    """CREATE TRIGGER version_fts_after_insert AFTER INSERT ON version BEGIN
        INSERT INTO version_fts(rowid, title, byline, text) VALUES (new.id, new.title, new.byline, new.text);
    END""",
    """CREATE TRIGGER version_fts_after_delete AFTER DELETE ON version BEGIN
        INSERT INTO version_fts(version_fts, rowid, title, byline, text)
        VALUES ('delete', old.id, old.title, old.byline, old.text);
    END""",
    """CREATE TRIGGER version_fts_after_update AFTER UPDATE OF title, byline, text ON version BEGIN
        INSERT INTO version_fts(version_fts, rowid, title, byline, text)
        VALUES ('delete', old.id, old.title, old.byline, old.text);
        INSERT INTO version_fts(rowid, title, byline, text) VALUES (new.id, new.title, new.byline, new.text);
    END""",
    "INSERT INTO version_fts(version_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS version_fts_after_update",
    "DROP TRIGGER IF EXISTS version_fts_after_delete",
    "DROP TRIGGER IF EXISTS version_fts_after_insert",
    "DROP TABLE IF EXISTS version_fts",
]

POSTGRES_UP = [
    """ALTER TABLE version ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('simple'::regconfig, coalesce(byline, '')), 'B')
        || setweight(to_tsvector('simple'::regconfig, left(coalesce(text, ''), 500000)), 'C')
    ) STORED""",
    "CREATE INDEX ix_version_search_tsv ON version USING gin (search_tsv)",
]

POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_version_search_tsv",
    "ALTER TABLE version DROP COLUMN IF EXISTS search_tsv",
]


def _statements(up: bool) -> list[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return SQLITE_UP if up else SQLITE_DOWN
    if dialect == "postgresql":
        return POSTGRES_UP if up else POSTGRES_DOWN
    raise NotImplementedError(f"full-text search is not implemented for {dialect}")


def upgrade() -> None:
    for statement in _statements(up=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(up=False):
        op.execute(statement)
