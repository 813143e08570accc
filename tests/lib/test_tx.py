"""Transactions: local nonces under concurrency and against another process using the key,
re-sending a dropped transaction, reverts at mining decoded, waiting for many, and RPC
failover."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from eth_account import Account

from heitje_chain.client import GAS_REWARD, HeitjeClient, RewardRow, job_id
from heitje_chain.errors import (
    ChainUnavailable,
    ErrorDecoder,
    HeitjeError,
    InsufficientBalance,
    JobAlreadyRewarded,
    NotMerchant,
    TransactionFailed,
)
from heitje_chain.rpc import Rpc, RpcError
from heitje_chain.tx import Fees, Receipt, Transactor

World = Any  # conftest.World


def second_client(world: World, **transactor_options: Any) -> HeitjeClient:
    """Another client of the same contract with its own Transactor (as another process)."""
    rpc = Rpc(world.rpc.url)
    tx = Transactor(rpc, world.client.chain_id, world.client.errors, **transactor_options)
    return HeitjeClient(rpc, world.client.address, transactor=tx)


def in_pool(rpc: Rpc, tx_hash: str) -> bool:
    found = rpc.call("eth_getTransactionByHash", [tx_hash])
    return found is not None and found.get("blockNumber") is None


def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ====================================================================== nonces


def test_concurrent_sends_from_one_key(heitje: World) -> None:
    """8 threads each send 25 payments from the same resident through one client."""
    c, resident = heitje.client, heitje.residents[0]
    heitje.fund(resident, 1000)
    assert heitje.nonce(resident) == 0
    sent: list[Any] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(thread: int) -> None:
        try:
            start.wait()
            shop = heitje.merchants[thread % 3].address
            for i in range(25):
                tx = c.submit_pay(resident, shop, thread + 1, f"T{thread}-{i}")
                with lock:
                    sent.append(tx)
                c.result(tx)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert sorted(tx.nonce for tx in sent) == list(range(200))
    assert len({tx.hash for tx in sent}) == 200
    assert all(tx.receipt is not None and tx.receipt.status == 1 for tx in sent)
    assert heitje.nonce(resident, "latest") == 200
    paid = 25 * sum(range(1, 9))  # 900
    assert c.balance(resident.address) == 1000 - paid
    by_shop = [sum(25 * (n + 1) for n in range(8) if n % 3 == m) for m in range(3)]
    assert [c.balance(m.address) for m in heitje.merchants] == by_shop
    assert c.total_supply() == 1000


def test_refused_send_leaves_no_nonce_gap(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0].address
    heitje.fund(resident, 100)
    first = c.submit_pay(resident, shop, 1, "R1")
    with pytest.raises(NotMerchant):  # refused by the estimate
        c.submit_pay(resident, heitje.residents[1].address, 1, "R2")
    # refused by the node (gas above the block's limit): nothing is sent, the nonce is kept
    with pytest.raises(TransactionFailed, match="refused the transaction"):
        c.submit(resident, "pay", shop, 1, b"R3".ljust(32, b"\0"), gas=31_000_000)
    second = c.submit_pay(resident, shop, 1, "R4")
    assert (first.nonce, second.nonce) == (0, 1)
    c.result(second)
    assert heitje.nonce(resident, "latest") == 2
    assert c.balance(shop) == 2


def test_key_used_by_another_process(heitje: World, caplog: pytest.LogCaptureFixture) -> None:
    """Another Transactor sends with the same key: this one's cached nonce is spent, the node
    says 'nonce too low', and the send re-reads the nonce and still goes through."""
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0].address
    other = second_client(heitje)
    heitje.fund(resident, 100)
    c.pay(resident, shop, 1, "mine-1")  # nonce 0; this client now expects 1
    other.pay(resident, shop, 2, "theirs")  # nonce 1, unknown to this client
    with caplog.at_level(logging.INFO, logger="heitje_chain.tx"):
        tx = c.submit_pay(resident, shop, 3, "mine-2")
    assert any("spent elsewhere" in r.getMessage() for r in caplog.records)
    assert tx.nonce == 2
    assert c.result(tx).event("Payment").args["amount"] == 3
    assert heitje.nonce(resident, "latest") == 3
    assert c.balance(shop) == 6
    # and the next one continues from there
    assert c.submit_pay(resident, shop, 1, "mine-3").nonce == 3


def test_forget_nonce_rereads(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0].address
    other = second_client(heitje)
    heitje.fund(resident, 100)
    c.pay(resident, shop, 1, "a")
    other.pay(resident, shop, 1, "b")
    c.tx.forget_nonce(resident.address)
    assert c.submit_pay(resident, shop, 1, "c").nonce == 2


# ====================================================================== dropped and stuck


def test_dropped_transaction_is_resent_as_the_same_bytes(heitje: World) -> None:
    resident, shop = heitje.residents[0], heitje.merchants[0].address
    heitje.fund(resident, 100)
    c = second_client(heitje, resend_after=0.2)
    rpc = heitje.rpc
    with heitje.manual_mining():
        tx = c.submit_pay(resident, shop, 40, "drop-me")
        assert in_pool(rpc, tx.hash)
        rpc.call("anvil_dropTransaction", [tx.hash])
        assert rpc.call("eth_getTransactionByHash", [tx.hash]) is None

        def miner() -> None:  # mine once the transaction is back in the pool
            until(lambda: in_pool(rpc, tx.hash))
            rpc.call("evm_mine")

        thread = threading.Thread(target=miner)
        thread.start()
        receipt = c.tx.wait(tx, timeout=15)
        thread.join()
    assert receipt.tx_hash == tx.hash
    assert tx.hashes == [tx.hash]  # the same signed bytes, not a new transaction
    assert receipt.status == 1
    assert heitje.nonce(resident, "latest") == 1
    assert c.balance(shop) == 40 and c.balance(resident.address) == 60


def test_resend_of_a_pooled_transaction_is_harmless(heitje: World) -> None:
    resident, shop = heitje.residents[0], heitje.merchants[0].address
    heitje.fund(resident, 100)
    c = second_client(heitje, resend_after=0.05)
    rpc = heitje.rpc
    with heitje.manual_mining():
        tx = c.submit_pay(resident, shop, 10, "slow")
        c.tx.wait_all([tx], timeout=0.4)  # re-sent several times meanwhile
        assert isinstance(tx.error, TransactionFailed)
        assert in_pool(rpc, tx.hash)
        rpc.call("evm_mine")
    assert heitje.nonce(resident, "latest") == 1
    assert c.balance(shop) == 10


def test_nonce_taken_by_another_transaction_is_reported(heitje: World) -> None:
    """Our transaction was dropped and another process used its nonce: waiting reports that
    ours was replaced (nothing of it happened); it is not re-sent on top."""
    resident, shop = heitje.residents[0], heitje.merchants[0].address
    heitje.fund(resident, 100)
    mine = second_client(heitje, resend_after=0.1)
    theirs = second_client(heitje)
    rpc = heitje.rpc
    with heitje.manual_mining():
        tx = mine.submit_pay(resident, shop, 30, "mine")
        rpc.call("anvil_dropTransaction", [tx.hash])
        other = theirs.submit_pay(resident, shop, 5, "theirs")
        assert other.nonce == tx.nonce
        rpc.call("evm_mine")
        with pytest.raises(TransactionFailed, match="replaced") as exc:
            mine.tx.wait(tx, timeout=10)
    assert exc.value.tx_hash == tx.hash
    assert mine.balance(shop) == 5
    assert heitje.nonce(resident, "latest") == 1


def _displaced_payment(heitje: World, theirs_cents: int) -> tuple[Any, Any, Any]:
    """Our payment of 30 is dropped and another process pays `theirs_cents` with its nonce
    (mined); ours is then waited for by a transactor that knows blocks are final at once.
    The resident holds 100 (funded before mining is made manual)."""
    resident, shop = heitje.residents[0], heitje.merchants[0].address
    mine = second_client(heitje, resend_after=0.1, final_depth=0)
    theirs = second_client(heitje)
    rpc = heitje.rpc
    tx = mine.submit_pay(resident, shop, 30, "mine")
    first = tx.hash
    rpc.call("anvil_dropTransaction", [tx.hash])
    other = theirs.submit_pay(resident, shop, theirs_cents, "theirs")
    assert other.nonce == tx.nonce
    rpc.call("evm_mine")

    def miner() -> None:  # mine the call signed again, once it is in the pool
        until(lambda: tx.hash != first and in_pool(rpc, tx.hash))
        rpc.call("evm_mine")

    thread = threading.Thread(target=miner, daemon=True)
    thread.start()
    return mine, tx, first


def test_nonce_taken_by_another_transaction_is_signed_again_once_final(heitje: World) -> None:
    """With `final_depth` set, a transaction whose nonce another one spent is signed again
    at a fresh nonce once that one is final (our first signature can then never be mined),
    and mined once."""
    shop = heitje.merchants[0].address
    heitje.fund(heitje.residents[0], 100)
    with heitje.manual_mining():
        mine, tx, first = _displaced_payment(heitje, 5)
        receipt = mine.tx.wait(tx, timeout=10)
    assert tx.displaced == [first] and receipt.tx_hash == tx.hash != first
    assert mine.balance(shop) == 35


def test_a_call_signed_again_is_refused_when_the_chain_no_longer_allows_it(
    heitje: World,
) -> None:
    """The other transaction took most of the balance: the call signed again is estimated
    first, refused, and nothing of it is sent."""
    shop = heitje.merchants[0].address
    heitje.fund(heitje.residents[0], 100)
    with heitje.manual_mining():
        mine, tx, first = _displaced_payment(heitje, 80)
        with pytest.raises(InsufficientBalance):
            mine.tx.wait(tx, timeout=10)
        assert tx.hash == first and not in_pool(heitje.rpc, first)
    assert mine.balance(shop) == 80


def test_wait_times_out(heitje: World) -> None:
    resident, shop = heitje.residents[0], heitje.merchants[0].address
    heitje.fund(resident, 100)
    c = heitje.client
    with heitje.manual_mining():
        tx = c.submit_pay(resident, shop, 10, "never mined")
        with pytest.raises(TransactionFailed, match="was not mined: nothing was mined") as exc:
            c.tx.wait(tx, timeout=0.2)
    assert exc.value.tx_hash == tx.hash
    assert isinstance(exc.value, RuntimeError)
    assert c.balance(shop) == 0


# ====================================================================== reverted when mined


def test_revert_at_mining_raises_the_decoded_error(heitje: World) -> None:
    c = heitje.client
    first, second = heitje.residents[0].address, heitje.residents[1].address
    jid = job_id("raced job")
    with heitje.manual_mining():
        tx1 = c.submit(heitje.job_office, "rewardJob", jid, first, 100)
        # estimated alone, this would pass too: give gas to skip the estimate
        tx2 = c.submit(heitje.partner, "rewardJob", jid, second, 200, gas=GAS_REWARD)
        heitje.mine()
        assert c.result(tx1).event("JobRewarded").args["resident"] == first
        with pytest.raises(JobAlreadyRewarded) as exc:
            c.result(tx2)
    assert exc.value.values == {"jobId": jid}
    assert exc.value.tx_hash == tx2.hash
    assert tx2.receipt is not None and tx2.receipt.status == 0
    assert tx1.receipt is not None and tx2.receipt.block_number == tx1.receipt.block_number
    assert c.balance(first) == 100 and c.balance(second) == 0
    assert c.mint_allowance(heitje.partner.address) == 100_000_00  # nothing minted by it
    assert heitje.nonce(heitje.partner, "latest") == 1  # the reverted tx used its nonce


def test_reward_jobs_batch_reverted_at_mining_is_sorted_out(
    heitje: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job of the batch is paid by someone else just before the batch (after its estimate):
    the batch reverts as a whole when mined, and its jobs are then settled one by one (that
    one already paid, the others paid)."""
    c, rpc = heitje.client, heitje.rpc
    r = [s.address for s in heitje.residents]
    rows = [RewardRow("x", r[1], 100), RewardRow("y", r[2], 200), RewardRow("z", r[3], 300)]
    results: list[Any] = []
    raced: list[Any] = []
    estimate = c.tx.estimate

    def estimate_then_race(*args: Any) -> int:
        gas = estimate(*args)
        if not raced:  # the other office's reward arrives between estimate and send
            raced.append(
                c.submit(heitje.partner, "rewardJob", job_id("x"), r[0], 100, gas=GAS_REWARD)
            )
        return int(gas)

    monkeypatch.setattr(c.tx, "estimate", estimate_then_race)
    with heitje.manual_mining():
        office_nonce = heitje.nonce(heitje.job_office)
        thread = threading.Thread(
            target=lambda: results.extend(c.reward_jobs(heitje.job_office, rows))
        )
        thread.start()
        until(lambda: heitje.nonce(heitje.job_office) == office_nonce + 1)
        rpc.call("evm_setAutomine", [True])  # the one-by-one retries are mined at once
        heitje.mine()
        thread.join(timeout=30)
    race = rpc.call("eth_getTransactionReceipt", [raced[0].hash])
    assert race["status"] == "0x1"
    # the office's batch (its nonce `office_nonce`) was mined right after it, and reverted
    block = int(race["blockNumber"], 16)
    mined = [
        rpc.call("eth_getBlockByNumber", [hex(n), True])["transactions"] for n in (block, block + 1)
    ]
    batch = next(
        t
        for t in mined[0] + mined[1]
        if t["from"].lower() == heitje.job_office.address.lower()
        and int(t["nonce"], 16) == office_nonce
    )
    receipt = rpc.call("eth_getTransactionReceipt", [batch["hash"]])
    assert receipt["status"] == "0x0"
    assert [x.status for x in results] == ["already_paid", "paid", "paid"]
    assert results[0].paid_to == r[0] and results[0].matches_earlier is False
    assert results[1].tx_hash != batch["hash"]
    assert c.balance(r[1]) == 0 and c.balance(r[2]) == 200 and c.balance(r[3]) == 300
    assert c.total_supply() == 600


