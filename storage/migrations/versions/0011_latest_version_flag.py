"""version.latest: the newest version of each (document, channel), flagged

Search covers the latest version of each document and channel by default. That was an anti-join
(no version of the same document and channel with a higher seq), which the PostgreSQL planner
priced as keeping two thirds of the matches where it keeps one in eight: for a word in 20% of
documents it walked ``version_pkey`` backwards evaluating ``search_tsv @@`` on 66,000 rows
(2.2 s at 90,609 versions; bench/RESULTS.md). ``latest`` is true for exactly the version with the
highest seq of its document and channel (a tombstone included, as before): the version writer
(storage.documents.add_version) moves it, storage.bulk repairs it after a load, copy or restore.

- ``ux_version_latest``: unique (document_id, channel) WHERE latest, so two latest versions of
  one channel cannot be stored;
- PostgreSQL: ``ix_version_latest_search_tsv``, a GIN index of the latest versions' tsvectors only
  (what the default search reads; ``ix_version_search_tsv`` stays for all versions and ``until``).

Existing rows are back-filled in the upgrade.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """UPDATE version SET latest = true WHERE NOT EXISTS (
    SELECT 1 FROM version later WHERE later.document_id = version.document_id
    AND later.channel = version.channel AND later.seq > version.seq)"""


def upgrade() -> None:
    op.add_column("version", sa.Column("latest", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(BACKFILL)
    op.create_index(
        "ux_version_latest",
        "version",
        ["document_id", "channel"],
        unique=True,
        sqlite_where=sa.text("latest"),
        postgresql_where=sa.text("latest"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_version_latest_search_tsv ON version USING gin (search_tsv) WHERE latest")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_version_latest_search_tsv")
    op.drop_index("ux_version_latest", table_name="version")
    op.drop_column("version", "latest")
