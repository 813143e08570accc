"""A validator cut off from the others and healed, on four geth Clique validators (one network
for the module): the cut-off one may seal a block of its own (a fork) with a payment sent only
to it; when the links come back it takes the majority's chain (a reorg of that unconfirmed
block) and the payment is mined there, once: no money doubled or lost, and every node at the
same head. And a client configured with every node leaves the cut-off validator, although it
still answers, and returns to it once it is healed (heitje_chain.rpc's node checks)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from heitje_chain.config import load_config
from heitje_chain.connect import connect, connect_rpc
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.keys import LocalSigner
from heitje_chain.localnet import LocalNetwork
from heitje_chain.rpc import Rpc


def say(text: str) -> None:
    print(f"[partition] {text}", flush=True)


def test_cut_off_validator_reorgs_to_the_majority_without_doubling(
    clique: LocalNetwork,
) -> None:
    net = clique
    config = load_config(home=net.folder / "home", config_file=net.config_file, environ={})
    keys = {n: LocalSigner.create(n) for n in ("admin", "job-office", "merchant-manager")}
    _, record = deploy(connect_rpc(config), keys["admin"])
    config = config.with_deployment(record)
    net.wait_height(record.block)
    setup = connect(config)  # every node, with failover
    grant_roles(setup, keys["admin"], {k: s.address for k, s in keys.items() if k != "admin"})
    setup.set_mint_allowance(keys["admin"], keys["job-office"].address, 1_000_00)
    shop, resident, other = (LocalSigner.create(n) for n in ("shop", "resident", "other"))
    setup.add_merchant(keys["merchant-manager"], shop.address)
    done = setup.reward_job(keys["job-office"], "PART-1", resident.address, 20_00)
    net.wait_height(done.block_number or 0)

    # --- cut a validator off: its peers removed on both sides (static dials too). One that
    # --- may seal the next block (not among Clique's recent signers), so that it forks ----
    recents = net.validators[0].rpc().call("clique_getSnapshot", ["latest"])["recents"]
    recent = {str(a).lower() for a in recents.values()}
    lone = next(v for v in reversed(net.validators) if (v.signer or "").lower() not in recent)
    others = [v for v in net.validators if v is not lone]
    majority = connect(replace(config, rpc_urls=tuple(v.url for v in others)))
    lone.rpc().call("miner_stop")  # its next block is built once the payment is in its pool
    net.cut_off(lone.name)  # its peers removed on both sides (static dials too)
    # --- a payment sent only to the cut-off validator; the majority goes on ---------------
    alone = connect(replace(config, rpc_urls=(lone.url,)))
    pending = alone.submit_pay(resident, shop.address, 7_50, "bon-partition")
    lone.rpc().call("miner_start")
    cut_at = net.heights()
    say(f"{lone.name} cut off at heights {cut_at}, a payment sent to it alone")
    time.sleep(4)
    lone_head = lone.rpc().call("eth_getBlockByNumber", ["latest", False])
    lone_receipt = lone.rpc().call("eth_getTransactionReceipt", [pending.hash])
    majority.reward_job(keys["job-office"], "PART-2", other.address, 5_00)
    majority_height = max(h for n, h in net.heights().items() if n != lone.name)
    fork_block = int(lone_head["number"], 16)
    theirs = others[0].rpc().call("eth_getBlockByNumber", [hex(fork_block), False])
    forked = theirs is not None and theirs["hash"] != lone_head["hash"]
    say(f"{lone.name} alone: head #{fork_block} {lone_head['hash'][:18]}"
        + (f", its own block (majority has {theirs['hash'][:18]} there)" if forked else "")
        + (f"; the payment in its block #{int(lone_receipt['blockNumber'], 16)}"
           if lone_receipt else "; the payment waits in its pool")
        + f"; the majority is at #{majority_height}")  # fmt: skip
    assert majority_height > cut_at[others[0].name] + 2, "the three validators stopped"
    # Its own block carries the payment when the payment reached its pool before it sealed;
    # when a seal already under way won that race, the fork is there all the same and the
    # payment waits in its pool: either way the healing must neither lose nor double it.
    assert forked, "the cut-off validator sealed no block of its own"

    # --- heal: the links come back; the cut-off one takes the majority's chain ------------
    net.heal(lone.name)
    receipt = majority.result(pending, timeout=60)  # mined on the majority's chain
    with net.sealing_paused() as heads:
        assert len(set(heads.values())) == 1, heads
        height, head_hash = next(iter(heads.values()))
        on_lone = lone.rpc().call("eth_getTransactionReceipt", [pending.hash])
        assert on_lone is not None and on_lone["blockHash"] == receipt_hash(majority, pending.hash)
        if forked:
            now = lone.rpc().call("eth_getBlockByNumber", [hex(fork_block), False])
            assert now["hash"] != lone_head["hash"], f"{lone.name} kept its own block"
        say(f"healed: every node at #{height} {head_hash[:18]}; the payment mined once, in "
            f"block #{receipt.block_number}" + (f" ({lone.name}'s own block was replaced: a "
            "reorg" + (" that took the payment back" if lone_receipt else "") + ")"
            if forked else ""))  # fmt: skip
    assert majority.balance(resident.address) == 20_00 - 7_50
    assert majority.balance(shop.address) == 7_50
    assert majority.total_supply() == 25_00
    assert alone.balance(resident.address) == 20_00 - 7_50


def receipt_hash(client: object, tx_hash: str) -> str:
    found = client.rpc.call("eth_getTransactionReceipt", [tx_hash])  # type: ignore[attr-defined]
    return str(found["blockHash"])


def test_a_client_leaves_a_cut_off_validator_and_returns_to_it_when_healed(
    clique: LocalNetwork,
) -> None:
    net = clique
    first = net.validators[0]  # the client's preferred node: the first of rpc_urls
    net.wait_synced()
    config = load_config(home=net.folder / "home", config_file=net.config_file, environ={})
    rpc = connect_rpc(replace(config, health_interval=1.0))  # the settings' way, every node
    assert rpc.urls[0] == first.url and rpc.url == first.url
    wait(lambda: _checked(rpc) and all(n.healthy for n in rpc.health().nodes), "a healthy check")
    period = rpc.health().block_period  # learnt from the blocks' timestamps (1 s blocks)
    assert period is not None and 1.0 <= period < 1.5, period

    net.cut_off(first.name)  # it still answers RPC
    cut = time.monotonic()
    wait(lambda: rpc.url != first.url, "the client leaving the cut-off validator", 20)
    left = time.monotonic() - cut
    report = rpc.health()
    lone = report.nodes[0]
    assert lone.cut_off and lone.reachable and lone.peers == 0, lone
    assert not any(n.cut_off for n in report.nodes[1:]), report
    stuck = Rpc(first.url).block_number()
    wait(lambda: rpc.block_number() > stuck + 2, "the client reading the majority's chain", 20)
    say(f"{first.name} cut off: the client left it after {left:.1f} s for {rpc.url} "
        f"({lone.reason}); it reads #{rpc.block_number()} where {first.name} stands at "
        f"#{stuck}")  # fmt: skip

    net.heal(first.name)
    healed = time.monotonic()
    wait(lambda: rpc.url == first.url, "the client back on its first node", 30)
    report = rpc.health()
    assert not report.nodes[0].cut_off and report.nodes[0].peers
    say(f"{first.name} healed: the client was back on it {time.monotonic() - healed:.1f} s after "
        f"the nodes were in step again, at #{report.nodes[0].head}")  # fmt: skip
    rpc.close()


def _checked(rpc: Rpc) -> bool:
    return rpc._health is not None


def wait(test: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.1)
