"""Build a large Heitje ledger on the embedded chain, for the auditor's benchmark.

    python benchmarks/ledger_gen.py --events 100000 --dir .bench/ledger-100k
    python benchmarks/ledger_gen.py --events 1000000 --dir .bench/ledger-1m     (a long while)

A realistic mix over months to years of chain time (from today on), in rounds of a week:
rewards for jobs (batched `rewardJobs`, through `HeitjeClient.reward_jobs`), residents
paying merchants (several payments each, pipelined with `submit_many`), refunds, merchants
redeeming what they took in, the treasurer recording payouts a round later (some are left
open), lost wallets recovered with their earnings, a merchant joining or leaving now and
then. Every operation keeps the rules (the yearly cap included): the auditor must find
nothing.

Transactions are sent with anvil's automine off and mined in blocks of up to 30M gas, as a
busy chain would. The chain's state is kept in `--dir` (anvil's state file) with
`ledger.json` (contract address, deployment block, the events written); `benchmarks/audit.py`
starts that chain again and audits it. An existing ledger in `--dir` is left alone unless
`--force` is given.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heitje_chain.client import HeitjeClient, RewardRow, reference32, role_id
from heitje_chain.deploy import deploy
from heitje_chain.keys import LocalSigner
from heitje_chain.node import EmbeddedChain, free_port
from heitje_chain.rpc import Rpc
from heitje_chain.tx import Tx

WEEK = 7 * 86400
GAS = {
    "pay": 100_000,
    "refund": 100_000,
    "redeem": 150_000,
    "confirmPayout": 100_000,
    "recoverWallet": 200_000,
    "addMerchant": 80_000,
    "removeMerchant": 80_000,
}
CAP = 1_500_00


@dataclass
class Resident:
    signer: LocalSigner
    balance: int = 0
    earned: dict[int, int] = field(default_factory=dict)


@dataclass
class Generator:
    client: HeitjeClient
    rpc: Rpc
    roles: dict[str, LocalSigner]
    residents: list[Resident]
    merchants: list[LocalSigner]
    rng: random.Random
    now: int = 0
    events: int = 0
    jobs: int = 0
    open_redemptions: list[int] = field(default_factory=list)
    merchant_balance: dict[str, int] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, logs: int, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n
        self.events += logs * n

    def mine_all(self, txs: list[Tx]) -> None:
        """Mine until every sent transaction is in a block (30M gas per block)."""
        while True:
            status = self.rpc.call("txpool_status")
            if int(status["pending"], 16) == 0 and int(status["queued"], 16) == 0:
                break
            self.now += 12
            self.rpc.call("evm_setNextBlockTimestamp", [self.now])
            self.rpc.call("evm_mine")
        self.client.tx.wait_all(txs)
        failed = [tx for tx in txs if tx.error is not None]
        if failed:
            raise RuntimeError(f"{len(failed)} transactions failed, first: {failed[0].error}")

    def send_many(
        self, signer: LocalSigner, function: str, calls: list[tuple[object, ...]]
    ) -> list[Tx]:
        return self.client.submit_many(signer, function, calls, gas=GAS[function])

    # ------------------------------------------------------------------ the operations

    def rewards(self, n: int) -> None:
        year = datetime.fromtimestamp(self.now, UTC).year
        rows = []
        minters = [self.roles["job-office"], self.roles["partner"]]
        for _ in range(n):
            resident = self.rng.choice(self.residents)
            cents = self.rng.choice((5_00, 7_50, 10_00, 12_50, 15_00, 20_00, 25_00))
            if resident.earned.get(year, 0) + cents > CAP:
                continue
            resident.earned[year] = resident.earned.get(year, 0) + cents
            resident.balance += cents
            self.jobs += 1
            rows.append(RewardRow(f"bench/job-{self.jobs}", resident.signer.address, cents))
        self.rpc.call("evm_setAutomine", [True])  # reward_jobs estimates each batch
        try:
            half = len(rows) // 2
            for minter, part in ((minters[0], rows[:half]), (minters[1], rows[half:])):
                if part:
                    results = self.client.reward_jobs(minter, part, batch_size=100)
                    bad = [r for r in results if r.status != "paid"]
                    if bad:
                        raise RuntimeError(f"reward refused: {bad[0].reason}")
        finally:
            self.rpc.call("evm_setAutomine", [False])
        self.count("rewards", 2, len(rows))

    def payments(self, n: int) -> None:
        shops = sorted(self.listed)
        by_resident: dict[int, list[tuple[object, ...]]] = {}
        for _ in range(n):
            index = self.rng.randrange(len(self.residents))
            resident = self.residents[index]
            cents = self.rng.choice((1_00, 2_50, 4_00, 5_00, 7_50, 10_00))
            if resident.balance < cents or len(by_resident.get(index, ())) >= 6:
                continue
            shop = self.rng.choice(shops)
            resident.balance -= cents
            self.merchant_balance[shop] = self.merchant_balance.get(shop, 0) + cents
            by_resident.setdefault(index, []).append(
                (shop, cents, reference32(f"R-{self.events}-{index}"))
            )
        with ThreadPoolExecutor(6) as pool:
            sent = list(
                pool.map(
                    lambda item: self.send_many(self.residents[item[0]].signer, "pay", item[1]),
                    by_resident.items(),
                )
            )
        txs = [tx for part in sent for tx in part]
        self.mine_all(txs)
        self.count("payments", 2, len(txs))

    def refunds(self, n: int) -> None:
        txs = []
        for _ in range(n):
            shop = self.rng.choice(self.merchants)
            if self.merchant_balance.get(shop.address, 0) < 1_00:
                continue
            resident = self.rng.choice(self.residents)
            self.merchant_balance[shop.address] -= 1_00
            resident.balance += 1_00
            calls = [(resident.signer.address, 1_00, reference32("refund"))]
            txs += self.send_many(shop, "refund", calls)
        self.mine_all(txs)
        self.count("refunds", 2, len(txs))

    def redemptions_and_payouts(self) -> None:
        treasurer = self.roles["treasurer"]
        first = self.client.redemption_count() + 1
        pay = self.open_redemptions[: max(0, len(self.open_redemptions) - 3)]  # a few wait on
        self.open_redemptions = self.open_redemptions[len(pay) :]
        txs = self.send_many(
            treasurer, "confirmPayout", [(rid, reference32(f"SEPA-{rid}")) for rid in pay]
        )
        redeeming = [m for m in self.merchants if self.merchant_balance.get(m.address, 0) > 50_00]
        for shop in redeeming:
            cents = self.merchant_balance[shop.address] * 4 // 5
            self.merchant_balance[shop.address] -= cents
            txs += self.send_many(shop, "redeem", [(cents,)])
        self.mine_all(txs)
        self.open_redemptions += list(range(first, first + len(redeeming)))
        self.count("payouts", 1, len(pay))
        self.count("redemptions", 2, len(redeeming))

    def recoveries(self, n: int) -> None:
        txs = []
        year = datetime.fromtimestamp(self.now, UTC).year
        for _ in range(n):
            index = self.rng.randrange(len(self.residents))
            lost = self.residents[index]
            new = Resident(
                LocalSigner.create("replacement"), lost.balance, {year: lost.earned.get(year, 0)}
            )
            calls = [(lost.signer.address, new.signer.address)]
            txs += self.send_many(self.roles["recovery"], "recoverWallet", calls)
            self.residents[index] = new
            self.count("recoveries", 3 if new.earned[year] else 2)
        self.mine_all(txs)

    def merchant_change(self) -> None:
        manager = self.roles["merchant-manager"]
        if self.rng.random() < 0.5 and len(self.listed) > 5:
            leaving = self.rng.choice(sorted(self.listed))
            self.listed.discard(leaving)
            txs = self.send_many(manager, "removeMerchant", [(leaving,)])
        else:
            shop = LocalSigner.create("new-shop")
            self.merchants.append(shop)
            self.listed.add(shop.address)
            txs = self.send_many(manager, "addMerchant", [(shop.address,)])
        self.mine_all(txs)
        self.count("merchant changes", 1)

    def round(self, size: int) -> None:
        self.now += WEEK
        self.rpc.call("evm_setNextBlockTimestamp", [self.now])
        self.rewards(size)
        self.payments(size)
        self.refunds(max(1, size // 100))
        self.redemptions_and_payouts()
        if self.rng.random() < 0.5:
            self.recoveries(max(1, size // 1000))
        if self.rng.random() < 0.1:
            self.merchant_change()


def build(events: int, folder: Path, seed: int = 7) -> dict[str, object]:
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    chain = EmbeddedChain(folder / "chain", port=free_port(), state_interval=3600)
    chain.start()
    try:
        rpc = Rpc(chain.url, timeout=60)
        start = int(rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16) + 60
        rpc.call("evm_setNextBlockTimestamp", [start])
        admin = LocalSigner.create("admin")
        roles = {
            name: LocalSigner.create(name)
            for name in ("job-office", "partner", "merchant-manager", "treasurer", "recovery")
        }
        client, deployment = deploy(rpc, admin, admin_delay=0)
        role_of = {"job-office": "minter", "partner": "minter"}
        setup = [
            client.submit(admin, "grantRole", role_id(role_of.get(k, k)), s.address)
            for k, s in roles.items()
        ]
        for minter in ("job-office", "partner"):
            setup.append(client.submit(admin, "setMintAllowance", roles[minter].address, 10**14))
        client.tx.wait_all(setup)
        merchants = [LocalSigner.create(f"shop-{i}") for i in range(max(10, events // 20_000))]
        setup = [
            client.submit(roles["merchant-manager"], "addMerchant", m.address) for m in merchants
        ]
        client.tx.wait_all(setup)
        rpc.call("evm_setAutomine", [False])
        gen = Generator(
            client,
            rpc,
            roles,
            [Resident(LocalSigner.create("resident")) for _ in range(max(200, events // 100))],
            merchants,
            rng,
            now=start,
            events=0,
            listed={m.address for m in merchants},
        )
        size = max(200, min(2_000, events // 100))
        started = time.monotonic()
        while gen.events < events:
            gen.round(size)
            print(
                f"\r  {gen.events:>9,} events, {time.monotonic() - started:6.0f} s",
                end="",
                file=sys.stderr,
                flush=True,
            )
        print(file=sys.stderr)
        rpc.call("evm_setAutomine", [True])
        logs = count_logs(rpc, client.address, deployment.block)
        info: dict[str, object] = {
            "address": client.address,
            "chain_id": client.chain_id,
            "deployment_block": deployment.block,
            "block": rpc.block_number(),
            "events": logs,
            "operations": gen.counts,
            "seconds": round(time.monotonic() - started, 1),
        }
        (folder / "ledger.json").write_text(json.dumps(info, indent=1))
        return info
    finally:
        chain.stop()


def count_logs(rpc: Rpc, address: str, first: int) -> int:
    """The contract's logs, counted from the node (what the auditor will read)."""
    total, block, last, step = 0, first, rpc.block_number(), 2000
    while block <= last:
        end = min(last, block + step - 1)
        total += len(
            rpc.call(
                "eth_getLogs", [{"address": address, "fromBlock": hex(block), "toBlock": hex(end)}]
            )
        )
        block = end + 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="about this many logs")
    parser.add_argument("--dir", type=Path, help="where the chain is kept (default .bench/...)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="replace an existing ledger")
    args = parser.parse_args()
    folder = args.dir or Path(".bench") / f"ledger-{args.events}"
    if (folder / "ledger.json").exists() and not args.force:
        print(f"{folder} holds a ledger already: {(folder / 'ledger.json').read_text()}")
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    info = build(args.events, folder, args.seed)
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
