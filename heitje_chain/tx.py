"""Transactions: build, sign and send with locally managed nonces; many in flight at once;
receipts awaited by polling (batched for many); dropped transactions re-sent; reverts decoded.

Rules that keep money safe:
- A nonce is taken under a per-account lock and advanced only once the node has the signed
  transaction, so concurrent senders never share a nonce and a refused send leaves no gap.
- A transaction is re-sent only as the *same signed bytes* (same nonce, same hash), or, on a
  chain that charges gas, replaced by the same call with the same nonce and a higher fee. Both
  can be mined at most once between them, so a retry never pays twice.
- Every transaction's gas is estimated before sending unless the caller gives it, so a call
  the contract would refuse raises its typed error and nothing is sent. Where the node cannot
  estimate (the method is off or unsupported), `fallback_gas` (the `gas_limit` setting) is
  used instead, after an `eth_call` of the same transaction has checked that the contract
  accepts it: a refusal still raises its typed error and sends nothing.

One key, several processes (two API processes on two nodes share the job office's key, and a
resident pays through both at once). Both may sign the same nonce; each node takes its own
transaction, the pools gossip, and the chain mines one of the two. The other can then never
be mined: its nonce is spent by a hash it does not have. Waiting notices that at the next
block (the sender's mined nonce passed ours while none of our hashes has a receipt), and the
call is signed again at a fresh nonce:
- at once when it is *idempotent* (a reward batch: the contract pays a job id once, so the
  batch re-signed is refused, or pays only what was not paid, whatever happens to the first);
- otherwise (a payment) only once the block that spent the nonce is `final_depth` blocks deep
  and the nonce is still spent there: then our first signature can never be mined, and the
  re-signed one is the only one that can. The new signature is estimated first, so a call the
  chain no longer allows (the other payment took the balance) is refused with nothing sent.
  Without a `final_depth` (the owner did not say when a block is final) the wait ends with
  `TransactionFailed`: nothing of it happened.
A node that refuses a new transaction because its pool holds another one with that nonce
('replacement transaction underpriced') is treated like 'nonce too low': the nonce is read
again and the call signed again, unless an earlier attempt of the same bytes went unanswered
(it may be in a pool somewhere: then it is reported as possibly still arriving).

Why not a lease (one process signs for a key at a time, held in the shared database)? The
chain decides which of two signatures wins, and a lease cannot prevent every second signer:
a process paused past its lease's expiry (a long GC, a frozen VM), a node that kept a
dead process's transaction in its pool and mines it later, an operator's tool run by hand.
The sender has to handle a nonce spent by someone else correctly in any case, and once it
does, a lease only saves some wasted signatures, at the price of a table every signing
process depends on. Residents' keys, signed wherever their requests arrive, would need one
lease per resident.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from heitje_chain.errors import (
    ChainUnavailable,
    ErrorDecoder,
    InvalidInput,
    Refused,
    TransactionFailed,
)
from heitje_chain.keys import Signer
from heitje_chain.rpc import Rpc, RpcError
from heitje_chain.waits import pause

log = logging.getLogger(__name__)

# How the node phrases "this transaction is already in my pool" or "this nonce is spent".
_KNOWN = ("already known", "known transaction", "already imported", "alreadyknown")
_NONCE_LOW = ("nonce too low", "nonce is too low", "old nonce", "transaction nonce too low")
# How it phrases "my pool holds another transaction with this nonce" (free gas: a new one
# can never outbid it).
_TAKEN = (
    "replacement transaction underpriced",
    "replacement underpriced",
    "future transaction tries to replace pending",
)


def _refusal(error: RpcError, sender: str, description: str) -> str:
    """Plain words for a transaction the node refused (not a contract revert)."""
    text = f"the node refused the transaction ({description or 'transaction'}): {error.message}"
    if "not authorized" in error.message.lower() or "not permitted" in error.message.lower():
        text += (
            f". The account {sender} is not on the network's accounts allowlist: add it with "
            "`heitje network allow-account` and reload the allowlist on every node"
        )
    return text


def _checksummed(address: str) -> str:
    """A destination as signers take it (EIP-55); all-lowercase or all-uppercase is written
    with its checksum, mixed case must carry a right one (else `InvalidInput`)."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
        raise InvalidInput(f"{address!r} is not an address (0x + 40 hex digits)")
    body = address[2:]
    if body in (body.lower(), body.upper()):
        return str(to_checksum_address(address))
    return address  # mixed case: the signer checks its checksum


def _nonce_low(error: RpcError) -> bool:
    return any(k in error.message.lower() for k in _NONCE_LOW)


def _taken(error: RpcError) -> bool:
    """The node holds another transaction with this nonce (another process used the key)."""
    return any(k in error.message.lower() for k in _TAKEN)


