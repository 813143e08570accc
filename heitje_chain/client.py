"""The typed client over a deployed Heitje contract: every operation the municipality, its
partners, merchants and residents do on-chain, and the reads they need.

Amounts are integer cents (`int`); the CLI and the API turn people's euros into cents with
`heitje_chain.amounts.parse_eur`. Every input is checked before anything is sent, every write
is estimated first (so the contract's refusal arrives as a typed error and nothing is sent),
and rewards are idempotent: a job that was already paid is reported as such.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address

from heitje_chain.amounts import MAX_CENTS, check_cents
from heitje_chain.artifacts import Artifact, load_artifact
from heitje_chain.errors import (
    ChainUnavailable,
    ConfigError,
    ErrorDecoder,
    HeitjeError,
    InvalidAddress,
    InvalidInput,
    InvalidJobId,
    InvalidReference,
    JobAlreadyRewarded,
    Refused,
    TransactionFailed,
)
from heitje_chain.events import Event, EventDecoder
from heitje_chain.keys import Signer, check_address
from heitje_chain.ledger import LedgerReader
from heitje_chain.rpc import Rpc, RpcError
from heitje_chain.tx import Receipt, Transactor, Tx

log = logging.getLogger(__name__)

ROLES = {
    "admin": "DEFAULT_ADMIN_ROLE",
    "minter": "MINTER_ROLE",
    "merchant-manager": "MERCHANT_MANAGER_ROLE",
    "treasurer": "TREASURER_ROLE",
    "pauser": "PAUSER_ROLE",
    "recovery": "RECOVERY_ROLE",
}
ROLE_IDS: dict[str, bytes] = {
    name: bytes(32) if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)
    for name in ROLES.values()
}

#: Gas when estimating is not possible or wanted (pipelined sends): measured maxima + margin.
GAS_REWARD = 150_000
#: Jobs per `rewardJobs` transaction: about 7.5 M gas at 75 k gas a job, a quarter of a
#: 30 M block, so a batch fits every block even on a busy chain.
DEFAULT_BATCH = 100


def job_id(reference: str) -> bytes:
    """The on-chain id of a job: keccak-256 of its reference text (no personal data)."""
    text = reference.strip() if isinstance(reference, str) else reference
    if not isinstance(text, str) or not text:
        raise InvalidJobId("a job reference must be non-empty text", jobId=reference)
    return keccak(text=text)


def check_job_id(value: object) -> bytes:
    """A bytes32 job id (bytes or 0x-hex), not zero."""
    raw: bytes
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str) and value.startswith("0x") and len(value) == 66:
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raise InvalidJobId(f"job id {value!r} is not hex", jobId=value) from None
    else:
        raise InvalidJobId(
            f"job id {value!r} must be 32 bytes (use job_id(reference) for a reference text)",
            jobId=value,
        )
    if len(raw) != 32:
        raise InvalidJobId(f"job id must be 32 bytes, not {len(raw)}", jobId=value)
    if raw == bytes(32):
        raise InvalidJobId("a job id of zero is not a job", jobId=value)
    return raw


def reference32(text: str, what: str = "reference") -> bytes:
    """A short reference (receipt number, bank reference) as bytes32: UTF-8, zero-padded."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference(f"a {what} is needed (1 to 32 characters)")
    raw = text.strip().encode("utf-8")
    if len(raw) > 32:
        raise InvalidReference(f"the {what} {text!r} is longer than 32 bytes; shorten it")
    return raw.ljust(32, b"\0")


def text_of(reference: bytes) -> str:
    """The text of a bytes32 reference made by `reference32`."""
    return reference.rstrip(b"\0").decode("utf-8", errors="replace")


# ------------------------------------------------------------------------- result records


