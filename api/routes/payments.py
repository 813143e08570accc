"""Payments: a resident pays a merchant (by the merchant's short code), with a receipt.

A payment is first recorded as `sending` and committed, then sent on-chain, then marked
`paid` or `refused`. The app's `request_id` makes a repeated request (a double tap, a retry
after a dropped connection) return the same payment instead of paying twice.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from api.db import Database
from api.deps import ChainDep, UserDep, require
from api.errors import ApiError
from api.export import Format, Limit, Offset, listing
from api.models import Merchant, Payment, Refund, Resident, User
from api.schemas import Id, Money, Page, PaymentCreate, PaymentPublic, RefundCreate, RefundPublic
from api.settle import fail_refund, settle_payment, settle_refund
from heitje_chain.errors import ChainUnavailable, Refused, TransactionFailed

router = APIRouter(prefix="/payments", tags=["payments"])
ResidentUser = Annotated[User, Depends(require("resident"))]
MerchantUser = Annotated[User, Depends(require("merchant"))]


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
    )


@router.post("", response_model=PaymentPublic, status_code=201)
def pay(
    body: PaymentCreate, user: ResidentUser, request: Request, chain: ChainDep
) -> PaymentPublic:
    """Pay a merchant. Sending the same `request_id` again returns the first payment."""
    db: Database = request.app.state.db
    with db.session() as session:
        resident = session.get(Resident, user.resident_id)
        merchant = session.scalar(
            select(Merchant).where(Merchant.code == body.merchant_code.upper())
        )
        if resident is None:
            raise ApiError(404, "no_resident", "this account has no resident record")
        existing = session.scalar(
            select(Payment).where(
                Payment.resident_id == resident.id, Payment.request_id == body.request_id
            )
        )
        if existing is not None:
            merchant_of = session.get(Merchant, existing.merchant_id)
            assert merchant_of is not None
            if existing.status == "sending":  # the first request did not hear back: look
                settle_payment(session, chain, existing, resident, merchant_of)
            return payment_out(existing, resident, merchant_of)
        if merchant is None or merchant.status != "approved":
            raise ApiError(
                404, "no_merchant", f"there is no shop with code {body.merchant_code!r} that "
                "accepts Heitjes; check the code on the shop's sticker"
            )  # fmt: skip
        if not resident.custodial:
            raise ApiError(
                409, "own_wallet", "your wallet is your own: pay from your wallet app instead"
            )
        payment = Payment(
            resident_id=resident.id,
            merchant_id=merchant.id,
            cents=int(body.amount),
            receipt=body.receipt,
            request_id=body.request_id,
        )
        session.add(payment)
        session.flush()
        payment_id, address, to = payment.id, resident.address, merchant.address
    # Recorded as `sending` (committed): now send it.
    status, tx_hash, reason = "paid", None, None
    try:
        done = chain.client.pay(chain.wallet(address), to, int(body.amount), body.receipt)
        tx_hash = done.tx_hash
    except Refused as exc:
        status, reason = "refused", str(exc)
    except (ChainUnavailable, TransactionFailed) as exc:
        status, reason = "sending", f"not confirmed yet: {exc}"
    with db.session() as session:
        sent = session.get(Payment, payment_id)
        assert sent is not None
        resident = session.get(Resident, user.resident_id)
        merchant = session.get(Merchant, sent.merchant_id)
        assert resident is not None and merchant is not None
        sent.status, sent.tx_hash, sent.reason = status, tx_hash, reason
        out = payment_out(sent, resident, merchant)
    if status == "refused":
        raise ApiError(409, "payment_refused", reason or "refused", {"payment": out.id})
    return out


@router.get("", response_model=Page[PaymentPublic])
def list_payments(
    user: UserDep,
    request: Request,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
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
            name="payments", offset=offset, limit=limit, format=format,
        )  # fmt: skip


@router.post("/{payment_id}/refund", response_model=PaymentPublic)
def refund(
    payment_id: Id, body: RefundCreate, user: MerchantUser, request: Request, chain: ChainDep
) -> PaymentPublic:
    """A merchant gives (part of) a payment back to the resident who made it. Sending the
    same `request_id` again returns the payment with that refund instead of refunding twice.

    The refund is recorded and counted first (committed), then sent: a crash in between leaves
    it `sending`, never sent twice or beyond the payment, and the chain settles it later. A
    refund the chain refuses is `failed` and taken off the count again."""
    db: Database = request.app.state.db
    with db.session() as session:
        payment = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
        if payment is None or payment.merchant_id != user.merchant_id:
            raise ApiError(404, "no_payment", f"your shop received no payment {payment_id}")
        merchant = session.get(Merchant, payment.merchant_id)
        resident = session.get(Resident, payment.resident_id)
        assert merchant is not None and resident is not None
        earlier = next((r for r in payment.refunds if body.request_id and
                        r.request_id == body.request_id), None)  # fmt: skip
        if earlier is not None:
            if earlier.status == "sending":  # the first request did not hear back: look
                settle_refund(session, chain, earlier, resident, merchant)
            return payment_out(payment, resident, merchant)
        if payment.status != "paid":
            raise ApiError(409, "not_paid", f"this payment is {payment.status}, not paid")
        left = payment.cents - payment.refunded_cents
        cents = left if body.amount is None else int(body.amount)
        if not 0 < cents <= left:
            raise ApiError(
                422, "too_much", f"at most {Money.of(left).eur} of this payment can be refunded"
            )
        if not merchant.custodial:
            raise ApiError(409, "own_wallet", "refund from your own wallet app")
        new = Refund(payment=payment, cents=cents, reference="", request_id=body.request_id)
        session.add(new)
        session.flush()
        new.reference = refund_reference(new.id, payment.receipt)
        payment.refunded_cents += cents
        refund_id, reference, shop, to = new.id, new.reference, merchant.address, resident.address
    # Recorded as `sending` and counted (committed): now send it.
    status, tx_hash, reason, refused = "paid", None, None, None
    try:
        tx_hash = chain.client.refund(chain.wallet(shop), to, cents, reference).tx_hash
    except Refused as exc:  # nothing was sent
        status, reason, refused = "failed", str(exc), exc
    except (ChainUnavailable, TransactionFailed) as exc:  # sent or not: the chain will tell
        status, reason = "sending", f"not confirmed yet: {exc}"
    with db.session() as session:
        done = session.get(Refund, refund_id)
        assert done is not None
        if status == "failed":
            fail_refund(done, reason or "refused")
        else:
            done.status, done.tx_hash, done.reason = status, tx_hash, reason
    if refused is not None:
        raise refused
    with db.session() as session:
        paid = session.get(Payment, payment_id)
        assert paid is not None
        return payment_out(paid, resident, merchant)


def refund_reference(refund_id: int, receipt: str) -> str:
    """The refund's on-chain reference: its number and the receipt, at most 32 bytes."""
    return f"R{refund_id}:{receipt}".encode()[:32].decode(errors="ignore")
