"""The ledger reader: every event since the deployment, in order, through a node that limits
how much it gives at once; balances and supply at past blocks from the events alone."""

from __future__ import annotations

from typing import Any

import pytest

from heitje_chain.client import text_of
from heitje_chain.errors import InvalidInput
from heitje_chain.ledger import LedgerError, LedgerReader, receipt_in_calldata
from heitje_chain.rpc import Rpc, RpcError

World = Any  # conftest.World (conftest modules are not importable by name)


class LimitedNode(Rpc):
    """An endpoint that refuses `eth_getLogs` over more than `max_blocks` blocks or with more
    than `max_logs` results, the way Besu, geth and hosted nodes do."""

    def __init__(self, url: str, max_blocks: int, max_logs: int = 10**9) -> None:
        super().__init__(url)
        self.max_blocks, self.max_logs = max_blocks, max_logs
        self.refused = 0
        self.ranges: list[int] = []

    def call(self, method: str, params: Any = ()) -> Any:
        if method == "eth_getLogs":
            query = params[0]
            span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            if span > self.max_blocks:
                self.refused += 1
                raise RpcError(method, -32005, f"block range exceeds {self.max_blocks}", None)
            found = super().call(method, params)
            if len(found) > self.max_logs:
                self.refused += 1
                raise RpcError(method, -32005, "query returned more than 10000 results", None)
            self.ranges.append(span)
            return found
        return super().call(method, params)


def busy_ledger(heitje: World, rewards: int = 12) -> list[int]:
    """Rewards, payments, a refund and a redemption, one transaction per block; returns the
    block after each step."""
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    blocks = []
    for _ in range(rewards):
        c.reward_job(heitje.job_office, heitje.new_job(), resident.address, 10_00)
        blocks.append(heitje.block())
    c.pay(resident, shop.address, 25_00, "R-1")
    blocks.append(heitje.block())
    c.refund(shop, resident.address, 5_00, "R-1 back")
    blocks.append(heitje.block())
    c.redeem(shop, 15_00)
    blocks.append(heitje.block())
    return blocks


def reader(heitje: World, rpc: Rpc, max_range: int = 5000) -> LedgerReader:
    c = heitje.client
    return LedgerReader(
        rpc, c.address, c.events, from_block=heitje.deployment.block, max_range=max_range
    )


def test_all_events_in_chain_order(heitje: World) -> None:
    busy_ledger(heitje, rewards=3)
    events = list(heitje.client.ledger().events())
    keys = [(e.block_number, e.log_index) for e in events]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    names = [e.name for e in events]
    assert names.count("JobRewarded") == 3
    assert {"Payment", "Refund", "RedemptionRequested", "RoleGranted", "MerchantAdded"} <= set(
        names
    )
    assert events[0].block_number >= heitje.deployment.block
    only = list(heitje.client.ledger().events(names=["Payment", "Refund"]))
    assert [e.name for e in only] == ["Payment", "Refund"]
    assert only[0].args["amount"] == 25_00


def test_range_shrinks_when_the_node_refuses_and_grows_back(heitje: World) -> None:
    busy_ledger(heitje)
    full = list(heitje.client.ledger().events())
    node = LimitedNode(heitje.rpc.url, max_blocks=4)
    limited = reader(heitje, node, max_range=64)
    assert list(limited.events()) == full  # the same events, in the same order
    assert node.refused >= 1
    assert max(node.ranges) <= 4
    # After the refusal the range is halved, then doubled again while answers stay small,
    # until the node refuses once more: it never falls to one block at a time.
    assert min(node.ranges) >= 2
    assert limited.requests < 3 * (heitje.block() - heitje.deployment.block) // 4 + 10


def test_a_node_that_limits_results_is_read_in_smaller_ranges(heitje: World) -> None:
    busy_ledger(heitje)
    full = list(heitje.client.ledger().events())
    node = LimitedNode(heitje.rpc.url, max_blocks=10**6, max_logs=6)
    assert list(reader(heitje, node).events()) == full
    assert node.refused >= 1


def test_a_block_the_node_will_not_give_is_a_clear_error(heitje: World) -> None:
    busy_ledger(heitje, rewards=3)
    node = LimitedNode(heitje.rpc.url, max_blocks=10**6, max_logs=0)
    with pytest.raises(LedgerError, match="refuses the logs of block"):
        list(reader(heitje, node).events())


def test_other_node_errors_are_not_retried(heitje: World) -> None:
    class Broken(Rpc):
        def call(self, method: str, params: Any = ()) -> Any:
            if method == "eth_getLogs":
                raise RpcError(method, -32601, "method not found", None)
            return super().call(method, params)

    with pytest.raises(RpcError, match="method not found"):
        list(reader(heitje, Broken(heitje.rpc.url)).events())
    with pytest.raises(InvalidInput):
        reader(heitje, heitje.rpc, max_range=0)