@dataclass(frozen=True)
class TxResult:
    """A mined transaction and the events it emitted."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: list[Event]

    def event(self, name: str) -> Event:
        for event in self.events:
            if event.name == name:
                return event
        raise LookupError(f"transaction {self.tx_hash} emitted no {name} event")


TxState = Literal["final", "mined", "pending", "missing"]


@dataclass(frozen=True)
class TxPosition:
    """Where a transaction stands on the chain now (`HeitjeClient.positions`).

    - final: mined in a block of the canonical chain, at least `confirmations` deep (at once
      on a chain with instant finality), and it succeeded;
    - mined: the same, not yet deep enough (a reorg may still take it back);
    - pending: the node knows it, but it is in no canonical block (waiting, or put back in
      the pool by a reorg);
    - missing: the chain has no trace of it, or it failed (the chain forgot it: a restored
      state, a reorg whose new branch does not carry it).
    """

    tx_hash: str
    state: TxState
    block_number: int | None = None
    block_hash: str | None = None


@dataclass(frozen=True)
class RewardRow:
    """One approved job to pay: its reference (or id), the resident, and the reward."""

    job: str | bytes  # reference text (hashed) or a 32-byte job id
    resident: str
    cents: int

    @property
    def job_id(self) -> bytes:
        return check_job_id(self.job) if isinstance(self.job, bytes) else job_id(self.job)


RewardStatus = Literal["paid", "already_paid", "refused"]


@dataclass
class RewardResult:
    """What became of one job's reward."""

    job: str | bytes
    job_id: bytes
    resident: str
    cents: int
    status: RewardStatus
    tx_hash: str | None = None
    block_number: int | None = None
    reason: str = ""
    error: HeitjeError | None = field(default=None, repr=False)
    # For `already_paid`: who got the earlier reward and how much, read from the ledger.
    paid_to: str | None = None
    paid_cents: int | None = None

    @property
    def matches_earlier(self) -> bool | None:
        """For an already-paid job: does the earlier reward match this one?"""
        if self.paid_to is None:
            return None
        return self.paid_to == self.resident and self.paid_cents == self.cents


@dataclass(frozen=True)
class Redemption:
    id: int
    merchant: ChecksumAddress
    cents: int
    paid: bool
    payment_reference: str
    # Where the redemption's own transaction was mined, when it was just sent (not part of
    # what the redemption is: two reads of one redemption compare equal).
    tx_hash: str | None = field(default=None, compare=False)
    block_number: int | None = field(default=None, compare=False)


# ------------------------------------------------------------------------- the client


