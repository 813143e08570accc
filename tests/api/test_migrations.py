"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL,
and running them again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from api.db import alembic_config, make_engine, migrate
from api.models import Base

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # at head already: nothing to do, no error
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert context.get_current_revision() == "0009"
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], differences
    finally:
        engine.dispose()


def test_refunds_made_before_0004_become_refund_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0003")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO residents (id, pseudonym, neighbourhood, address, custodial, retired,"
                " created_at) VALUES (1, 'R-1', 'Palemig', :a, true, false, :t)"
            ), {"a": "0x" + "11" * 20, "t": NOW})  # fmt: skip
            connection.execute(text(
                "INSERT INTO merchants (id, name, code, neighbourhood, iban, address, custodial,"
                " status, created_at) VALUES (1, 'Bakker', 'ABC234', 'Palemig', :i, :a, true,"
                " 'approved', :t)"
            ), {"i": "NL91ABNA0417164300", "a": "0x" + "22" * 20, "t": NOW})  # fmt: skip
            for pid, refunded in ((1, 0), (2, 250)):
                connection.execute(text(
                    "INSERT INTO payments (id, resident_id, merchant_id, cents, receipt,"
                    " request_id, status, refunded_cents, created_at)"
                    " VALUES (:p, 1, 1, 1000, :r, :q, 'paid', :c, :t)"
                ), {"p": pid, "r": "A-RECEIPT-THAT-IS-32-CHARS-LONG!", "q": f"request-{pid}",
                    "c": refunded, "t": NOW})  # fmt: skip
        migrate(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT payment_id, cents, status, reference FROM refunds")
            ).all()
        assert [tuple(r) for r in rows] == [(2, 250, "paid", "refund A-RECEIPT-THAT-IS-32-CHAR")]
    finally:
        engine.dispose()


def test_the_cards_migration_goes_down_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
