"""Settling payments and refunds left `sending`.

A payment or refund is recorded (committed) as `sending` before its transaction is sent, and
marked `paid` after. When the service dies in between, or the chain does not answer, the row
stays `sending`. The chain then says what happened: a matching `Payment` or `Refund` event
means it was paid; no event while nothing from the sender's wallet is still waiting to be
mined means it never arrived, and nothing moved.

A row is marked paid as soon as the chain has its event, but failed only once it is older
than the `settle_after` setting, so that a request still sending it is never overtaken (a
parallel repeat of a request waits for the first's outcome instead, api.routes.payments).
The chain is read with no database connection held; the row is then changed only if it is
still `sending`.

The app's retry with the same `request_id` settles one row; the worker settles the ones
nobody asked about again (`settle_stale`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.chain import ChainAccess
from api.db import Database
from api.models import Merchant, Payment, Refund, Resident, now
from heitje_chain.client import text_of
from heitje_chain.events import Event

log = logging.getLogger(__name__)

#: How far before a row's creation its transaction's block is looked for (clocks differ).
CLOCK_MARGIN = timedelta(minutes=10)


def settle_after(chain: ChainAccess) -> timedelta:
    """How old a `sending` row must be before the chain settles it (no request still sends
    it): the service's HEITJE_API_SETTLE_AFTER setting."""
    return timedelta(seconds=chain.settings.settle_after)


@dataclass(frozen=True)
class _Sent:
    event: str  # Payment or Refund
    sender: str
    receiver: str
    cents: int
    reference: str
    created: datetime


def _matches(chain: ChainAccess, sent: _Sent) -> list[Event]:
    since = int((sent.created - CLOCK_MARGIN).timestamp())
    return [
        found
        for found in chain.client.find_events(sent.event, sent.sender, sent.receiver, since=since)
        if int(found.args["amount"]) == sent.cents
        and text_of(found.args["receipt"]) == sent.reference
    ]


def settle_payment(
    db: Database, chain: ChainAccess, payment_id: int, may_fail: bool = True
) -> None:
    """Settle a payment left `sending` from the chain's Payment events (see the module): paid
    if the chain has it; failed if not, and nothing of the resident's is waiting to be mined,
    and `may_fail` (the row is old enough that no request can still be sending it)."""

    def failed(payment: Payment) -> None:
        payment.status = "failed"
        payment.reason = "the payment did not reach the chain and nothing was paid; pay again"

    _settle(db, chain, Payment, payment_id, may_fail, failed)


def settle_refund(db: Database, chain: ChainAccess, refund_id: int, may_fail: bool = True) -> None:
    """Settle a refund left `sending` from the chain's Refund events (see the module and
    `settle_payment`). One that never arrived is taken off the payment's refunded amount, so
    it can be refunded again."""

    def failed(refund: Refund) -> None:
        fail_refund(refund, "the refund did not reach the chain and nothing was refunded")

    _settle(db, chain, Refund, refund_id, may_fail, failed)


Row = TypeVar("Row", Payment, Refund)


def _settle(
    db: Database, chain: ChainAccess, table: type[Row], row_id: int, may_fail: bool,
    failed: Callable[[Row], None],
) -> None:  # fmt: skip
    with db.session() as session:
        row = session.get(table, row_id)
        if row is None or row.status != "sending":
            return
        payment = row if isinstance(row, Payment) else row.payment
        resident = session.get(Resident, payment.resident_id)
        merchant = session.get(Merchant, payment.merchant_id)
        assert resident is not None and merchant is not None
        if isinstance(row, Payment):
            sent = _Sent("Payment", resident.address, merchant.address, row.cents, row.receipt,
                         row.created_at)  # fmt: skip
        else:
            sent = _Sent("Refund", merchant.address, resident.address, row.cents, row.reference,
                         row.created_at)  # fmt: skip
    found = _matches(chain, sent)  # no connection held while the chain is read
    busy = not found and chain.client.tx.in_flight(sent.sender)
    with db.session(write=True) as session:
        row = session.get(table, row_id)
        if row is None or row.status != "sending":
            return
        taken = _taken(session, table, [f.tx_hash for f in found])
        event = next((f for f in found if f.tx_hash not in taken), None)
        if event is not None:
            row.status, row.tx_hash, row.reason = "paid", event.tx_hash, None
            row.block_number = event.block_number
        elif not busy and may_fail:
            failed(row)


def _taken(session: Session, table: type[Payment] | type[Refund], hashes: list[str]) -> set[str]:
    """Which of these transaction hashes already belong to a row (one row per transaction)."""
    if not hashes:
        return set()
    return {h for h in session.scalars(select(table.tx_hash).where(table.tx_hash.in_(hashes))) if h}


def locked(session: Session, table: type[Any], row_id: int) -> Any:
    """The row `row_id` of `table`, read afresh and locked for this transaction (PostgreSQL:
    `FOR UPDATE`; SQLite's writing session holds the write lock already), and for a refund
    its payment first. A refund route counting a new refund on the same payment (its guarded
    update) waits for the repair or is waited for; without the lock a payment's reversal
    (refunded set to 0, its refunds reversed) could overwrite a refund counted meanwhile and
    miss that refund, which then moved money the database did not count."""
    if table is Refund:
        payment_id = session.scalar(select(Refund.payment_id).where(Refund.id == row_id))
        if payment_id is None:
            return None
        session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    return session.get(table, row_id, with_for_update=True, populate_existing=True)


def fail_refund(refund: Refund, reason: str) -> None:
    """Nothing was refunded: the row says why and the payment's count goes down again."""
    refund.status, refund.reason = "failed", reason
    refund.payment.refunded_cents -= refund.cents


def settle_stale(db: Database, chain: ChainAccess, older_than: timedelta) -> int:
    """Settle every payment and refund left `sending` for longer than `older_than` (long
    enough that no request is still sending it); returns how many were settled."""
    before = now() - older_than
    with db.session() as session:
        payments = list(session.scalars(
            select(Payment.id).where(Payment.status == "sending", Payment.created_at < before)
        ))  # fmt: skip
        refunds = list(session.scalars(
            select(Refund.id).where(Refund.status == "sending", Refund.created_at < before)
        ))  # fmt: skip
    for payment_id in payments:
        settle_payment(db, chain, payment_id)
    for refund_id in refunds:
        settle_refund(db, chain, refund_id)
    if not payments and not refunds:
        return 0
    with db.session() as session:
        left = (session.scalar(select(func.count()).where(
            Payment.id.in_(payments), Payment.status == "sending"
        )) or 0) + (session.scalar(select(func.count()).where(
            Refund.id.in_(refunds), Refund.status == "sending"
        )) or 0)  # fmt: skip
    settled = len(payments) + len(refunds) - left
    if settled:
        log.info("settled %d payments and refunds left sending", settled)
    return settled
