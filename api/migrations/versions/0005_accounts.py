"""accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:30:00

Sign-in throttling counters shared by every process (`rate_limits`), the desk's one-time
password reset codes (`reset_codes`), a token generation per user (raised when a password
changes, so older tokens stop working), and the EIP-4361 text of each wallet challenge.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("window_ends", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(op.f("ix_rate_limits_window_ends"), "rate_limits", ["window_ends"])
    op.create_table(
        "reset_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(op.f("ix_reset_codes_user_id"), "reset_codes", ["user_id"])
    op.add_column(
        "users",
        sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("challenges", sa.Column("message", sa.Text(), nullable=True))
    op.create_index(op.f("ix_challenges_expires_at"), "challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_challenges_expires_at"), table_name="challenges")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("message")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_generation")
    op.drop_index(op.f("ix_reset_codes_user_id"), table_name="reset_codes")
    op.drop_table("reset_codes")
    op.drop_index(op.f("ix_rate_limits_window_ends"), table_name="rate_limits")
    op.drop_table("rate_limits")
