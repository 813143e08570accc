"""Merchants: apply, approval by the municipality (whitelisted on-chain), their account."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit import record
from api.db import Database
from api.deps import ChainDep, DatabaseDep, LimiterDep, SessionDep, SettingsDep, UserDep, require
from api.errors import ApiError
from api.export import Format, Lang, Limit, Offset, listing
from api.limits import client_address
from api.models import Merchant, User
from api.routes.auth import THROTTLED
from api.routes.places import neighbourhood
from api.schemas import (
    Id,
    MerchantAccount,
    MerchantApply,
    MerchantListed,
    MerchantPublic,
    Money,
    Page,
)
from api.security import hash_password
from api.sepa import SepaError, validate_iban
from heitje_chain.errors import AlreadyMerchant, NotMerchant

router = APIRouter(prefix="/merchants", tags=["merchants"])
Admin = Annotated[User, Depends(require("admin"))]
MerchantUser = Annotated[User, Depends(require("merchant"))]

# No 0/O, 1/I/L: a code people read off a sticker and type at the till.
_CODE_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _new_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(_CODE_CHARS) for _ in range(6))
        if session.scalar(select(Merchant.id).where(Merchant.code == code)) is None:
            return code


def merchant_out(merchant: Merchant) -> MerchantPublic:
    return MerchantPublic(
        id=merchant.id,
        name=merchant.name,
        code=merchant.code,
        neighbourhood=merchant.neighbourhood,
        status=merchant.status,
        address=merchant.address,
    )


@router.post("", response_model=MerchantPublic, status_code=201, responses=THROTTLED)
def apply(
    body: MerchantApply,
    request: Request,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
    limits: LimiterDep,
) -> MerchantPublic:
    """A shop applies to accept Heitjes. The municipality approves it before it can."""
    limits.check(
        f"signup:{client_address(request)}", settings.limit_signups, "sign-ups from this address"
    )
    if (body.password is None) == (body.wallet is None):
        raise ApiError(
            422, "password_or_wallet", "give either a password (custodial wallet) or a wallet"
        )
    try:
        iban = validate_iban(body.iban)
    except SepaError as exc:
        raise ApiError(422, "bad_iban", str(exc)) from None
    if body.wallet and session.scalar(select(User).where(User.wallet == body.wallet)):
        raise ApiError(409, "wallet_taken", "this wallet is registered already")
    hood = neighbourhood(settings, body.neighbourhood)
    code = _new_code(session)
    address = body.wallet or chain.new_wallet()
    try:
        merchant = Merchant(
            name=body.name,
            code=code,
            neighbourhood=hood,
            iban=iban,
            address=address,
            custodial=body.wallet is None,
        )
        session.add(merchant)
        session.flush()
        session.add(
            User(
                username=f"merchant-{code.lower()}",
                role="merchant",
                password_hash=hash_password(body.password) if body.password else None,
                wallet=body.wallet,
                merchant_id=merchant.id,
            )
        )
        session.flush()
    except BaseException as exc:
        if body.wallet is None:  # no wallet file left behind by a failed application
            chain.wallets.path(address).unlink(missing_ok=True)
        if isinstance(exc, IntegrityError):
            raise ApiError(
                409, "try_again", "another application took the same code or wallet; send again"
            ) from None
        raise
    return merchant_out(merchant)


@router.get("", response_model=Page[MerchantPublic])
def list_merchants(
    user: UserDep,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(applied|approved|removed)$")] = None,
    neighbourhood: str | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[MerchantPublic] | Response:
    """Approved merchants, by name (everyone); admins, the treasurer and auditors also see
    applications and removed merchants. `?format=csv` for a spreadsheet."""
    query = select(Merchant)
    if user.role not in ("admin", "auditor", "treasurer"):
        query = query.where(Merchant.status == "approved")
    if status:
        query = query.where(Merchant.status == status)
    if neighbourhood:
        query = query.where(Merchant.neighbourhood == neighbourhood)
    return listing(
        session, query.order_by(Merchant.name, Merchant.id), merchant_out,
        name="merchants", offset=offset, limit=limit, format=format, lang=lang,
    )  # fmt: skip


@router.get("/accepting", response_model=Page[MerchantListed])
def accepting(
    _: Annotated[User, Depends(require("resident"))],
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=64, description="part of the name or code")] = None,
    neighbourhood: Annotated[str | None, Query(max_length=64)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[MerchantListed] | Response:
    """The shops that accept Heitjes now, by neighbourhood and name: where a resident can spend
    them. Only the name, the code and the neighbourhood (no IBAN, no wallet). `q` finds part of
    a name or code, whatever the capitals; `neighbourhood` keeps one (capitals ignored too)."""
    query = select(Merchant).where(Merchant.status == "approved")
    if q and q.strip():
        plain = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        needle = f"%{plain}%"  # a typed % or _ is looked for as itself
        query = query.where(
            or_(
                func.lower(Merchant.name).like(needle, escape="\\"),
                func.lower(Merchant.code).like(needle, escape="\\"),
            )
        )
    if neighbourhood and neighbourhood.strip():
        query = query.where(func.lower(Merchant.neighbourhood) == neighbourhood.strip().lower())
    return listing(
        session,
        query.order_by(Merchant.neighbourhood, Merchant.name, Merchant.id),
        lambda m: MerchantListed(name=m.name, code=m.code, neighbourhood=m.neighbourhood),
        name="merchants", offset=offset, limit=limit, format="json",
    )  # fmt: skip


@router.get("/by-code/{code}", response_model=MerchantPublic)
def by_code(
    code: Annotated[str, Path(min_length=4, max_length=12, examples=["K7M2QX"])],
    _: UserDep,
    session: SessionDep,
) -> MerchantPublic:
    """The shop with this code (from its sticker or QR code), if it accepts Heitjes: so an app
    can show whom a resident is about to pay."""
    merchant = session.scalar(select(Merchant).where(Merchant.code == code.strip().upper()))
    if merchant is None or merchant.status != "approved":
        raise ApiError(
            404, "no_merchant", f"there is no shop with code {code!r} that accepts Heitjes; "
            "check the code on the shop's sticker"
        )  # fmt: skip
    return merchant_out(merchant)


def _decide(session: Session, merchant_id: int) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise ApiError(404, "no_merchant", f"there is no merchant {merchant_id}")
    return merchant


@router.post("/{merchant_id}/approve", response_model=MerchantPublic)
def approve(merchant_id: Id, admin: Admin, db: DatabaseDep, chain: ChainDep) -> MerchantPublic:
    """Whitelist the merchant on-chain (with the merchant manager's key). Safe to repeat and
    to send twice at once: the chain's list decides, and the shop is approved once."""
    with db.session() as session:
        merchant = _decide(session, merchant_id)
    if merchant.status == "approved":
        raise ApiError(409, "already_approved", "this merchant is approved already")
    client = chain.client
    if not client.is_merchant(merchant.address):  # no connection held while the chain works
        try:
            client.add_merchant(chain.role_signer("merchant-manager"), merchant.address)
        except AlreadyMerchant:
            pass  # a parallel approval listed it first
    return _set_status(db, admin, merchant_id, "approved", "merchant.approve")


@router.post("/{merchant_id}/remove", response_model=MerchantPublic)
def remove(merchant_id: Id, admin: Admin, db: DatabaseDep, chain: ChainDep) -> MerchantPublic:
    """Take the merchant off the list: it can no longer be paid, but still redeem."""
    with db.session() as session:
        merchant = _decide(session, merchant_id)
    if merchant.status != "approved":
        raise ApiError(409, "not_approved", f"this merchant is {merchant.status}")
    client = chain.client
    if client.is_merchant(merchant.address):
        try:
            client.remove_merchant(chain.role_signer("merchant-manager"), merchant.address)
        except NotMerchant:
            pass  # a parallel removal took it off first
    return _set_status(db, admin, merchant_id, "removed", "merchant.remove")


def _set_status(
    db: Database, admin: User, merchant_id: int, status: str, action: str
) -> MerchantPublic:
    """The chain has the shop as `status` now: the record follows, and is logged once."""
    with db.session(write=True) as session:
        merchant = _decide(session, merchant_id)
        if merchant.status != status:
            merchant.status = status
            record(session, admin, action, f"merchant:{merchant.id}", name=merchant.name)
        return merchant_out(merchant)


@router.get("/me", response_model=MerchantAccount)
def my_account(user: MerchantUser, db: DatabaseDep, chain: ChainDep) -> MerchantAccount:
    with db.session() as session:  # not held while the chain is read
        merchant = session.get(Merchant, user.merchant_id)
    if merchant is None:
        raise ApiError(404, "no_merchant", "this account has no merchant record")
    return MerchantAccount(
        merchant=merchant_out(merchant),
        iban=merchant.iban,
        balance=Money.of(chain.client.balance(merchant.address)),
    )
