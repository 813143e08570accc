"""Settling payments and refunds left `sending`.

A payment or refund is recorded (committed) as `sending` before its transaction is sent, and
marked `paid` after. When the service dies in between, or the chain does not answer, the row
stays `sending`. The chain then says what happened: a matching `Payment` or `Refund` event
means it was paid; no event while nothing from the sender's wallet is still waiting to be
mined means it never arrived, and nothing moved.

The app's retry with the same `request_id` settles one row at once; the worker settles the
ones nobody asked about again (`settle_stale`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.chain import ChainAccess
from api.db import Database
from api.models import Merchant, Payment, Refund, Resident, now
from heitje_chain.client import text_of

log = logging.getLogger(__name__)

#: How far before a row's creation its transaction's block is looked for (clocks differ).
CLOCK_MARGIN = timedelta(minutes=10)


def _on_chain(
    chain: ChainAccess, event: str, sender: str, receiver: str, cents: int, reference: str,
    created: datetime, taken: set[str | None],
) -> str | None:  # fmt: skip
    """The hash of the transaction with this `event` from `sender` to `receiver` for `cents`
    and `reference`, made after the row was `created` and claimed by no other row; None if
    there is none."""
    since = int((created - CLOCK_MARGIN).timestamp())
    for found in chain.client.find_events(event, sender, receiver, since=since):
        if (
            found.tx_hash not in taken
            and int(found.args["amount"]) == cents
            and text_of(found.args["receipt"]) == reference
        ):
            return found.tx_hash
    return None


def settle_payment(
    session: Session, chain: ChainAccess, payment: Payment, resident: Resident, merchant: Merchant
) -> None:
    """Settle a payment left `sending` from the chain's Payment events (see the module)."""
    taken = set(session.scalars(select(Payment.tx_hash).where(Payment.tx_hash.is_not(None))))
    tx_hash = _on_chain(
        chain, "Payment", resident.address, merchant.address, payment.cents, payment.receipt,
        payment.created_at, taken,
    )  # fmt: skip
    if tx_hash is not None:
        payment.status, payment.tx_hash, payment.reason = "paid", tx_hash, None
    elif not chain.client.tx.in_flight(resident.address):
        payment.status = "failed"
        payment.reason = "the payment did not reach the chain and nothing was paid; pay again"


def settle_refund(
    session: Session, chain: ChainAccess, refund: Refund, resident: Resident, merchant: Merchant
) -> None:
    """Settle a refund left `sending` from the chain's Refund events (see the module). One that
    never arrived is taken off the payment's refunded amount, so it can be refunded again."""
    taken = set(session.scalars(select(Refund.tx_hash).where(Refund.tx_hash.is_not(None))))
    tx_hash = _on_chain(
        chain, "Refund", merchant.address, resident.address, refund.cents, refund.reference,
        refund.created_at, taken,
    )  # fmt: skip
    if tx_hash is not None:
        refund.status, refund.tx_hash, refund.reason = "paid", tx_hash, None
    elif not chain.client.tx.in_flight(merchant.address):
        fail_refund(refund, "the refund did not reach the chain and nothing was refunded")


def fail_refund(refund: Refund, reason: str) -> None:
    """Nothing was refunded: the row says why and the payment's count goes down again."""
    refund.status, refund.reason = "failed", reason
    refund.payment.refunded_cents -= refund.cents


def settle_stale(db: Database, chain: ChainAccess, older_than: timedelta) -> int:
    """Settle every payment and refund left `sending` for longer than `older_than` (long
    enough that no request is still sending it); returns how many were settled."""
    before = now() - older_than
    settled = 0
    with db.session() as session:
        payments = session.execute(
            select(Payment, Resident, Merchant)
            .join(Resident, Payment.resident_id == Resident.id)
            .join(Merchant, Payment.merchant_id == Merchant.id)
            .where(Payment.status == "sending", Payment.created_at < before)
        ).all()
        for payment, resident, merchant in payments:
            settle_payment(session, chain, payment, resident, merchant)
            settled += payment.status != "sending"
        refunds = session.execute(
            select(Refund, Resident, Merchant)
            .join(Payment, Refund.payment_id == Payment.id)
            .join(Resident, Payment.resident_id == Resident.id)
            .join(Merchant, Payment.merchant_id == Merchant.id)
            .where(Refund.status == "sending", Refund.created_at < before)
        ).all()
        for refund, resident, merchant in refunds:
            settle_refund(session, chain, refund, resident, merchant)
            settled += refund.status != "sending"
    if settled:
        log.info("settled %d payments and refunds left sending", settled)
    return settled
