"""The library on a production-like chain, through a JSON-RPC proxy in front of anvil that
behaves like the nodes of a Besu network: a 5,000-block `eth_getLogs` limit with Besu's own
error, `eth_estimateGas` switched off, a node that goes away in the middle of a run (with
several RPC URLs configured), a node that dies after taking a transaction but before
answering; and 'latest' read as final only where the chain has instant finality."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support.proxy import Proxy

from heitje_chain.cli import main
from heitje_chain.client import RewardRow, job_id
from heitje_chain.config import Config, write_deployment
from heitje_chain.connect import connect
from heitje_chain.deploy import deploy
from heitje_chain.errors import ChainUnavailable, NotMerchant, TransactionFailed
from heitje_chain.keys import LocalSigner
from heitje_chain.ledger import LedgerReader
from heitje_chain.network import allow_on_nodes
from heitje_chain.rpc import Rpc

World = Any  # conftest.World


def config_for(heitje: World, urls: tuple[str, ...], **changes: Any) -> Config:
    base = Config(
        home=Path("/nonexistent"),
        rpc_urls=urls,
        chain_id=heitje.deployment.chain_id,
        contract=heitje.deployment.address,
        deployment_block=heitje.deployment.block,
    )
    return replace(base, **changes)


# ====================================================================== eth_getLogs


def test_logs_are_read_in_ranges_within_besus_5000_block_limit(
    start_chain: Callable[..., Any], proxy: Callable[..., Proxy]
) -> None:
    # An anvil of its own (mining thousands of blocks slows an anvil that keeps history).
    chain = start_chain("--prune-history")
    rpc = Rpc(chain.url, timeout=30)
    admin, office, resident, shop = (LocalSigner.create() for _ in range(4))
    c, deployment = deploy(rpc, admin, admin_delay=0)
    c.grant_role(admin, "minter", office.address)
    c.grant_role(admin, "merchant-manager", admin.address)
    c.set_mint_allowance(admin, office.address, 100_00)
    c.add_merchant(admin, shop.address)
    c.reward_job(office, "before", resident.address, 10_00)
    rpc.call("anvil_mine", [hex(7_000)])
    c.pay(resident, shop.address, 4_00, "after 7,000 quiet blocks")
    rpc.call("anvil_mine", [hex(6_000)])
    c.reward_job(office, "after", resident.address, 3_00)
    direct = list(c.ledger(max_range=10**9).events())
    assert rpc.block_number() - deployment.block > 13_000

    besu = proxy(upstream=chain.url, max_log_range=5000)
    config = Config(
        home=Path("/nonexistent"),
        rpc_urls=(besu.url,),
        contract=deployment.address,
        deployment_block=deployment.block,
    )
    client = connect(config)
    assert list(client.ledger(max_range=config.log_range).events()) == direct
    assert max(besu.log_spans) == 5000 and len(besu.log_spans) == 3  # no refusal needed
    totals = client.ledger().totals_at()  # the client's range comes from the config
    assert totals.supply == c.total_supply() == 13_00 and totals.rewards == 13_00
    # A job's reward is found by its id although the chain is longer than one query may ask
    # for (searched from the head back), so paying it again is reported as already paid.
    refused = besu.calls.count("eth_getLogs") - len(besu.log_spans)
    found = client.find_reward(job_id("before"))
    assert found is not None and found.args["amount"] == 10_00
    assert besu.calls.count("eth_getLogs") - len(besu.log_spans) == refused + 1
    again = client.reward_job(office, "before", resident.address, 10_00)
    assert again.status == "already_paid" and again.matches_earlier is True
    assert client.find_reward(job_id("never paid")) is None

    # A node with a smaller limit than configured: refused once, then read in smaller ranges.
    small = proxy(upstream=chain.url, max_log_range=1000)
    reader = LedgerReader(
        Rpc(small.url), c.address, c.events, from_block=deployment.block, max_range=5000
    )
    assert list(reader.events()) == direct
    assert max(small.log_spans) <= 1000
    assert small.calls.count("eth_getLogs") > len(small.log_spans)  # the refusals


# ====================================================================== no gas estimates


def test_explicit_gas_where_the_node_cannot_estimate(
    heitje: World, proxy: Callable[..., Proxy]
) -> None:
    node = proxy()
    node.disabled.add("eth_estimateGas")
    resident, shop = heitje.residents[1], heitje.merchants[1]
    client = connect(config_for(heitje, (node.url,), gas_limit=2_000_000))
    paid = client.reward_job(heitje.job_office, heitje.new_job(), resident.address, 20_00)
    sent = heitje.rpc.call("eth_getTransactionByHash", [paid.tx_hash])
    assert int(sent["gas"], 16) == 2_000_000 and paid.status == "paid"
    client.pay(resident, shop.address, 5_00, "fixed gas")
    assert client.balance(shop.address) == 5_00
    results = client.reward_jobs(
        heitje.job_office, [RewardRow(heitje.new_job(), resident.address, 1_00) for _ in range(3)]
    )
    assert [r.status for r in results] == ["paid"] * 3
    # A refusal is still found before sending (by a call), with its typed error.
    with heitje.unchanged(), pytest.raises(NotMerchant):
        client.pay(resident, heitje.outsider.address, 1_00, "not a shop")
    assert "eth_estimateGas" in node.calls and "eth_call" in node.calls
    # Without the setting, the missing estimate is a plain-words error; nothing is sent.
    bare = connect(config_for(heitje, (node.url,)))
    with heitje.unchanged(), pytest.raises(TransactionFailed, match=r"\[chain\] gas_limit"):
        bare.pay(resident, shop.address, 1_00, "no gas")


def test_an_account_off_the_allowlist_is_told_so(
    heitje: World, proxy: Callable[..., Proxy]
) -> None:
    node = proxy()
    node.allowed_senders = {heitje.job_office.address}
    client = connect(config_for(heitje, (node.url,)))
    resident, shop = heitje.residents[0], heitje.merchants[0]
    client.reward_job(heitje.job_office, heitje.new_job(), resident.address, 5_00)
    with heitje.unchanged(), pytest.raises(TransactionFailed) as refused:
        client.pay(resident, shop.address, 1_00, "not allowed to send")
    assert "not authorized" in str(refused.value)
    assert f"{resident.address} is not on the network's accounts allowlist" in str(refused.value)
    sent = client.submit_many(resident, "pay", [[shop.address, 1_00, b"r".ljust(32, b"\0")]],
                              gas=200_000)  # fmt: skip
    assert isinstance(sent[0].error, TransactionFailed)
    assert "heitje network allow-account" in str(sent[0].error)


def test_the_service_lists_each_new_wallet_on_every_node(
    heitje: World, proxy: Callable[..., Proxy], tmp_path: Path
) -> None:
    """With `account_allowlist`, a custodial wallet the service creates is listed on every
    node before it is stored, so the resident can pay; a node that does not take it stops the
    registration, and nothing is stored."""
    from api.chain import ChainAccess
    from api.settings import load_settings

    a, b = proxy(), proxy()
    a.allowed_senders, b.allowed_senders = {heitje.job_office.address}, set()
    env = {"HEITJE_HOME": str(tmp_path), "HEITJE_RPC_URL": f"{a.url},{b.url}",
           "HEITJE_CONTRACT": heitje.client.address, "HEITJE_ACCOUNT_ALLOWLIST": "yes",
           "HEITJE_API_WALLET_KDF_ITERATIONS": "1000"}  # fmt: skip
    access = ChainAccess(load_settings(environ=env))
    address = access.new_wallet()
    assert address in a.allowed_senders and address in b.allowed_senders
    client = connect(config_for(heitje, (a.url, b.url)))
    client.reward_job(heitje.job_office, heitje.new_job(), address, 5_00)
    client.pay(access.wallet(address), heitje.merchants[0].address, 1_00, "allowed now")
    allow_on_nodes([a.url, b.url], [address])  # listed already: fine

    b.stop()
    stored = set(access.wallets.names())
    with pytest.raises(ChainUnavailable, match=b.url):
        access.new_wallet()
    assert set(access.wallets.names()) == stored
    c = proxy()  # a node without account permissioning: its refusal is named
    with pytest.raises(ChainUnavailable, match="has not been enabled"):
        allow_on_nodes([c.url], [LocalSigner.create().address])


# ====================================================================== failover


def test_rewards_and_payments_go_on_when_a_node_goes_down(
    heitje: World, proxy: Callable[..., Proxy]
) -> None:
    first, second = proxy(), proxy()
    client = connect(config_for(heitje, (first.url, second.url)))
    assert client.rpc.url == first.url
    residents, shops = heitje.residents, heitje.merchants
    paid = 0
    for step in range(24):
        if step == 9:
            first.stop()  # one node of the network stops in the middle of the run
        resident = residents[step % len(residents)]
        client.reward_job(heitje.job_office, f"failover-{step}", resident.address, 3_00)
        client.pay(resident, shops[step % len(shops)].address, 1_00, f"R-{step}")
        paid += 1_00
    rows = [RewardRow(f"failover-batch-{i}", residents[0].address, 50) for i in range(10)]
    assert [r.status for r in client.reward_jobs(heitje.job_office, rows)] == ["paid"] * 10
    assert client.rpc.url == second.url
    assert "eth_sendRawTransaction" in first.calls and "eth_sendRawTransaction" in second.calls
    # Everything happened exactly once: the ledger adds up.
    ledger = heitje.client.ledger()
    events = list(ledger.events(names=["JobRewarded", "Payment"]))
    rewards = [e for e in events if e.name == "JobRewarded"]
    assert len(rewards) == 24 + 10 and len(events) == 24 + 10 + 24
    assert sum(client.balance(s.address) for s in shops) == paid
    assert ledger.totals_at().supply == client.total_supply() == 24 * 3_00 + 10 * 50


def test_a_node_that_dies_after_taking_a_payment_does_not_make_it_twice(
    heitje: World, proxy: Callable[..., Proxy]
) -> None:
    """The first node takes the transaction and goes silent before answering; the client asks
    the next node, where the transaction is already mined. It is the same payment: it must not
    be signed again with a new nonce and paid twice."""
    first, second = proxy(), proxy()
    # The node checks off: the first node answers again right away, and a check would go back
    # to it (tested in test_rpc_health.py); here the failover alone, in both directions.
    client = connect(config_for(heitje, (first.url, second.url), health_interval=0))
    resident, shop = heitje.residents[2], heitje.merchants[2]
    heitje.fund(resident, 10_00)
    before = client.balance(shop.address)
    first.swallow_next_send = True
    done = client.pay(resident, shop.address, 4_00, "once")
    assert client.balance(shop.address) - before == 4_00
    assert client.balance(resident.address) == 6_00
    assert done.event("Payment").args["amount"] == 4_00
    assert client.rpc.url == second.url
    second.swallow_next_send = True  # the same through a pipelined batch, back to the first
    rows = [RewardRow(heitje.new_job(), resident.address, 1_00) for _ in range(4)]
    sent = client.submit_many(
        heitje.job_office,
        "rewardJob",
        [[r.job_id, r.resident, r.cents] for r in rows],
        gas=200_000,
    )
    client.tx.wait_all(sent)
    assert all(tx.error is None for tx in sent)
    assert client.balance(resident.address) == 10_00
    assert heitje.nonce(heitje.job_office) == heitje.nonce(heitje.job_office, "latest")


# ====================================================================== finality


def run(*argv: str) -> Any:
    out = io.StringIO()
    assert main(["--json", *argv], out=out) == 0, out.getvalue()
    return json.loads(out.getvalue())


def test_latest_is_final_only_with_instant_finality(
    heitje: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEITJE_HOME", str(tmp_path))
    monkeypatch.setenv("HEITJE_RPC_URL", heitje.rpc.url)
    for var in ("HEITJE_CONFIG", "HEITJE_CONTRACT", "HEITJE_CHAIN_ID", "HEITJE_DEPLOYMENT"):
        monkeypatch.delenv(var, raising=False)
    write_deployment(tmp_path / "deployment.json", heitje.deployment)
    heitje.fund(heitje.residents[3], 2_00)

    def rewarded() -> int:
        return len(run("ledger", "--event", "JobRewarded"))

    assert rewarded() == 1  # instant finality (QBFT, the default): the head is final
    (tmp_path / "heitje.toml").write_text("[chain]\ninstant_finality = false\nconfirmations = 3\n")
    assert rewarded() == 0  # a chain that can reorganise: 3 blocks must follow
    for _ in range(2):
        heitje.mine()
    assert rewarded() == 0
    heitje.mine()
    assert rewarded() == 1
    # The library's own readers (the service's) follow the same settings through connect.
    instant = connect(config_for(heitje, (heitje.rpc.url,)))
    assert instant.ledger().head() == heitje.block()
    slow = connect(config_for(heitje, (heitje.rpc.url,), instant_finality=False, log_range=7))
    assert slow.ledger().head() == heitje.block() - 12 and slow.ledger().max_range == 7
