"""Fixtures of the network tests: a real local network of four geth Clique validators
(`heitje_chain.localnet`), started once for the module and stopped by pid at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from heitje_chain.localnet import LocalNetwork


@pytest.fixture(scope="module")
def clique(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    network = LocalNetwork(tmp_path_factory.mktemp("clique"), validators=4, block_period=1)
    try:
        network.start()
        yield network
    finally:
        network.stop()
