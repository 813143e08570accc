"""Benchmark: rewarding N approved jobs three ways, on the embedded chain, in one run.

    python benchmarks/rewards.py                 (N = 1,000 and 10,000; `make bench-rewards`)
    python benchmarks/rewards.py --jobs 200      (a quick look)

1. naive: one `rewardJob` at a time: estimate, sign, send, wait for the receipt, next;
2. pipelined: every `rewardJob` signed and sent without waiting (local nonces, fixed gas),
   then all receipts awaited together;
3. batched: `HeitjeClient.reward_jobs`: batches of `rewardJobs`, pipelined, with the
   already-paid check and the split of refused batches that the CLI uses.

Each mode rewards fresh job ids on a fresh embedded chain (anvil with the flags `heitje chain
up` uses) and checks afterwards that every job was paid exactly once. Prints jobs/second and
gas per job, and the speed-up over the naive baseline. Targets (issue 3): pipelined and
batched at least 10x the naive baseline; batched at least 1,000 jobs/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heitje_chain.client import GAS_REWARD, HeitjeClient, RewardRow, job_id
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.keys import LocalSigner
from heitje_chain.node import EmbeddedChain, free_port
from heitje_chain.rpc import Rpc

REWARD = 5_00  # cents per job
RESIDENTS = 1_000


@dataclass
class Outcome:
    mode: str
    jobs: int
    seconds: float
    gas: int

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def naive(client: HeitjeClient, minter: LocalSigner, rows: list[RewardRow]) -> int:
    gas = 0
    for row in rows:
        tx = client.submit(minter, "rewardJob", job_id(str(row.job)), row.resident, row.cents)
        gas += client.result(tx).gas_used
    return gas


def pipelined(client: HeitjeClient, minter: LocalSigner, rows: list[RewardRow]) -> int:
    calls = [(job_id(str(row.job)), row.resident, row.cents) for row in rows]
    txs = client.submit_many(minter, "rewardJob", calls, gas=GAS_REWARD)
    client.tx.wait_all(txs)
    failed = [tx for tx in txs if tx.error is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} pipelined rewards failed: {failed[0].error}")
    return sum(tx.receipt.gas_used for tx in txs if tx.receipt is not None)


def batched(batch: int) -> Callable[[HeitjeClient, LocalSigner, list[RewardRow]], int]:
    def run(client: HeitjeClient, minter: LocalSigner, rows: list[RewardRow]) -> int:
        results = client.reward_jobs(minter, rows, batch_size=batch)
        bad = [r for r in results if r.status != "paid"]
        if bad:
            raise RuntimeError(f"{len(bad)} batched rewards not paid: {bad[0].reason}")
        hashes = sorted({r.tx_hash for r in results if r.tx_hash})
        receipts = client.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        return sum(int(r["gasUsed"], 16) for r in receipts if isinstance(r, dict))

    return run


def measure(
    mode: str,
    run: Callable[[HeitjeClient, LocalSigner, list[RewardRow]], int],
    jobs: int,
    workdir: Path,
) -> Outcome:
    chain = EmbeddedChain(workdir / mode / str(jobs), port=free_port())
    chain.start()
    try:
        rpc = Rpc(chain.url)
        admin, minter = LocalSigner.create("admin"), LocalSigner.create("minter")
        client, _ = deploy(rpc, admin, admin_delay=0)
        grant_roles(client, admin, {"job-office": minter.address})
        client.set_mint_allowance(admin, minter.address, jobs * REWARD)
        residents = [LocalSigner.create().address for _ in range(min(RESIDENTS, jobs))]
        rows = [
            RewardRow(f"BENCH-{mode}-{i:06d}", residents[i % len(residents)], REWARD)
            for i in range(jobs)
        ]
        supply = client.total_supply()
        start = time.perf_counter()
        gas = run(client, minter, rows)
        seconds = time.perf_counter() - start
        # Every job paid exactly once: the supply grew by exactly N rewards.
        if client.total_supply() - supply != jobs * REWARD:
            raise RuntimeError(f"{mode}: supply grew by {client.total_supply() - supply}")
        sample = client.rewarded_many([job_id(str(r.job)) for r in rows[:: max(1, jobs // 50)]])
        if not all(sample):
            raise RuntimeError(f"{mode}: a job is not marked rewarded")
        return Outcome(mode, jobs, seconds, gas)
    finally:
        chain.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, action="append", help="N (repeatable)")
    parser.add_argument("--batch", type=int, default=100, help="jobs per rewardJobs batch")
    args = parser.parse_args()
    sizes = args.jobs or [1_000, 10_000]
    modes = [
        ("naive", naive),
        ("pipelined", pipelined),
        (f"batched x{args.batch}", batched(args.batch)),
    ]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="heitje-bench-") as tmp:
        for jobs in sizes:
            for mode, run in modes:
                print(f"... {mode}, {jobs:,} jobs", file=sys.stderr, flush=True)
                outcomes.append(measure(mode.split()[0], run, jobs, Path(tmp)))
                outcomes[-1].mode = mode
    print()
    print("| jobs | mode | seconds | jobs/s | gas per job | vs naive | target | result |")
    print("|---:|---|---:|---:|---:|---:|---|---|")
    ok = True
    for jobs in sizes:
        rows = [o for o in outcomes if o.jobs == jobs]
        base = rows[0].rate
        for o in rows:
            speedup = o.rate / base
            if o.mode == "naive":
                target, passed = "baseline", True
            elif o.mode.startswith("batched"):
                target = ">= 10x and >= 1,000 jobs/s"
                passed = speedup >= 10 and o.rate >= 1_000
            else:
                target, passed = ">= 10x", speedup >= 10
            ok &= passed
            print(
                f"| {jobs:,} | {o.mode} | {o.seconds:.2f} | {o.rate:,.0f} | "
                f"{o.gas / jobs:,.0f} | {speedup:.1f}x | {target} | "
                f"{'PASS' if passed else 'MISS'} |"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
