"""Fixtures for the runtime library's tests (plain pytest, no brownie).

One anvil serves the whole session (started on a free port, stopped at the end); every test
that needs the contract gets a fresh deployment with fresh keys (`heitje`), so tests never see
each other's state. Tests that must control mining use `World.manual_mining()`, which switches
the shared anvil to mine on demand and restores automine (and empties the pool) afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.anvil import ANVIL_FLAGS, Anvil, start_anvil
from support.proxy import Proxy

from heitje_chain.client import HeitjeClient, role_id
from heitje_chain.config import ROLE_KEYS, Deployment
from heitje_chain.deploy import ROLE_OF_KEY, deploy
from heitje_chain.errors import ChainUnavailable
from heitje_chain.keys import LocalSigner
from heitje_chain.node import free_port
from heitje_chain.rpc import Rpc, RpcError

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 100_000_00  # each minter's mint allowance in the fixture: EUR 100,000


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    node = start_anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def start_chain() -> Iterator[Callable[..., Anvil]]:
    """Start more anvils (same arguments as `start_anvil`); all stopped after the test."""
    started: list[Anvil] = []

    def start(*extra: str, flags: tuple[str, ...] = ANVIL_FLAGS) -> Anvil:
        started.append(start_anvil(*extra, flags=flags))
        return started[-1]

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def rpc(anvil: Anvil) -> Rpc:
    return Rpc(anvil.url, timeout=10)


@dataclass
class World:
    """A fresh Heitje deployment, with one fresh key per role."""

    client: HeitjeClient
    deployment: Deployment
    admin: LocalSigner
    job_office: LocalSigner  # minter with a budget
    partner: LocalSigner  # minter with a budget
    merchant_manager: LocalSigner
    treasurer: LocalSigner
    pauser: LocalSigner
    recovery: LocalSigner
    merchants: list[LocalSigner]  # whitelisted
    residents: list[LocalSigner]
    outsider: LocalSigner  # holds no role, is neither merchant nor funded
    _jobs: int = field(default=0, repr=False)

    @property
    def rpc(self) -> Rpc:
        return self.client.rpc

    def nonce(self, who: LocalSigner | str, block: str = "pending") -> int:
        address = who if isinstance(who, str) else who.address
        return int(self.rpc.call("eth_getTransactionCount", [address, block]), 16)

    def block(self) -> int:
        return self.rpc.block_number()

    def everyone(self) -> list[LocalSigner]:
        return [
            self.admin,
            self.job_office,
            self.partner,
            self.merchant_manager,
            self.treasurer,
            self.pauser,
            self.recovery,
            *self.merchants,
            *self.residents,
            self.outsider,
        ]

    def new_job(self) -> str:
        self._jobs += 1
        return f"job-{self._jobs}"

    def fund(self, resident: LocalSigner | str, cents: int) -> str:
        """Reward a new job of `cents` to `resident`; returns the job reference."""
        address = resident if isinstance(resident, str) else resident.address
        reference = self.new_job()
        result = self.client.reward_job(self.job_office, reference, address, cents)
        assert result.status == "paid"
        return reference

    def state(self) -> dict[str, Any]:
        """Everything a refused operation must leave alone: block, supply, every balance and
        every nonce."""
        accounts = [s.address for s in self.everyone()]
        answers = self.client.read_many([("balanceOf", [a]) for a in accounts])
        nonces = self.rpc.batch([("eth_getTransactionCount", [a, "pending"]) for a in accounts])
        return {
            "block": self.block(),
            "supply": self.client.total_supply(),
            "balances": dict(zip(accounts, answers, strict=True)),
            "nonces": dict(zip(accounts, nonces, strict=True)),
        }

    def mine(self) -> None:
        self.rpc.call("evm_mine")

    @contextlib.contextmanager
    def manual_mining(self) -> Iterator[None]:
        """The anvil mines only on `mine()` inside the block; afterwards automine is back and
        whatever is left in the pool is dropped."""
        self.rpc.call("evm_setAutomine", [False])
        try:
            yield
        finally:
            with contextlib.suppress(RpcError, ChainUnavailable):
                self.rpc.call("anvil_dropAllTransactions")
            self.rpc.call("evm_setAutomine", [True])

    def deploy_code(self, runtime: str) -> str:
        """Deploy a contract whose code is `runtime` (hex); returns its address."""
        size = len(runtime) // 2
        init = f"0x60{size:02x}600c60003960{size:02x}6000f3{runtime}"
        tx = self.client.tx.send(self.admin, None, init, gas=200_000)
        self.client.tx.wait(tx)
        receipt = self.rpc.call("eth_getTransactionReceipt", [tx.hash])
        return str(receipt["contractAddress"])

    @contextlib.contextmanager
    def unchanged(self) -> Iterator[None]:
        """Asserts that the block runs without anything sent or mined or any balance moved."""
        before = self.state()
        yield
        assert self.state() == before


@pytest.fixture
def heitje(rpc: Rpc) -> World:
    """A freshly deployed contract (admin delay 0) with every role on its own new key, two
    minters with a budget, three whitelisted merchants and four residents."""
    admin = LocalSigner.create("admin")
    keys = {name: LocalSigner.create(name) for name in ROLE_KEYS if name != "admin"}
    client, deployment = deploy(rpc, admin, admin_delay=0)
    # Sent without waiting in between (each is estimated first), then awaited together.
    setup = [
        client.submit(admin, "grantRole", role_id(ROLE_OF_KEY[name]), signer.address)
        for name, signer in keys.items()
    ]
    for minter in ("job-office", "partner"):
        setup.append(client.submit(admin, "setMintAllowance", keys[minter].address, BUDGET))
    client.tx.wait_all(setup)
    assert all(tx.receipt is not None and tx.error is None for tx in setup)
    merchants = [LocalSigner.create(f"merchant-{i}") for i in range(3)]
    setup = [
        client.submit(keys["merchant-manager"], "addMerchant", merchant.address)
        for merchant in merchants
    ]
    client.tx.wait_all(setup)
    assert all(tx.receipt is not None and tx.error is None for tx in setup)
    return World(
        client=client,
        deployment=deployment,
        admin=admin,
        job_office=keys["job-office"],
        partner=keys["partner"],
        merchant_manager=keys["merchant-manager"],
        treasurer=keys["treasurer"],
        pauser=keys["pauser"],
        recovery=keys["recovery"],
        merchants=merchants,
        residents=[LocalSigner.create(f"resident-{i}") for i in range(4)],
        outsider=LocalSigner.create("outsider"),
    )


@pytest.fixture
def dead_url() -> str:
    """The URL of a local port where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def proxy(anvil: Anvil) -> Iterator[Callable[..., Proxy]]:
    made: list[Proxy] = []

    def make(upstream: str | None = None, **options: Any) -> Proxy:
        made.append(Proxy(upstream or anvil.url, **options))
        return made[-1]

    yield make
    for p in made:
        try:
            p.stop()
        except OSError:
            pass
