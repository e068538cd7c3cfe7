"""noise_rule table: ignore rules learnt from a site's history, proposed then accepted

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "noise_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("false_versions", sa.Integer(), nullable=False),
        sa.Column("examples", storage.types.JSONType, nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("proposed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site", "rule", name="uq_noise_rule_site_rule"),
    )
    op.create_index(op.f("ix_noise_rule_site"), "noise_rule", ["site"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_noise_rule_site"), table_name="noise_rule")
    op.drop_table("noise_rule")
