"""browser captures: version.screenshot_sha256 (a PNG blob) and check.network_sha256 (the raw
network response beside the rendered DOM)

Revision ID: 0006
Revises: 0008 (was 0003 before main had 0004-0008)
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # add_column, never batch_alter_table("version"): on SQLite that would drop the FTS triggers
    op.add_column("version", sa.Column("screenshot_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("check", sa.Column("network_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("check", "network_sha256")
    op.drop_column("version", "screenshot_sha256")
