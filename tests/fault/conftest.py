"""Fixtures of the concurrency and fault stage (`python -m pytest -p no:pytest-brownie
tests/fault`): the token deployed once on a template chain, then per test a copy of it, the
real service in its own process on SQLite or on a fresh PostgreSQL database, the test's
clients and a direct reader of the service's database (tests/support/fault.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import pg
from support.fault import DbReader, Recorder, Stack, Template, make_template, say

_STARTED = time.monotonic()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    began = time.monotonic()
    made = make_template(tmp_path_factory.mktemp("template"))
    say(f"token deployed on the template chain in {time.monotonic() - began:.1f} s")
    return made


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PgServer]:
    """A throwaway PostgreSQL from the machine's binaries (never skipped: without it the
    PostgreSQL half fails with what was searched)."""
    with pg.running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, template: Template, tmp_path: Path) -> Iterator[Stack]:
    """The chain (a copy of the template's), the service process and its database; both
    processes are stopped at the end by their pids, whatever happened."""
    url = None
    if request.param == "postgresql":
        server: pg.PgServer = request.getfixturevalue("postgres_server")
        url = server.create_database(f"f_{uuid.uuid4().hex[:12]}")
    began = time.monotonic()
    s = Stack(template, tmp_path, url)
    try:
        s.start()
        say(
            f"{request.node.name}: chain and service up on {request.param} in "
            f"{time.monotonic() - began:.1f} s"
        )
        yield s
    finally:
        s.stop()
        say(
            f"{request.node.name}: done in {time.monotonic() - began:.1f} s (API started "
            f"{s.api.starts}x, killed {s.api.kills}x; chain killed {s.chain_kills}x); "
            f"stage time so far {time.monotonic() - _STARTED:.0f} s"
        )


@pytest.fixture
def rec(stack: Stack) -> Iterator[Recorder]:
    recorder = Recorder(stack.api.base)
    try:
        yield recorder
    finally:
        recorder.close()


@pytest.fixture
def db(stack: Stack) -> Iterator[DbReader]:
    reader = DbReader(stack.database_url)
    try:
        yield reader
    finally:
        reader.close()
