"""The ledger reader: every event of the contract since its deployment, streamed in order and
decoded into plain records, and balances and supply at any block computed from them.

`payments` gives every payment to a merchant however it was made: `pay()` (a `Transfer` and
its `Payment`, with the receipt) or a wallet's plain ERC-20 `transfer`/`transferFrom` (a
`Transfer` alone, no receipt), each once; `PaymentScanner` does the same block range after
block range, for a reader that follows the chain.

Logs are fetched with `eth_getLogs` in block ranges that adapt to the node: the range starts
at the configured maximum (Besu allows 5000 blocks by default; hosted nodes often fewer, or a
cap on results), halves when the node refuses a range as too large, and grows again while
answers stay small. Balances and supply at a block are computed from `Transfer` events, so
they work on a pruned node that no longer holds old state.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_utils import keccak

from heitje_chain.errors import HeitjeError, InvalidInput
from heitje_chain.events import Event, EventDecoder
from heitje_chain.rpc import Rpc, RpcError

log = logging.getLogger(__name__)

ZERO = "0x0000000000000000000000000000000000000000"

#: How nodes say "this range or result is too large" (geth, Besu, Erigon, Alchemy, Infura, ...)
_TOO_LARGE = (
    "block range",
    "range too large",
    "exceed",
    "too many",
    "limit",
    "more than",
    "query timeout",
    "response size",
)


class LedgerError(HeitjeError, RuntimeError):
    """The node would not give the contract's logs, even one block at a time."""


@dataclass(frozen=True)
class Totals:
    """What the ledger adds up to at one block."""

    block: int
    supply: int
    rewards: int
    redemptions: int
    holders: int


@dataclass(frozen=True)
class PaymentRecord:
    """One payment of a resident to a merchant.

    `via` is "pay" for `pay()` (its `Transfer` paired with the `Payment` that follows it in
    the same transaction, whose receipt this carries) or "transfer" for a plain ERC-20
    `transfer`/`transferFrom` to a merchant, which has no receipt (32 zero bytes). Where it
    is: the block, the transaction and the log index of the `Transfer`."""

    block_number: int
    tx_hash: str
    log_index: int
    payer: str
    merchant: str
    amount: int
    receipt: bytes
    via: str


NO_RECEIPT = bytes(32)
_TRANSFER = keccak(text="transfer(address,uint256)")[:4]
_TRANSFER_FROM = keccak(text="transferFrom(address,address,uint256)")[:4]


def receipt_in_calldata(data: bytes) -> bytes | None:
    """The receipt a wallet added after the arguments of a `transfer` or `transferFrom` call
    (the contract ignores bytes past its arguments): their first 32 bytes, padded with
    zeros; None when there are none, or they are all zero, or it is another call."""
    if data[:4] == _TRANSFER:
        extra = data[68:100]
    elif data[:4] == _TRANSFER_FROM:
        extra = data[100:132]
    else:
        return None
    if not extra.strip(b"\0"):
        return None
    return extra.ljust(32, b"\0")


