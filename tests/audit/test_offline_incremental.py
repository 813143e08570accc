"""The ledger export (an offline audit needs no node), tampered exports, and the incremental
mode (a checkpoint: only new blocks are read, with the same result as a full audit)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from audit_ledgers import Faulty, World, check, failed, reward, setup_roles

from heitje_chain.audit import FileLogSource, audit
from heitje_chain.audit.stream import AuditInputError
from heitje_chain.client import RewardRow

VOLATILE = ("generated_at", "source", "resumed_from_checkpoint_block")


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in report.items() if k not in VOLATILE}
    out["checks"] = [{k: v for k, v in c.items() if k != "notes"} for c in report["checks"]]
    return out


def some_days(w: World, tag: str) -> None:
    c, r = w.client, w.residents
    c.reward_jobs(w.job_office, [RewardRow(f"{tag}-{i}", r[i % 3].address, 9_00) for i in range(6)])
    c.pay(r[0], w.merchants[0].address, 4_00, f"{tag}-R")
    c.redeem(w.merchants[0], 2_00)


def test_offline_audit_of_a_ledger_export(world: World, tmp_path: Path) -> None:
    some_days(world, "a")
    export = tmp_path / "ledger.jsonl.gz"
    online = world.audit(save_ledger=export)
    offline = audit(FileLogSource(export))
    assert offline["passed"] and online["passed"]
    assert offline["source"] == str(export)
    for key in ("block", "block_hash", "chain_id", "contract", "events", "figures", "tables"):
        assert offline[key] == online[key], key
    assert "offline audit of a ledger export" in " ".join(check(offline, "supply")["notes"])
    # Who sent the admin actions travels in the export too.
    assert all(a["by"] for a in offline["tables"]["admin_actions"])


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def save(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_tampered_export_fails_with_the_records_named(world: World, tmp_path: Path) -> None:
    some_days(world, "t")
    export = tmp_path / "ledger.jsonl"
    world.audit(save_ledger=export)
    rows = lines(export)
    topic = {"JobRewarded": None}
    from heitje_chain.audit.checks import topics

    topic["JobRewarded"] = topics()["JobRewarded"]
    # 1. One JobRewarded deleted: its mint has no reward behind it.
    cut = next(i for i, r in enumerate(rows) if r.get("topics", [""])[0] == topic["JobRewarded"])
    victim = rows[cut]["transactionHash"]
    report = audit(FileLogSource(save(tmp_path / "cut.jsonl", rows[:cut] + rows[cut + 1 :])))
    assert "mints" in failed(report)
    records = check(report, "mints")["records"]
    assert [(r["tx"], r["problem"]) for r in records] == [
        (victim, "Heitjes minted without a JobRewarded event")
    ]
    # 2. An amount changed in a Transfer: the supply no longer matches the node's.
    forged = [dict(r) for r in rows]
    transfer = next(
        r
        for r in forged[1:-1]
        if r["topics"][0] == topics()["Transfer"] and int(r["topics"][1], 16) == 0
    )
    transfer["data"] = "0x" + hex(int(transfer["data"], 16) + 1_000_00)[2:].rjust(64, "0")
    report = audit(FileLogSource(save(tmp_path / "forged.jsonl", forged)))
    assert "supply" in failed(report)
    assert any("totalSupply" in r["problem"] for r in check(report, "supply")["records"])
    # 3. Cut off before its last line: refused, not half-audited.
    with pytest.raises(AuditInputError, match="ends without its last line"):
        audit(FileLogSource(save(tmp_path / "short.jsonl", rows[:-1])))
    # 4. Not an export at all.
    with pytest.raises(AuditInputError, match="not a Heitje ledger export"):
        FileLogSource(save(tmp_path / "other.jsonl", [{"hello": 1}]))


def test_incremental_reads_only_new_blocks_and_agrees(faulty: Faulty, tmp_path: Path) -> None:
    setup_roles(faulty)
    reward(faulty, 1, "anna", 10_00)
    cp = tmp_path / "audit.checkpoint"
    first = faulty.audit(checkpoint=cp)
    assert first["passed"] and first["resumed_from_checkpoint_block"] is None
    reward(faulty, 2, "bob", 20_00)
    bad = faulty.send("move(address,address,uint256)", faulty.who("anna"), faulty.who("bob"), 1)
    read: list[int] = []
    from heitje_chain.audit import stream

    original = stream.RpcLogSource.chunks

    def counting(self: stream.RpcLogSource, after: int | None = None) -> Any:
        for chunk in original(self, after):
            read.extend(int(log["blockNumber"], 16) for log in chunk)
            yield chunk

    stream.RpcLogSource.chunks = counting  # type: ignore[method-assign]
    try:
        second = faulty.audit(checkpoint=cp)
    finally:
        stream.RpcLogSource.chunks = original  # type: ignore[method-assign]
    assert second["resumed_from_checkpoint_block"] == first["block"]
    assert read and min(read) > first["block"]
    assert len(read) == second["events"] - first["events"] == 3  # a reward (2 logs), a move
    assert [r["tx"] for r in check(second, "payments")["records"]] == [bad]
    full = faulty.audit()
    assert comparable(second) == comparable(full)
    # Nothing new: the same report again.
    third = faulty.audit(checkpoint=cp)
    assert comparable(third) == comparable(full)


def test_a_checkpoint_of_another_chain_history_is_refused(faulty: Faulty, tmp_path: Path) -> None:
    setup_roles(faulty)
    cp = tmp_path / "audit.checkpoint"
    faulty.audit(checkpoint=cp)
    with gzip.open(cp, "rt") as handle:
        data = json.load(handle)
    data["block_hash"] = "0x" + "ab" * 32
    with gzip.open(cp, "wt") as handle:
        json.dump(data, handle)
    with pytest.raises(AuditInputError, match="reorganised or reset"):
        faulty.audit(checkpoint=cp)
    data["contract"] = "0x" + "11" * 20
    with gzip.open(cp, "wt") as handle:
        json.dump(data, handle)
    with pytest.raises(AuditInputError, match="the checkpoint is of contract"):
        faulty.audit(checkpoint=cp)
    cp.write_text("not gzip")
    with pytest.raises(AuditInputError, match="cannot be read as an audit checkpoint"):
        faulty.audit(checkpoint=cp)
