"""Payments the service did not send, learnt from the chain: a resident with their own wallet
pays a shop with a plain ERC-20 `transfer` (MetaMask, Rainbow, any wallet that reads an
EIP-681 QR code), a `transferFrom`, or a `pay()` of its own. The till, the shop's lists, the
resident's history and the statistics read the `payments` table, so these are indexed into
it, marked `via` "wallet".

Each round (the worker runs one every second or so) reads the blocks after the cursor
(`chain_cursors`, with the hash of the last block read) up to the head (less the
`confirmations` setting on a chain without instant finality; production's QBFT and the
embedded chain have it, so there a payment shows at once) with
`heitje_chain.ledger.PaymentScanner`, which pairs a `pay()`'s `Transfer` with its `Payment`,
so a `pay()` is one payment. Of those, it indexes every payment to a shop the service knows
from a resident it knows (their wallet now, or a lost one), except the `pay()`s from wallets
the service keeps itself: those are the service's own, recorded before they were sent
(api.routes.payments) and settled from the chain (api.settle). A payment from a wallet the
service does not know (a reward paid outside the service) is counted in `unknown` and logged:
the audit (`heitje audit`) and the shop's balance count it; the service has no resident to
show it under.

- Once: one row per `Transfer` log, unique by transaction hash and log index, inserted with
  "on conflict do nothing", so two API processes indexing the same blocks at once, or a round
  repeated after a crash, add each payment once. The cursor only moves forward, except below.
- The chain is the source of truth: each row records its block, and the reconciler
  (api.reconcile) checks it like any other paid row: a payment whose transaction the chain
  forgot becomes `reversed`. When the cursor's block is above the head or its hash is no
  longer canonical, the index reads again from the deployment block (rows still on the chain
  are there already and stay as they are; a transaction mined again in another block is
  indexed again if the reconciler reversed it; one mined again before the reconciler saw
  it gone keeps its row, which moves to the transaction's new log indexes).
- A receipt is what a `pay()` carries, or what the wallet appended to its transfer's data
  (`LedgerReader.with_wallet_receipts`); otherwise it is empty.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.chain import ChainAccess
from api.db import Database
from api.models import ChainCursor, Merchant, Payment, Resident, WalletRecovery, now
from heitje_chain.client import text_of
from heitje_chain.ledger import LedgerReader, PaymentRecord, PaymentScanner

log = logging.getLogger(__name__)

CURSOR = "payments"
#: Blocks read in one round at most (the first round on a long ledger takes several).
ROUND_BLOCKS = 50_000


def _plain(text: str) -> str:
    """A receipt a wallet wrote, as text to show: printable characters only."""
    return "".join(ch for ch in text if ch.isprintable()).strip()[:32]


class PaymentIndex:
    """Indexes payments made from residents' own wallets (see the module); `run` is one
    round, one at a time per process."""

    def __init__(self, db: Database, chain: ChainAccess) -> None:
        self.db = db
        self.chain = chain
        self.unknown = 0  # payments from wallets the service does not know, seen so far
        self._reader: LedgerReader | None = None
        self._scanner: PaymentScanner | None = None
        self._lock = threading.Lock()

    def run(self) -> int:
        """Read the new blocks; returns how many payments this round added."""
        with self._lock:
            return self._run()

    def _run(self) -> int:
        client = self.chain.client
        if self._reader is None:
            self._reader = client.ledger()
        reader = self._reader
        head = reader.head()
        start = reader.from_block - 1
        with self.db.session() as session:
            cursor = session.get(ChainCursor, CURSOR)
            at, at_hash = (cursor.block_number, cursor.block_hash) if cursor else (start, None)
        if at > start and (
            at > head or (at_hash is not None and client.canonical_hashes([at]).get(at) != at_hash)
        ):
            log.error(
                "the chain no longer has block %d as the payment index read it (head %d): "
                "reading the payments again from the deployment block", at, head,
            )  # fmt: skip
            at = start
            self._set_cursor(start, None, rewind=True)
        if at >= head:
            return 0
        scanner = self._scanner
        if scanner is None or scanner.block > at:
            scanner = self._scanner = PaymentScanner(reader)
        scanner.skip_to(at)  # another process may have read some blocks already
        end = min(head, at + ROUND_BLOCKS)
        try:
            found = list(scanner.scan(end))
        except BaseException:
            self._scanner = None  # half read: start again from the cursor next time
            raise
        blocks = self._blocks({p.block_number for p in found} | {end})
        added = self._store(found, blocks) if found else 0
        self._set_cursor(end, blocks[end][0], rewind=False)
        if added:
            log.info("indexed %d payments from own wallets (blocks %d-%d)", added, at + 1, end)
        return added

    def _blocks(self, numbers: set[int]) -> dict[int, tuple[str, datetime]]:
        """Each block's hash and time (one batched request)."""
        ordered = sorted(numbers)
        answers = self.chain.client.rpc.batch(
            [("eth_getBlockByNumber", [hex(n), False]) for n in ordered]
        )
        out: dict[int, tuple[str, datetime]] = {}
        for number, block in zip(ordered, answers, strict=True):
            if not isinstance(block, dict) or not block.get("hash"):
                raise RuntimeError(f"the node did not give block {number}")
            at = datetime.fromtimestamp(int(block["timestamp"], 16), UTC)
            out[number] = (str(block["hash"]), at)
        return out

    def _store(self, found: list[PaymentRecord], blocks: dict[int, tuple[str, datetime]]) -> int:
        assert self._reader is not None
        with self.db.session() as session:
            shops = {
                address.lower(): mid
                for mid, address in session.execute(select(Merchant.id, Merchant.address))
            }
            mine = [p for p in found if p.merchant.lower() in shops]
            payers = self._payers(session, {p.payer.lower() for p in mine})
        wanted: list[PaymentRecord] = []
        for p in mine:
            payer = payers.get(p.payer.lower())
            if payer is None:
                self.unknown += 1
                log.warning(
                    "payment of %d cents to shop %s in transaction %s is from %s, a wallet "
                    "the service does not know: counted by the audit, not listed",
                    p.amount, p.merchant, p.tx_hash, p.payer,
                )  # fmt: skip
            elif not (p.via == "pay" and payer[1]):  # a kept wallet's pay() is the service's
                wanted.append(p)
        if not wanted:
            return 0
        wanted = self._reader.with_wallet_receipts(wanted)
        rows: list[dict[str, Any]] = [
            {
                "resident_id": payers[p.payer.lower()][0],
                "merchant_id": shops[p.merchant.lower()],
                "cents": p.amount,
                "receipt": _plain(text_of(p.receipt)),
                # unique per resident; the index's own key is the hash and the log index
                "request_id": f"wallet:{p.tx_hash[2:52]}:{p.log_index}",
                "status": "paid",
                "tx_hash": p.tx_hash,
                "log_index": p.log_index,
                "via": "wallet",
                "refunded_cents": 0,
                "block_number": p.block_number,
                "block_hash": blocks[p.block_number][0],
                "final": False,  # the reconciler confirms it
                "created_at": blocks[p.block_number][1],
            }
            for p in wanted
        ]
        added = 0
        with self.db.session(write=True) as session:
            self._follow_moved(session, rows)
            insert = _insert(session)
            for row in rows:
                query = insert(Payment).values(**row).on_conflict_do_nothing()
                added += session.execute(query.returning(Payment.id)).first() is not None
        return added

    @staticmethod
    def _follow_moved(session: Session, rows: list[dict[str, Any]]) -> None:
        """A transaction indexed before and now found at other log indexes: the chain went
        back and mined the same transaction again in another block, where its logs have
        other positions (the reconciler has moved the row to the new block already, or will).
        Its rows move with it, pairing the transaction's payments in their order, which the
        transaction itself fixes; inserted as new they would be the same payment twice."""
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            found[row["tx_hash"]].append(row)
        held: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for pid, tx_hash, log_index in session.execute(
            select(Payment.id, Payment.tx_hash, Payment.log_index)
            .where(Payment.via == "wallet", Payment.tx_hash.in_(list(found)))
            .order_by(Payment.log_index)
        ):
            held[str(tx_hash)].append((pid, log_index))
        for tx_hash, had in held.items():
            now_at = sorted(found[tx_hash], key=lambda r: r["log_index"])
            if [i for _, i in had] == [r["log_index"] for r in now_at]:
                continue
            if len(had) != len(now_at):
                log.error(
                    "transaction %s has %d indexed payments but %d on the chain: left as it "
                    "is", tx_hash, len(had), len(now_at),
                )  # fmt: skip
                continue
            pairs = list(zip(had, now_at, strict=True))
            if now_at[0]["log_index"] > had[0][1]:
                pairs.reverse()  # moved up: the highest first, so no two rows share an index
            for (pid, before), row in pairs:
                log.warning(
                    "transaction %s was mined again in block %d: payment %d moves from log "
                    "%d to %d", tx_hash, row["block_number"], pid, before, row["log_index"],
                )  # fmt: skip
                session.execute(
                    update(Payment)
                    .where(Payment.id == pid)
                    .values(
                        log_index=row["log_index"],
                        block_number=row["block_number"],
                        block_hash=row["block_hash"],
                        final=False,
                    )
                    .execution_options(synchronize_session=False)
                )

    @staticmethod
    def _payers(session: Session, addresses: set[str]) -> dict[str, tuple[int, bool]]:
        """Resident id and whether the service keeps the wallet, by (lowercase) address: the
        wallet a resident has now, or one they lost (recovered)."""
        out: dict[str, tuple[int, bool]] = {}
        if not addresses:
            return out
        for rid, address, custodial in session.execute(
            select(Resident.id, Resident.address, Resident.custodial).where(
                func.lower(Resident.address).in_(addresses)
            )
        ):
            out[address.lower()] = (rid, custodial)
        for lost, rid, custodial in session.execute(
            select(WalletRecovery.lost, Resident.id, Resident.custodial)
            .join(Resident, WalletRecovery.resident_id == Resident.id)
            .where(WalletRecovery.status == "done", func.lower(WalletRecovery.lost).in_(addresses))
        ):
            if lost.lower() in addresses:
                out.setdefault(lost.lower(), (rid, custodial))
        return out

    def _set_cursor(self, block: int, block_hash: str | None, rewind: bool) -> None:
        """Note how far the index read; it only moves forward unless `rewind`."""
        with self.db.session(write=True) as session:
            values = {"block_number": block, "block_hash": block_hash, "updated_at": now()}
            query = _insert(session)(ChainCursor).values(name=CURSOR, **values)
            made = query.on_conflict_do_nothing().returning(ChainCursor.name)
            if session.execute(made).first() is not None:
                return
            moved = update(ChainCursor).where(ChainCursor.name == CURSOR)
            if not rewind:
                moved = moved.where(ChainCursor.block_number < block)
            session.execute(moved.values(**values).execution_options(synchronize_session=False))


def _insert(session: Session) -> Any:
    """INSERT for this database, with its "on conflict do nothing" (PostgreSQL or SQLite)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