class LedgerReader:
    """Reads one contract's events from `from_block` on."""

    def __init__(
        self,
        rpc: Rpc,
        address: str,
        decoder: EventDecoder,
        *,
        from_block: int = 0,
        max_range: int = 5000,
        min_range: int = 1,
        confirmations: int = 0,
    ) -> None:
        if max_range < 1:
            raise InvalidInput("max_range must be at least 1 block")
        self.rpc = rpc
        self.address = address
        self.decoder = decoder
        self.from_block = from_block
        self.max_range = max_range
        self.min_range = min_range
        self.confirmations = confirmations
        self.range = max_range  # the current range: adapts while reading
        self.requests = 0  # eth_getLogs calls made (for benchmarks and tests)
        self.large = 20_000  # logs in one answer above which the range shrinks

    def head(self) -> int:
        """The newest block treated as final (head minus `confirmations`)."""
        return max(0, self.rpc.block_number() - self.confirmations)

    def logs(
        self, start: int, end: int, topics: Sequence[str | list[str]] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Raw logs of the contract in blocks `start`..`end`, in order, fetched in chunks."""
        for chunk in self.log_chunks(start, end, topics):
            yield from chunk

    def log_chunks(
        self, start: int, end: int, topics: Sequence[str | list[str]] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """The raw logs of `logs`, one list per `eth_getLogs` answer (for readers that fetch
        ahead while they work). The range also shrinks while answers are large (more than
        `large` logs), so a ledger of full blocks is read in answers of bounded size."""
        block = start
        while block <= end:
            last = min(end, block + self.range - 1)
            query: dict[str, object] = {
                "address": self.address,
                "fromBlock": hex(block),
                "toBlock": hex(last),
            }
            if topics:
                query["topics"] = list(topics)
            try:
                self.requests += 1
                found = self.rpc.call("eth_getLogs", [query]) or []
            except RpcError as exc:
                if not any(word in exc.message.lower() for word in _TOO_LARGE):
                    raise
                if last == block:
                    raise LedgerError(
                        f"the node refuses the logs of block {block} ({exc.message}); "
                        "it cannot be read through this endpoint"
                    ) from None
                self.range = max(self.min_range, (last - block + 1) // 2)
                log.info("node refused %d blocks of logs; trying %d", last - block + 1, self.range)
                continue
            yield found
            block = last + 1
            if len(found) < 1000 and self.range < self.max_range:
                self.range = min(self.max_range, self.range * 2)
            elif len(found) > self.large and self.range > self.min_range:
                self.range = max(self.min_range, self.range // 2)

    def events(
        self,
        start: int | None = None,
        end: int | None = None,
        names: Iterable[str] | None = None,
    ) -> Iterator[Event]:
        """Decoded events from `start` (default: the deployment block) to `end` (default: the
        head when the call is made), in chain order. `names` limits to those events."""
        first = self.from_block if start is None else start
        last = self.head() if end is None else end
        topics: list[str | list[str]] | None = None
        if names is not None:
            topics = [[self.decoder.topics[name] for name in names]]
        for raw in self.logs(first, last, topics):
            event = self.decoder.decode(raw)
            if event is not None:
                yield event

    def payments(
        self, start: int | None = None, end: int | None = None, merchant: str | None = None
    ) -> Iterator[PaymentRecord]:
        """Every payment to a merchant in blocks `start` (default: the deployment block) to
        `end` (default: the head), in chain order, however it was made (see
        `PaymentRecord`); only those to `merchant` when it is given. A `pay()` counts once:
        its `Transfer` and `Payment` are one record. Who was a merchant at each block comes
        from `MerchantAdded`/`MerchantRemoved` since the deployment (see `PaymentScanner`)."""
        first = self.from_block if start is None else start
        last = self.head() if end is None else end
        scanner = PaymentScanner(self)
        scanner.skip_to(first - 1)
        for found in scanner.scan(last):
            if merchant is None or found.merchant.lower() == merchant.lower():
                yield found

    def with_wallet_receipts(
        self, payments: Iterable[PaymentRecord], chunk: int = 200
    ) -> list[PaymentRecord]:
        """`payments` with the receipt of each plain transfer taken from its transaction's
        data where the wallet added one (`receipt_in_calldata`; only for a transaction sent
        to this contract itself, whose data is the call). `pay()` records keep theirs. Reads
        the plain transfers' transactions, `chunk` to a batched request."""
        records = list(payments)
        plain = sorted({p.tx_hash for p in records if p.via == "transfer"})
        found: dict[str, bytes] = {}
        for i in range(0, len(plain), chunk):
            hashes = plain[i : i + chunk]
            answers = self.rpc.batch([("eth_getTransactionByHash", [h]) for h in hashes])
            for tx_hash, tx in zip(hashes, answers, strict=True):
                if isinstance(tx, RpcError):
                    raise LedgerError(f"the node did not give transaction {tx_hash}: {tx}")
                if not tx or (tx.get("to") or "").lower() != self.address.lower():
                    continue
                receipt = receipt_in_calldata(bytes.fromhex(tx["input"][2:]))
                if receipt is not None:
                    found[tx_hash] = receipt
        return [
            replace(p, receipt=found[p.tx_hash])
            if p.via == "transfer" and p.tx_hash in found
            else p
            for p in records
        ]

    def balances_at(self, block: int | None = None) -> dict[str, int]:
        """Every address that ever held Heitjes and its balance at `block` (default: head),
        from the Transfer events. Zero balances are included (former holders)."""
        balances: dict[str, int] = defaultdict(int)
        for event in self.events(end=block, names=["Transfer"]):
            amount = int(event.args["value"])
            if event.args["from"] != ZERO:
                balances[event.args["from"]] -= amount
            if event.args["to"] != ZERO:
                balances[event.args["to"]] += amount
        return dict(balances)

    def totals_at(self, block: int | None = None) -> Totals:
        """Supply (mints minus burns), rewards, redemptions and holders at `block`."""
        last = self.head() if block is None else block
        supply = rewards = redemptions = 0
        balances: dict[str, int] = defaultdict(int)
        names = ["Transfer", "JobRewarded", "RedemptionRequested"]
        for event in self.events(end=last, names=names):
            if event.name == "JobRewarded":
                rewards += int(event.args["amount"])
            elif event.name == "RedemptionRequested":
                redemptions += int(event.args["amount"])
            else:
                amount = int(event.args["value"])
                if event.args["from"] == ZERO:
                    supply += amount
                else:
                    balances[event.args["from"]] -= amount
                if event.args["to"] == ZERO:
                    supply -= amount
                else:
                    balances[event.args["to"]] += amount
        holders = sum(1 for cents in balances.values() if cents > 0)
        return Totals(last, supply, rewards, redemptions, holders)


class PaymentScanner:
    """Reads the payments to merchants block range after block range, for a reader that
    follows the chain (the service's payment index, api.payment_index) as well as for
    `LedgerReader.payments`: it keeps who is a current or former merchant as of `block`, the
    last block read, so each `scan` reads only the new blocks.

    A `Transfer` to a current merchant from an account that is not a (former) merchant is a
    payment (the contract lets only residents pay merchants); a `Payment` in the same
    transaction pairs with it and gives it its receipt, so a `pay()` is one record."""

    EVENTS = ("Transfer", "Payment", "MerchantAdded", "MerchantRemoved")

    def __init__(self, reader: LedgerReader) -> None:
        self.reader = reader
        self.block = reader.from_block - 1  # the last block read
        self.merchants: set[str] = set()  # current merchants (lowercase)
        self.former: set[str] = set()

    def _listing(self, event: Event) -> None:
        who = event.args["merchant"].lower()
        if event.name == "MerchantAdded":
            self.merchants.add(who)
            self.former.discard(who)
        else:
            self.merchants.discard(who)
            self.former.add(who)

    def skip_to(self, block: int) -> None:
        """Move on to `block` reading only who became or stopped being a merchant."""
        if block <= self.block:
            return
        listings = ["MerchantAdded", "MerchantRemoved"]
        for event in self.reader.events(self.block + 1, block, listings):
            self._listing(event)
        self.block = block

    def scan(self, end: int) -> Iterator[PaymentRecord]:
        """The payments in the blocks after `block` up to `end`, in chain order; `block` is
        `end` once they have all been given."""
        if end <= self.block:
            return
        tx = ""
        pending: list[list[Any]] = []  # [transfer event, receipt or None] of transaction `tx`

        def flush() -> Iterator[PaymentRecord]:
            for event, receipt in pending:
                yield PaymentRecord(
                    block_number=event.block_number,
                    tx_hash=event.tx_hash,
                    log_index=event.log_index,
                    payer=event.args["from"],
                    merchant=event.args["to"],
                    amount=int(event.args["value"]),
                    receipt=NO_RECEIPT if receipt is None else bytes(receipt),
                    via="transfer" if receipt is None else "pay",
                )
            pending.clear()

        for event in self.reader.events(self.block + 1, end, self.EVENTS):
            if event.tx_hash != tx:
                yield from flush()
                tx = event.tx_hash
            args = event.args
            if event.name in ("MerchantAdded", "MerchantRemoved"):
                self._listing(event)
            elif event.name == "Transfer":
                frm, to = args["from"].lower(), args["to"].lower()
                if (
                    to in self.merchants
                    and frm != ZERO
                    and frm not in self.merchants
                    and frm not in self.former
                ):
                    pending.append([event, None])
            else:  # Payment: the receipt of the `pay()` transfer just before it
                for entry in reversed(pending):
                    moved = entry[0].args
                    if (
                        entry[1] is None
                        and moved["from"] == args["from"]
                        and moved["to"] == args["merchant"]
                        and int(moved["value"]) == int(args["amount"])
                    ):
                        entry[1] = args["receipt"]
                        break
        yield from flush()
        self.block = end
