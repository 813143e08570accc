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

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
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


class Pair:
    """Two clients as two processes, each on its own node. In each round both read the
    key's nonce before either sends (each waits for the other after reading it), so both
    sign the same nonce: each node then takes its own transaction, or, when the other's
    reached it first by gossip, refuses the second."""

    def __init__(self, config: Config, net: LocalNetwork) -> None:
        self.a, self.b = (on_node(config, url) for url in net.urls[:2])
        self._meet = threading.Barrier(2, timeout=30)
        self._armed: set[int] = set()
        for c in (self.a, self.b):
            read = c.tx._chain_nonce  # where a Transactor reads a nonce it does not know

            def met(address: str, block: str = "pending", c: Any = c, read: Any = read) -> int:
                nonce = int(read(address, block))
                if block == "pending" and id(c) in self._armed:
                    self._armed.discard(id(c))
                    self._meet.wait()
                return nonce

            c.tx._chain_nonce = met  # type: ignore[method-assign]

    def at_once(
        self, address: str, call_a: Callable[[], Any], call_b: Callable[[], Any]
    ) -> list[Any]:
        for c in (self.a, self.b):
            c.tx.forget_nonce(address)  # read afresh at the next send, where the two meet
        self._meet.reset()
        self._armed = {id(self.a), id(self.b)}
        return at_once(call_a, call_b)


def collisions(caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    """How often a nonce was taken by the other client: refused by the node at sending
    (its pool held the other's), or mined for the other (ours displaced while waiting)."""
    text = [r.getMessage() for r in caplog.records if r.name == "heitje_chain.tx"]
    return {
        "at sending": sum("was spent elsewhere" in t for t in text),
        "while waiting": sum("was used by another transaction" in t for t in text),
    }


def test_two_workers_pay_the_same_rewards_with_one_key_at_once(
    shared_clique: LocalNetwork, token: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Two reward workers on two nodes send batches with the job office's key at the same
    moment, overlapping (both picked the same pending rewards) and each with its own: every
    job is paid exactly once, and both report each job paid, with the transaction that paid
    it."""
    caplog.set_level(logging.INFO, logger="heitje_chain.tx")
    config, client, keys, _shop, resident = token
    office = keys["job-office"]
    pair = Pair(config, shared_clique)
    before = client.balance(resident.address)
    for r in range(ROUNDS):
        both = [RewardRow(f"both-{r}-{i}", resident.address, 1_00) for i in range(3)]
        rows_a = [*both, RewardRow(f"a-{r}", resident.address, 10_00)]
        rows_b = [*both, RewardRow(f"b-{r}", resident.address, 20_00)]
        got_a, got_b = pair.at_once(
            office.address,
            lambda rows=rows_a: pair.a.reward_jobs(office, rows),
            lambda rows=rows_b: pair.b.reward_jobs(office, rows),
        )
        for got in (got_a, got_b):
            assert isinstance(got, list), f"round {r}: {got!r}"
            for res in got:
                assert res.status in ("paid", "already_paid"), (r, res.job, res.reason)
                assert res.matches_earlier is not False, (r, res.job, res.reason)
                event = client.find_reward(job_id(str(res.job)))
                assert event is not None and res.tx_hash == event.tx_hash, (r, res)
    assert client.balance(resident.address) - before == ROUNDS * (3 * 1_00 + 10_00 + 20_00)
    seen = collisions(caplog)
    assert sum(seen.values()) >= ROUNDS, seen  # each round, one of the two lost its nonce


def _pay(c: HeitjeClient, resident: LocalSigner, shop: str, cents: int, receipt: str) -> TxResult:
    return c.pay(resident, shop, cents, receipt, timeout=60)


def test_one_resident_pays_through_two_nodes_at_once(
    shared_clique: LocalNetwork, token: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The same resident pays twice at the same moment, once through each node: both
    payments are made, each once, and each answer names the transaction that made it. At
    least once both nodes took their own transaction with the same nonce, and the loser's
    was signed again after the winner's block was final (else the test shows nothing)."""
    caplog.set_level(logging.INFO, logger="heitje_chain.tx")
    config, client, keys, shop, resident = token
    client.reward_job(keys["job-office"], "pay-funds", resident.address, 100_00)
    pair = Pair(config, shared_clique)
    paid_before = client.balance(shop.address)
    for r in range(ROUNDS):
        got = pair.at_once(
            resident.address,
            lambda r=r: _pay(pair.a, resident, shop.address, 1_00, f"a-{r}"),
            lambda r=r: _pay(pair.b, resident, shop.address, 2_00, f"b-{r}"),
        )
        for receipt, done in zip((f"a-{r}", f"b-{r}"), got, strict=True):
            assert isinstance(done, TxResult), f"{receipt}: {done!r}"
            assert done.event("Payment").args["receipt"] == reference32(receipt)
    events = client.find_events("Payment", resident.address, shop.address)
    receipts = sorted(e.args["receipt"] for e in events)
    made = sorted(reference32(f"{x}-{r}") for x in "ab" for r in range(ROUNDS))
    assert [x for x in receipts if x in made] == made  # each payment once on the chain
    assert client.balance(shop.address) - paid_before == ROUNDS * 3_00
    seen = collisions(caplog)
    assert seen["while waiting"] > 0, seen  # else no round showed the re-signing


def test_two_payments_the_balance_allows_only_one_of(
    shared_clique: LocalNetwork, token: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Both nodes take a payment of 60 % of the resident's balance at once: one is paid,
    the other is refused (the balance no longer allows it) and nothing of it is paid. Tried
    with fresh residents until both nodes took their own transaction (at most 3 times)."""
    caplog.set_level(logging.INFO, logger="heitje_chain.tx")
    config, client, keys, shop, _ = token
    pair = Pair(config, shared_clique)
    for attempt in range(3):
        resident = LocalSigner.create(f"short of money {attempt}")
        client.reward_job(keys["job-office"], f"short-{attempt}", resident.address, 10_00)
        caplog.clear()
        got = pair.at_once(
            resident.address,
            lambda who=resident, i=attempt: _pay(pair.a, who, shop.address, 6_00, f"sa-{i}"),
            lambda who=resident, i=attempt: _pay(pair.b, who, shop.address, 6_00, f"sb-{i}"),
        )
        names = sorted(type(x).__name__ for x in got)
        assert names == ["InsufficientBalance", "TxResult"], (attempt, got)
        assert client.balance(resident.address) == 4_00
        assert len(client.find_events("Payment", resident.address, shop.address)) == 1
        if collisions(caplog)["while waiting"]:
            break  # the loser's was mined for nobody, and signed again once final: refused
    else:
        pytest.fail("neither node took its own transaction in three tries")
