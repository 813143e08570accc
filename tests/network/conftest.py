"""Fixtures of the network tests: real local networks of four geth Clique validators
(`heitje_chain.localnet`), each stopped by pid at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.localnet import four_validators

from heitje_chain.localnet import LocalNetwork


@pytest.fixture(scope="module")
def clique(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    """One network for the whole module."""
    with four_validators(tmp_path_factory, "clique") as network:
        yield network


@pytest.fixture(scope="session")
def shared_clique(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    """One network for the service test and then the votes test (which changes the
    validators, so it runs last: the files sort so), to start one network fewer."""
    with four_validators(tmp_path_factory, "shared") as network:
        yield network
