"""Payments: a resident pays a merchant (by the merchant's short code), with a receipt.

A payment is first recorded as `sending` and committed, then sent on-chain, then marked
`paid` or `refused`. The app's `request_id` makes a repeated request (a double tap, a retry
after a dropped connection) return the same payment instead of paying twice.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.chain import ChainAccess
from api.db import Database
from api.deps import ChainDep, UserDep, require
from api.errors import ApiError
from api.export import Format, Limit, Offset, listing
from api.models import Merchant, Payment, Resident, User
from api.schemas import Id, Money, Page, PaymentCreate, PaymentPublic, RefundCreate
from heitje_chain.client import text_of
from heitje_chain.errors import ChainUnavailable, Refused, TransactionFailed

router = APIRouter(prefix="/payments", tags=["payments"])
ResidentUser = Annotated[User, Depends(require("resident"))]
MerchantUser = Annotated[User, Depends(require("merchant"))]


def payment_out(payment: Payment, resident: Resident, merchant: Merchant) -> PaymentPublic:
    return PaymentPublic(
        id=payment.id,
        resident=resident.pseudonym,
        merchant=merchant.name,
        merchant_code=merchant.code,
        amount=Money.of(payment.cents),
        refunded=Money.of(payment.refunded_cents),
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
                reconcile(session, chain, existing, resident, merchant_of)
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


def reconcile(
    session: Session, chain: ChainAccess, payment: Payment, resident: Resident, merchant: Merchant
) -> None:
    """Settle a payment left `sending` (the service died, or the chain did not answer, after
    the transaction was sent): the chain's Payment events from this resident to this merchant
    say whether it was paid; if none matches and nothing of the resident's is still in flight,
    it never arrived and nothing was paid."""
    client = chain.client
    ledger = client.ledger()

    def topic(address: str) -> str:
        return "0x" + "0" * 24 + address[2:].lower()

    taken = set(session.scalars(select(Payment.tx_hash).where(Payment.tx_hash.is_not(None))))
    logs = ledger.logs(
        ledger.from_block,
        ledger.head(),
        [client.events.topics["Payment"], topic(resident.address), topic(merchant.address)],
    )
    for raw in logs:
        event = client.events.decode(raw)
        if (
            event is not None
            and event.tx_hash not in taken
            and int(event.args["amount"]) == payment.cents
            and text_of(event.args["receipt"]) == payment.receipt
        ):
            payment.status, payment.tx_hash, payment.reason = "paid", event.tx_hash, None
            return
    count = client.rpc.batch(
        [("eth_getTransactionCount", [resident.address, tag]) for tag in ("latest", "pending")]
    )
    if count[0] == count[1]:
        payment.status = "failed"
        payment.reason = "the payment did not reach the chain and nothing was paid; pay again"


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
    """A merchant gives (part of) a payment back to the resident who made it.

    The refund is counted first (committed), then sent: a crash in between can leave a
    refund counted and not sent, never sent twice or beyond the payment. A refund the chain
    refuses is taken off the count again."""
    db: Database = request.app.state.db
    with db.session() as session:
        payment = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
        if payment is None or payment.merchant_id != user.merchant_id:
            raise ApiError(404, "no_payment", f"your shop received no payment {payment_id}")
        merchant = session.get(Merchant, payment.merchant_id)
        resident = session.get(Resident, payment.resident_id)
        assert merchant is not None and resident is not None
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
        payment.refunded_cents += cents
        shop, to, receipt = merchant.address, resident.address, payment.receipt
    try:
        chain.client.refund(chain.wallet(shop), to, cents, f"refund {receipt}"[:32])
    except (Refused, ChainUnavailable):  # nothing was sent: take it off the count
        with db.session() as session:
            undo = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
            assert undo is not None
            undo.refunded_cents -= cents
        raise
    with db.session() as session:
        done = session.get(Payment, payment_id)
        assert done is not None
        return payment_out(done, resident, merchant)
