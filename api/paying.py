"""A payment from a resident's custodial wallet to a shop: the one implementation, for the
app (api.routes.payments, the resident pays) and the Heitje card (api.routes.cards, the
shop's till charges the card after the resident typed the PIN).

A payment is first recorded as `sending` and committed, then sent on-chain, then marked
`paid` or `refused`. The `request_id` makes a repeated request (a double tap, a retry after a
dropped connection, the same request from several threads at once) return the same payment
instead of paying twice: the database's unique constraint on (resident, request_id) decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.chain import ChainAccess
from api.db import Database
from api.errors import ApiError
from api.models import Merchant, Payment, Refund, Resident, now
from api.schemas import Money, PaymentPublic, RefundPublic
from api.settle import settle_after, settle_payment
from heitje_chain.errors import ChainUnavailable, Refused, TransactionFailed

#: How long a repeated request waits for the first one with its request_id to finish.
REPEAT_WAIT = 10.0

#: A check of its own a way of paying makes inside the transaction that records the payment
#: (the card: still usable, within its daily limit), given the resident's and the shop's rows.
Guard = Callable[[Session, Resident, Merchant], None]


@dataclass(frozen=True)
class Order:
    """What is to be paid: by whom, to which shop, how much, with which receipt, once."""

    resident_id: int | None
    merchant_code: str
    cents: int
    receipt: str
    request_id: str
    #: the Heitje card it is paid with (None: the resident's own app)
    card_id: int | None = None


class Repeated(Exception):
    """A request whose request_id is known already."""


def refund_out(refund: Refund) -> RefundPublic:
    return RefundPublic(
        id=refund.id,
        amount=Money.of(refund.cents),
        status=refund.status,
        reason=refund.reason,
        tx_hash=refund.tx_hash,
        created_at=refund.created_at,
    )


def payment_out(payment: Payment, resident: Resident, merchant: Merchant) -> PaymentPublic:
    return PaymentPublic(
        id=payment.id,
        resident=resident.pseudonym,
        merchant=merchant.name,
        merchant_code=merchant.code,
        amount=Money.of(payment.cents),
        refunded=Money.of(payment.refunded_cents),
        refunds=[refund_out(r) for r in payment.refunds],
        receipt=payment.receipt,
        status=payment.status,
        reason=payment.reason,
        tx_hash=payment.tx_hash,
        created_at=payment.created_at,
        via=payment.via,
        card=payment.card_id is not None,
    )


def parties(session: Session, payment: Payment) -> tuple[Resident, Merchant]:
    resident = session.get(Resident, payment.resident_id)
    merchant = session.get(Merchant, payment.merchant_id)
    assert resident is not None and merchant is not None
    return resident, merchant


def payment_of(session: Session, resident_id: int | None, request_id: str) -> Payment | None:
    return session.scalar(
        select(Payment).where(Payment.resident_id == resident_id, Payment.request_id == request_id)
    )


def pay(
    db: Database, chain: ChainAccess, order: Order, guard: Guard | None = None
) -> PaymentPublic:
    """Pay `order` from the resident's custodial wallet (see the module). `guard` runs in the
    transaction that records the payment, after the shop is found and before the row is
    written; what it raises refuses the payment and nothing is recorded. A repeated
    request_id answers with the first payment's outcome (also while it is being sent)."""
    try:
        with db.session(write=True) as session:
            resident = session.get(Resident, order.resident_id)
            if resident is None:
                raise ApiError(404, "no_resident", "this account has no resident record")
            if payment_of(session, resident.id, order.request_id) is not None:
                raise Repeated
            merchant = session.scalar(
                select(Merchant).where(Merchant.code == order.merchant_code.upper())
            )
            if merchant is None or merchant.status != "approved":
                raise ApiError(
                    404, "no_merchant", f"there is no shop with code {order.merchant_code!r} "
                    "that accepts Heitjes; check the code on the shop's sticker"
                )  # fmt: skip
            if not resident.custodial:
                raise ApiError(
                    409, "own_wallet", "your wallet is your own: pay from your wallet app instead"
                )
            if guard is not None:
                try:
                    guard(session, resident, merchant)
                except ApiError:
                    # A parallel request with this request_id may have been recorded while
                    # the guard waited for its lock (the card's row, on PostgreSQL), and its
                    # payment counts in the guard's checks (the daily limit): the answer is
                    # that payment's, not a refusal of the sale it paid.
                    if payment_of(session, resident.id, order.request_id) is not None:
                        raise Repeated from None
                    raise
            payment = Payment(
                resident_id=resident.id,
                merchant_id=merchant.id,
                cents=order.cents,
                receipt=order.receipt,
                request_id=order.request_id,
                card_id=order.card_id,
            )
            session.add(payment)
            session.flush()
            payment_id, address, to = payment.id, resident.address, merchant.address
    except (Repeated, IntegrityError):  # a repeat, or a parallel request with the same id won
        return repeated_payment(db, chain, order)
    # Recorded as `sending` (committed), and no connection is held while the chain works.
    status, tx_hash, block, reason = "paid", None, None, None
    try:
        wait = chain.settings.receipt_wait
        done = chain.client.pay(chain.wallet(address), to, order.cents, order.receipt, timeout=wait)
        tx_hash, block = done.tx_hash, done.block_number
    except Refused as exc:
        status, reason = "refused", str(exc)
    except (ChainUnavailable, TransactionFailed) as exc:
        status, reason = "sending", f"not confirmed yet: {exc}"
    with db.session(write=True) as session:
        sent = session.get(Payment, payment_id)
        assert sent is not None
        if status == "paid":  # the chain's word wins over anything noted meanwhile
            sent.status, sent.tx_hash, sent.block_number, sent.reason = status, tx_hash, block, None
        elif sent.status == "sending":
            sent.status, sent.reason = status, reason
        out = payment_out(sent, *parties(session, sent))
    if out.status == "refused":
        raise ApiError(409, "payment_refused", out.reason or "refused", {"payment": out.id})
    return out


def repeated_payment(db: Database, chain: ChainAccess, order: Order) -> PaymentPublic:
    """The answer to a payment's request_id seen before: the first request's outcome. While
    the row is `sending` the chain is asked (a crash may have left it so: a Payment event
    settles it at once), and the first request is waited for up to REPEAT_WAIT seconds; a row
    is settled as failed only when it is older than `settle_after`. After that it is
    answered as `sending` (ask again in a moment), never as failed while it may still move.

    A card payment's request_id must name a payment with that card, so a till never learns
    of another payment by reusing its request_id."""
    deadline = time.monotonic() + REPEAT_WAIT
    old = now() - settle_after(chain)
    while True:
        with db.session() as session:
            payment = payment_of(session, order.resident_id, order.request_id)
            assert payment is not None
            out = payment_out(payment, *parties(session, payment))
            if order.card_id is not None and (
                payment.card_id != order.card_id or out.merchant_code != order.merchant_code
            ):
                raise ApiError(
                    409, "request_id_used", "this request_id belongs to another payment: "
                    "start a new sale",
                )  # fmt: skip
        if out.status != "sending" or time.monotonic() > deadline:
            break
        settle_payment(db, chain, out.id, may_fail=out.created_at < old)
        with db.session() as session:
            payment = session.get(Payment, out.id)
            assert payment is not None
            if payment.status != "sending":
                out = payment_out(payment, *parties(session, payment))
                break
        time.sleep(0.2)
    if out.status == "refused":
        raise ApiError(409, "payment_refused", out.reason or "refused", {"payment": out.id})
    return out
