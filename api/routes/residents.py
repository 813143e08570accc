"""Residents: registration (custodial wallet or their own), and their account."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit import record
from api.db import Database
from api.deps import ChainDep, DatabaseDep, LimiterDep, SessionDep, SettingsDep, require
from api.errors import ApiError
from api.export import Format, Lang, Limit, Offset, listing, listing_of
from api.limits import client_address
from api.models import Claim, Job, Merchant, Payment, Resident, Reward, User, WalletRecovery, now
from api.routes.auth import THROTTLED
from api.routes.places import neighbourhood
from api.schemas import (
    HistoryItem,
    Id,
    Money,
    Page,
    Recovery,
    ResidentAccount,
    ResidentPublic,
    ResidentRegister,
)
from api.security import hash_password
from api.settle import settle_after
from api.text import check_pseudonym_free

router = APIRouter(prefix="/residents", tags=["residents"])
ResidentUser = Annotated[User, Depends(require("resident"))]
Admin = Annotated[User, Depends(require("admin"))]


@router.post("", response_model=ResidentPublic, status_code=201, responses=THROTTLED)
def register(
    body: ResidentRegister,
    request: Request,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
    limits: LimiterDep,
) -> Resident:
    """Register with a pseudonymous id and a neighbourhood (no name or BSN is stored).
    Give a password to get a wallet kept by the municipality, or your own wallet address.
    Pseudonyms are their own namespace: staff user names are neither taken nor shown.

    The pseudonym is reserved first (the database's unique constraint decides between
    parallel sign-ups: one 201, the others 409), and a custodial wallet is made only after;
    if the sign-up still fails, its wallet file is removed again."""
    limits.check(
        f"signup:{client_address(request)}", settings.limit_signups, "sign-ups from this address"
    )
    if (body.password is None) == (body.wallet is None):
        raise ApiError(
            422, "password_or_wallet", "give either a password (custodial wallet) or a wallet"
        )
    if session.scalar(select(Resident.id).where(Resident.pseudonym == body.pseudonym)):
        raise ApiError(409, "pseudonym_taken", "this pseudonym is taken; choose another")
    check_pseudonym_free(session, body.pseudonym)  # not confusable with one taken
    if body.wallet and session.scalar(select(User).where(User.wallet == body.wallet)):
        raise ApiError(409, "wallet_taken", "this wallet is registered already")
    hood = neighbourhood(settings, body.neighbourhood)
    resident = Resident(
        pseudonym=body.pseudonym,
        neighbourhood=hood,
        # until the wallet exists: a placeholder no real address can equal
        address=body.wallet or f"pending-{secrets.token_hex(16)}",
        custodial=body.wallet is None,
    )
    session.add(resident)
    _reserve(session)
    wallet_file = None
    try:
        if body.wallet is None:
            resident.address = chain.new_wallet()
            wallet_file = chain.wallets.path(resident.address)
        session.add(
            User(
                # "resident:<id>": never equal to a staff or shop user name
                username=f"resident:{resident.id}",
                role="resident",
                password_hash=hash_password(body.password) if body.password else None,
                wallet=body.wallet,
                resident_id=resident.id,
            )
        )
        _reserve(session)
    except BaseException:
        if wallet_file is not None:
            wallet_file.unlink(missing_ok=True)
        raise
    return resident


def _reserve(session: Session) -> None:
    """Write what was added; a unique constraint that another sign-up won is a 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        if "wallet" in text or "address" in text:
            raise ApiError(409, "wallet_taken", "this wallet is registered already") from None
        raise ApiError(409, "pseudonym_taken", "this pseudonym is taken; choose another") from None


