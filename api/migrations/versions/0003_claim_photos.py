"""claim photos

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:40:00

The photo of a finished job is kept in its own table (without the metadata the phone wrote);
the unused `claims.photo` text column goes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_photos",
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"]),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("photo")


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("photo", sa.String(length=200), nullable=True))
    op.drop_table("claim_photos")
