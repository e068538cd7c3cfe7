"""preservation in the Wayback Machine: version.wayback_url (the snapshot) and wayback_capture
(the durable queue of versions to submit to Save Page Now)

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # add_column, never batch_alter_table("version"): on SQLite that would drop the FTS triggers
    op.add_column("version", sa.Column("wayback_url", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_table(
        "wayback_capture",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("archived_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id"),
    )
    op.create_index("ix_wayback_capture_status_next", "wayback_capture", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_wayback_capture_status_next", table_name="wayback_capture")
    op.drop_table("wayback_capture")
    op.drop_column("version", "wayback_url")
