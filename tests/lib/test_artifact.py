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