# ====================================================================== waiting for many


def test_wait_all_many(heitje: World) -> None:
    c = heitje.client
    residents = [s.address for s in heitje.residents]
    ticks: list[int] = []
    with heitje.manual_mining():
        txs = [
            c.submit(heitje.job_office, "rewardJob", job_id(f"job-{i}"), residents[i % 4], 10)
            for i in range(40)
        ]
        dup = c.submit(
            heitje.job_office, "rewardJob", job_id("job-0"), residents[1], 10, gas=GAS_REWARD
        )
        assert not any(tx.done for tx in txs)
        heitje.mine()
        c.tx.wait_all([*txs, dup], progress=ticks.append)
    assert sum(ticks) == 41
    assert all(tx.receipt is not None and tx.receipt.status == 1 for tx in txs)
    assert all(tx.error is None for tx in txs)
    assert [tx.nonce for tx in txs] == list(range(txs[0].nonce, txs[0].nonce + 40))
    assert len({tx.receipt.block_number for tx in txs if tx.receipt}) == 1
    assert isinstance(dup.error, JobAlreadyRewarded)
    assert c.total_supply() == 400
    assert [c.balance(a) for a in residents] == [100, 100, 100, 100]
    events = [c._result(tx.receipt).event("JobRewarded") for tx in txs if tx.receipt]
    assert [e.args["jobId"] for e in events] == [job_id(f"job-{i}") for i in range(40)]
    c.tx.wait_all(txs)  # already settled: returns at once


