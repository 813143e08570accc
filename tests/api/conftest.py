"""Fixtures for the API tests (plain pytest: `python -m pytest -p no:pytest-brownie tests/api`):
a throwaway PostgreSQL per session, the database each test runs on (SQLite and PostgreSQL), one
embedded chain per session and a freshly deployed token and service per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import pg
from support.service import PASSWORD, Service

from api.main import create_app
from api.settings import load_settings
from heitje_chain.config import load_config, write_deployment
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.keys import KeyStore
from heitje_chain.node import EmbeddedChain, free_port
from heitje_chain.rpc import Rpc


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PgServer]:
    """A throwaway PostgreSQL, one per session, from the binaries on this machine
    (tests/support/pg.py). Without PostgreSQL the tests using it fail with what was searched;
    they are never skipped."""
    with pg.running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: pg.PgServer) -> str:
    """SQLAlchemy URL `postgresql+psycopg://heitje@127.0.0.1:PORT/heitje_test`."""
    return postgres_server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each service test runs on both databases: an SQLite file, and a fresh PostgreSQL
    database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'api.db'}"
    server: pg.PgServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedChain]:
    node = EmbeddedChain(tmp_path_factory.mktemp("chain"), port=free_port())
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def service_env() -> dict[str, str]:
    """Settings a test's service gets on top of the usual ones: a test module overrides this
    fixture, e.g. to set low limits."""
    return {}


@pytest.fixture
def service(
    chain: EmbeddedChain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    service_env: dict[str, str],
) -> Iterator[Service]:
    """A deployed token (fresh per test), role keys on disk, and the API on SQLite."""
    home = tmp_path / "home"
    monkeypatch.setenv("HEITJE_PASSWORD", PASSWORD)
    keys = KeyStore(home / "keystores", kdf="pbkdf2", iterations=1000)
    names = ("admin", "job-office", "partner", "merchant-manager", "treasurer", "recovery")
    signers = {name: keys.create(name, PASSWORD) for name in names}
    rpc = Rpc(chain.url)
    client, deployment = deploy(rpc, signers["admin"], admin_delay=0)
    grant_roles(
        client, signers["admin"], {k: s.address for k, s in signers.items() if k != "admin"}
    )
    for minter in ("job-office", "partner"):
        client.set_mint_allowance(signers["admin"], signers[minter].address, 10_000_00)
    write_deployment(home / "deployment.json", deployment)
    env = {
        "HEITJE_HOME": str(home),
        "HEITJE_RPC_URL": chain.url,
        "HEITJE_API_DATABASE_URL": database_url,
        "HEITJE_API_WORKER": "off",
        "HEITJE_API_WALLET_KDF_ITERATIONS": "1000",
        "HEITJE_PASSWORD": PASSWORD,
        # argon2id cheaper than in production (which refuses this), so tests stay quick
        "HEITJE_API_PASSWORD_MEMORY_KIB": "1024",
        "HEITJE_API_PASSWORD_TIME_COST": "1",
        **service_env,
    }
    settings = load_settings(env, load_config(environ=env))
    app = create_app(settings)
    with TestClient(app) as http:
        yield Service(http, app, client)