def test_balances_and_totals_at_past_blocks(heitje: World) -> None:
    c = heitje.client
    blocks = busy_ledger(heitje, rewards=4)
    ledger = c.ledger()
    resident, shop = heitje.residents[0].address, heitje.merchants[0].address
    after_rewards, after_pay, after_refund, after_redeem = blocks[3], *blocks[4:]
    assert ledger.balances_at(after_rewards)[resident] == 40_00
    assert shop not in ledger.balances_at(after_rewards)
    at_pay = ledger.balances_at(after_pay)
    assert (at_pay[resident], at_pay[shop]) == (15_00, 25_00)
    at_refund = ledger.balances_at(after_refund)
    assert (at_refund[resident], at_refund[shop]) == (20_00, 20_00)
    now = ledger.balances_at()
    assert now[resident] == c.balance(resident) and now[shop] == c.balance(shop) == 5_00
    totals = ledger.totals_at(after_redeem)
    assert (totals.rewards, totals.redemptions, totals.supply) == (40_00, 15_00, 25_00)
    assert totals.supply == c.total_supply() == sum(now.values())
    assert totals.holders == 2
    earlier = ledger.totals_at(after_rewards)
    assert (earlier.supply, earlier.rewards, earlier.redemptions) == (40_00, 40_00, 0)


def test_events_of_a_reward_are_found_by_job_id(heitje: World) -> None:
    c = heitje.client
    job = heitje.new_job()
    paid = c.reward_job(heitje.job_office, job, heitje.residents[1].address, 7_00)
    event = c.find_reward(paid.job_id)
    assert event is not None and event.tx_hash == paid.tx_hash
    assert event.args["amount"] == 7_00 and event.args["minter"] == heitje.job_office.address
    assert c.find_reward(b"\x01" * 32) is None


def test_confirmations_hold_back_the_newest_blocks(heitje: World) -> None:
    blocks = busy_ledger(heitje, rewards=3)
    head = heitje.block()
    ledger = heitje.client.ledger(confirmations=2)
    assert ledger.head() == head - 2
    newest = max(e.block_number for e in ledger.events())
    assert newest == head - 2 == blocks[-3]  # the refund and the redemption are not final
    assert ledger.totals_at().redemptions == 0
    assert heitje.client.ledger().totals_at().redemptions == 15_00


def test_events_are_found_by_indexed_arguments_from_the_newest_block_back(
    heitje: World,
) -> None:
    c = heitje.client
    r, shops = heitje.residents, heitje.merchants
    for resident in r[:2]:
        c.reward_job(heitje.job_office, heitje.new_job(), resident.address, 20_00)
    c.log_range = 1  # one block per query: the search really walks back
    a = c.pay(r[0], shops[0].address, 1_00, "A")
    c.pay(r[1], shops[0].address, 1_00, "Y")  # another payer in between
    c.rpc.call("evm_increaseTime", [120])
    x = c.pay(r[1], shops[0].address, 1_00, "X")
    b = c.pay(r[0], shops[0].address, 2_00, "B")
    c.pay(r[0], shops[1].address, 3_00, "other shop")

    every = c.find_events("Payment", r[0].address, shops[0].address)
    assert [e.tx_hash for e in every] == [a.tx_hash, b.tx_hash]  # in chain order
    assert [text_of(e.args["receipt"]) for e in every] == ["A", "B"]
    newest = c.find_events("Payment", r[0].address, shops[0].address, first_found=True)
    assert [e.tx_hash for e in newest] == [b.tx_hash]
    # Since X's time: the walk stops at the first block before it (Y's), never reaching A.
    since = c.rpc.block_times([x.block_number])[x.block_number]
    recent = c.find_events("Payment", r[0].address, shops[0].address, since=since)
    assert [e.tx_hash for e in recent] == [b.tx_hash]
    assert c.find_events("Payment", r[2].address) == []
    with pytest.raises(InvalidInput, match="neither an address nor a 32-byte value"):
        c.find_events("Payment", "0x1234")


def test_block_times_and_transactions_in_flight(heitje: World) -> None:
    c = heitje.client
    head = c.rpc.block_number()
    times = c.rpc.block_times([head, head - 1, head, 10**9])
    assert set(times) == {head, head - 1} and times[head] >= times[head - 1]  # none for 10**9
    c.reward_job(heitje.job_office, heitje.new_job(), heitje.residents[0].address, 5_00)
    resident = heitje.residents[0]
    assert not c.tx.in_flight(resident.address)
    with heitje.manual_mining():
        sent = c.submit_pay(resident, heitje.merchants[0].address, 1_00, "waiting")
        assert c.tx.in_flight(resident.address)
        heitje.mine()
        c.tx.wait(sent)
        assert not c.tx.in_flight(resident.address)


