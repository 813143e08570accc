"""One key signed by two processes on two nodes of a real network at the same moment.

Two clients, each with its own Transactor (as two API processes) on its own geth Clique
validator, send with the same key at once: both take the same nonce, each node accepts its
own transaction, and when the pools gossip one of the two is dropped; the chain mines the
other. The loser's transaction can then never be mined (its nonce is spent). These tests
show that the loser still does what it was asked, once: a reward batch is re-signed at a
fresh nonce (its job ids keep each job paid once), a payment is re-signed once the other
transaction's block is final (so the dropped one cannot come back), and a payment the
balance no longer allows is refused, with nothing paid."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from heitje_chain.client import HeitjeClient, RewardRow, TxResult, job_id, reference32
from heitje_chain.config import Config, load_config
from heitje_chain.connect import connect, connect_rpc
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.keys import LocalSigner
from heitje_chain.localnet import LocalNetwork

ROUNDS = 3


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each one's result or exception."""
    start = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        start.wait()
        try:
            out[i] = call()
        except Exception as exc:  # the test looks at what each one got
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return out


@pytest.fixture(scope="module")
def token(shared_clique: LocalNetwork, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A fresh token on the network: its roles, a shop, a resident, and the configuration."""
    net = shared_clique
    home = tmp_path_factory.mktemp("shared-keys")
    keys = {k: LocalSigner.create(k) for k in ("admin", "job-office", "merchant-manager")}
    shop, resident = LocalSigner.create("shop"), LocalSigner.create("resident")
    config = load_config(home=home, config_file=net.config_file, environ={})
    _, record = deploy(connect_rpc(config), keys["admin"], name="Heitje gedeelde sleutels")
    net.wait_height(record.block)
    config = config.with_deployment(record)
    client = connect(config)
    grant_roles(client, keys["admin"], {k: s.address for k, s in keys.items()})
    client.set_mint_allowance(keys["admin"], keys["job-office"].address, 1_000_000_00)
    client.add_merchant(keys["merchant-manager"], shop.address)
    return config, client, keys, shop, resident


def on_node(config: Config, url: str) -> HeitjeClient:
    """A client of its own (own Transactor, own nonces) that talks to one node only."""
    return connect(replace(config, rpc_urls=(url,)))


def test_two_workers_pay_the_same_rewards_with_one_key_at_once(
    shared_clique: LocalNetwork, token: Any
) -> None:
    """Two reward workers on two nodes send batches with the job office's key at the same
    moment, overlapping (both picked the same pending rewards) and each with its own: every
    job is paid exactly once, and both report each job paid, with the transaction that paid
    it."""
    config, client, keys, _shop, resident = token
    office = keys["job-office"]
    a, b = (on_node(config, url) for url in shared_clique.urls[:2])
    before = client.balance(resident.address)
    for r in range(ROUNDS):
        both = [RewardRow(f"both-{r}-{i}", resident.address, 1_00) for i in range(3)]
        rows_a = [*both, RewardRow(f"a-{r}", resident.address, 10_00)]
        rows_b = [*both, RewardRow(f"b-{r}", resident.address, 20_00)]
        got_a, got_b = at_once(
            lambda rows=rows_a: a.reward_jobs(office, rows),
            lambda rows=rows_b: b.reward_jobs(office, rows),
        )
        for got in (got_a, got_b):
            assert isinstance(got, list), f"round {r}: {got!r}"
            for res in got:
                assert res.status in ("paid", "already_paid"), (r, res.job, res.reason)
                assert res.matches_earlier is not False, (r, res.job, res.reason)
                event = client.find_reward(job_id(str(res.job)))
                assert event is not None and res.tx_hash == event.tx_hash, (r, res)
    assert client.balance(resident.address) - before == ROUNDS * (3 * 1_00 + 10_00 + 20_00)


def _pay(c: HeitjeClient, resident: LocalSigner, shop: str, cents: int, receipt: str,
         nonces: dict[str, int]) -> TxResult:  # fmt: skip
    tx = c.submit_pay(resident, shop, cents, receipt)
    nonces[receipt] = tx.nonce  # the nonce it was first signed with
    return c.result(tx, timeout=60)


def test_one_resident_pays_through_two_nodes_at_once(
    shared_clique: LocalNetwork, token: Any
) -> None:
    """The same resident pays twice at the same moment, once through each node: both
    payments are made, each once, and each answer names the transaction that made it. The
    two were signed with the same nonce at least once (else the test shows nothing)."""
    config, client, keys, shop, resident = token
    client.reward_job(keys["job-office"], "pay-funds", resident.address, 100_00)
    a, b = (on_node(config, url) for url in shared_clique.urls[:2])
    paid_before = client.balance(shop.address)
    nonces: dict[str, int] = {}
    for r in range(ROUNDS):
        got = at_once(
            lambda r=r: _pay(a, resident, shop.address, 1_00, f"a-{r}", nonces),
            lambda r=r: _pay(b, resident, shop.address, 2_00, f"b-{r}", nonces),
        )
        for receipt, done in zip((f"a-{r}", f"b-{r}"), got, strict=True):
            assert isinstance(done, TxResult), f"{receipt}: {done!r}"
            assert done.event("Payment").args["receipt"] == reference32(receipt)
    assert any(nonces[f"a-{r}"] == nonces[f"b-{r}"] for r in range(ROUNDS)), nonces
    events = client.find_events("Payment", resident.address, shop.address)
    receipts = sorted(e.args["receipt"] for e in events)
    made = sorted(reference32(f"{x}-{r}") for x in "ab" for r in range(ROUNDS))
    assert [x for x in receipts if x in made] == made  # each payment once on the chain
    assert client.balance(shop.address) - paid_before == ROUNDS * 3_00


def test_two_payments_the_balance_allows_only_one_of(
    shared_clique: LocalNetwork, token: Any
) -> None:
    """Both nodes take a payment of 60 % of the resident's balance at once: one is paid,
    the other is refused (the balance no longer allows it) and nothing of it is paid. Tried
    with fresh residents until the two were signed with the same nonce (at most 3 times)."""
    config, client, keys, shop, _ = token
    a, b = (on_node(config, url) for url in shared_clique.urls[:2])
    for attempt in range(3):
        resident = LocalSigner.create(f"short of money {attempt}")
        client.reward_job(keys["job-office"], f"short-{attempt}", resident.address, 10_00)
        nonces: dict[str, int] = {}
        got = at_once(
            lambda: _pay(a, resident, shop.address, 6_00, f"short-a-{attempt}", nonces),
            lambda: _pay(b, resident, shop.address, 6_00, f"short-b-{attempt}", nonces),
        )
        names = sorted(type(x).__name__ for x in got)
        assert names == ["InsufficientBalance", "TxResult"], (attempt, nonces, got)
        assert client.balance(resident.address) == 4_00
        assert len(client.find_events("Payment", resident.address, shop.address)) == 1
        if len(set(nonces.values())) == 1:
            break
    else:
        pytest.fail(f"the two payments never took the same nonce: {nonces}")