@router.get("", response_model=Page[ResidentPublic])
def list_residents(
    _: Admin,
    session: SessionDep,
    pseudonym: Annotated[
        str | None, Query(max_length=64, description="exactly, whatever the capitals")
    ] = None,
    neighbourhood: str | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[ResidentPublic] | Response:
    """Registered residents (for admins, e.g. to find the one who lost a wallet), by id."""
    query = select(Resident)
    if pseudonym:
        query = query.where(func.lower(Resident.pseudonym) == pseudonym.strip().lower())
    if neighbourhood:
        query = query.where(Resident.neighbourhood == neighbourhood)
    return listing(
        session, query.order_by(Resident.id), ResidentPublic.model_validate,
        name="residents", offset=offset, limit=limit, format=format, lang=lang,
    )  # fmt: skip


@router.get("/me", response_model=ResidentAccount)
def my_account(user: ResidentUser, db: DatabaseDep, chain: ChainDep) -> ResidentAccount:
    """Balance, this year's earnings and the room left under the yearly cap (read from the
    chain with no database connection held)."""
    assert user.resident_id is not None
    return account_of(db, chain, user.resident_id)


def account_of(db: Database, chain: ChainDep, resident_id: int) -> ResidentAccount:
    """A resident's balance, this year's earnings and room under the cap, from the chain."""
    with db.session() as session:
        resident = session.get(Resident, resident_id)
    if resident is None:
        raise ApiError(404, "no_resident", "this account has no resident record")
    client = chain.client
    year = client.current_year()
    earned = client.earned_in(resident.address, year)
    return ResidentAccount(
        resident=ResidentPublic.model_validate(resident),
        balance=Money.of(client.balance(resident.address)),
        earned_this_year=Money.of(earned),
        room_under_cap=Money.of(max(0, client.yearly_cap() - earned)),
        year=year,
    )


@router.get("/me/history", response_model=Page[HistoryItem])
def my_history(
    user: ResidentUser,
    session: SessionDep,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[HistoryItem] | Response:
    """Everything that moved Heitjes in or out of this resident's wallet, newest first:
    rewards for approved jobs, payments at merchants and their refunds."""
    assert user.resident_id is not None
    items = history_of(session, user.resident_id)
    return listing_of(items, name="history", offset=offset, limit=limit, format=format, lang=lang)


def history_of(session: Session, resident_id: int) -> list[HistoryItem]:
    """A resident's rewards, payments and refunds, newest first (the app's history, and the
    desk's slip)."""
    items: list[HistoryItem] = []
    rewards = session.execute(
        select(Claim, Job, Reward)
        .join(Job, Claim.job_id == Job.id)
        .join(Reward, Reward.claim_id == Claim.id)
        .where(Claim.resident_id == resident_id)
    )
    for claim, job, reward in rewards:
        items.append(
            HistoryItem(
                at=reward.paid_at or claim.decided_at or claim.claimed_at,
                kind="reward",
                description=f"job: {job.title}",
                counterparty=job.title,
                receipt=None,
                amount=Money.of(reward.cents),
                status=reward.status,
                tx_hash=reward.tx_hash,
            )
        )
    payments = session.execute(
        select(Payment, Merchant)
        .join(Merchant, Payment.merchant_id == Merchant.id)
        .where(Payment.resident_id == resident_id)
    )
    for payment, merchant in payments:
        items.append(
            HistoryItem(
                at=payment.created_at,
                kind="payment",
                description=f"{merchant.name}, "
                + (f"receipt {payment.receipt}" if payment.receipt else "no receipt")
                + (", from your own wallet" if payment.via == "wallet" else ""),
                counterparty=merchant.name,
                receipt=payment.receipt,
                amount=Money.of(-payment.cents),
                status=payment.status,
                tx_hash=payment.tx_hash,
            )
        )
        for refund in payment.refunds:
            if refund.status not in ("failed", "reversed"):  # nothing moved
                items.append(
                    HistoryItem(
                        at=refund.created_at,
                        kind="refund",
                        description=f"{merchant.name} refunded receipt {payment.receipt}",
                        counterparty=merchant.name,
                        receipt=payment.receipt,
                        amount=Money.of(refund.cents),
                        status=refund.status,
                        tx_hash=refund.tx_hash,
                    )
                )
    items.sort(key=lambda item: item.at, reverse=True)
    return items


@router.post("/{resident_id}/recover", response_model=ResidentPublic)
def recover(
    resident_id: Id, body: Recovery, admin: Admin, db: DatabaseDep, chain: ChainDep
) -> ResidentPublic:
    """A resident lost their wallet: move its Heitjes and this year's earnings to a new one
    (a new custodial wallet, or the resident's own `new_wallet`), with the reason logged.

    The replacement is checked first (not a shop's, not another resident's, never used
    on-chain): a 409 `replacement_in_use` and nothing sent. Safe to repeat, also in parallel
    and after any failure: once the chain has moved the wallet, only the records follow."""
    with db.session() as session:
        resident = session.get(Resident, resident_id)
        if resident is None:
            raise ApiError(404, "no_resident", f"there is no resident {resident_id}")
        if body.new_wallet is not None and resident.custodial:
            raise ApiError(422, "custodial", "this resident's wallet is kept by the municipality")
        if body.new_wallet is None and not resident.custodial:
            raise ApiError(422, "new_wallet_needed", "give the resident's new wallet address")
        lost = resident.address
        if body.new_wallet is not None and body.new_wallet != lost:
            _check_replacement(session, chain, body.new_wallet)
    recovery = _take_recovery(db, chain, resident_id, lost)
    if recovery is None:  # another request recovers this wallet: its outcome is the answer
        return _recovered(db, resident_id, lost)
    try:
        replacement, moved = _move(db, chain, recovery, lost, body.new_wallet)
        with db.session(write=True) as session:
            resident = session.get(Resident, resident_id)
            assert resident is not None
            if resident.address == lost:
                resident.address = replacement
                user = session.scalar(select(User).where(User.resident_id == resident.id))
                if user is not None and not resident.custodial:
                    user.wallet = replacement
                session.execute(
                    update(Reward)  # rewards not yet paid go to the new wallet
                    .where(Reward.resident_address == lost, Reward.status == "pending")
                    .values(resident_address=replacement)
                )
                record(
                    session, admin, "resident.recover", f"resident:{resident.id}",
                    reason=body.reason, lost=lost, replacement=replacement, moved_cents=moved,
                )  # fmt: skip
            done = session.get(WalletRecovery, recovery)
            assert done is not None
            done.status, done.reason = "done", None
            return ResidentPublic.model_validate(resident)
    except BaseException as exc:
        with db.session(write=True) as session:
            failed = session.get(WalletRecovery, recovery)
            if failed is not None and failed.status == "sending":
                failed.status, failed.reason = "failed", str(exc) or type(exc).__name__
        if isinstance(exc, IntegrityError):
            raise ApiError(
                409, "replacement_in_use", "the new wallet is registered to someone else already"
            ) from None
        raise


def _take_recovery(db: Database, chain: ChainDep, resident_id: int, lost: str) -> int | None:
    """This request's recovery row for `lost` (written now, or taken over from one that
    failed or that a crash left behind), or None when another request is recovering it or
    has recovered it."""
    try:
        with db.session(write=True) as session:
            row = session.scalar(select(WalletRecovery).where(WalletRecovery.lost == lost))
            if row is None:
                row = WalletRecovery(resident_id=resident_id, lost=lost)
                session.add(row)
                session.flush()
                return row.id
            stale = row.status == "sending" and row.created_at < now() - settle_after(chain)
            if row.status == "failed" or stale:
                row.status, row.reason, row.created_at = "sending", None, now()
                return row.id
            return None
    except IntegrityError:  # a parallel request wrote the row first
        return None


def _move(
    db: Database, chain: ChainDep, recovery: int, lost: str, own: str | None
) -> tuple[str, int | None]:
    """Move the lost wallet on-chain (unless the chain has already): the replacement and the
    amount moved (None when it had been moved before)."""
    client = chain.client
    if client.is_retired(lost):  # moved by an earlier attempt: follow the chain
        earlier = _earlier_replacement(chain, lost)
        if earlier is None:
            raise ApiError(409, "retired", f"{lost} was retired, but its recovery is not found")
        return earlier, None
    with db.session() as session:
        row = session.get(WalletRecovery, recovery)
        noted = row.replacement if row is not None else None
    replacement = own or noted or chain.new_wallet()  # a crashed attempt's wallet is reused
    if replacement != noted:
        with db.session(write=True) as session:
            row = session.get(WalletRecovery, recovery)
            assert row is not None
            row.replacement = replacement
    done = client.recover_wallet(chain.role_signer("recovery"), lost, replacement)
    return replacement, int(done.event("WalletRecovered").args["amount"])


def _recovered(db: Database, resident_id: int, lost: str) -> ResidentPublic:
    """The outcome of the request that recovers `lost`, once it has one (up to 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        with db.session() as session:
            row = session.scalar(select(WalletRecovery).where(WalletRecovery.lost == lost))
            resident = session.get(Resident, resident_id)
            assert row is not None and resident is not None
            status, reason = row.status, row.reason
            out = ResidentPublic.model_validate(resident)
        if status == "done":
            return out
        if status == "failed":
            raise ApiError(409, "recovery_failed", f"the recovery failed: {reason}; try again")
        if time.monotonic() > deadline:
            raise ApiError(
                409, "recovery_in_progress", "this wallet is being recovered right now; look "
                "again in a moment",
            )  # fmt: skip
        time.sleep(0.1)


def _check_replacement(session: Session, chain: ChainDep, wallet: str) -> None:
    """Refuse a replacement wallet that belongs to a shop or another resident, or that was
    ever used on-chain, before anything is sent."""
    known = session.scalar(select(Resident.id).where(Resident.address == wallet)) or (
        session.scalar(select(User.id).where(User.wallet == wallet))
    )
    shop = session.scalar(select(Merchant.id).where(Merchant.address == wallet))
    client = chain.client
    problem = None
    if shop is not None or client.is_merchant(wallet) or client.is_former_merchant(wallet):
        problem = "it is a shop's wallet"
    elif known is not None:
        problem = "it is registered to another resident"
    elif client.is_retired(wallet):
        problem = "it is a wallet that was retired after a recovery"
    elif client.balance(wallet) or client.earned_this_year(wallet):
        problem = "it holds or has earned Heitjes already"
    if problem:
        raise ApiError(
            409, "replacement_in_use",
            f"{wallet} can't be the new wallet: {problem}. Ask the resident for a new, unused "
            "wallet address",
            {"wallet": wallet},
        )  # fmt: skip


def _earlier_replacement(chain: ChainDep, lost: str) -> str | None:
    """The wallet a retired wallet was moved to, from its WalletRecovered event (searched by
    the indexed `lost` topic)."""
    found = chain.client.find_events("WalletRecovered", lost, first_found=True)
    return str(found[-1].args["replacement"]) if found else None
