"""Redemptions and payouts sent by the service, exactly once.

- A redemption (a shop burns Heitjes for euros) is recorded as `sending` under the app's
  `request_id` (one row by a unique constraint) before the burn is sent, then `done` with its
  on-chain number, or `refused` (nothing burned). A repeat, also one in parallel, waits for
  the first's outcome and answers the same.
- A payout (the treasurer records the bank's payment on-chain, `confirmPayout`) is one row per
  redemption, `sending` and then `paid`. The chain pays a redemption out once; a payout the
  chain lost (api.reconcile) goes back to `sending` and `send_payouts` sends it again.

The chain is called with no database connection held (api.db).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit import record
from api.chain import ChainAccess
from api.db import Database
from api.errors import ApiError
from api.models import Merchant, PayoutRecord, RedemptionRequest, User, now
from api.settle import CLOCK_MARGIN, settle_after
from heitje_chain.client import text_of
from heitje_chain.errors import ChainUnavailable, RedemptionAlreadyPaid, Refused, TransactionFailed

log = logging.getLogger(__name__)

REPEAT_WAIT = 20.0  # seconds a repeated request waits for the first one's outcome


class _Repeated(Exception):
    pass


def redeem(
    db: Database, chain: ChainAccess, merchant_id: int, cents: int, request_id: str
) -> RedemptionRequest:
    """Burn `cents` of the shop's Heitjes for euros, once per `request_id` (see the module).
    Returns the row (detached); a refusal raises the library's typed error."""
    try:
        with db.session(write=True) as session:
            merchant = session.get(Merchant, merchant_id)
            if merchant is None:
                raise ApiError(404, "no_merchant", "this account has no merchant record")
            if not merchant.custodial:
                raise ApiError(409, "own_wallet", "redeem from your own wallet app")
            if _request(session, merchant_id, request_id):
                raise _Repeated
            row = RedemptionRequest(merchant_id=merchant_id, cents=cents, request_id=request_id)
            session.add(row)
            session.flush()
            row_id, address = row.id, merchant.address
    except (_Repeated, IntegrityError):
        return _repeated(db, chain, merchant_id, request_id)
    refused: Refused | None = None
    status, reason = "done", None
    number: int | None = None
    tx_hash: str | None = None
    block: int | None = None
    try:
        done = chain.client.redeem(chain.wallet(address), cents, chain.settings.receipt_wait)
        number, tx_hash, block = done.id, done.tx_hash, done.block_number
    except Refused as exc:
        refused, status, reason = exc, "refused", str(exc)
    except (ChainUnavailable, TransactionFailed) as exc:
        status, reason = "sending", f"not confirmed yet: {exc}"
    with db.session(write=True) as session:
        found = session.get(RedemptionRequest, row_id)
        assert found is not None
        row = found
        if status == "done" or row.status == "sending":
            row.status, row.redemption_id, row.tx_hash, row.reason = status, number, tx_hash, reason
            row.block_number = block
    if refused is not None:
        raise refused
    return row


def _request(session: Session, merchant_id: int, request_id: str) -> RedemptionRequest | None:
    return session.scalar(
        select(RedemptionRequest).where(
            RedemptionRequest.merchant_id == merchant_id,
            RedemptionRequest.request_id == request_id,
        )
    )


def _repeated(
    db: Database, chain: ChainAccess, merchant_id: int, request_id: str
) -> RedemptionRequest:
    deadline = time.monotonic() + REPEAT_WAIT
    while True:
        with db.session() as session:
            row = _request(session, merchant_id, request_id)
            assert row is not None
        if row.status != "sending" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if row.status == "sending" and row.created_at < now() - settle_after(chain):
        settle_redemption(db, chain, row.id)
        with db.session() as session:
            row = _request(session, merchant_id, request_id)
            assert row is not None
    if row.status == "refused":
        raise ApiError(409, "redemption_refused", row.reason or "refused", {"request": row.id})
    return row


def settle_redemption(db: Database, chain: ChainAccess, row_id: int) -> None:
    """A redemption left `sending`: done if the chain has a RedemptionRequested of this shop
    for this amount since the row was made and claimed by no other row, else failed once
    nothing of the shop's wallet is still waiting to be mined."""
    with db.session() as session:
        row = session.get(RedemptionRequest, row_id)
        if row is None or row.status != "sending":
            return
        merchant = session.get(Merchant, row.merchant_id)
        assert merchant is not None
        address, cents, created = merchant.address, row.cents, row.created_at
    since = int((created - CLOCK_MARGIN).timestamp())
    found = [
        e for e in chain.client.find_events("RedemptionRequested", since=since)
        if e.args["merchant"] == address and int(e.args["amount"]) == cents
    ]  # fmt: skip
    busy = not found and chain.client.tx.in_flight(address)
    with db.session(write=True) as session:
        row = session.get(RedemptionRequest, row_id)
        if row is None or row.status != "sending":
            return
        numbers = [int(e.args["id"]) for e in found]
        taken = set(session.scalars(
            select(RedemptionRequest.redemption_id).where(
                RedemptionRequest.redemption_id.in_(numbers))))  # fmt: skip
        event = next((e for e in found if int(e.args["id"]) not in taken), None)
        if event is not None:
            row.status, row.redemption_id, row.tx_hash = (
                "done",
                int(event.args["id"]),
                event.tx_hash,
            )
            row.block_number, row.reason = event.block_number, None
        elif not busy:
            row.status = "failed"
            row.reason = "the redemption did not reach the chain and nothing was burned"


