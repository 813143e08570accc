"""reconcile

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00

Where each reward's, payment's and refund's transaction is on the chain (block number, block
hash, final), so the reconciler (api.reconcile) can tell when the chain lost one; one row per
transaction hash; redemptions sent by the service, under the app's request id, and the
treasurer's payouts, so both can be settled and sent again; wallet recoveries, one per lost
wallet.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ON_CHAIN = ("rewards", "payments", "refunds")


def _on_chain_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("final", sa.Boolean(), server_default="0", nullable=False),
    ]


def upgrade() -> None:
    for table in ON_CHAIN:
        for column in _on_chain_columns():
            op.add_column(table, column)
        op.create_index(f"ix_{table}_block_number", table, ["block_number"], unique=False)
    op.create_index("ix_payments_tx_hash", "payments", ["tx_hash"], unique=True)
    op.create_index("ix_refunds_tx_hash", "refunds", ["tx_hash"], unique=True)
    op.create_table(
        "redemption_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("redemption_id", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_on_chain_columns(),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("merchant_id", "request_id"),
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.BigInteger(), nullable=False),
        sa.Column("bank_reference", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_on_chain_columns(),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "wallet_recoveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("lost", sa.String(length=42), nullable=False),
        sa.Column("replacement", sa.String(length=42), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lost"),
    )
    for table in ("redemption_requests", "payouts"):
        op.create_index(f"ix_{table}_block_number", table, ["block_number"], unique=False)
        op.create_index(f"ix_{table}_redemption_id", table, ["redemption_id"], unique=True)
        op.create_index(f"ix_{table}_tx_hash", table, ["tx_hash"], unique=True)


def downgrade() -> None:
    for table in ("wallet_recoveries", "payouts", "redemption_requests"):
        op.drop_table(table)
    op.drop_index("ix_refunds_tx_hash", table_name="refunds")
    op.drop_index("ix_payments_tx_hash", table_name="payments")
    for table in ON_CHAIN:
        op.drop_index(f"ix_{table}_block_number", table_name=table)
        for column in ("final", "block_hash", "block_number"):
            op.drop_column(table, column)
