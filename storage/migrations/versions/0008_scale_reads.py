"""reads at scale: story_event (a story's timeline as one index range), accent-insensitive search

``story_event(story_id, event_id, at, kind)`` says which events belong to which story's timeline.
Triggers keep it, so no writer has to know it exists:

- an event with ``story_id`` (``new_coverage``) belongs to that story only;
- an event of a document (``story_id`` NULL) belongs to every story the document is linked to;
- linking a document to a story later adds the document's earlier events to that story;
  unlinking removes them. Deleting a story or an event cascades.

Existing events are back-filled.

Full-text search becomes accent-insensitive (``Kyiv`` finds ``Kyïv``, ``Zelensky`` finds
``Zelenský``), still case-insensitive and without stemming:

- SQLite: ``version_fts`` is rebuilt with ``unicode61 remove_diacritics 2``; its default rank is
  bm25 with the weights title 4, byline 2, text 1 (``ORDER BY rank``).
- PostgreSQL: a text search configuration ``storytrail_search`` (a copy of ``simple``) that runs
  words through the ``unaccent`` dictionary first; ``version.search_tsv`` is regenerated with it.
  ``CREATE EXTENSION unaccent`` needs a role allowed to create it (superuser, or a database owner
  on PostgreSQL 13+ where it is a trusted extension); where it cannot be created, the
  configuration stays a plain copy of ``simple``: search works, accent-sensitive as before
  (README, operator section: how to turn it on later).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = [
    """INSERT INTO story_event (story_id, event_id, at, kind)
       SELECT e.story_id, e.id, e.at, e.kind FROM event e WHERE e.story_id IS NOT NULL""",
    """INSERT INTO story_event (story_id, event_id, at, kind)
       SELECT sd.story_id, e.id, e.at, e.kind FROM event e
       JOIN story_document sd ON sd.document_id = e.document_id
       WHERE e.story_id IS NULL""",
]

SQLITE_TRIGGERS = [
    """CREATE TRIGGER story_event_after_event_insert AFTER INSERT ON event BEGIN
        INSERT OR IGNORE INTO story_event (story_id, event_id, at, kind)
        SELECT new.story_id, new.id, new.at, new.kind WHERE new.story_id IS NOT NULL;
        INSERT OR IGNORE INTO story_event (story_id, event_id, at, kind)
        SELECT sd.story_id, new.id, new.at, new.kind FROM story_document sd
        WHERE new.story_id IS NULL AND sd.document_id = new.document_id;
    END""",
    """CREATE TRIGGER story_event_after_link AFTER INSERT ON story_document BEGIN
        INSERT OR IGNORE INTO story_event (story_id, event_id, at, kind)
        SELECT new.story_id, e.id, e.at, e.kind FROM event e
        WHERE e.document_id = new.document_id AND e.story_id IS NULL;
    END""",
    """CREATE TRIGGER story_event_after_unlink AFTER DELETE ON story_document BEGIN
        DELETE FROM story_event WHERE story_id = old.story_id AND event_id IN
            (SELECT e.id FROM event e WHERE e.document_id = old.document_id AND e.story_id IS NULL);
    END""",
]
SQLITE_TRIGGER_NAMES = ["story_event_after_event_insert", "story_event_after_link", "story_event_after_unlink"]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION story_event_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.story_id IS NOT NULL THEN
            INSERT INTO story_event (story_id, event_id, at, kind)
            VALUES (NEW.story_id, NEW.id, NEW.at, NEW.kind) ON CONFLICT DO NOTHING;
        ELSE
            INSERT INTO story_event (story_id, event_id, at, kind)
            SELECT sd.story_id, NEW.id, NEW.at, NEW.kind FROM story_document sd
            WHERE sd.document_id = NEW.document_id ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER story_event_after_event_insert AFTER INSERT ON event
       FOR EACH ROW EXECUTE FUNCTION story_event_on_event()""",
    """CREATE FUNCTION story_event_on_link() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO story_event (story_id, event_id, at, kind)
            SELECT NEW.story_id, e.id, e.at, e.kind FROM event e
            WHERE e.document_id = NEW.document_id AND e.story_id IS NULL ON CONFLICT DO NOTHING;
        ELSE
            DELETE FROM story_event se USING event e
            WHERE se.story_id = OLD.story_id AND se.event_id = e.id
              AND e.document_id = OLD.document_id AND e.story_id IS NULL;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER story_event_after_link AFTER INSERT OR DELETE ON story_document
       FOR EACH ROW EXECUTE FUNCTION story_event_on_link()""",
]
POSTGRES_TRIGGERS_DOWN = [
    "DROP TRIGGER IF EXISTS story_event_after_link ON story_document",
    "DROP TRIGGER IF EXISTS story_event_after_event_insert ON event",
    "DROP FUNCTION IF EXISTS story_event_on_link()",
    "DROP FUNCTION IF EXISTS story_event_on_event()",
]