def confirm_payout(
    db: Database, chain: ChainAccess, user: User, redemption_id: int, bank_reference: str
) -> PayoutRecord:
    """Record on-chain that the bank paid redemption `redemption_id`; once per redemption:
    a repeat with the same reference answers the first's outcome, another reference is
    refused (409 payout_recorded)."""
    try:
        with db.session(write=True) as session:
            earlier = session.scalar(
                select(PayoutRecord).where(PayoutRecord.redemption_id == redemption_id)
            )
            if earlier is not None:
                raise _Repeated
            row = PayoutRecord(
                redemption_id=redemption_id, bank_reference=bank_reference, created_by=user.id
            )
            session.add(row)
            session.flush()
            row_id = row.id
    except (_Repeated, IntegrityError):
        return _repeated_payout(db, redemption_id, bank_reference)
    try:
        _send(db, chain, row_id)
    except Refused:
        with db.session(write=True) as session:  # nothing recorded: it may be tried again
            refused = session.get(PayoutRecord, row_id)
            if refused is not None and refused.status == "sending":
                session.delete(refused)
        raise
    with db.session(write=True) as session:
        sent = session.get(PayoutRecord, row_id)
        assert sent is not None
        record(
            session, user, "redemption.payout", f"redemption:{redemption_id}",
            bank_reference=bank_reference, status=sent.status,
        )  # fmt: skip
        return sent


def _repeated_payout(db: Database, redemption_id: int, bank_reference: str) -> PayoutRecord:
    deadline = time.monotonic() + REPEAT_WAIT
    while True:
        with db.session() as session:
            found = session.scalar(
                select(PayoutRecord).where(PayoutRecord.redemption_id == redemption_id)
            )
        if found is None:
            raise ApiError(409, "payout_retry", "the payout was refused a moment ago; try again")
        row = found
        if row.status != "sending" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if row.bank_reference != bank_reference:
        raise ApiError(
            409, "payout_recorded",
            f"redemption {redemption_id} was recorded as paid with bank reference "
            f"{row.bank_reference!r} already",
            {"bank_reference": row.bank_reference},
        )  # fmt: skip
    return row


def _send(db: Database, chain: ChainAccess, row_id: int) -> None:
    """Send one payout row's confirmation; an earlier one on the chain with the same
    reference counts as this one."""
    with db.session() as session:
        row = session.get(PayoutRecord, row_id)
        if row is None or row.status != "sending":
            return
        number, reference = row.redemption_id, row.bank_reference
    tx_hash: str | None = None
    block: int | None = None
    try:
        done = chain.client.confirm_payout(chain.role_signer("treasurer"), number, reference)
        tx_hash, block = done.tx_hash, done.block_number
    except RedemptionAlreadyPaid:
        found = chain.client.find_events(
            "RedemptionPaid", "0x" + number.to_bytes(32, "big").hex(), first_found=True
        )
        if not found or text_of(found[-1].args["paymentReference"]) != reference:
            raise
        tx_hash, block = found[-1].tx_hash, found[-1].block_number
    except (ChainUnavailable, TransactionFailed) as exc:
        with db.session(write=True) as session:
            row = session.get(PayoutRecord, row_id)
            if row is not None and row.status == "sending":
                row.reason = f"not confirmed yet: {exc}"
        return
    with db.session(write=True) as session:
        row = session.get(PayoutRecord, row_id)
        assert row is not None
        row.status, row.tx_hash, row.block_number, row.reason = "paid", tx_hash, block, None
        row.block_hash, row.final = None, False


def send_payouts(db: Database, chain: ChainAccess, older_than: timedelta) -> int:
    """Send every payout left `sending` for longer than `older_than` (a crash, a chain that
    did not answer, one the chain lost); returns how many are paid now."""
    before = now() - older_than
    with db.session() as session:
        ids = list(session.scalars(
            select(PayoutRecord.id).where(
                PayoutRecord.status == "sending", PayoutRecord.created_at < before)))  # fmt: skip
    paid = 0
    for row_id in ids:
        try:
            _send(db, chain, row_id)
        except Refused as exc:
            log.error("payout %d refused by the chain: %s", row_id, exc)
            with db.session(write=True) as session:
                row = session.get(PayoutRecord, row_id)
                if row is not None:
                    row.reason = str(exc)
            continue
        with db.session() as session:
            row = session.get(PayoutRecord, row_id)
            paid += row is not None and row.status == "paid"
    return paid
