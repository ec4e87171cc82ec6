"""The corrections table: what a visitor said about one reading.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("predicted", sa.SmallInteger, nullable=True),
        sa.Column("corrected", sa.SmallInteger, nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("image", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("corrections")
