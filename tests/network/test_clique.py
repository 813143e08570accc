"""Heitje on a real multi-validator network: four geth v1.13.15 Clique validators on this
computer, each its own process and data folder, made from the network kit's keys.

One scenario, in order, printing what it did (run with -s to watch): deploy and grant roles,
rewards in batches and one at a time, payments, refunds, redemptions and payouts, each sent
to another node; one validator killed (SIGKILL) while payments are in flight, and the three
others go on; the killed one restarted with its data after 100+ blocks, and it catches up; a
new node with an empty data folder syncs; then sealing is paused and every node has the same
head hash, and the auditor gives the same report on each node at that hash, agreeing with
what the scenario did, cent by cent.
"""

from __future__ import annotations

import time
from dataclasses import replace

from heitje_chain.audit import audit, rpc_source
from heitje_chain.client import HeitjeClient, RewardRow
from heitje_chain.config import Config, load_config
from heitje_chain.connect import connect, connect_rpc
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.keys import LocalSigner
from heitje_chain.localnet import CLIQUE_CONFIRMATIONS, LocalNetwork

RESIDENTS = 30
REWARD = 12_50
PAYMENT = 3_75
REFUND = 1_25
DOWN_BLOCKS = 100  # blocks the killed validator misses before it is restarted


def say(text: str) -> None:
    print(f"[network] {text}", flush=True)


def rotated(config: Config, urls: list[str], first: int) -> Config:
    """The settings with node `first` as the preferred endpoint and the others as failover."""
    return replace(config, rpc_urls=tuple(urls[first:] + urls[:first]))