SQLITE_FTS_TRIGGERS = [
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
]
SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS version_fts_after_update",
    "DROP TRIGGER IF EXISTS version_fts_after_delete",
    "DROP TRIGGER IF EXISTS version_fts_after_insert",
    "DROP TABLE IF EXISTS version_fts",
]


def _sqlite_fts(diacritics: int) -> list[str]:
    create = f"""CREATE VIRTUAL TABLE version_fts USING fts5(
        title, byline, text,
        content='version', content_rowid='id',
        tokenize='unicode61 remove_diacritics {diacritics}'
    )"""
    rank = ["INSERT INTO version_fts(version_fts, rank) VALUES ('rank', 'bm25(4.0, 2.0, 1.0)')"]
    rebuild = ["INSERT INTO version_fts(version_fts) VALUES ('rebuild')"]
    return [*SQLITE_FTS_DROP, create, *SQLITE_FTS_TRIGGERS, *(rank if diacritics else []), *rebuild]


def _tsv_column(config: str) -> list[str]:
    return [
        "DROP INDEX IF EXISTS ix_version_search_tsv",
        "ALTER TABLE version DROP COLUMN IF EXISTS search_tsv",
        f"""ALTER TABLE version ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('{config}'::regconfig, coalesce(title, '')), 'A')
            || setweight(to_tsvector('{config}'::regconfig, coalesce(byline, '')), 'B')
            || setweight(to_tsvector('{config}'::regconfig, left(coalesce(text, ''), 500000)), 'C')
        ) STORED""",
        "CREATE INDEX ix_version_search_tsv ON version USING gin (search_tsv)",
    ]


def _unaccent_schema(conn: sa.Connection) -> str | None:
    """The schema of the unaccent extension, creating it in ``public`` if this role may; None if not."""
    found = conn.execute(
        sa.text("SELECT n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace "
                "WHERE x.extname = 'unaccent'")  # fmt: skip
    ).scalar()
    if found is not None:
        return str(found)
    try:
        with conn.begin_nested():
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public"))
    except sa.exc.DBAPIError:
        return None  # not available or not allowed: searches stay accent-sensitive
    return "public"


def _postgres_search() -> None:
    conn = op.get_bind()
    op.execute("CREATE TEXT SEARCH CONFIGURATION storytrail_search (COPY = simple)")
    schema = _unaccent_schema(conn)
    if schema is not None:
        op.execute(
            "ALTER TEXT SEARCH CONFIGURATION storytrail_search ALTER MAPPING FOR word, hword, hword_part "
            f'WITH "{schema}".unaccent, simple'
        )
    for statement in _tsv_column("storytrail_search"):
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "story_event",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["story_id"], ["story.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id", "event_id"),
    )
    op.create_index(op.f("ix_story_event_event_id"), "story_event", ["event_id"], unique=False)
    op.create_index("ix_story_event_story_at", "story_event", ["story_id", "at", "event_id"], unique=False)
    for statement in BACKFILL:
        op.execute(statement)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in [*SQLITE_TRIGGERS, *_sqlite_fts(2)]:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
        _postgres_search()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _sqlite_fts(0):
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in [*POSTGRES_TRIGGERS_DOWN, *_tsv_column("simple")]:
            op.execute(statement)
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS storytrail_search")
    op.drop_index("ix_story_event_story_at", table_name="story_event")
    op.drop_index(op.f("ix_story_event_event_id"), table_name="story_event")
    op.drop_table("story_event")
