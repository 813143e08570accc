"""The contract the library ships is the contract in `contracts/`, compiled as brownie does."""

from __future__ import annotations

import json
from pathlib import Path

from heitje_chain.artifacts import artifact_from_build, load_artifact, source_sha1

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_artifact_matches_the_build() -> None:
    build = ROOT / "build" / "contracts" / "Heitje.json"
    assert build.exists(), "run `brownie compile` (the contract tests do) before this test"
    built = json.loads(build.read_text())
    assert built["sha1"] == source_sha1(ROOT / "contracts" / "Heitje.sol"), (
        "build/ is older than contracts/Heitje.sol: run `brownie compile`"
    )
    shipped = load_artifact()
    fresh = artifact_from_build(built)
    assert shipped.source_sha1 == fresh["sourceSha1"], "run `make artifact`"
    assert shipped.bytecode == fresh["bytecode"], "run `make artifact`"
    assert shipped.abi == fresh["abi"], "run `make artifact`"
    assert shipped.compiler == fresh["compiler"]


#: Opcodes newer than Berlin: BASEFEE (London), PUSH0 (Shanghai), TLOAD, TSTORE, MCOPY,
#: BLOBHASH, BLOBBASEFEE (Cancun). geth's Clique and GoQuorum refuse code that uses them.
AFTER_BERLIN = {0x48: "BASEFEE", 0x5F: "PUSH0", 0x5C: "TLOAD", 0x5D: "TSTORE", 0x5E: "MCOPY",
                0x49: "BLOBHASH", 0x4A: "BLOBBASEFEE"}  # fmt: skip


def opcodes_after_berlin(bytecode: str) -> set[str]:
    """The post-Berlin opcodes in creation code (PUSH data and the CBOR metadata skipped)."""
    code = bytes.fromhex(bytecode.removeprefix("0x"))
    code = code[: len(code) - 2 - int.from_bytes(code[-2:], "big")]  # the metadata at the end
    found, i = set(), 0
    while i < len(code):
        op = code[i]
        if op in AFTER_BERLIN:
            found.add(AFTER_BERLIN[op])
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return found


def test_shipped_artifact_runs_on_every_chain() -> None:
    shipped = load_artifact()
    assert shipped.evm_version == "berlin"
    assert opcodes_after_berlin(shipped.bytecode) == set()


def test_the_opcode_scan_finds_push0() -> None:
    assert opcodes_after_berlin("0x60015f5f" + "a1" + "0001") == {"PUSH0"}
    assert opcodes_after_berlin("0x605f6000" + "a1" + "0001") == set()  # 0x5f as PUSH data
