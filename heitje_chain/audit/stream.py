"""Where the auditor's raw logs come from: a node (JSON-RPC) or a ledger export (a JSONL file
written by `heitje audit --save-ledger`), one list of raw logs at a time.

Logs stay raw JSON-RPC dicts (hex strings): the auditor decodes only what it needs with
slices and `int(..., 16)`, which is far cheaper than building an event object per log. Reading
from a node fetches ahead in a thread, so the node builds the next answer while the auditor
works through the current one.

The ledger export is plain text, one JSON object per line (gzip when the name ends in .gz):

    {"heitje_ledger": 1, "chain_id": ..., "contract": ..., "from_block": ..., "to_block": ...,
     "block_hash": ..., "block_timestamp": ...}                         first line: the header
    {"blockNumber": "0x..", "blockTimestamp": "0x..", "transactionHash": "0x..",
     "logIndex": "0x..", "topics": [...], "data": "0x.."}               one line per log
    {"end": true, "senders": {tx hash: address}, "total_supply": ...}   last line: the trailer

The trailer holds what the auditor read from the node besides the logs: who sent the
transactions of admin actions, and the total supply the node reported at the last block.
"""

from __future__ import annotations

import gzip
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from heitje_chain.errors import HeitjeError
from heitje_chain.ledger import LedgerReader
from heitje_chain.rpc import Rpc, RpcError

LEDGER_FORMAT = 1
#: Calls per batched JSON-RPC request (headers, senders, balances).
BATCH = 500
#: Blocks in the first `eth_getLogs` of an audit (the range then adapts to the answers).
START_RANGE = 32
_SELECTOR_TOTAL_SUPPLY = "0x18160ddd"
_SELECTOR_BALANCE_OF = "0x70a08231"


class AuditInputError(HeitjeError, ValueError):
    """The ledger export or the service export cannot be read as one."""


@dataclass(frozen=True)
class Head:
    """The block an audit is computed at, so two auditors can compare their reports."""

    chain_id: int
    contract: str
    from_block: int
    block: int
    block_hash: str
    timestamp: int


@dataclass
class OnChain:
    """What the node itself says at the audited block (None where it could not tell)."""

    total_supply: int | None = None
    balances: dict[str, int] | None = None
    note: str = ""


