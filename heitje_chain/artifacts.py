"""The compiled Heitje contract (ABI and creation bytecode) that the library deploys and calls.

brownie compiles `contracts/Heitje.sol` into `build/contracts/Heitje.json`; `make artifact`
(`tools/export_artifact.py`) copies the parts the runtime needs into
`heitje_chain/data/Heitje.json`, which ships with the package, so an installed `heitje` works
without brownie or a compiler. A test checks that the shipped copy matches a fresh build.

It is compiled for the Berlin EVM, the oldest that a supported chain runs (GoQuorum stops at
Berlin, geth's Clique at London; Besu and anvil run newer ones): no PUSH0 or later opcodes,
so the same bytecode deploys on every chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: what deploying and calling it needs."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # creation code, 0x-prefixed hex
    compiler: str  # e.g. "0.8.28+commit.7893614a"
    source_sha1: str  # sha1 of the Solidity source it was compiled from
    evm_version: str = ""  # the EVM it was compiled for ("berlin": every supported chain)

    def events(self) -> list[dict[str, Any]]:
        return [item for item in self.abi if item.get("type") == "event"]

    def errors(self) -> list[dict[str, Any]]:
        return [item for item in self.abi if item.get("type") == "error"]


def artifact_from_build(build_json: dict[str, Any]) -> dict[str, Any]:
    """The shipped form of a brownie build artifact (`build/contracts/<Name>.json`)."""
    bytecode = str(build_json["bytecode"])
    return {
        "contractName": build_json["contractName"],
        "abi": build_json["abi"],
        "bytecode": bytecode if bytecode.startswith("0x") else "0x" + bytecode,
        "compiler": build_json["compiler"]["version"],
        "evmVersion": build_json["compiler"].get("evm_version") or "",
        "sourceSha1": build_json["sha1"],
    }


def source_sha1(path: Path) -> str:
    """sha1 of a source file, as brownie records it in its build artifacts."""
    return hashlib.sha1(path.read_bytes(), usedforsecurity=False).hexdigest()


@cache
def load_artifact(name: str = "Heitje") -> Artifact:
    """The shipped artifact of contract `name` (cached)."""
    path = DATA_DIR / f"{name}.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} is missing: the package is incomplete. Run `make artifact` in the "
            "source tree (it compiles the contract and copies the result there)."
        ) from None
    return Artifact(
        name=raw["contractName"],
        abi=raw["abi"],
        bytecode=raw["bytecode"],
        compiler=raw["compiler"],
        source_sha1=raw["sourceSha1"],
        evm_version=raw.get("evmVersion", ""),
    )