class HeitjeClient:
    """A deployed Heitje contract, reached through `rpc`; writes go through `transactor`."""

    def __init__(
        self,
        rpc: Rpc,
        address: str,
        *,
        chain_id: int | None = None,
        artifact: Artifact | None = None,
        transactor: Transactor | None = None,
        deployment_block: int = 0,
        check: bool = True,
    ) -> None:
        self.rpc = rpc
        self.address = check_address(address, "contract address")
        self.artifact = artifact or load_artifact()
        actual_chain = rpc.chain_id()
        if chain_id is not None and actual_chain != chain_id:
            raise ConfigError(
                f"the RPC endpoint {rpc.url} serves chain {actual_chain}, but chain {chain_id} "
                "is configured: wrong endpoint or wrong configuration"
            )
        self.chain_id = actual_chain
        self.errors = ErrorDecoder(self.artifact.abi)
        self.events = EventDecoder(self.artifact.abi)
        self.tx = transactor or Transactor(rpc, actual_chain, self.errors)
        self.deployment_block = deployment_block
        # How the ledger is read (`connect` sets them from the configuration): blocks per
        # eth_getLogs, and blocks behind the head read as final (0: instant finality).
        self.log_range = 5000
        self.confirmations = 0
        self._functions: dict[str, tuple[bytes, list[str], list[str]]] = {}
        for item in self.artifact.abi:
            if item.get("type") == "function":
                types = [i["type"] for i in item["inputs"]]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                outputs = [o["type"] for o in item["outputs"]]
                self._functions[item["name"]] = (selector, types, outputs)
        if check:
            self.check_contract()

    def check_contract(self) -> None:
        """Refuses an address without code, or with a contract that is not Heitje."""
        if not self.rpc.code_at(self.address):
            raise ConfigError(
                f"there is no contract at {self.address} on chain {self.chain_id}: wrong "
                "address, wrong chain, or the chain was reset (deploy again with "
                "`heitje deploy`)"
            )
        try:
            fingerprint = (
                self.read("DEFAULT_YEARLY_CAP"),
                self.read("decimals"),
                self.read("MINTER_ROLE"),
                self.read("RECOVERY_ROLE"),
            )
            self.read("redemptionCount")
        except (HeitjeError, ValueError, DecodingError) as exc:
            raise ConfigError(f"the contract at {self.address} is not a Heitje token") from exc
        expected = (150_000, 2, ROLE_IDS["MINTER_ROLE"], ROLE_IDS["RECOVERY_ROLE"])
        if fingerprint != expected:
            raise ConfigError(f"the contract at {self.address} is not a Heitje token")

    # ------------------------------------------------------------------ encoding

    def encode(self, function: str, *args: Any) -> str:
        selector, types, _ = self._functions[function]
        return "0x" + (selector + abi_encode(types, list(args))).hex()

    def read(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        """Call a view function; one output comes back as itself, several as a tuple."""
        tag = hex(block) if isinstance(block, int) else block
        result = self.tx.call(self.address, self.encode(function, *args), block=tag)
        return self._decode_output(function, result)

    def read_many(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Many view calls in one batched request (in chunks of 500)."""
        out: list[Any] = []
        for start in range(0, len(calls), 500):
            chunk = calls[start : start + 500]
            answers = self.rpc.batch(
                [
                    ("eth_call", [{"to": self.address, "data": self.encode(f, *a)}, "latest"])
                    for f, a in chunk
                ]
            )
            for (function, _), answer in zip(chunk, answers, strict=True):
                if isinstance(answer, RpcError):
                    raise self.errors.decode(answer.data) if answer.is_revert else answer
                out.append(self._decode_output(function, answer))
        return out

    def _decode_output(self, function: str, result: str) -> Any:
        _, _, outputs = self._functions[function]
        values = abi_decode(outputs, bytes.fromhex(result[2:]))
        values = tuple(
            to_checksum_address(v) if t == "address" else v
            for v, t in zip(values, outputs, strict=True)
        )
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ sending

    def submit(
        self,
        signer: Signer,
        function: str,
        *args: Any,
        gas: int | None = None,
        what: str = "",
        idempotent: bool = False,
    ) -> Tx:
        """Send one contract call without waiting for it to be mined (for pipelining).
        `idempotent`: the contract refuses it a second time (see `Transactor.send`)."""
        return self.tx.send(
            signer,
            self.address,
            self.encode(function, *args),
            gas=gas,
            description=what,
            idempotent=idempotent,
        )

    def submit_many(
        self, signer: Signer, function: str, calls: Sequence[Sequence[Any]], *, gas: int
    ) -> list[Tx]:
        """Send the same contract function with many argument lists from one account,
        pipelined (signed locally, sent in batched requests, not awaited). Gas is fixed per
        call; see `Transactor.send_many`. Wait with `self.tx.wait_all(txs)`."""
        encoded = [(self.address, self.encode(function, *args), gas) for args in calls]
        return self.tx.send_many(signer, encoded, description=function)

    def result(self, tx: Tx, timeout: float | None = None) -> TxResult:
        """Wait for `tx`; its events, or its typed error."""
        receipt = self.tx.wait(tx, timeout)
        return self._result(receipt)

    def _result(self, receipt: Receipt) -> TxResult:
        events = [
            event
            for raw in receipt.logs
            if raw.get("address", "").lower() == self.address.lower()
            and (event := self.events.decode(raw)) is not None
        ]
        return TxResult(receipt.tx_hash, receipt.block_number, receipt.gas_used, events)

    def transact(self, signer: Signer, function: str, *args: Any, what: str = "") -> TxResult:
        """Send one contract call and wait for it."""
        return self.result(self.submit(signer, function, *args, what=what or function))

    def ledger(
        self, max_range: int | None = None, confirmations: int | None = None
    ) -> LedgerReader:
        """A reader of this contract's events since its deployment, up to `confirmations`
        blocks behind the head (0 on chains with instant finality). Both default to the
        client's settings (`log_range`, `confirmations`), which `connect` takes from the
        configuration."""
        return LedgerReader(
            self.rpc,
            self.address,
            self.events,
            from_block=self.deployment_block,
            max_range=self.log_range if max_range is None else max_range,
            confirmations=self.confirmations if confirmations is None else confirmations,
        )

    # ------------------------------------------------------------------ reads

    def name(self) -> str:
        return str(self.read("name"))

    def symbol(self) -> str:
        return str(self.read("symbol"))

    def decimals(self) -> int:
        return int(self.read("decimals"))

    def total_supply(self, block: int | str = "latest") -> int:
        return int(self.read("totalSupply", block=block))

    def balance(self, account: str, block: int | str = "latest") -> int:
        return int(self.read("balanceOf", check_address(account, "account"), block=block))

    def current_year(self) -> int:
        return int(self.read("currentYear"))

    def earned_in(self, resident: str, year: int) -> int:
        if isinstance(year, bool) or not isinstance(year, int) or not 1970 <= year <= 9999:
            raise InvalidInput(f"{year!r} is not a calendar year")
        return int(self.read("earnedIn", check_address(resident, "resident"), year))

    def earned_this_year(self, resident: str) -> int:
        return self.earned_in(resident, self.current_year())

    def yearly_cap(self) -> int:
        return int(self.read("yearlyCap"))

    def room_under_cap(self, resident: str) -> int:
        """How much more `resident` may earn this calendar year."""
        return max(0, self.yearly_cap() - self.earned_this_year(resident))

    def mint_allowance(self, minter: str) -> int:
        return int(self.read("mintAllowance", check_address(minter, "minter")))

    def is_merchant(self, account: str) -> bool:
        return bool(self.read("isMerchant", check_address(account, "account")))

    def is_former_merchant(self, account: str) -> bool:
        return bool(self.read("isFormerMerchant", check_address(account, "account")))

    def is_retired(self, account: str) -> bool:
        return bool(self.read("isRetired", check_address(account, "account")))

    def is_rewarded(self, job: bytes) -> bool:
        return bool(self.read("isRewarded", check_job_id(job)))

    def rewarded_many(self, jobs: Sequence[bytes]) -> list[bool]:
        return [bool(x) for x in self.read_many([("isRewarded", [j]) for j in jobs])]

    def paused(self) -> bool:
        return bool(self.read("paused"))

    def redemption_count(self) -> int:
        return int(self.read("redemptionCount"))

    def redemption(self, redemption_id: int) -> Redemption:
        _check_id(redemption_id)
        merchant, cents, paid, reference = self.read("redemption", redemption_id)
        return Redemption(redemption_id, merchant, int(cents), bool(paid), text_of(reference))

    def redemptions(self, first: int = 1, last: int | None = None) -> list[Redemption]:
        """Redemptions `first`..`last` (default: all), read in batches."""
        last = self.redemption_count() if last is None else last
        ids = list(range(max(1, first), last + 1))
        rows = self.read_many([("redemption", [i]) for i in ids])
        return [
            Redemption(i, m, int(c), bool(p), text_of(r))
            for i, (m, c, p, r) in zip(ids, rows, strict=True)
        ]

    def has_role(self, role: str, account: str) -> bool:
        return bool(self.read("hasRole", role_id(role), check_address(account, "account")))

    def default_admin(self) -> ChecksumAddress:
        return to_checksum_address(self.read("defaultAdmin"))

    def default_admin_delay(self) -> int:
        """Seconds a new default admin must wait before accepting the handover."""
        return int(self.read("defaultAdminDelay"))

    def receipt(self, tx_hash: str) -> TxResult:
        """A mined transaction's gas and events, by its hash."""
        raw = self.rpc.call("eth_getTransactionReceipt", [tx_hash])
        if raw is None:
            raise LookupError(f"no mined transaction {tx_hash}")
        return self._result(Receipt.from_rpc(raw))

    def positions(self, tx_hashes: Sequence[str], chunk: int = 200) -> dict[str, TxPosition]:
        """Where each transaction stands (see `TxPosition`): its receipt checked against the
        hash of the canonical block at that height, in batched requests (three per `chunk`
        transactions at most)."""
        head = self.rpc.block_number()
        out: dict[str, TxPosition] = {}
        hashes = list(dict.fromkeys(tx_hashes))
        for i in range(0, len(hashes), chunk):
            part = hashes[i : i + chunk]
            receipts = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in part])
            errors = [r for r in receipts if isinstance(r, RpcError)]
            if errors:
                raise errors[0]
            blocks = sorted({int(r["blockNumber"], 16) for r in receipts if isinstance(r, dict)})
            canonical = self.canonical_hashes(blocks)
            unmined = [h for h, r in zip(part, receipts, strict=True) if not isinstance(r, dict)
                       or canonical.get(int(r["blockNumber"], 16)) != r["blockHash"]]  # fmt: skip
            known = dict(zip(unmined, self.rpc.batch(
                [("eth_getTransactionByHash", [h]) for h in unmined]), strict=True))  # fmt: skip
            self._known_elsewhere(known)
            for tx_hash, receipt in zip(part, receipts, strict=True):
                if tx_hash in known:
                    found = known[tx_hash]
                    state: TxState = "pending" if isinstance(found, dict) else "missing"
                    out[tx_hash] = TxPosition(tx_hash, state)
                    continue
                number = int(receipt["blockNumber"], 16)
                if int(receipt.get("status", "0x1"), 16) != 1:
                    out[tx_hash] = TxPosition(tx_hash, "missing", number, receipt["blockHash"])
                    continue
                deep = head - number + 1 >= max(1, self.confirmations)
                out[tx_hash] = TxPosition(
                    tx_hash, "final" if deep else "mined", number, receipt["blockHash"]
                )
        return out

    def _known_elsewhere(self, known: dict[str, Any]) -> None:
        """Transactions the current node has no trace of are asked of the other nodes: one of
        them may hold it still (a transaction that has not reached this node yet, or one a
        cut-off validator mined in a block of its own, which its pool takes back when it
        rejoins). Such a transaction is not missing: it may yet be mined. A node that does
        not answer is skipped."""
        unknown = [h for h, found in known.items() if not isinstance(found, dict)]
        for url in self.rpc.urls:
            if not unknown:
                return
            if url == self.rpc.url:
                continue
            try:
                answers = Rpc(url, timeout=self.rpc.timeout).batch(
                    [("eth_getTransactionByHash", [h]) for h in unknown]
                )
            except (ChainUnavailable, RpcError):
                continue
            for tx_hash, found in zip(unknown, answers, strict=True):
                if isinstance(found, dict):
                    known[tx_hash] = found
            unknown = [h for h in unknown if not isinstance(known[h], dict)]

    def canonical_hashes(self, blocks: Iterable[int]) -> dict[int, str]:
        """The hash of the canonical block at each height the chain has (one batched
        request); heights above the head are left out."""
        numbers = list(dict.fromkeys(blocks))
        answers = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return {
            n: str(block["hash"])
            for n, block in zip(numbers, answers, strict=True)
            if isinstance(block, dict) and block.get("hash")
        }

    # ------------------------------------------------------------------ rewards

    def reward_job(
        self, minter: Signer, job: str | bytes, resident: str, cents: int
    ) -> RewardResult:
        """Pay one approved job. Idempotent: a job already paid on-chain comes back with status
        `already_paid` (with the earlier resident and amount), not as an error. Other refusals
        raise their typed error."""
        row = RewardRow(job, check_address(resident, "resident"), check_cents(cents, "reward"))
        jid = row.job_id
        if self.is_rewarded(jid):
            return self._already_paid(row, jid)
        try:
            # A job id is paid once: another signature of it (its nonce taken by another
            # process with this key) can be sent at once.
            tx = self.submit(
                minter, "rewardJob", jid, row.resident, row.cents, what="reward", idempotent=True
            )
            done = self.result(tx)
        except JobAlreadyRewarded:  # paid by someone else since the check above
            return self._already_paid(row, jid)
        return RewardResult(
            row.job, jid, row.resident, row.cents, "paid", done.tx_hash, done.block_number
        )

    def reward_jobs(
        self,
        minter: Signer,
        rows: Iterable[RewardRow],
        *,
        batch_size: int = DEFAULT_BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> list[RewardResult]:
        """Pay many approved jobs with `rewardJobs` batches, pipelined, and report each job:
        paid, already paid (on-chain or earlier in `rows`), or refused with the reason.

        A batch is all-or-nothing on-chain, so a batch the contract refuses is split until
        the refused jobs are found; the others are still paid. Running the same rows again
        pays nothing twice. `progress(n)` is called as n more jobs are settled.
        """
        if not 1 <= batch_size <= 500:
            raise InvalidInput("batch_size must be 1..500")
        results: list[RewardResult] = []
        todo: list[tuple[RewardRow, bytes]] = []
        seen: dict[bytes, int] = {}
        tick = progress or (lambda n: None)
        for row in rows:
            try:
                checked = RewardRow(
                    row.job, check_address(row.resident, "resident"), check_cents(row.cents)
                )
                jid = checked.job_id
            except HeitjeError as exc:
                results.append(_refused(row, b"", exc))
                continue
            if jid in seen:
                results.append(
                    RewardResult(
                        row.job, jid, checked.resident, checked.cents, "refused",
                        reason=f"the same job appears twice in the input (first at "
                        f"position {seen[jid] + 1}); paid at most once",
                    )
                )  # fmt: skip
                continue
            seen[jid] = len(results)
            results.append(RewardResult(row.job, jid, checked.resident, checked.cents, "paid"))
            todo.append((checked, jid))
        tick(len(results) - len(todo))
        index = seen
        # Already paid on-chain: skipped (one batched read).
        paid_before = self.rewarded_many([jid for _, jid in todo]) if todo else []
        fresh: list[tuple[RewardRow, bytes]] = []
        for (row, jid), paid in zip(todo, paid_before, strict=True):
            if paid:
                results[index[jid]] = self._already_paid(row, jid)
                tick(1)
            else:
                fresh.append((row, jid))
        # Send every batch without waiting, then wait for all.
        batches = [fresh[i : i + batch_size] for i in range(0, len(fresh), batch_size)]
        sent: list[tuple[Tx, list[tuple[RewardRow, bytes]]]] = []
        for batch in batches:
            sent.extend(self._send_batch(minter, batch, results, index, tick))
        self.tx.wait_all([tx for tx, _ in sent])
        retry: list[tuple[RewardRow, bytes]] = []
        for tx, batch in sent:
            if tx.error is None and tx.receipt is not None:
                for _row, jid in batch:
                    res = results[index[jid]]
                    res.tx_hash, res.block_number = tx.receipt.tx_hash, tx.receipt.block_number
                tick(len(batch))
            elif isinstance(tx.error, Refused):
                retry.extend(batch)  # refused when mined (the state moved on): sort it out
            else:
                for row, jid in batch:
                    results[index[jid]] = _refused(row, jid, tx.error or TransactionFailed("?"))
                tick(len(batch))
        for row, jid in retry:  # one by one, now that everything before is mined
            try:
                outcome = self.reward_job(minter, jid, row.resident, row.cents)
                outcome.job = row.job
                results[index[jid]] = outcome
            except HeitjeError as exc:
                results[index[jid]] = _refused(row, jid, exc)
            tick(1)
        return results

    def _send_batch(
        self,
        minter: Signer,
        batch: list[tuple[RewardRow, bytes]],
        results: list[RewardResult],
        index: dict[bytes, int],
        tick: Callable[[int], None],
    ) -> list[tuple[Tx, list[tuple[RewardRow, bytes]]]]:
        """Send one batch; when the estimate refuses it, split it until the refused jobs are
        found (marked in `results`) and send the rest."""
        data = self.encode(
            "rewardJobs",
            [jid for _, jid in batch],
            [row.resident for row, _ in batch],
            [row.cents for row, _ in batch],
        )
        try:
            tx = self.tx.send(
                minter, self.address, data, description=f"reward {len(batch)} jobs",
                idempotent=True,  # each job id is paid once, whichever signature is mined
            )  # fmt: skip
            return [(tx, batch)]
        except Refused as exc:
            if len(batch) == 1:
                row, jid = batch[0]
                if isinstance(exc, JobAlreadyRewarded):
                    results[index[jid]] = self._already_paid(row, jid)
                else:
                    results[index[jid]] = _refused(row, jid, exc)
                tick(1)
                return []
        half = len(batch) // 2
        return self._send_batch(minter, batch[:half], results, index, tick) + self._send_batch(
            minter, batch[half:], results, index, tick
        )

    def _already_paid(self, row: RewardRow, jid: bytes) -> RewardResult:
        """The outcome of a job the chain refused as paid before, with the earlier reward's
        transaction, resident and amount from its event. The contract's state is read before
        the event is looked for: a reward mined between a log query that found nothing and
        the state read would otherwise come back `already_paid` without a transaction, and
        be noted as paid with none. A job whose event cannot be found (not mined yet: the
        node's estimate saw a pending payment of it; or its node has not indexed the block's
        logs yet) is refused for now, with nothing sent; asked again later it is paid or
        already paid."""
        rewarded = self.is_rewarded(jid)
        earlier = self.find_reward(jid) if rewarded else None
        if earlier is None:
            return RewardResult(
                row.job, jid, row.resident, row.cents, "refused",
                reason="a payment of this job is still pending (sent by someone else and not "
                "mined yet); nothing was sent now. Run it again in a minute: it is then "
                "either paid already or paid then"
                if not rewarded
                else "the chain says this job was paid, but the node does not show that "
                "payment yet; nothing was sent now. Run it again in a minute",
            )  # fmt: skip
        paid_to, paid_cents = earlier.args["resident"], int(earlier.args["amount"])
        result = RewardResult(
            row.job, jid, row.resident, row.cents, "already_paid", earlier.tx_hash,
            earlier.block_number, reason="this job was paid before; it is not paid again",
            paid_to=paid_to, paid_cents=paid_cents,
        )  # fmt: skip
        if not result.matches_earlier:
            from heitje_chain.amounts import eur

            result.reason = (
                f"this job was paid before, to {paid_to}, {eur(paid_cents)}"
                " - NOT the resident or amount given now; check the job"
            )
        return result

    def find_reward(self, jid: bytes) -> Event | None:
        """The `JobRewarded` event of a job id (an indexed topic: one log query; on a node
        that limits the block range of a query, such as Besu's 5,000 blocks, the chain is
        searched from the newest block back, one range at a time)."""
        topics: list[str | list[str]] = [self.events.topics["JobRewarded"], "0x" + jid.hex()]
        try:
            logs = self.rpc.call(
                "eth_getLogs",
                [
                    {
                        "address": self.address,
                        "fromBlock": hex(self.deployment_block),
                        "toBlock": "latest",
                        "topics": topics,
                    }
                ],
            )
        except RpcError as exc:
            log.info("one log query over the whole chain refused (%s); paging", exc.message)
            found = self.find_events("JobRewarded", "0x" + jid.hex(), first_found=True)
            return found[0] if found else None
        for raw in logs or []:
            event = self.events.decode(raw)
            if event is not None:
                return event
        return None

    def find_events(
        self, name: str, *indexed: str, since: int | None = None, first_found: bool = False
    ) -> list[Event]:
        """The `name` events whose first indexed arguments are `indexed` (addresses, or
        32-byte values as hex), in chain order. The chain is searched from the newest block
        back, `log_range` blocks at a time, down to the deployment block; it stops early at
        the first range that began before `since` (unix seconds: something done after then
        is found without reading the whole chain), or with `first_found` at the first range
        with a match."""
        topics: list[str | list[str]] = [self.events.topics[name], *map(_topic, indexed)]
        reader = self.ledger(confirmations=0)
        end = self.rpc.block_number()
        found: list[Event] = []
        while end >= self.deployment_block:
            start = max(self.deployment_block, end - self.log_range + 1)
            decoded = (self.events.decode(raw) for raw in reader.logs(start, end, topics))
            found[:0] = [event for event in decoded if event is not None]
            if first_found and found:
                break
            if since is not None and self.rpc.block_times([start]).get(start, 0) < since:
                break
            end = start - 1
        return found

    # ------------------------------------------------------------------ merchants

    def add_merchant(self, manager: Signer, merchant: str) -> TxResult:
        return self.transact(manager, "addMerchant", check_address(merchant, "merchant"))

    def remove_merchant(self, manager: Signer, merchant: str) -> TxResult:
        return self.transact(manager, "removeMerchant", check_address(merchant, "merchant"))

    # ------------------------------------------------------------------ payments

    def pay(
        self, resident: Signer, merchant: str, cents: int, receipt: str,
        timeout: float | None = None,
    ) -> TxResult:  # fmt: skip
        """A resident pays a merchant, with the merchant's receipt (or order) reference.
        `timeout`: seconds to wait for it to be mined without progress (the transactor's
        default if None); then `TransactionFailed`, and it may still be mined later."""
        return self.result(self.submit_pay(resident, merchant, cents, receipt), timeout)

    def submit_pay(self, resident: Signer, merchant: str, cents: int, receipt: str) -> Tx:
        """`pay` without waiting (for a till that takes many payments at once)."""
        return self.submit(
            resident,
            "pay",
            check_address(merchant, "merchant"),
            check_cents(cents, "payment"),
            reference32(receipt, "receipt reference"),
            what="payment",
        )

    def refund(
        self, merchant: Signer, resident: str, cents: int, reference: str,
        timeout: float | None = None,
    ) -> TxResult:  # fmt: skip
        """A merchant gives (part of) a payment back (`timeout` as for `pay`)."""
        tx = self.submit(
            merchant,
            "refund",
            check_address(resident, "resident"),
            check_cents(cents, "refund"),
            reference32(reference),
            what="refund",
        )
        return self.result(tx, timeout)

    # ------------------------------------------------------------------ redemptions

    def redeem(self, merchant: Signer, cents: int, timeout: float | None = None) -> Redemption:
        """A merchant burns `cents` for euros; returns the new numbered redemption (`timeout`
        as for `pay`)."""
        done = self.result(self.submit(merchant, "redeem", check_cents(cents, "redemption")),
                           timeout)  # fmt: skip
        event = done.event("RedemptionRequested")
        return Redemption(int(event.args["id"]), event.args["merchant"], int(event.args["amount"]),
                          False, "", done.tx_hash, done.block_number)  # fmt: skip

    def confirm_payout(
        self, treasurer: Signer, redemption_id: int, bank_reference: str
    ) -> TxResult:
        """The treasurer records that redemption `redemption_id` was paid in euros."""
        return self.transact(
            treasurer,
            "confirmPayout",
            _check_id(redemption_id),
            reference32(bank_reference, "bank reference"),
            what="payout",
        )

    # ------------------------------------------------------------------ recovery

    def recover_wallet(self, recovery: Signer, lost: str, replacement: str) -> TxResult:
        lost_address = check_address(lost, "lost wallet")
        new_address = check_address(replacement, "replacement wallet")
        if lost_address == new_address:
            raise InvalidAddress("the replacement wallet must differ from the lost one")
        return self.transact(recovery, "recoverWallet", lost_address, new_address, what="recovery")

    # ------------------------------------------------------------------ administration

    def set_mint_allowance(self, admin: Signer, minter: str, cents: int) -> TxResult:
        return self.transact(
            admin,
            "setMintAllowance",
            check_address(minter, "minter"),
            check_cents(cents, "budget", allow_zero=True),
        )

    def set_yearly_cap(self, admin: Signer, cents: int) -> TxResult:
        return self.transact(admin, "setYearlyCap", check_cents(cents, "yearly cap"))

    def pause(self, pauser: Signer) -> TxResult:
        return self.transact(pauser, "pause")

    def unpause(self, pauser: Signer) -> TxResult:
        return self.transact(pauser, "unpause")

    def grant_role(self, admin: Signer, role: str, account: str) -> TxResult:
        rid = role_id(role)
        if rid == bytes(32):
            raise Refused(
                "the default admin is not granted: it is handed over in two steps "
                "(beginDefaultAdminTransfer, then the new admin accepts after the delay)"
            )
        return self.transact(admin, "grantRole", rid, check_address(account, "account"))

    def revoke_role(self, admin: Signer, role: str, account: str) -> TxResult:
        rid = role_id(role)
        if rid == bytes(32):
            raise Refused("the default admin is not revoked; it is handed over in two steps")
        return self.transact(admin, "revokeRole", rid, check_address(account, "account"))


def _topic(value: str) -> str:
    """An indexed argument as a log topic: an address left-padded to 32 bytes, or a 32-byte
    value as it is."""
    text = value.lower()
    if len(text) == 42:
        return "0x" + text[2:].rjust(64, "0")
    if len(text) != 66:
        raise InvalidInput(f"{value!r} is neither an address nor a 32-byte value")
    return text


def role_id(role: str) -> bytes:
    """A role's id from its CLI name ('minter') or contract name ('MINTER_ROLE')."""
    name = ROLES.get(role.strip().lower(), role.strip().upper())
    if name not in ROLE_IDS:
        raise InvalidInput(f"unknown role {role!r}; the roles are: {', '.join(ROLES)}")
    return ROLE_IDS[name]


def _check_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**64:
        raise InvalidInput(f"{value!r} is not a redemption number (a whole number from 1)")
    return value


def _refused(row: RewardRow, jid: bytes, exc: BaseException) -> RewardResult:
    error = exc if isinstance(exc, HeitjeError) else None
    return RewardResult(
        row.job, jid, str(row.resident), row.cents if isinstance(row.cents, int) else 0,
        "refused", reason=str(exc), error=error,
    )  # fmt: skip


__all__ = [
    "DEFAULT_BATCH",
    "GAS_REWARD",
    "MAX_CENTS",
    "ROLES",
    "HeitjeClient",
    "Redemption",
    "RewardResult",
    "RewardRow",
    "TxResult",
    "check_job_id",
    "job_id",
    "reference32",
    "role_id",
    "text_of",
]