class LogSource(Protocol):
    """Raw logs in chain order, plus what the auditor asks the node besides logs."""

    head: Head
    origin: str

    def chunks(self, after: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """Lists of raw logs of blocks after `after` (default: from the deployment) up to
        `head.block`, in chain order."""
        ...

    def senders(self, tx_hashes: Iterable[str]) -> dict[str, str]:
        """The sender (lowercase address) of each transaction."""
        ...

    def on_chain(self, accounts: Iterable[str]) -> OnChain:
        """Total supply and balances of `accounts` as the node holds them at `head.block`."""
        ...


def block_header(rpc: Rpc, block: int) -> dict[str, Any]:
    header = rpc.call("eth_getBlockByNumber", [hex(block), False])
    if not header:
        raise AuditInputError(f"the node has no block {block}")
    return dict(header)


class RpcLogSource:
    """A contract's logs from a node, fetched ahead in a thread."""

    def __init__(
        self,
        reader: LedgerReader,
        chain_id: int,
        at: int | None = None,
        *,
        prefetch: int = 3,
    ) -> None:
        self.reader = reader
        self.rpc = reader.rpc
        self.prefetch = prefetch
        # Start with a short range and let it grow while answers stay small: a ledger of full
        # blocks is then never asked for in one answer of millions of logs.
        reader.range = min(reader.range, START_RANGE)
        head_block = reader.head()
        block = head_block if at is None else at
        if block > head_block:
            raise AuditInputError(
                f"block {block} is not on the chain yet (the last final block is {head_block})"
            )
        if block < reader.from_block:
            raise AuditInputError(
                f"block {block} is before the contract's deployment (block {reader.from_block})"
            )
        header = block_header(self.rpc, block)
        self.head = Head(
            chain_id=chain_id,
            contract=reader.address.lower(),
            from_block=reader.from_block,
            block=block,
            block_hash=str(header["hash"]),
            timestamp=int(header["timestamp"], 16),
        )
        self.origin = self.rpc.url
        self._timestamps: dict[str, str] = {}

    def chunks(self, after: int | None = None) -> Iterator[list[dict[str, Any]]]:
        start = self.head.from_block if after is None else after + 1
        if start > self.head.block:
            return iter(())
        return _ahead(
            self._with_timestamps(self.reader.log_chunks(start, self.head.block)), self.prefetch
        )

    def _with_timestamps(
        self, chunks: Iterator[list[dict[str, Any]]]
    ) -> Iterator[list[dict[str, Any]]]:
        """Nodes that leave `blockTimestamp` out of logs (older geth and Besu): the block
        headers of the chunk are read in one batched request and the time filled in."""
        for chunk in chunks:
            if chunk and "blockTimestamp" not in chunk[0]:
                wanted = {log["blockNumber"] for log in chunk} - set(self._timestamps)
                times = self.rpc.block_times(int(n, 16) for n in wanted)
                for number in wanted:
                    if int(number, 16) not in times:
                        raise AuditInputError(f"the node has no header of block {number}")
                    self._timestamps[number] = hex(times[int(number, 16)])
                for log in chunk:
                    log["blockTimestamp"] = self._timestamps[log["blockNumber"]]
                if len(self._timestamps) > 100_000:
                    self._timestamps.clear()
            yield chunk

    def senders(self, tx_hashes: Iterable[str]) -> dict[str, str]:
        hashes = sorted(set(tx_hashes))
        found: dict[str, str] = {}
        for start in range(0, len(hashes), BATCH):
            part = hashes[start : start + BATCH]
            answers = self.rpc.batch([("eth_getTransactionByHash", [h]) for h in part])
            for tx_hash, answer in zip(part, answers, strict=True):
                if isinstance(answer, dict) and answer.get("from"):
                    found[tx_hash] = str(answer["from"]).lower()
        return found

    def on_chain(self, accounts: Iterable[str]) -> OnChain:
        tag = hex(self.head.block)
        address = self.reader.address
        try:
            supply = int(
                self.rpc.call("eth_call", [{"to": address, "data": _SELECTOR_TOTAL_SUPPLY}, tag]),
                16,
            )
        except RpcError as exc:
            return OnChain(
                note=f"the node gives no state at block {self.head.block} ({exc.message}); "
                "the supply was checked from the events only"
            )
        balances: dict[str, int] = {}
        listed = list(accounts)
        for start in range(0, len(listed), BATCH):
            part = listed[start : start + BATCH]
            calls = [
                (
                    "eth_call",
                    [{"to": address, "data": _SELECTOR_BALANCE_OF + a[2:].rjust(64, "0")}, tag],
                )
                for a in part
            ]
            for account, answer in zip(part, self.rpc.batch(calls), strict=True):
                if isinstance(answer, RpcError):
                    return OnChain(
                        supply,
                        None,
                        f"the node did not give balances at block {self.head.block} "
                        f"({answer.message}); balances were checked from the events only",
                    )
                balances[account] = int(answer, 16)
        return OnChain(supply, balances)


def _ahead(chunks: Iterator[list[dict[str, Any]]], depth: int) -> Iterator[list[dict[str, Any]]]:
    """Iterate `chunks` in a thread, `depth` answers ahead of the consumer."""
    if depth < 1:
        yield from chunks
        return
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        box.put(("chunk", chunk), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(("error", exc))

    worker = threading.Thread(target=run, name="heitje-audit-fetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "chunk":
                yield item
            elif kind == "error":
                raise item
            else:
                return
    finally:
        stop.set()
        worker.join(timeout=5)


# ------------------------------------------------------------------ the ledger export


def _open_text(path: Path, mode: str, gz: bool | None = None) -> IO[str]:
    if path.suffix == ".gz" if gz is None else gz:
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return path.open(mode, encoding="utf-8")


_KEEP = ("blockNumber", "blockTimestamp", "transactionHash", "logIndex", "topics", "data")


class LedgerWriter:
    """Writes the logs an audit reads to a ledger export, for an offline audit later."""

    def __init__(self, path: Path, head: Head) -> None:
        self.path = path
        self._tmp = path.with_name(path.name + ".tmp")
        self._file = _open_text(self._tmp, "w", gz=path.suffix == ".gz")
        header = {"heitje_ledger": LEDGER_FORMAT, **head.__dict__}
        self._file.write(json.dumps(header) + "\n")
        self.count = 0

    def write(self, chunk: list[dict[str, Any]]) -> None:
        dumps = json.dumps
        self._file.write(
            "".join(
                dumps({k: log[k] for k in _KEEP}, separators=(",", ":")) + "\n" for log in chunk
            )
        )
        self.count += len(chunk)

    def close(self, senders: dict[str, str], total_supply: int | None) -> None:
        trailer = {
            "end": True,
            "logs": self.count,
            "senders": senders,
            "total_supply": total_supply,
        }
        self._file.write(json.dumps(trailer) + "\n")
        self._file.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


@dataclass
class FileLogSource:
    """The logs of a ledger export; what the node said (senders, supply) from its trailer."""

    path: Path
    chunk: int = 5000
    head: Head = field(init=False)
    origin: str = field(init=False)
    _trailer: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.origin = str(self.path)
        try:
            with _open_text(self.path, "r") as handle:
                first = handle.readline()
                header = json.loads(first) if first.strip() else {}
        except (OSError, ValueError, EOFError) as exc:
            raise AuditInputError(f"{self.path} cannot be read as a ledger export: {exc}") from None
        if not isinstance(header, dict) or header.get("heitje_ledger") != LEDGER_FORMAT:
            raise AuditInputError(
                f"{self.path} is not a Heitje ledger export (written by `heitje audit "
                "--save-ledger FILE`): its first line is not the export's header"
            )
        try:
            self.head = Head(
                chain_id=int(header["chain_id"]),
                contract=str(header["contract"]).lower(),
                from_block=int(header["from_block"]),
                block=int(header["block"]),
                block_hash=str(header["block_hash"]),
                timestamp=int(header["timestamp"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AuditInputError(f"{self.path}: the header lacks {exc}") from None

    def chunks(self, after: int | None = None) -> Iterator[list[dict[str, Any]]]:
        loads = json.loads
        skip_to = -1 if after is None else after
        chunk: list[dict[str, Any]] = []
        ended = False
        with _open_text(self.path, "r") as handle:
            handle.readline()
            for number, line in enumerate(handle, start=2):
                try:
                    item = loads(line)
                except ValueError:
                    raise AuditInputError(
                        f"{self.path}, line {number}: not a JSON object; the export is damaged"
                    ) from None
                if "end" in item:
                    self._trailer = item
                    ended = True
                    break
                if skip_to >= 0 and int(item["blockNumber"], 16) <= skip_to:
                    continue
                chunk.append(item)
                if len(chunk) >= self.chunk:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk
        if not ended:
            raise AuditInputError(
                f"{self.path} ends without its last line: the export is incomplete (cut off "
                "while it was written or copied)"
            )

    def senders(self, tx_hashes: Iterable[str]) -> dict[str, str]:
        recorded: dict[str, str] = self._trailer.get("senders") or {}
        return {h: recorded[h] for h in tx_hashes if h in recorded}

    def on_chain(self, accounts: Iterable[str]) -> OnChain:
        supply = self._trailer.get("total_supply")
        return OnChain(
            int(supply) if supply is not None else None,
            None,
            "offline audit of a ledger export: the total supply is the one the node reported "
            "when the export was written; balances were checked from the events only",
        )


def checksum(address: str) -> str:
    """An address in its checksummed form (for reports; the auditor keeps lowercase)."""
    from eth_utils import to_checksum_address

    return str(to_checksum_address(address)) if len(address) == 42 else address