def test_wait_all_nothing() -> None:
    tx = Transactor(Rpc("http://127.0.0.1:9"), 1, None)  # type: ignore[arg-type]
    tx.wait_all([])


# ====================================================================== RPC


def test_failover_to_the_second_endpoint(anvil: Any, dead_url: str) -> None:
    rpc = Rpc([dead_url, anvil.url], timeout=2)
    assert rpc.chain_id() == 31337
    assert rpc.url == anvil.url
    assert rpc.block_number() >= 0
    answers = rpc.batch([("eth_chainId", []), ("no_such_method", [])])
    assert answers[0] == "0x7a69"
    assert isinstance(answers[1], RpcError)


def test_client_works_through_failover(heitje: World, dead_url: str) -> None:
    rpc = Rpc([dead_url, heitje.rpc.url], timeout=2)
    c = HeitjeClient(rpc, heitje.client.address)
    resident, shop = heitje.residents[0], heitje.merchants[0].address
    heitje.fund(resident, 100)
    c.pay(resident, shop, 25, "via failover")
    assert c.balance(shop) == 25


def test_chain_unavailable_when_all_endpoints_are_dead(dead_url: str) -> None:
    other_dead = dead_url.rsplit(":", 1)[0] + ":9"
    rpc = Rpc([dead_url, other_dead], timeout=1)
    with pytest.raises(ChainUnavailable) as exc:
        rpc.chain_id()
    assert isinstance(exc.value, ConnectionError) and isinstance(exc.value, HeitjeError)
    assert dead_url in str(exc.value) and other_dead in str(exc.value)
    with pytest.raises(ChainUnavailable):
        rpc.batch([("eth_chainId", [])])


