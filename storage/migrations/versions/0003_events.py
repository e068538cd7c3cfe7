"""event table: the append-only stream of what happened (timeline, feeds, notifications)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("prev_seq", sa.Integer(), nullable=True),
        sa.Column("significance", sa.Float(), nullable=True),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("data", storage.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["story_id"], ["story.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["version.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_event_at"), "event", ["at"], unique=False)
    op.create_index("ix_event_document_id_id", "event", ["document_id", "id"], unique=False)
    op.create_index("ix_event_story_id_id", "event", ["story_id", "id"], unique=False)
    op.create_index("ix_event_kind_id", "event", ["kind", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_kind_id", table_name="event")
    op.drop_index("ix_event_story_id_id", table_name="event")
    op.drop_index("ix_event_document_id_id", table_name="event")
    op.drop_index(op.f("ix_event_at"), table_name="event")
    op.drop_table("event")
