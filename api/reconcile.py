"""The chain is the source of truth: the reconciler checks the database's record of every
paid reward, payment, refund, redemption and payout against it, and repairs what the chain
no longer has.

Every row whose transaction went through carries the block it was mined in. Each round
(at start-up and every `reconcile_interval` seconds in the worker):

1. It looks whether the chain forgot blocks the database has seen: the chain's head is
   below the highest block any row records, or the newest block recorded as final no longer
   has the hash the database noted (the embedded chain came back from an older state file
   after a SIGKILL; a reorg on a chain without instant finality). That is logged loudly and
   shown in `GET /status`; every row from the last block the two agree on is checked again.
2. It checks the rows not yet final (and those of step 1) with `HeitjeClient.positions`: the
   receipt is there, in a block whose hash is canonical, and `confirmations` deep where the
   chain has no instant finality. Those are marked final with their block and hash.
3. What the chain no longer has is repaired, each repair in the audit log (actor `system`):
   - a reward goes back to `pending`: the worker pays it again, and its job id keeps it
     exactly-once on-chain;
   - a payment or refund becomes `reversed` (nothing moved: the balances are the chain's);
     a payment's refunds go with it;
   - a redemption becomes `reversed` (the Heitjes are back in the shop's wallet);
   - a payout goes back to `sending` and is sent again with the same bank reference.
   A transaction the node still holds (`pending`, e.g. put back in the pool by a reorg) is
   left alone until it is mined or dropped.
   A repair is itself a sign that the chain forgot (a paid row had its receipt): when step 1
   did not see it, the round is reported as one that found the chain forgot, and the nonces
   of the lost transactions are filled as in step 1.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from api.audit import record
from api.chain import ChainAccess
from api.db import Database
from api.models import Payment, PayoutRecord, RedemptionRequest, Refund, Reward, now
from api.settle import locked
from heitje_chain.client import TxPosition

log = logging.getLogger(__name__)

#: The tables whose rows record a transaction, and the status a row has once it went through.
TABLES: tuple[tuple[type[Any], str], ...] = (
    (Reward, "paid"),
    (Payment, "paid"),
    (Refund, "paid"),
    (RedemptionRequest, "done"),
    (PayoutRecord, "paid"),
)
BATCH = 500  # rows checked per query and batched chain request


@dataclass
class Report:
    """One reconciliation round: what it saw and what it repaired."""

    at: datetime
    head: int | None
    highest_seen: int | None
    forgot: bool = False
    forgot_from: int | None = None  # the first block the chain no longer agrees on
    checked: int = 0
    confirmed: int = 0
    repaired: list[str] = field(default_factory=list)
    error: str | None = None


class Reconciler:
    def __init__(self, db: Database, chain: ChainAccess) -> None:
        self.db = db
        self.chain = chain
        self.last: Report | None = None
        self.last_forgot: Report | None = None  # the latest round that found blocks forgotten
        self._lock = threading.Lock()

    def run(self) -> Report:
        """One round (see the module); one at a time per process."""
        with self._lock:
            try:
                report = self._run()
            except Exception as exc:
                self.last = Report(now(), None, None, error=f"{type(exc).__name__}: {exc}")
                raise
            self.last = report
            if report.forgot:
                self.last_forgot = report
            return report

    # ------------------------------------------------------------------ the round

    def _run(self) -> Report:
        client = self.chain.client
        head = client.rpc.block_number()
        with self.db.session() as session:
            highest = max(
                (session.scalar(select(func.max(t.block_number))) or -1 for t, _ in TABLES),
                default=-1,
            )
        report = Report(now(), head, highest if highest >= 0 else None)
        recheck_from = self._forgotten_from(head, report)
        if recheck_from is not None:
            report.forgot, report.forgot_from = True, recheck_from
            log.error(
                "THE CHAIN FORGOT BLOCKS THE DATABASE HAS SEEN: head %d, the database has seen "
                "block %s; everything from block %d is checked against the chain again",
                head, report.highest_seen, recheck_from,
            )  # fmt: skip
            # Transactions signed after the lost ones wait behind their nonces: fill them.
            client.tx.fill_gaps()
            with self.db.session(write=True) as session:
                for table, _ in TABLES:
                    session.execute(
                        update(table)
                        .where(table.block_number >= recheck_from)
                        .values(final=False)
                        .execution_options(synchronize_session=False)
                    )
                record(
                    session, None, "chain.forgot", "chain", head=head,
                    highest_seen=report.highest_seen, from_block=recheck_from,
                )  # fmt: skip
        for table, done in TABLES:
            after = 0
            while True:
                with self.db.session() as session:
                    rows = session.execute(
                        select(table.id, table.tx_hash)
                        .where(table.status == done, table.tx_hash.is_not(None))
                        .where(or_(table.final.is_(False), table.block_hash.is_(None)))
                        .where(table.id > after)
                        .order_by(table.id)
                        .limit(BATCH)
                    ).all()
                if not rows:
                    break
                after = rows[-1][0]
                positions = client.positions([h for _, h in rows])
                report.checked += len(rows)
                self._apply(table, done, [(i, positions[h]) for i, h in rows], report)
        if report.repaired and not report.forgot:
            # A paid row whose transaction is missing: the chain forgot it, though this round
            # did not see it by the heights and hashes (a round that began before the chain
            # went back and checked the rows after it came back, while new blocks already
            # lifted its head above what the database had seen). As in step 1, the
            # transactions signed after the lost ones must not wait behind their nonces.
            report.forgot = True
            log.error(
                "THE CHAIN FORGOT TRANSACTIONS THE DATABASE HAD AS MINED (head %d): repaired "
                "%d records; filling the nonces the lost transactions had", head,
                len(report.repaired),
            )  # fmt: skip
            client.tx.fill_gaps()
        if report.repaired:
            log.warning("reconciliation repaired %d records: %s", len(report.repaired),
                        "; ".join(report.repaired[:20]))  # fmt: skip
        return report

    def _forgotten_from(self, head: int, report: Report) -> int | None:
        """The first block from which the chain no longer agrees with the database, or None
        when it agrees. The blocks recorded as final are compared with the chain's canonical
        hashes, newest first, 50 at a time, down to the first that still stands with no
        stale mark below it among its 50."""
        forgot = report.highest_seen is not None and head < report.highest_seen
        below: int | None = None
        while True:
            marks = self._final_marks(below)
            if not marks:
                return 0 if forgot else None  # nothing recorded still stands: check it all
            newest = sorted(marks, reverse=True)
            canonical = self.chain.client.canonical_hashes(newest)
            # Every mark of the 50 is compared, not only the newest: marks are noted at
            # different times, so one noted on the chain as it is now may stand above marks
            # noted on the chain it forgot (a round that straddled the chain's restart).
            stale = [n for n in newest if marks[n] != {canonical.get(n)}]
            forgot = forgot or bool(stale)
            lowest = min(stale) if stale else None
            for number in newest:
                if lowest is None or number < lowest:  # agrees, and nothing below is stale
                    return number + 1 if forgot else None
            below = newest[-1]

    def _final_marks(self, below: int | None) -> dict[int, set[str]]:
        """The newest 50 blocks (below `below`) recorded as final, with the hashes recorded."""
        marks: dict[int, set[str]] = {}
        with self.db.session() as session:
            for table, _ in TABLES:
                query = select(table.block_number, table.block_hash).where(
                    table.final.is_(True), table.block_hash.is_not(None)
                )
                if below is not None:
                    query = query.where(table.block_number < below)
                query = query.distinct().order_by(table.block_number.desc()).limit(50)
                for number, block_hash in session.execute(query):
                    marks.setdefault(int(number), set()).add(str(block_hash))
        return dict(sorted(marks.items(), reverse=True)[:50])

    def _apply(
        self, table: type[Any], done: str, found: Sequence[tuple[int, TxPosition]], report: Report
    ) -> None:
        with self.db.session(write=True) as session:
            for row_id, position in found:  # in id order, as every writer locks them
                row = locked(session, table, row_id)
                if row is None or row.status != done or row.tx_hash != position.tx_hash:
                    continue  # changed meanwhile
                if position.state in ("final", "mined"):
                    row.block_number, row.block_hash = position.block_number, position.block_hash
                    row.final = position.state == "final"
                    report.confirmed += row.final
                elif position.state == "missing":
                    report.repaired.append(self._repair(session, row))

    def _repair(self, session: Session, row: Any) -> str:
        lost = f"the chain no longer has its transaction {row.tx_hash} (block {row.block_number})"
        what: str
        if isinstance(row, Reward):
            row.status, row.last_error, row.next_attempt_at = "pending", lost, None
            what = f"reward {row.id} ({row.reference}) pending again: {lost}"
            action = "reconcile.reward_pending"
        elif isinstance(row, Payment):
            row.status, row.reason = "reversed", f"{lost}: nothing was paid"
            for refund in row.refunds:
                if refund.status in ("paid", "sending"):
                    refund.status, refund.reason = "reversed", "its payment was reversed"
            row.refunded_cents = 0
            what = f"payment {row.id} reversed: {lost}"
            action = "reconcile.payment_reversed"
        elif isinstance(row, Refund):
            row.status, row.reason = "reversed", f"{lost}: nothing was refunded"
            # counted in the database, not in Python: a refund of the same payment may be
            # counting itself at this moment (its guarded update), and neither may be lost
            session.execute(
                update(Payment)
                .where(Payment.id == row.payment_id)
                .values(refunded_cents=Payment.refunded_cents - row.cents)
                .execution_options(synchronize_session=False)
            )
            what = f"refund {row.id} reversed: {lost}"
            action = "reconcile.refund_reversed"
        elif isinstance(row, RedemptionRequest):
            row.status, row.reason = "reversed", f"{lost}: the Heitjes are back in the wallet"
            what = f"redemption request {row.id} (number {row.redemption_id}) reversed: {lost}"
            action = "reconcile.redemption_reversed"
            payout = session.scalar(
                select(PayoutRecord).where(PayoutRecord.redemption_id == row.redemption_id)
            )
            if payout is not None:
                log.error(
                    "redemption %s was paid out (%s) but the chain lost the redemption: the "
                    "treasurer must look at it", row.redemption_id, payout.bank_reference,
                )  # fmt: skip
        else:
            row.status, row.reason = "sending", f"{lost}: sent again"
            what = f"payout of redemption {row.redemption_id} to be sent again: {lost}"
            action = "reconcile.payout_resend"
        tx_hash, block = row.tx_hash, row.block_number
        if not isinstance(row, PayoutRecord):
            row.tx_hash = None
        row.block_number, row.block_hash, row.final = None, None, False
        record(
            session, None, action, f"{type(row).__tablename__}:{row.id}",
            tx_hash=tx_hash, block=block,
        )  # fmt: skip
        return what
