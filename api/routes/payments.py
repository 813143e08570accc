"""Payments: a resident pays a merchant (by the merchant's short code), with a receipt; the
merchant refunds. The payment itself is api.paying's (the Heitje card pays through it too).

A payment is first recorded as `sending` and committed, then sent on-chain, then marked
`paid` or `refused`. The app's `request_id` makes a repeated request (a double tap, a retry
after a dropped connection) return the same payment instead of paying twice.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from api.db import Database
from api.deps import ChainDep, DatabaseDep, UserDep, require
from api.errors import ApiError
from api.export import Format, Lang, Limit, Offset, listing
from api.models import Merchant, Payment, Refund, Resident, User, now
from api.paying import REPEAT_WAIT, Order, Repeated, parties, payment_out
from api.paying import pay as pay_order
from api.schemas import Id, Money, Page, PaymentCreate, PaymentPublic, RefundCreate
from api.settle import fail_refund, settle_after, settle_refund
from heitje_chain.errors import ChainUnavailable, Refused, TransactionFailed

router = APIRouter(prefix="/payments", tags=["payments"])
ResidentUser = Annotated[User, Depends(require("resident"))]
MerchantUser = Annotated[User, Depends(require("merchant"))]


@router.post("", response_model=PaymentPublic, status_code=201)
def pay(body: PaymentCreate, user: ResidentUser, db: DatabaseDep, chain: ChainDep) -> PaymentPublic:
    """Pay a merchant. Sending the same `request_id` again (also while the first is still
    being sent) returns the first payment: it is paid once."""
    order = Order(
        resident_id=user.resident_id,
        merchant_code=body.merchant_code,
        cents=int(body.amount),
        receipt=body.receipt,
        request_id=body.request_id,
    )
    return pay_order(db, chain, order)


class _TooMuch(Exception):
    """A refund beyond what is left of the payment (nothing was counted)."""


@router.get("", response_model=Page[PaymentPublic])
def list_payments(
    user: UserDep,
    request: Request,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[PaymentPublic] | Response:
    """A resident sees their payments, a merchant the payments it received, admins and
    auditors all of them."""
    db: Database = request.app.state.db
    with db.session() as session:
        query = select(Payment, Resident, Merchant).join(Resident).join(Merchant)
        if user.role == "resident":
            query = query.where(Payment.resident_id == user.resident_id)
        elif user.role == "merchant":
            query = query.where(Payment.merchant_id == user.merchant_id)
        elif user.role not in ("admin", "auditor"):
            raise ApiError(403, "wrong_role", "payments are for residents, merchants and staff")
        return listing(
            session, query.order_by(Payment.id.desc()), payment_out,
            name="payments", offset=offset, limit=limit, format=format, lang=lang,
        )  # fmt: skip


@router.post("/{payment_id}/refund", response_model=PaymentPublic)
def refund(
    payment_id: Id, body: RefundCreate, user: MerchantUser, db: DatabaseDep, chain: ChainDep
) -> PaymentPublic:
    """A merchant gives (part of) a payment back to the resident who made it. Sending the
    same `request_id` again returns the payment with that refund instead of refunding twice.

    The refund is recorded and counted first (committed), then sent: a crash in between leaves
    it `sending`, never sent twice or beyond the payment, and the chain settles it later. The
    count is a guarded update (`refunded + x <= amount`) that the database enforces, so
    parallel refunds never give back more than was paid. A refund the chain refuses is
    `failed` and taken off the count again."""
    try:
        with db.session(write=True) as session:
            payment = session.scalar(
                select(Payment).where(Payment.id == payment_id).with_for_update()
            )
            if payment is None or payment.merchant_id != user.merchant_id:
                raise ApiError(404, "no_payment", f"your shop received no payment {payment_id}")
            resident, merchant = parties(session, payment)
            if body.request_id and any(r.request_id == body.request_id for r in payment.refunds):
                raise Repeated
            if payment.status != "paid":
                raise ApiError(409, "not_paid", f"this payment is {payment.status}, not paid")
            if not merchant.custodial:
                raise ApiError(409, "own_wallet", "refund from your own wallet app")
            left = payment.cents - payment.refunded_cents
            cents = left if body.amount is None else int(body.amount)
            counted = session.execute(
                update(Payment)
                .where(
                    Payment.id == payment.id,
                    Payment.status == "paid",
                    Payment.refunded_cents + cents <= Payment.cents,
                )
                .values(refunded_cents=Payment.refunded_cents + cents)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if cents <= 0 or counted != 1:
                raise _TooMuch
            new = Refund(payment=payment, cents=cents, reference="", request_id=body.request_id)
            session.add(new)
            session.flush()
            new.reference = refund_reference(new.id, payment.receipt)
            refund_id, reference = new.id, new.reference
            shop, to = merchant.address, resident.address
    except _TooMuch:
        raise _too_much(db, payment_id) from None
    except (Repeated, IntegrityError):  # a repeat, or a parallel request with the same id won
        return _repeated_refund(db, chain, payment_id, body.request_id)
    # Recorded as `sending` and counted (committed): now send it, holding no connection.
    status, tx_hash, block, reason, refused = "paid", None, None, None, None
    try:
        wait = chain.settings.receipt_wait
        done = chain.client.refund(chain.wallet(shop), to, cents, reference, timeout=wait)
        tx_hash, block = done.tx_hash, done.block_number
    except Refused as exc:  # nothing was sent
        status, reason, refused = "failed", str(exc), exc
    except (ChainUnavailable, TransactionFailed) as exc:  # sent or not: the chain will tell
        status, reason = "sending", f"not confirmed yet: {exc}"
    with db.session(write=True) as session:
        done_row = session.get(Refund, refund_id)
        assert done_row is not None
        if status == "paid":
            if done_row.status in ("failed", "reversed"):  # the chain's word wins: count it
                done_row.payment.refunded_cents += done_row.cents
            done_row.status, done_row.tx_hash, done_row.reason = "paid", tx_hash, None
            done_row.block_number = block
        elif done_row.status == "sending":
            if status == "failed":
                fail_refund(done_row, reason or "refused")
            else:
                done_row.reason = reason
    if refused is not None:
        raise refused
    return _payment_answer(db, payment_id)


def _payment_answer(db: Database, payment_id: int) -> PaymentPublic:
    with db.session() as session:
        payment = session.get(Payment, payment_id)
        assert payment is not None
        return payment_out(payment, *parties(session, payment))


def _too_much(db: Database, payment_id: int) -> ApiError:
    with db.session() as session:
        payment = session.get(Payment, payment_id)
        assert payment is not None
        left = payment.cents - payment.refunded_cents
    if left <= 0:
        return ApiError(
            422, "too_much", "this payment has been refunded in full already: nothing more can "
            "be refunded", {"refundable": 0},
        )  # fmt: skip
    return ApiError(
        422, "too_much", f"at most {Money.of(left).eur} of this payment can be refunded",
        {"refundable": left},
    )  # fmt: skip


def _repeated_refund(
    db: Database, chain: ChainDep, payment_id: int, request_id: str | None
) -> PaymentPublic:
    """The payment with the refund of `request_id` once that refund has an outcome (see
    `_repeated_payment`)."""
    deadline = time.monotonic() + REPEAT_WAIT
    old = now() - settle_after(chain)
    while time.monotonic() < deadline:
        with db.session() as session:
            earlier = session.scalar(
                select(Refund).where(
                    Refund.payment_id == payment_id, Refund.request_id == request_id
                )
            )
            assert earlier is not None
            status, created, refund_id = earlier.status, earlier.created_at, earlier.id
        if status != "sending":
            break
        settle_refund(db, chain, refund_id, may_fail=created < old)
        time.sleep(0.2)
    return _payment_answer(db, payment_id)


def refund_reference(refund_id: int, receipt: str) -> str:
    """The refund's on-chain reference: its number and the receipt, at most 32 bytes."""
    return f"R{refund_id}:{receipt}".encode()[:32].decode(errors="ignore")
