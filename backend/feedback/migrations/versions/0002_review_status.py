"""Review: each correction is new, accepted or rejected; listed newest first by status.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("corrections") as batch:
        batch.add_column(sa.Column("status", sa.String(10), nullable=False,
                                   server_default="new"))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_corrections_status_created", "corrections", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_corrections_status_created", table_name="corrections")
    with op.batch_alter_table("corrections") as batch:
        batch.drop_column("reviewed_at")
        batch.drop_column("status")