def test_heitje_on_four_clique_validators(clique: LocalNetwork) -> None:
    started = time.monotonic()
    urls = clique.urls
    say(f"4 validators up: {', '.join(urls)}; heights {clique.heights()}")
    for validator in clique.validators:  # loopback only: p2p, RPC and the engine API
        info = validator.rpc().call("admin_nodeInfo")
        assert info["listenAddr"].startswith("127.0.0.1:"), info["listenAddr"]
        assert "@127.0.0.1:" in info["enode"]
    signers = clique.validators[0].rpc().call("clique_getSigners", ["latest"])
    assert sorted(s.lower() for s in signers) == sorted(
        v.signer.lower() for v in clique.validators if v.signer
    ), "the genesis signers are the kit's validator keys"
    config = load_config(home=clique.folder / "home", config_file=clique.config_file, environ={})
    assert not config.instant_finality and config.final_depth == CLIQUE_CONFIRMATIONS
    assert config.gas_price == 0

    keys = {name: LocalSigner.create(name) for name in
            ("admin", "job-office", "partner", "merchant-manager", "treasurer", "pauser",
             "recovery")}  # fmt: skip
    shops = [LocalSigner.create(f"shop-{i}") for i in range(2)]
    residents = [LocalSigner.create(f"resident-{i}") for i in range(RESIDENTS)]

    # --- deploy through validator1, roles through validator2 ------------------------------
    rpc = connect_rpc(rotated(config, urls, 0))
    first, record = deploy(rpc, keys["admin"], name="Heitje op Clique", symbol="HCQ")
    assert first.tx.fees().fields() == {"gasPrice": 0}, "a chain without EIP-1559: legacy"
    config = config.with_deployment(record)
    clique.wait_height(record.block)  # every node has the contract before its clients start
    node: list[HeitjeClient] = [connect(rotated(config, urls, i)) for i in range(4)]
    say(f"deployed {record.address} in block {record.block} (legacy transactions, gas price 0)")
    holders = {k: s.address for k, s in keys.items() if k != "admin"}
    granted = grant_roles(node[1], keys["admin"], holders)
    node[1].set_mint_allowance(keys["admin"], keys["job-office"].address, 10_000_00)
    node[1].set_mint_allowance(keys["admin"], keys["partner"].address, 1_000_00)
    for shop in shops:
        node[2].add_merchant(keys["merchant-manager"], shop.address)
    say(f"granted {len(granted)} roles via validator2, 2 shops admitted via validator3")

    # --- rewards: batches via validator2, single ones via validator3 ------------------------
    rows = [RewardRow(f"CLQ-{i:04d}", r.address, REWARD) for i, r in enumerate(residents)]
    batch = node[1].reward_jobs(keys["job-office"], rows[:-5], batch_size=10)
    assert [r.status for r in batch] == ["paid"] * (RESIDENTS - 5)
    single = [node[2].reward_job(keys["partner"], r.job, r.resident, r.cents) for r in rows[-5:]]
    assert [r.status for r in single] == ["paid"] * 5
    again = node[0].reward_jobs(keys["job-office"], rows[:3], batch_size=10)
    assert [r.status for r in again] == ["already_paid"] * 3
    say(f"{RESIDENTS - 5} rewards in batches of 10 (validator2), 5 single (validator3); "
        "3 repeated: already paid")  # fmt: skip

    # --- payments via validator4; validator4 killed while they are in flight -----------------
    in_flight = [
        node[3].submit_pay(r, shops[i % 2].address, PAYMENT, f"bon-{i}")
        for i, r in enumerate(residents)
    ]
    clique.kill("validator4")
    killed_at = max(clique.heights().values())
    say(f"sent {len(in_flight)} payments to validator4 and killed it (SIGKILL) at block "
        f"{killed_at}")  # fmt: skip
    paid = [node[3].result(tx) for tx in in_flight]  # failover to validator1, re-sent if lost
    assert all(p.event("Payment") is not None for p in paid)
    say(
        f"all {len(paid)} payments mined on the 3 validators left "
        f"(blocks {min(p.block_number for p in paid)}-{max(p.block_number for p in paid)})"
    )

    # --- refunds via validator3, redemptions via validator1, payouts via validator2 ----------
    for i, r in enumerate(residents[:6]):
        node[2].refund(shops[i % 2], r.address, REFUND, f"bon-{i}")
    redemptions = [node[0].redeem(shop, 20_00) for shop in shops]
    node[1].confirm_payout(keys["treasurer"], redemptions[0].id, "SEPA CLQ-0001")
    say(
        f"6 refunds (validator3), redemptions {[r.id for r in redemptions]} (validator1), "
        "payout of the first (validator2)"
    )

    # --- the killed validator comes back with its data after 100+ blocks ---------------------
    while max(clique.heights().values()) < killed_at + DOWN_BLOCKS:
        time.sleep(1)
    behind = max(clique.heights().values()) - killed_at
    clique.start_node("validator4")
    say(f"validator4 restarted {behind} blocks later with its data: caught up, heights "
        f"{clique.heights()}")  # fmt: skip

    # --- a new node with an empty data folder syncs ------------------------------------------
    observer = clique.add_node("observer")
    say(f"new node 'observer' with an empty data folder synced: heights {clique.heights()}")

    # --- the same head everywhere, and the same audit at it ----------------------------------
    with clique.sealing_paused() as heads:
        say("sealing paused; heads: " + ", ".join(f"{n} #{h} {x[:18]}" for n, (h, x) in
                                                  heads.items()))  # fmt: skip
        for fork in clique.forks:  # Clique: rival blocks at the newest height, settled
            say("a fork at the head settled by sealing on: " + ", ".join(
                f"{n} #{h} {x[:18]}" for n, (h, x) in fork.items()))  # fmt: skip
        assert len(heads) == 5
        assert len({head for head in heads.values()}) == 1, f"the nodes disagree: {heads}"
        height, head_hash = next(iter(heads.values()))
        reports = {}
        for name, url in [*zip(clique.nodes, urls, strict=False), ("observer", observer.url)]:
            reader = connect(replace(config, rpc_urls=(url,)))
            source = rpc_source(reader, at=height)
            assert source.head.block_hash == head_hash
            reports[name] = audit(source)
        say(f"audited at block {height} ({head_hash}) on {len(reports)} nodes")
    sources = {name: report.pop("source") for name, report in reports.items()}
    assert len(set(sources.values())) == 5  # each report names the node it was read from
    for report in reports.values():
        report.pop("generated_at")  # the clock time of each audit
    baseline = reports["validator1"]
    for name, report in reports.items():
        assert report == baseline, f"the audit on {name} differs from validator1's"
    say(f"the 5 audit reports are identical (but for the node and the time they name): passed, "
        f"{baseline.get('events', '?')} events")  # fmt: skip
    assert baseline["passed"] is True, baseline

    # --- and it is what the scenario did, cent by cent ------------------------------------
    reader = node[0]
    spent = {r.address: PAYMENT for r in residents}
    for i, r in enumerate(residents):
        expected = REWARD - PAYMENT + (REFUND if i < 6 else 0)
        assert reader.balance(r.address) == expected, r.name
    assert reader.total_supply() == RESIDENTS * REWARD - 2 * 20_00
    assert sum(reader.balance(s.address) for s in shops) == (
        sum(spent.values()) - 6 * REFUND - 2 * 20_00
    )
    assert (
        reader.redemption(redemptions[0].id).paid and not reader.redemption(redemptions[1].id).paid
    )
    say(
        f"balances, supply and redemptions agree on every count; {time.monotonic() - started:.0f} s"
    )
