"""Ledgers for the auditor's tests, and helpers to audit them (the fixtures are in
conftest.py).

Two kinds of ledger: the real Heitje contract driven through heitje_chain (a clean ledger,
where every check must pass), and `contracts/FaultyHeitje.sol`, a deliberately broken
stand-in that emits Heitje's events but checks nothing, so a test can write a ledger that
breaks any rule and assert that the auditor names the offending records. The faulty contract
is compiled once per session with py-solc-x through the project's solc wrapper
(SOLCX_BINARY_PATH, set up by tools/setup.sh). anvil keeps full history here (no pruning),
so state at past blocks can be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from heitje_chain.artifacts import load_artifact
from heitje_chain.audit import Exports, audit
from heitje_chain.audit.stream import RpcLogSource
from heitje_chain.client import HeitjeClient, role_id
from heitje_chain.config import ROLE_KEYS, Deployment
from heitje_chain.deploy import ROLE_OF_KEY, deploy
from heitje_chain.errors import ErrorDecoder
from heitje_chain.events import EventDecoder
from heitje_chain.keys import LocalSigner
from heitje_chain.ledger import LedgerReader
from heitje_chain.rpc import Rpc
from heitje_chain.tx import Transactor

ROOT = Path(__file__).resolve().parents[2]
FAULTY_SOURCE = Path(__file__).resolve().parent / "contracts" / "FaultyHeitje.sol"
BUDGET = 100_000_00


# ------------------------------------------------------------------ auditing helpers


def run_audit(
    rpc: Rpc, address: str, from_block: int, at: int | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Audit the contract at `address` (any contract with Heitje's events)."""
    reader = LedgerReader(rpc, address, EventDecoder(load_artifact().abi), from_block=from_block)
    exports = kwargs.pop("exports", None) or Exports()
    return audit(RpcLogSource(reader, rpc.chain_id(), at), exports, **kwargs)


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    for item in report["checks"]:
        if item["name"] == name:
            return dict(item)
    raise KeyError(name)


def failed(report: dict[str, Any]) -> set[str]:
    return {c["name"] for c in report["checks"] if c["status"] == "FAIL"}


def problems(report: dict[str, Any], name: str) -> list[str]:
    return [r["problem"] for r in check(report, name)["records"]]


# ------------------------------------------------------------------ the faulty contract


def word(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


@dataclass
class Faulty:
    """A deployed FaultyHeitje and the accounts of a test. `send("fn(types)", args...)`
    sends one call from `admin` (or `by=`) and waits for it."""

    rpc: Rpc
    tx: Transactor
    address: str
    block: int
    admin: LocalSigner
    people: dict[str, LocalSigner] = field(default_factory=dict)

    def who(self, name: str) -> str:
        if name not in self.people:
            self.people[name] = LocalSigner.create(name)
        return self.people[name].address

    def send(self, signature: str, *args: Any, by: str | None = None) -> str:
        types = signature[signature.index("(") + 1 : -1]
        data = keccak(text=signature)[:4] + abi_encode(types.split(",") if types else [], args)
        signer = self.admin
        if by is not None:
            self.who(by)
            signer = self.people[by]
        pending = self.tx.send(signer, self.address, "0x" + data.hex(), gas=300_000)
        receipt = self.tx.wait(pending)
        return receipt.tx_hash

    def grant(self, role: str, name: str) -> str:
        return self.send("grantRole(bytes32,address)", role_id(role), self.who(name))

    def audit(self, at: int | None = None, **kwargs: Any) -> dict[str, Any]:
        return run_audit(self.rpc, self.address, self.block, at, **kwargs)


def deploy_faulty(rpc: Rpc, faulty_artifact: dict[str, Any]) -> Faulty:
    admin = LocalSigner.create("admin")
    tx = Transactor(rpc, rpc.chain_id(), ErrorDecoder(faulty_artifact["abi"]))
    pending = tx.send(admin, None, faulty_artifact["bytecode"], gas=3_000_000)
    receipt = tx.wait(pending)
    raw = rpc.call("eth_getTransactionReceipt", [receipt.tx_hash])
    return Faulty(rpc, tx, raw["contractAddress"], receipt.block_number, admin)


def setup_roles(f: Faulty, budget: int = BUDGET) -> None:
    """A legitimate start: roles granted by the admin, a minter budget, two merchants."""
    for role, name in (
        ("minter", "minter"),
        ("merchant-manager", "manager"),
        ("treasurer", "treasurer"),
        ("pauser", "pauser"),
        ("recovery", "recovery"),
    ):
        f.grant(role, name)
    f.send("setMintAllowance(address,uint256)", f.who("minter"), budget)
    f.who("manager")
    for shop in ("shop", "shop2"):
        f.send("addMerchant(address)", f.who(shop), by="manager")


def job(n: int | str) -> bytes:
    return keccak(text=f"test-job-{n}")


def reward(f: Faulty, n: int | str, resident: str, cents: int, minter: str = "minter") -> str:
    return f.send(
        "reward(bytes32,address,address,uint256)", job(n), f.who(resident), f.who(minter), cents
    )


# ------------------------------------------------------------------ the real contract


@dataclass
class World:
    client: HeitjeClient
    deployment: Deployment
    block: int
    signers: dict[str, LocalSigner]
    merchants: list[LocalSigner]
    residents: list[LocalSigner]

    def __getattr__(self, name: str) -> LocalSigner:
        try:
            return self.signers[name.replace("_", "-")]
        except KeyError:
            raise AttributeError(name) from None

    def audit(self, at: int | None = None, **kwargs: Any) -> dict[str, Any]:
        return run_audit(self.client.rpc, self.client.address, self.block, at, **kwargs)


def compile_faulty() -> dict[str, Any]:
    import solcx

    source = FAULTY_SOURCE.read_text()
    out = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"FaultyHeitje.sol": {"content": source}},
            "settings": {
                "evmVersion": "cancun",
                "optimizer": {"enabled": True, "runs": 200},
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        },
        solc_version="0.8.28",
    )
    built = out["contracts"]["FaultyHeitje.sol"]["FaultyHeitje"]
    return {"abi": built["abi"], "bytecode": "0x" + built["evm"]["bytecode"]["object"]}


def make_world(rpc: Rpc) -> World:
    """A fresh Heitje deployment: every role on its own key, two minters with a budget, three
    merchants and five residents."""
    admin = LocalSigner.create("admin")
    keys = {name: LocalSigner.create(name) for name in ROLE_KEYS if name != "admin"}
    client, deployment = deploy(rpc, admin, admin_delay=0)
    setup = [
        client.submit(admin, "grantRole", role_id(ROLE_OF_KEY[name]), signer.address)
        for name, signer in keys.items()
    ]
    for minter in ("job-office", "partner"):
        setup.append(client.submit(admin, "setMintAllowance", keys[minter].address, BUDGET))
    client.tx.wait_all(setup)
    merchants = [LocalSigner.create(f"merchant-{i}") for i in range(3)]
    setup = [client.submit(keys["merchant-manager"], "addMerchant", m.address) for m in merchants]
    client.tx.wait_all(setup)
    assert all(tx.error is None for tx in setup)
    return World(
        client=client,
        deployment=deployment,
        block=deployment.block,
        signers={"admin": admin, **keys},
        merchants=merchants,
        residents=[LocalSigner.create(f"resident-{i}") for i in range(5)],
    )
