"""Fixtures for the auditor's tests (plain pytest: `python -m pytest -p no:pytest-brownie
tests/audit`). The ledgers and helpers are in audit_ledgers.py (a module of its own, so the
tests import it by a name no other test folder uses)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from audit_ledgers import Faulty, World, compile_faulty, deploy_faulty, make_world
from support.anvil import Anvil, start_anvil

from heitje_chain.rpc import Rpc


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    node = start_anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def rpc(anvil: Anvil) -> Rpc:
    return Rpc(anvil.url, timeout=10)


@pytest.fixture
def fresh_rpc() -> Iterator[Rpc]:
    """An anvil of its own, for tests that move the chain's clock."""
    node = start_anvil()
    try:
        yield Rpc(node.url, timeout=10)
    finally:
        node.stop()


@pytest.fixture(scope="session")
def faulty_artifact() -> dict[str, Any]:
    return compile_faulty()


@pytest.fixture
def faulty(rpc: Rpc, faulty_artifact: dict[str, Any]) -> Faulty:
    """A fresh FaultyHeitje; the admin (deployer) holds the admin role. Call `setup_roles`
    for a minter, merchant manager, treasurer, pauser and recovery like Heitje's."""
    return deploy_faulty(rpc, faulty_artifact)


@pytest.fixture
def world(rpc: Rpc) -> World:
    """A fresh Heitje deployment (see `make_world`)."""
    return make_world(rpc)
