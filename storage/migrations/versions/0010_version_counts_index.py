"""a story's counts from one index: version(document_id, kind, observed_at)

A story's summary (its documents, versions and last change: the story page, /api/stories)
counts every version of every document the story links; through ``ix_version_document_id``
that read each version row (13,153 documents and 118,399 versions for the largest story of
the 1,000,000-version bench: 298 ms). ``ix_version_document_kind_observed`` holds the three
columns that count needs, so it reads the index alone (67 ms, same machine and load). It
replaces ``ix_version_document_id``, whose one column is its first.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_version_document_kind_observed", "version", ["document_id", "kind", "observed_at"], unique=False
    )
    op.drop_index("ix_version_document_id", table_name="version")


def downgrade() -> None:
    op.create_index("ix_version_document_id", "version", ["document_id"], unique=False)
    op.drop_index("ix_version_document_kind_observed", table_name="version")
