"""Fixtures for the API tests (plain pytest: `python -m pytest -p no:pytest-brownie tests/api`).

Other fixtures go below; this file starts with only the PostgreSQL one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `tests/` is not a package: put it on sys.path so that this conftest and the test modules can
# import the shared helpers in `tests/support/` as `support.<module>` (`from support import pg`).
_TESTS_DIR = str(Path(__file__).resolve().parents[1])
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from support import pg  # noqa: E402


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL `postgresql+psycopg://heitje@127.0.0.1:PORT/heitje_test` of a throwaway
    PostgreSQL, one per session, from the binaries on this machine (tests/support/pg.py). Without
    PostgreSQL the tests using it fail with what was searched; they are never skipped."""
    with pg.running_postgres() as server:
        yield server.url
