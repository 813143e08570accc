"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL,
and running them again changes nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.db import make_engine, migrate
from api.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # at head already: nothing to do, no error
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert context.get_current_revision() == "0003"
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], differences
    finally:
        engine.dispose()
