"""A local network of real validators for the network tests (tests/network)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from heitje_chain.localnet import LocalNetwork


@contextlib.contextmanager
def four_validators(factory: pytest.TempPathFactory, name: str) -> Iterator[LocalNetwork]:
    """Four geth Clique validators, 1 s blocks, in a fresh folder; started, and stopped by
    pid afterwards whatever happened."""
    network = LocalNetwork(factory.mktemp(name), validators=4, block_period=1)
    try:
        network.start()
        yield network
    finally:
        network.stop()
