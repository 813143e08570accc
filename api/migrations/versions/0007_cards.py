"""cards

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:45:00

The residents' Heitje cards (`cards`: the card number's HMAC, its last four characters, the
PIN's argon2id hash, its state and the wrong PINs counted), and on each payment the card it
was paid with at the shop's till (`payments.card_id`, none for a payment from the app).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("wrong_pins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number_hash"),
    )
    op.create_index(op.f("ix_cards_resident_id"), "cards", ["resident_id"])
    # SQLite: a plain ADD COLUMN with REFERENCES (a batch copy of `payments` would have to drop
    # a table that `refunds` refers to); PostgreSQL: the column and its named foreign key.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE payments ADD COLUMN card_id INTEGER REFERENCES cards (id)")
    else:
        card = sa.ForeignKey("cards.id", name="fk_payments_card_id_cards")
        op.add_column("payments", sa.Column("card_id", sa.Integer(), card, nullable=True))
    op.create_index(op.f("ix_payments_card_id"), "payments", ["card_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_card_id"), table_name="payments")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE payments DROP COLUMN card_id")  # SQLite 3.35 and newer
    else:
        op.drop_constraint("fk_payments_card_id_cards", "payments", type_="foreignkey")
        op.drop_column("payments", "card_id")
    op.drop_index(op.f("ix_cards_resident_id"), table_name="cards")
    op.drop_table("cards")
