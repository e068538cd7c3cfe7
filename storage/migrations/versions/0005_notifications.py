"""notification targets and deliveries

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("events", storage.types.JSONType, nullable=False),
        sa.Column("min_significance", sa.Float(), nullable=True),
        sa.Column("secret_env", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("quiet_hours", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["story_id"], ["story.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_notify_target_story_id"), "notify_target", ["story_id"], unique=False)
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_id"], ["notify_target.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "target_id", name="uq_delivery_event_target"),
    )
    op.create_index("ix_delivery_target_status_event", "delivery", ["target_id", "status", "event_id"])
    op.create_index("ix_delivery_status_next_attempt", "delivery", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_delivery_status_next_attempt", table_name="delivery")
    op.drop_index("ix_delivery_target_status_event", table_name="delivery")
    op.drop_table("delivery")
    op.drop_index(op.f("ix_notify_target_story_id"), table_name="notify_target")
    op.drop_table("notify_target")
