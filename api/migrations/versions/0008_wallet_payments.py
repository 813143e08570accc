"""wallet payments

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 01:00:00

Payments made from a resident's own wallet (a plain ERC-20 transfer, or a pay() the service
did not send) are indexed from the chain into `payments` (api.payment_index): `via` says how
a payment was made ("app" or "wallet"), `log_index` which `Transfer` log of its transaction
it is (-1 for the service's own, which stay one row per transaction); the transaction hash
is unique together with it. `chain_cursors` keeps how far the index read the chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "payments", sa.Column("log_index", sa.Integer(), server_default="-1", nullable=False)
    )
    op.add_column(
        "payments", sa.Column("via", sa.String(length=16), server_default="app", nullable=False)
    )
    op.drop_index("ix_payments_tx_hash", table_name="payments")
    op.create_index("ix_payments_tx_hash", "payments", ["tx_hash"], unique=False)
    op.create_index("uq_payments_tx_log", "payments", ["tx_hash", "log_index"], unique=True)
    op.create_table(
        "chain_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("chain_cursors")
    op.drop_index("uq_payments_tx_log", table_name="payments")
    op.drop_index("ix_payments_tx_hash", table_name="payments")
    op.create_index("ix_payments_tx_hash", "payments", ["tx_hash"], unique=True)
    op.drop_column("payments", "via")
    op.drop_column("payments", "log_index")