@dataclass
class Receipt:
    """A mined transaction: its hash, block, gas and raw logs (status 1: it succeeded)."""

    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    status: int
    logs: list[dict[str, Any]]

    @classmethod
    def from_rpc(cls, raw: dict[str, Any]) -> Receipt:
        return cls(
            tx_hash=raw["transactionHash"],
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            gas_used=int(raw["gasUsed"], 16),
            status=int(raw.get("status", "0x1"), 16),
            logs=list(raw.get("logs", [])),
        )


@dataclass
class Tx:
    """A signed transaction the node has accepted; `receipt` is set once it is mined."""

    sender: ChecksumAddress
    nonce: int
    fields: dict[str, Any]  # what was signed
    raw: str  # the signed bytes, hex: re-broadcast as they are
    hash: str
    description: str = ""
    hashes: list[str] = field(default_factory=list)  # every hash sent for this nonce
    receipt: Receipt | None = None
    error: Exception | None = None
    signer: Signer | None = field(default=None, repr=False, compare=False)
    #: True when the call cannot take effect twice (the contract refuses a repeat: a reward
    #: batch's job ids), so it may be signed again at once when its nonce is taken.
    idempotent: bool = False
    #: Hashes signed earlier for this call, whose nonce another transaction spent.
    displaced: list[str] = field(default_factory=list)
    #: The head when the nonce was first seen spent by another transaction (None: it was not).
    spent_at: int | None = None
    spent_since: float = 0.0  # when (monotonic) that was first seen

    @property
    def done(self) -> bool:
        return self.receipt is not None or self.error is not None