def test_rpc_needs_an_url() -> None:
    with pytest.raises(ValueError):
        Rpc([])


def test_rpc_error_keeps_the_revert_data(heitje: World) -> None:
    c = heitje.client
    data = c.encode("redemption", 5)
    with pytest.raises(RpcError) as exc:
        heitje.rpc.call("eth_call", [{"to": c.address, "data": data}, "latest"])
    assert exc.value.is_revert
    assert exc.value.data is not None and exc.value.data.startswith("0x")
    assert c.errors.decode(exc.value.data).values == {"id": 5}
    with pytest.raises(RpcError) as exc2:
        heitje.rpc.call("no_such_method")
    assert not exc2.value.is_revert


def test_fees_on_a_free_chain(heitje: World) -> None:
    assert heitje.client.tx.fees() == Fees("free")
    assert Fees("free").fields() == {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    assert Fees("legacy", gas_price=7).fields() == {"gasPrice": 7}
    assert Fees("eip1559", max_fee=9, priority_fee=2).fields() == {
        "maxFeePerGas": 9,
        "maxPriorityFeePerGas": 2,
    }


def test_receipt_from_rpc() -> None:
    raw = {
        "transactionHash": "0xab",
        "blockNumber": "0x10",
        "blockHash": "0xcd",
        "gasUsed": "0x5208",
        "status": "0x0",
        "logs": [{"x": 1}],
    }
    assert Receipt.from_rpc(raw) == Receipt("0xab", 16, "0xcd", 21000, 0, [{"x": 1}])


def test_job_paid_only_by_a_pending_transaction_is_not_already_paid(heitje: World) -> None:
    c, rpc, resident = heitje.client, heitje.rpc, heitje.residents[0].address
    with heitje.manual_mining():
        pending = c.submit(heitje.partner, "rewardJob", job_id("x"), resident, 100)
        result = c.reward_job(heitje.job_office, "x", resident, 100)
        rpc.call("anvil_dropTransaction", [pending.hash])
        heitje.mine()
    assert not (result.status == "already_paid" and not c.is_rewarded(job_id("x")))


def test_a_long_pipeline_is_all_mined_and_paid_once(heitje: World) -> None:
    """1,200 rewards signed and sent without waiting (more than the in-flight window, in
    bursts that anvil's automine can leave half-mined): every one is mined, once."""
    from heitje_chain.client import GAS_REWARD, job_id

    c, residents = heitje.client, [r.address for r in heitje.residents]
    supply = c.total_supply()
    calls = [(job_id(f"pipe-{i}"), residents[i % len(residents)], 1) for i in range(1200)]
    txs = c.submit_many(heitje.job_office, "rewardJob", calls, gas=GAS_REWARD)
    assert [tx.nonce for tx in txs] == list(range(txs[0].nonce, txs[0].nonce + 1200))
    c.tx.wait_all(txs, timeout=30)
    assert all(tx.error is None and tx.receipt and tx.receipt.status == 1 for tx in txs)
    assert c.total_supply() - supply == 1200
    assert all(c.rewarded_many([job_id(f"pipe-{i}") for i in range(0, 1200, 37)]))


def test_in_flight_asks_every_node(start_chain: Any, dead_url: str) -> None:
    """A sender's transaction that another node has mined and the current one has not (a
    cut-off validator's own fork, which brings it back when it rejoins) may still be mined
    here: the settle sweep must not call it failed. A node that does not answer is skipped."""
    here, elsewhere = start_chain(), start_chain()
    sender = Account.create()
    raw = Account.sign_transaction(
        {
            "to": sender.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": 0,
            "nonce": 0,
            "chainId": 31337,
        },
        sender.key,
    ).raw_transaction
    sent = Rpc(elsewhere.url).call("eth_sendRawTransaction", ["0x" + raw.hex()])
    until(lambda: Rpc(elsewhere.url).call("eth_getTransactionReceipt", [sent]) is not None)

    def transactor(*urls: str) -> Transactor:
        return Transactor(Rpc(list(urls), timeout=2), 31337, ErrorDecoder([]))

    assert not transactor(here.url).in_flight(sender.address)
    assert transactor(here.url, elsewhere.url).in_flight(sender.address)
    assert not transactor(here.url, dead_url).in_flight(sender.address)
    assert transactor(dead_url).in_flight(sender.address)  # no node answers: it may