def test_payments_however_made_each_once(heitje: World) -> None:
    """`pay()`, a wallet's plain `transfer` and an approved spender's `transferFrom` to a
    merchant are payments (a `pay()` once, with its receipt); refunds, recoveries and rewards
    are not, nor a transfer to a shop before it was listed."""
    c, (anna, bob, carl) = heitje.client, heitje.residents[:3]
    shop, shop2 = heitje.merchants[:2]
    heitje.fund(anna, 50_00)
    heitje.fund(bob, 20_00)
    start = heitje.block() + 1
    paid = c.pay(anna, shop.address, 12_50, "BON-7")
    plain = c.transact(anna, "transfer", shop2.address, 3_00)
    c.transact(bob, "approve", carl.address, 5_00)
    pulled = c.transact(carl, "transferFrom", bob.address, shop.address, 4_00)
    c.refund(shop, anna.address, 1_00, "BON-7 part")  # merchant -> resident: no payment
    c.recover_wallet(heitje.recovery, bob.address, heitje.outsider.address)  # neither
    c.remove_merchant(heitje.merchant_manager, shop2.address)
    c.add_merchant(heitje.merchant_manager, shop2.address)
    again = c.transact(anna, "transfer", shop2.address, 1_00)
    found = list(c.ledger().payments())
    rows = [(p.tx_hash, p.payer, p.merchant, p.amount, p.via) for p in found]
    assert rows == [
        (paid.tx_hash, anna.address, shop.address, 12_50, "pay"),
        (plain.tx_hash, anna.address, shop2.address, 3_00, "transfer"),
        (pulled.tx_hash, bob.address, shop.address, 4_00, "transfer"),
        (again.tx_hash, anna.address, shop2.address, 1_00, "transfer"),
    ]
    assert text_of(found[0].receipt) == "BON-7"
    assert all(p.receipt == bytes(32) for p in found[1:])
    transfer = paid.event("Transfer")
    assert (found[0].block_number, found[0].log_index) == (paid.block_number, transfer.log_index)
    # Filtered by merchant and by blocks; the funding rewards before `start` are not payments.
    to_shop = [p.tx_hash for p in c.ledger().payments(merchant=shop.address.lower())]
    assert to_shop == [paid.tx_hash, pulled.tx_hash]
    later = list(c.ledger().payments(start=pulled.block_number))
    assert [p.tx_hash for p in later] == [pulled.tx_hash, again.tx_hash]
    assert start <= found[0].block_number
    # The sum is what the merchants received from residents, each payment once.
    total = sum(p.amount for p in found)
    assert total == c.balance(shop.address) + c.balance(shop2.address) + 1_00


def test_wallet_receipt_from_the_transaction_data(heitje: World) -> None:
    """A wallet that adds a receipt after `transfer`'s arguments has it read back; one that
    adds none, or a `pay()`, keeps its own."""
    c, anna, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    heitje.fund(anna, 20_00)
    data = c.encode("transfer", shop.address, 2_00) + b"TILL-42".hex()
    with_receipt = c.result(c.tx.send(anna, c.address, data, gas=200_000))
    without = c.transact(anna, "transfer", shop.address, 1_00)
    paid = c.pay(anna, shop.address, 3_00, "BON-1")
    reader = c.ledger()
    records = reader.with_wallet_receipts(reader.payments())
    assert [(p.tx_hash, text_of(p.receipt), p.via) for p in records] == [
        (with_receipt.tx_hash, "TILL-42", "transfer"),
        (without.tx_hash, "", "transfer"),
        (paid.tx_hash, "BON-1", "pay"),
    ]
    assert c.balance(shop.address) == 6_00


@pytest.mark.parametrize(
    ("data", "receipt"),
    [
        (bytes.fromhex("a9059cbb") + bytes(64), None),
        (bytes.fromhex("a9059cbb") + bytes(64) + b"R1", b"R1".ljust(32, b"\0")),
        (bytes.fromhex("a9059cbb") + bytes(64) + bytes(32), None),
        (bytes.fromhex("a9059cbb") + bytes(64) + b"x" * 40, b"x" * 32),
        (bytes.fromhex("23b872dd") + bytes(96) + b"R2", b"R2".ljust(32, b"\0")),
        (bytes.fromhex("23b872dd") + bytes(64) + b"R2", None),  # inside the arguments
        (bytes.fromhex("095ea7b3") + bytes(64) + b"R3", None),  # approve: not a payment
        (b"", None),
    ],
)
def test_receipt_in_calldata(data: bytes, receipt: bytes | None) -> None:
    assert receipt_in_calldata(data) == receipt