@dataclass(frozen=True)
class Fees:
    """Fee fields for new transactions: free gas, EIP-1559, or a legacy gas price.

    `eip1559` is False on a chain without EIP-1559 (no `baseFeePerGas` in its blocks: geth
    Clique before London, GoQuorum at Berlin); its transactions are then legacy (EIP-155)
    ones with a `gasPrice`, 0 where gas is free."""

    mode: str  # "free", "eip1559" or "legacy"
    max_fee: int = 0
    priority_fee: int = 0
    gas_price: int = 0
    eip1559: bool = True

    def fields(self) -> dict[str, int]:
        if self.mode == "legacy" or not self.eip1559:
            return {"gasPrice": self.gas_price}
        if self.mode == "free":
            return {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
        return {"maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.priority_fee}


def _counts(answer: list[Any]) -> tuple[int, int] | None:
    """(mined, pending) nonces from a batch of the two eth_getTransactionCount calls, or None
    when the node did not give both."""
    if len(answer) != 2 or not all(isinstance(x, str) for x in answer):
        return None
    return int(answer[0], 16), int(answer[1], 16)


class Transactor:
    """Sends transactions for any number of signers to one chain."""

    def __init__(
        self,
        rpc: Rpc,
        chain_id: int,
        decoder: ErrorDecoder,
        *,
        gas_margin: float = 1.25,
        resend_after: float = 15.0,
        timeout: float = 120.0,
        send_timeout: float = 30.0,
        fallback_gas: int | None = None,
        gas_price: int | None = None,
        final_depth: int | None = None,
    ) -> None:
        self.rpc = rpc
        #: Blocks on top of a block after which it is final (0: at once). A transaction whose
        #: nonce another one spent is signed again once that one is this deep (see the
        #: module); None: never, its wait ends with `TransactionFailed`.
        self.final_depth = final_depth
        self.fallback_gas = fallback_gas
        #: The network's gas price when its nodes suggest another one (0: free gas on geth
        #: Clique, whose nodes always suggest 1 gwei); None: asked from the chain.
        self.gas_price = gas_price if gas_price is not None else getattr(rpc, "gas_price", None)
        self.chain_id = chain_id
        self.decoder = decoder
        self.gas_margin = gas_margin
        self.resend_after = resend_after
        self.timeout = timeout
        self.send_timeout = send_timeout
        self._nonces: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._fees: Fees | None = None
        self._anvil: bool | None = None
        self._kicked = 0.0
        self._signers: dict[str, Signer] = {}  # who sent through this transactor (fill_gaps)

    # ------------------------------------------------------------------ fees and nonces

    def fees(self) -> Fees:
        """The chain's fee mode, read once from the chain itself: EIP-1559 when its latest
        block has a base fee, else legacy transactions (EIP-155). Free gas when the base fee is
        0, or, without one, the `gas_price` setting (else the node's suggested price) is 0: a
        node may still *suggest* a tip or a price then."""
        if self._fees is None:
            block = self.rpc.call("eth_getBlockByNumber", ["latest", False]) or {}
            base = block.get("baseFeePerGas")
            if base is None:
                price = self.gas_price
                if price is None:
                    price = int(self.rpc.call("eth_gasPrice"), 16)
                self._fees = (
                    Fees("free", eip1559=False)
                    if price == 0
                    else Fees("legacy", gas_price=price, eip1559=False)
                )
            elif int(base, 16) == 0:
                self._fees = Fees("free")
            else:
                try:
                    tip = int(self.rpc.call("eth_maxPriorityFeePerGas"), 16)
                except RpcError:
                    tip = 10**9
                self._fees = Fees("eip1559", max_fee=2 * int(base, 16) + tip, priority_fee=tip)
        return self._fees

    def _lock(self, address: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(address, threading.Lock())

    def _chain_nonce(self, address: str, block: str = "pending") -> int:
        return int(self.rpc.call("eth_getTransactionCount", [address, block]), 16)

    def in_flight(self, address: str) -> bool:
        """True while a transaction of `address` may still be mined: a node holds one that is
        not mined yet (its pending nonce is ahead of its mined one), another node has mined
        more of the sender's transactions than the current one (a cut-off validator's own
        fork, whose transactions come back when it rejoins, or a node this one has not caught
        up with), or this transactor has signed nonces the node cannot mine yet (they wait
        behind a gap, e.g. after the chain went back to an older state; `_revive` fills it).
        Every configured node is asked (one batched request each); one that does not answer
        is skipped, and when none answers it may."""
        calls = [("eth_getTransactionCount", [address, tag]) for tag in ("latest", "pending")]
        try:
            here = _counts(self.rpc.batch(calls))
        except (ChainUnavailable, RpcError):
            here = None
        others = [
            _counts(self._batch_at(url, calls)) for url in self.rpc.urls if url != self.rpc.url
        ]
        counts = [c for c in (here, *others) if c is not None]
        if not counts:
            return True  # cannot tell: assume it may
        with self._lock(address):
            signed = self._nonces.get(address)
        return (
            any(latest != pending for latest, pending in counts)
            or (here is not None and max(latest for latest, _ in counts) > here[0])
            or (signed is not None and signed > max(pending for _, pending in counts))
        )

    def _batch_at(self, url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """`calls` as one batch to the node at `url` only (no failover); [] when it does not
        answer."""
        try:
            return Rpc(url, timeout=self.rpc.timeout).batch(calls)
        except (ChainUnavailable, RpcError):
            return []

    def forget_nonce(self, address: str) -> None:
        """Re-read the account's nonce from the chain before its next transaction."""
        with self._lock(address):
            self._nonces.pop(address, None)

    # ------------------------------------------------------------------ calls and estimates

    def call(self, to: str, data: str, sender: str | None = None, block: str = "latest") -> str:
        """eth_call; a revert raises the contract's typed error."""
        params: dict[str, Any] = {"to": to, "data": data}
        if sender:
            params["from"] = sender
        try:
            return str(self.rpc.call("eth_call", [params, block]))
        except RpcError as exc:
            if exc.is_revert:
                raise self.decoder.decode(exc.data) from None
            raise

    def estimate(self, sender: str, to: str | None, data: str) -> int:
        """Gas for the call, with a margin; a refusal raises its typed error (nothing sent)."""
        params: dict[str, Any] = {"from": sender, "data": data}
        if to is not None:
            params["to"] = to
        try:
            gas = int(self.rpc.call("eth_estimateGas", [params]), 16)
        except RpcError as exc:
            if exc.is_revert:
                raise self.decoder.decode(exc.data) from None
            if self.fallback_gas is None:
                raise TransactionFailed(
                    f"the node cannot estimate gas ({exc.message}); set [chain] gas_limit "
                    "(or HEITJE_GAS_LIMIT) to the gas to give each transaction instead"
                ) from None
            log.info("eth_estimateGas unavailable (%s); using %d gas", exc.message,
                     self.fallback_gas)  # fmt: skip
            # The same transaction as a call: the contract's refusal, without sending.
            if to is not None:
                self.call(to, data, sender)
            return self.fallback_gas
        return int(gas * self.gas_margin) + 5_000

    # ------------------------------------------------------------------ sending

    def send(
        self,
        signer: Signer,
        to: str | None,
        data: str,
        *,
        gas: int | None = None,
        description: str = "",
        idempotent: bool = False,
    ) -> Tx:
        """Sign and send a transaction; returns once the node has it (not once mined).

        Gas is estimated unless given; a refusal found by the estimate raises the contract's
        typed error and sends nothing. `idempotent`: the contract refuses the call a second
        time, so it may be signed again at once if another process takes its nonce.
        """
        if gas is None:
            gas = self.estimate(signer.address, to, data)
        return self._send_new(signer, to, data, gas, description, idempotent)

    def _send_new(
        self,
        signer: Signer,
        to: str | None,
        data: str,
        gas: int,
        description: str,
        idempotent: bool,
    ) -> Tx:
        """Sign at the account's next nonce and send; a nonce someone else spent or holds in
        the node's pool is read again and the call signed again (at most 3 times)."""
        address = signer.address
        fees = self.fees()
        with self._lock(address):
            for _attempt in range(3):
                nonce = self._nonces.get(address)
                if nonce is None:
                    nonce = self._chain_nonce(address)
                tx = self._sign(signer, nonce, to, data, gas, fees.fields(), description)
                tx.idempotent = idempotent
                self._signers[address] = signer
                try:
                    self._broadcast(tx)
                except RpcError as exc:
                    if _nonce_low(exc) or _taken(exc):
                        # Another process used this key: read the nonce again and re-sign.
                        log.warning("nonce %d of %s was spent elsewhere (%s); re-reading",
                                    nonce, address, exc.message)  # fmt: skip
                        self._nonces[address] = self._chain_nonce(address)
                        continue
                    if exc.is_revert:
                        raise self.decoder.decode(exc.data) from None
                    raise TransactionFailed(_refusal(exc, address, description)) from None
                self._nonces[address] = nonce + 1
                return tx
        raise TransactionFailed(
            f"could not find a free nonce for {address}: another program keeps using this key"
        )

    def send_many(
        self,
        signer: Signer,
        calls: Sequence[tuple[str | None, str, int]],
        *,
        description: str = "",
        chunk: int = 100,
        window: int = 500,
    ) -> list[Tx]:
        """Sign and send many transactions `(to, data, gas)` from one account, `chunk` per
        JSON-RPC request, without waiting for them to be mined. Gas must be given: the state
        moves while they are in flight, so estimating each against the chain is meaningless.

        Returns one `Tx` per call, in order. A call the node rejects comes back with `.error`
        set; its nonce is then spent by an empty transfer to the sender itself, so the
        transactions after it are not stuck behind a gap. At most `window` transactions are
        left unmined at a time: a node's pool (anvil's above all) slows down as it fills.
        """
        address = signer.address
        fees = self.fees().fields()
        out: list[Tx] = []
        self._signers[address] = signer
        with self._lock(address):
            for start in range(0, len(calls), chunk):
                part = calls[start : start + chunk]
                for _attempt in range(3):
                    nonce = self._nonces.get(address)
                    if nonce is None:
                        nonce = self._chain_nonce(address)
                    txs = [
                        self._sign(signer, nonce + i, to, data, gas, fees, description)
                        for i, (to, data, gas) in enumerate(part)
                    ]
                    answers = self._broadcast_many(txs)
                    low = [
                        a
                        for a in answers
                        if isinstance(a, RpcError) and (_nonce_low(a) or _taken(a))
                    ]
                    if len(low) == len(txs):  # the key was used elsewhere: read, re-sign
                        self._nonces[address] = self._chain_nonce(address)
                        continue
                    break
                else:
                    raise TransactionFailed(
                        f"could not find a free nonce for {address}: another program keeps "
                        "using this key"
                    )
                accepted = [a is None for a in answers]
                last = max((i for i, ok in enumerate(accepted) if ok), default=-1)
                for i, (tx, answer) in enumerate(zip(txs, answers, strict=True)):
                    if answer is None:
                        continue
                    tx.error = (
                        self.decoder.decode(answer.data)
                        if answer.is_revert
                        else TransactionFailed(_refusal(answer, address, description))
                    )
                    if i < last:  # a gap before accepted transactions: fill it
                        self._fill_gap(signer, tx.nonce, fees)
                self._nonces[address] = txs[last].nonce + 1 if last >= 0 else txs[0].nonce
                out.extend(txs)
                self._throttle(address, self._nonces[address], window)
        return out

    def _throttle(self, address: str, next_nonce: int, window: int) -> None:
        """Wait until at most `window` of the account's transactions are unmined (or nothing
        has been mined for `resend_after` seconds: then the waiting is `wait_all`'s job)."""
        mined = self._chain_nonce(address, "latest")
        last_progress = time.monotonic()
        while next_nonce - mined > window:
            pause(0.01)
            now_mined = self._chain_nonce(address, "latest")
            now = time.monotonic()
            if now_mined > mined:
                mined, last_progress = now_mined, now
            elif now - last_progress > 0.05:
                self._kick()
                if now - last_progress > self.resend_after:
                    return

    def _kick(self) -> None:
        """anvil's automine can leave the tail of a burst in its pool until the next
        transaction arrives (foundry-rs/foundry#10122): on anvil, mine a block to take them.
        Only in automine mode: an anvil set to mine on demand is left to whoever mines."""
        with self._locks_lock:  # one kick at a time for all waiting threads, at most 4 a second
            if time.monotonic() - self._kicked < 0.25:
                return
            self._kicked = time.monotonic()
        if self._is_anvil():
            with contextlib.suppress(RpcError, ChainUnavailable):
                if self.rpc.call("anvil_getAutomine") is True:
                    self.rpc.call("evm_mine")

    def _sign(
        self,
        signer: Signer,
        nonce: int,
        to: str | None,
        data: str,
        gas: int,
        fees: dict[str, int],
        description: str,
    ) -> Tx:
        fields: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": gas,
            "value": 0,
            "data": data,
            **fees,
        }
        if to is not None:
            fields["to"] = _checksummed(to)
        signed = signer.sign_transaction(fields)
        raw = "0x" + bytes(signed.raw_transaction).hex()
        tx_hash = "0x" + bytes(signed.hash).hex()
        return Tx(
            signer.address, nonce, fields, raw, tx_hash, description, [tx_hash], signer=signer
        )

    def _broadcast_many(self, txs: list[Tx]) -> list[RpcError | None]:
        """Send signed transactions in one request: per transaction None (the node has it)
        or the node's error. If the node cannot be reached, each is sent on its own with the
        retries of `_broadcast` (the same bytes, so nothing can happen twice)."""
        try:
            answers = self.rpc.batch([("eth_sendRawTransaction", [tx.raw]) for tx in txs])
        except ChainUnavailable:
            results: list[RpcError | None] = []
            for tx in txs:
                try:
                    self._broadcast(tx)
                    results.append(None)
                except RpcError as exc:
                    results.append(exc)
            return results
        results = [
            a
            if isinstance(a, RpcError) and not any(k in a.message.lower() for k in _KNOWN)
            else None
            for a in answers
        ]
        # "Nonce too low" for our own transaction: an earlier attempt of this same request
        # reached a node that failed before answering, and the transaction is already in.
        low = [i for i, a in enumerate(results) if a is not None and _nonce_low(a)]
        if low:
            known = self.rpc.batch([("eth_getTransactionByHash", [txs[i].hash]) for i in low])
            for i, found in zip(low, known, strict=True):
                if isinstance(found, dict):
                    results[i] = None
        return results

    def _fill_gap(self, signer: Signer, nonce: int, fees: dict[str, int]) -> None:
        filler = self._sign(signer, nonce, signer.address, "0x", 21_000, fees, "nonce filler")
        try:
            self._broadcast(filler)
        except RpcError as exc:
            if _taken(exc) or _nonce_low(exc):
                return  # another transaction holds the nonce: there is no gap
            raise TransactionFailed(
                f"nonce {nonce} of {signer.address} could not be filled after a refused "
                f"transaction ({exc.message}); the transactions after it wait until it is"
            ) from None

    def _broadcast(self, tx: Tx) -> None:
        """Send the signed bytes; retry the *same* bytes while the node cannot be reached."""
        deadline = time.monotonic() + self.send_timeout
        unanswered = False  # an attempt went unanswered: it may have arrived
        while True:
            try:
                self.rpc.call("eth_sendRawTransaction", [tx.raw])
                break
            except RpcError as exc:
                if any(k in exc.message.lower() for k in _KNOWN):
                    break  # the node had it already: the earlier attempt arrived
                if (_nonce_low(exc) or _taken(exc)) and self._known(tx):
                    # An earlier attempt reached a node that failed before answering (the
                    # request was then sent to the next node): the transaction is in.
                    break
                if _taken(exc) and unanswered:
                    # Another transaction holds the nonce in this node's pool, and ours may
                    # be in another node's: signing the call again could make it happen twice.
                    raise TransactionFailed(
                        f"transaction {tx.hash} (nonce {tx.nonce} of {tx.sender}) may have "
                        "reached a node that did not answer, and another transaction holds "
                        "its nonce; it may still arrive. Check it with the ledger before "
                        "trying again.",
                        tx.hash,
                    ) from None
                raise
            except ChainUnavailable:
                unanswered = True
                if time.monotonic() > deadline:
                    raise TransactionFailed(
                        f"the chain did not answer while sending transaction {tx.hash} "
                        f"(nonce {tx.nonce} of {tx.sender}); it may still arrive. Check it "
                        "with the ledger before trying again.",
                        tx.hash,
                    ) from None
                pause(0.5)

    def _known(self, tx: Tx) -> bool:
        """True when the chain has this very transaction (pending or mined)."""
        try:
            return self.rpc.call("eth_getTransactionByHash", [tx.hash]) is not None
        except (RpcError, ChainUnavailable):
            return False

    # ------------------------------------------------------------------ waiting

    def wait(self, tx: Tx, timeout: float | None = None) -> Receipt:
        """The receipt of `tx`; raises its typed error if it reverted."""
        self.wait_all([tx], timeout=timeout)
        if tx.error is not None:
            raise tx.error
        assert tx.receipt is not None
        return tx.receipt

    def wait_all(
        self,
        txs: Sequence[Tx],
        timeout: float | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Wait for every transaction; each ends with `.receipt` set, or `.error` set (a typed
        `Refused` when it reverted, `TransactionFailed` when it timed out). Never raises for
        one transaction's failure: the caller looks at each.

        Receipts are polled in batched requests, each time the chain has a new block (the
        head is looked at quickly at first, then every 0.25 s) and at least once a second.
        While transactions keep
        being mined, waiting goes on; when none has been mined for `resend_after` seconds,
        the pending ones are checked and re-sent if the node dropped them (in nonce order);
        after `timeout` seconds without progress, the rest are given up as not mined. One
        whose nonce another transaction spent is signed again (see the module), which counts
        as progress.
        """
        limit = self.timeout if timeout is None else timeout
        pending = [tx for tx in txs if not tx.done]
        last_progress = last_revive = last_kick = last_asked = time.monotonic()
        delay = 0.002
        head: int | None = None
        while pending:
            found = 0
            # Asking a node for hundreds of receipts it cannot have yet, several times a
            # block, only takes its time from sealing them.
            seen, head = head, self._head()
            overdue = time.monotonic() - last_progress > limit  # ask once more before giving up
            resigned = 0
            if head is None or head != seen or time.monotonic() - last_asked >= 1.0 or overdue:
                last_asked = time.monotonic()
                found, resigned = self._receipts(pending, head)
            pending = [tx for tx in pending if not tx.done]
            now = time.monotonic()
            if found or resigned:
                last_progress = now
            if found and progress is not None:
                progress(found)
            if not pending:
                break
            if now - last_progress > limit:
                for tx in pending:
                    tx.error = TransactionFailed(
                        f"transaction {tx.hash} ({tx.description or 'transaction'}) was not "
                        f"mined: nothing was mined for {limit:g} seconds. It may still be mined "
                        "later; check it with the ledger before trying again.",
                        tx.hash,
                    )
                break
            if now - max(last_progress, last_kick) > 0.05:
                self._kick()
                last_kick = now
            if now - max(last_progress, last_revive) > self.resend_after:
                stalled = sorted(pending, key=lambda t: (t.sender, t.nonce))
                log.warning(
                    "%d transaction(s) not mined for %.0f s: checking them and re-sending any "
                    "the node dropped",
                    len(stalled),
                    now - last_progress,
                )
                for tx in stalled:
                    self._revive(tx)
                last_revive = time.monotonic()
            pause(delay)
            delay = min(delay * 1.5, 0.25)

    def _receipts(self, pending: list[Tx], head: int | None) -> tuple[int, int]:
        """Ask for the receipts of `pending` (batched, 500 to a request), and, first in the
        same request, each sender's mined nonce: a transaction without a receipt whose nonce
        is spent was displaced by another one (`_displaced`). Returns how many were settled
        (mined, or failed) and how many were signed again."""
        found = resigned = 0
        for start in range(0, len(pending), 500):
            chunk = pending[start : start + 500]
            senders = sorted({tx.sender for tx in chunk})
            calls = [("eth_getTransactionCount", [s, "latest"]) for s in senders]
            calls += [("eth_getTransactionReceipt", [h]) for tx in chunk for h in tx.hashes]
            answers = self.rpc.batch(calls)
            mined = {
                s: int(a, 16) for s, a in zip(senders, answers, strict=False) if isinstance(a, str)
            }
            receipts = iter(answers[len(senders) :])
            spent: list[Tx] = []
            for tx in chunk:
                for _h in tx.hashes:
                    answer = next(receipts)
                    if isinstance(answer, dict) and tx.receipt is None:
                        self._settle(tx, Receipt.from_rpc(answer))
                        found += 1
                if tx.receipt is None and mined.get(tx.sender, -1) > tx.nonce:
                    spent.append(tx)
            if spent and head is not None:
                settled, again = self._spent(spent, head)
                found, resigned = found + settled, resigned + again
        return found, resigned

    def _spent(self, txs: list[Tx], head: int) -> tuple[int, int]:
        """Transactions whose nonce the chain has spent though none of their hashes had a
        receipt: asked once more (the block may have come in between), and the ones still
        without one are displaced. Returns how many were settled and how many re-signed."""
        try:
            calls = [("eth_getTransactionReceipt", [h]) for tx in txs for h in tx.hashes]
            answers = iter(self.rpc.batch(calls))
        except (RpcError, ChainUnavailable):
            return 0, 0
        settled = resigned = 0
        for tx in txs:
            for _h in tx.hashes:
                answer = next(answers)
                if isinstance(answer, dict) and tx.receipt is None:
                    self._settle(tx, Receipt.from_rpc(answer))
            if tx.receipt is not None:
                settled += 1
                continue
            if self._displaced(tx, head):
                resigned += 1
            elif tx.error is not None:
                settled += 1
        return settled, resigned

    def _displaced(self, tx: Tx, head: int) -> bool:
        """`tx`'s nonce was spent by a transaction that is not ours (another process signed
        with this key): sign the call again at a fresh nonce, at once when it is idempotent,
        else once the spending block is `final_depth` deep and the nonce still spent there
        (our first signature can then never be mined). Without a `final_depth` the wait ends
        with `TransactionFailed`: nothing of it happened. True when it was signed again.

        It is acted on only when a later poll (a later block, or half a second on) still sees
        it: a node in the middle of adding a block may give the sender's new nonce before the
        receipt of our transaction in it (anvil does)."""
        if tx.spent_at is None:
            tx.spent_at, tx.spent_since = head, time.monotonic()
            return False
        if head == tx.spent_at and time.monotonic() - tx.spent_since < 0.5:
            return False
        if tx.spent_since > 0:
            tx.spent_since = -1.0  # logged once
            log.warning(
                "nonce %d of %s was used by another transaction (is the key used elsewhere?); "
                "%s is not mined and cannot be: signing the call again%s",
                tx.nonce, tx.sender, tx.hash,
                "" if tx.idempotent else " once that transaction is final",
            )  # fmt: skip
        if not tx.idempotent:
            if self.final_depth is None or tx.signer is None:
                tx.error = TransactionFailed(
                    f"transaction {tx.hash} was replaced: nonce {tx.nonce} of {tx.sender} was "
                    "used by another transaction (was the key used elsewhere?); nothing of "
                    "this transaction happened",
                    tx.hash,
                )
                return False
            if head < tx.spent_at + self.final_depth:
                return False  # not final yet: a reorg could still bring ours back
            try:
                count = self._chain_nonce(tx.sender, hex(tx.spent_at))
            except (RpcError, ChainUnavailable):
                return False
            if count <= tx.nonce:  # that block is no longer canonical: ours may be mined
                tx.spent_at, tx.spent_since = None, 0.0
                return False
        return self._resign(tx)

    def _resign(self, tx: Tx) -> bool:
        """Sign `tx`'s call again at a fresh nonce and send it; `tx` then stands for the new
        signature (its old hashes kept in `displaced`). The call is estimated first: one the
        chain no longer allows ends with its typed error, and nothing is sent. True when it
        was sent."""
        if tx.signer is None:
            return False
        to, data = tx.fields.get("to"), str(tx.fields["data"])
        try:
            gas = max(int(tx.fields["gas"]), self.estimate(tx.sender, to, data))
            fresh = self._send_new(tx.signer, to, data, gas, tx.description, tx.idempotent)
        except ChainUnavailable as exc:
            log.warning("cannot sign %s again yet: %s", tx.hash, exc)
            return False  # tried again at the next poll
        except (Refused, TransactionFailed, InvalidInput) as exc:
            tx.error = exc  # nothing sent; the first signature can no longer be mined
            return False
        log.warning("%s (nonce %d) signed again as %s with nonce %d", tx.hash, tx.nonce,
                    fresh.hash, fresh.nonce)  # fmt: skip
        tx.displaced.extend(tx.hashes)
        tx.nonce, tx.fields, tx.raw = fresh.nonce, fresh.fields, fresh.raw
        tx.hash, tx.hashes, tx.spent_at = fresh.hash, [fresh.hash], None
        tx.spent_since = 0.0
        return True

    def _head(self) -> int | None:
        """The newest block's number, or None when the node does not say."""
        try:
            return int(self.rpc.call("eth_blockNumber"), 16)
        except (RpcError, ChainUnavailable, TypeError, ValueError):
            return None

    def _is_anvil(self) -> bool:
        """True when the node is anvil (the embedded chain), asked once."""
        if self._anvil is None:
            try:
                version = str(self.rpc.call("web3_clientVersion"))
            except (RpcError, ChainUnavailable):
                version = ""
            self._anvil = version.lower().startswith("anvil")
        return self._anvil

    def _settle(self, tx: Tx, receipt: Receipt) -> None:
        tx.receipt = receipt
        if receipt.status != 1:
            tx.error = self.revert_reason(tx, receipt)

    def revert_reason(self, tx: Tx, receipt: Receipt) -> Refused:
        """The typed error of a reverted transaction, found by replaying it as a call."""
        params = {"from": tx.sender, "data": tx.fields["data"], "gas": hex(tx.fields["gas"])}
        if "to" in tx.fields:
            params["to"] = tx.fields["to"]
        for block in (hex(receipt.block_number - 1), "latest"):
            try:
                self.rpc.call("eth_call", [params, block])
            except RpcError as exc:
                if exc.is_revert and exc.data:
                    return self.decoder.decode(exc.data, tx_hash=receipt.tx_hash)
                continue  # e.g. history pruned: that block's state is gone
        if receipt.gas_used >= int(tx.fields["gas"]):
            return Refused(
                f"transaction {receipt.tx_hash} ran out of gas ({receipt.gas_used:,} used)",
                tx_hash=receipt.tx_hash,
            )
        return Refused(
            f"transaction {receipt.tx_hash} was refused by the contract; the reason could not "
            "be recovered (the chain has moved on since)",
            tx_hash=receipt.tx_hash,
        )

    def _revive(self, tx: Tx) -> None:
        """A transaction waited too long: re-send it if the node dropped it; on a chain that
        charges gas, replace it with a higher fee (same nonce). Raises nothing."""
        try:
            known = self.rpc.call("eth_getTransactionByHash", [tx.hashes[-1]])
            mined_nonce = self._chain_nonce(tx.sender, "latest")
        except (RpcError, ChainUnavailable) as exc:
            log.warning("cannot check transaction %s: %s", tx.hash, exc)
            return
        if mined_nonce > tx.nonce:
            # The nonce is spent: by ours (a receipt), or by another transaction.
            head = self._head()
            if head is not None:
                self._spent([tx], head)
            return
        fees = self.fees()
        self._fill_behind(tx)
        if known is None or fees.mode == "free":
            log.info("transaction %s not mined yet; sending it again", tx.hashes[-1])
            try:
                self.rpc.call("eth_sendRawTransaction", [tx.raw])
            except RpcError as exc:
                if not any(k in exc.message.lower() for k in _KNOWN):
                    log.warning("re-sending %s: %s", tx.hash, exc.message)
            except ChainUnavailable as exc:
                log.warning("re-sending %s: %s", tx.hash, exc)
            return
        log.warning("transaction %s stuck; replacing it with a higher fee", tx.hashes[-1])
        self._bump(tx)

    def _fill_behind(self, tx: Tx) -> None:
        """Nonces below `tx`'s that the node has nothing for (the chain went back to an older
        state and lost the transactions that had them, or the node dropped them) keep `tx`
        from ever being mined: fill them with no-op transactions, so that `tx`, signed once,
        is mined once. A transaction of ours still waiting with such a nonce is thereby
        replaced, and its wait ends saying nothing of it happened."""
        if tx.signer is None:
            return
        try:
            pending = self._chain_nonce(tx.sender, "pending")
        except (RpcError, ChainUnavailable):
            return
        if pending >= tx.nonce:
            return
        log.warning(
            "nonces %d to %d of %s are missing on the chain (it went back to an older state?): "
            "filling them so that transaction %s can be mined",
            pending, tx.nonce - 1, tx.sender, tx.hash,
        )  # fmt: skip
        self._fill(tx.signer, pending, tx.nonce)

    def _fill(self, signer: Signer, first: int, end: int) -> None:
        """No-op transactions for nonces `first` to `end - 1` of `signer`; a nonce the node
        holds a transaction for already is left to it."""
        for nonce in range(first, end):
            try:
                self._fill_gap(signer, nonce, self.fees().fields())
            except TransactionFailed as exc:
                log.info("%s", exc)

    def fill_gaps(self) -> int:
        """For every account this transactor signed for: the nonces it signed that the node
        has nothing for (the chain went back to an older state) are filled with no-op
        transactions, so the transactions signed after them can be mined, once. A lost
        transaction can then never come back. Returns how many accounts had a gap."""
        gaps = 0
        for address, signer in list(self._signers.items()):
            with self._lock(address):
                signed = self._nonces.get(address)
            try:
                pending = self._chain_nonce(address, "pending")
            except (RpcError, ChainUnavailable):
                continue
            if signed is not None and signed > pending:
                gaps += 1
                log.warning("nonces %d to %d of %s are missing on the chain: filling them",
                            pending, signed - 1, address)  # fmt: skip
                self._fill(signer, pending, signed)
        return gaps

    def _bump(self, tx: Tx) -> None:
        """Replace a stuck transaction: the same call, the same nonce, 25 % higher fees."""
        if tx.signer is None:
            return
        fields = dict(tx.fields)
        for key in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
            if key in fields:
                fields[key] = max(int(fields[key] * 1.25), int(fields[key]) + 1)
        signed = tx.signer.sign_transaction(fields)
        raw = "0x" + bytes(signed.raw_transaction).hex()
        try:
            self.rpc.call("eth_sendRawTransaction", [raw])
        except (RpcError, ChainUnavailable) as exc:
            log.warning("replacing %s: %s", tx.hash, exc)
            return
        tx.fields, tx.raw = fields, raw
        tx.hashes.append("0x" + bytes(signed.hash).hex())
