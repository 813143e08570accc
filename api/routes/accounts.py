"""Accounts: changing one's own password, switching accounts off and on (admins), and the
desk's one-time reset codes for residents and shops who forgot their password.

Residents have no e-mail address by design, so a forgotten password is reset at the
municipal desk: a desk worker (role `desk`, or an admin) finds the account and makes a
one-time code, which is shown once, given in person or on paper, and stored only as an HMAC.
The resident then sets a new password with it (`POST /auth/reset`). A code expires (72 hours
by default), is used once, is replaced by a newer one, and is spent after a few wrong tries;
tries are also limited per client address. Every step is in the audit log.

A password change or reset raises the account's token generation: its earlier sign-ins end.
A switched-off account's tokens stop working at once (api/deps.py checks `active`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.orm import Session

from api import limits as limits_module
from api.audit import record
from api.deps import LimiterDep, SessionDep, SettingsDep, UserDep, require
from api.errors import ApiError
from api.export import Format, Lang, Limit, Offset, listing
from api.limits import Limiter, client_address
from api.models import Merchant, ResetCode, Resident, User, now
from api.routes.auth import THROTTLED, account_key, signin_candidates, token_for
from api.schemas import Id, Page, Password, Strict, TokenOut, example
from api.security import (
    configure_passwords,
    hash_password,
    new_reset_code,
    password_problem,
    reset_code_hash,
    verify_password,
)
from api.text import Text

log = logging.getLogger(__name__)
router = APIRouter(tags=["accounts"])
Admin = Annotated[User, Depends(require("admin"))]
Desk = Annotated[User, Depends(require("admin", "desk"))]
OldPassword = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def install(app: FastAPI) -> None:
    """Set the password cost from the settings, answer 429s with Retry-After, and serve
    these routes."""
    settings = app.state.settings
    configure_passwords(settings.password_memory_kib, settings.password_time_cost)
    limits_module.install(app)
    if not settings.development and not settings.public_url:
        log.warning(
            "HEITJE_API_PUBLIC_URL is not set: wallet sign-in messages name the host each "
            "request was sent to, so a wallet cannot warn about a look-alike site; set it"
        )


class PasswordChange(Strict):
    model_config = example(
        {"old_password": "correct horse battery staple", "new_password": "zeven groene fietsen"}
    )
    old_password: OldPassword
    new_password: Password


class AccountOut(BaseModel):
    model_config = example(
        {
            "id": 31,
            "username": "resident:12",
            "role": "resident",
            "name": "HRL-7Q4K2",
            "active": True,
            "signs_in_with": "password",
            "resident_id": 12,
            "merchant_id": None,
        }
    )
    id: int
    username: str
    role: str
    name: str = Field(description="the pseudonym, the shop's name, or the user name")
    active: bool
    signs_in_with: str = Field(description="password, or wallet (the holder's own)")
    resident_id: int | None
    merchant_id: int | None


class Reason(Strict):
    model_config = example({"reason": "left the municipality's service"})
    reason: Annotated[Text, StringConstraints(min_length=3)]


class ResetCodeOut(BaseModel):
    model_config = example(
        {
            "code": "K7M2-QX9P-4TRW",
            "expires_at": "2026-11-26T10:15:00Z",
            "user_id": 31,
            "name": "HRL-7Q4K2",
            "sign_in_name": "HRL-7Q4K2",
        }
    )
    code: str = Field(description="shown once: give it in person or on paper")
    expires_at: datetime
    user_id: int
    name: str
    sign_in_name: str = Field(description="what the holder types as user name")


class PasswordReset(Strict):
    model_config = example(
        {"name": "HRL-7Q4K2", "code": "K7M2-QX9P-4TRW", "new_password": "zeven groene fietsen"}
    )
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = (
        Field(description="the pseudonym, or the shop's user name")
    )
    code: Annotated[str, StringConstraints(min_length=4, max_length=32)]
    new_password: Password


def _names(session: Session, user: User) -> tuple[str, str]:
    """The account's name for people, and the name it signs in with."""
    if user.resident_id is not None:
        query = select(Resident.pseudonym).where(Resident.id == user.resident_id)
        pseudonym = session.scalar(query)
        return pseudonym or user.username, pseudonym or user.username
    if user.merchant_id is not None:
        shop = session.scalar(select(Merchant.name).where(Merchant.id == user.merchant_id))
        return shop or user.username, user.username
    return user.username, user.username


def _account_out(user: User, pseudonym: str | None, shop: str | None) -> AccountOut:
    return AccountOut(
        id=user.id,
        username=user.username,
        role=user.role,
        name=pseudonym or shop or user.username,
        active=user.active,
        signs_in_with="password" if user.password_hash else "wallet",
        resident_id=user.resident_id,
        merchant_id=user.merchant_id,
    )


@router.post("/accounts/me/password", response_model=TokenOut, responses=THROTTLED)
def change_password(
    body: PasswordChange,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    limits: LimiterDep,
) -> TokenOut:
    """Change one's own password (the old one is needed). Other sign-ins of this account end;
    the answer is a new token for this one."""
    limits.check(f"password-change:{user.id}", settings.limit_login_account, "password tries")
    if not user.password_hash:
        raise ApiError(409, "no_password", "this account signs in with its own wallet")
    if not verify_password(body.old_password, user.password_hash).ok:
        raise ApiError(422, "wrong_password", "the current password is not right")
    sign_in_name = _names(session, user)[1]
    problem = password_problem(body.new_password, sign_in_name)
    if problem:
        raise ApiError(422, "weak_password", problem)
    if body.new_password == body.old_password:
        raise ApiError(422, "same_password", "the new password is the same as the old one")
    limits.clear(f"password-change:{user.id}")
    own = session.get(User, user.id)  # the signed-in user is a copy read on its own (api.deps)
    assert own is not None
    own.password_hash = hash_password(body.new_password)
    own.token_generation += 1
    record(session, own, "account.password_change", f"user:{own.id}")
    return token_for(settings, own)


@router.get("/accounts", response_model=Page[AccountOut])
def list_accounts(
    desk: Desk,
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=120, description="user name, pseudonym or shop name (part of it)"),
    ] = None,
    role: Annotated[str | None, Query(pattern="^[a-z]{3,16}$")] = None,
    active: bool | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[AccountOut] | Response:
    """Accounts, by id: for admins every account, for the desk residents and shops (to find
    the one who forgot a password)."""
    query = (
        select(User, Resident.pseudonym, Merchant.name)
        .outerjoin(Resident, User.resident_id == Resident.id)
        .outerjoin(Merchant, User.merchant_id == Merchant.id)
    )
    if desk.role != "admin":
        query = query.where(User.role.in_(("resident", "merchant")))
    if role:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(User.username).like(pattern),
                func.lower(Resident.pseudonym).like(pattern),
                func.lower(Merchant.name).like(pattern),
                func.lower(Merchant.code).like(pattern),
            )
        )
    return listing(
        session, query.order_by(User.id), _account_out,
        name="accounts", offset=offset, limit=limit, format=format, lang=lang,
    )  # fmt: skip


def _target(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise ApiError(404, "no_account", f"there is no account {user_id}")
    return user


def _out(session: Session, user: User) -> AccountOut:
    name, _ = _names(session, user)
    return _account_out(user, name, None)


@router.post("/accounts/{user_id}/disable", response_model=AccountOut)
def disable(user_id: Id, body: Reason, admin: Admin, session: SessionDep) -> AccountOut:
    """Switch an account off: its sign-ins stop working at once, and it cannot sign in."""
    user = _target(session, user_id)
    if user.id == admin.id:
        raise ApiError(409, "own_account", "you cannot switch off your own account")
    if not user.active:
        raise ApiError(409, "already_disabled", "this account is switched off already")
    user.active = False
    user.token_generation += 1
    record(session, admin, "account.disable", f"user:{user.id}", reason=body.reason)
    return _out(session, user)


@router.post("/accounts/{user_id}/enable", response_model=AccountOut)
def enable(
    user_id: Id, body: Reason, admin: Admin, session: SessionDep, limits: LimiterDep
) -> AccountOut:
    """Switch an account on again (and lift a sign-in lock-out of its name)."""
    user = _target(session, user_id)
    if user.active:
        raise ApiError(409, "already_enabled", "this account is switched on already")
    limits.clear(account_key(_names(session, user)[1]))  # before this session writes
    user.active = True
    record(session, admin, "account.enable", f"user:{user.id}", reason=body.reason)
    return _out(session, user)


@router.post("/accounts/{user_id}/reset-code", response_model=ResetCodeOut, status_code=201)
def reset_code(user_id: Id, desk: Desk, session: SessionDep, settings: SettingsDep) -> ResetCodeOut:
    """A one-time code for a resident or shop (admins: any other account) to set a new
    password with (POST /auth/reset). Shown only in this answer; a newer code replaces it."""
    user = _target(session, user_id)
    if user.id == desk.id:
        raise ApiError(409, "own_account", "change your own password instead")
    if desk.role != "admin" and user.role not in ("resident", "merchant"):
        raise ApiError(403, "wrong_role", "the desk resets the passwords of residents and shops")
    if not user.password_hash:
        raise ApiError(
            409, "wallet_account", "this account signs in with its own wallet: a lost wallet is "
            "recovered by an admin (POST /residents/{id}/recover)"
        )  # fmt: skip
    if not user.active:
        raise ApiError(409, "account_disabled", "this account is switched off: an admin can "
                       "switch it on first")  # fmt: skip
    session.execute(
        update(ResetCode)
        .where(ResetCode.user_id == user.id, ResetCode.status == "open")
        .values(status="replaced")
    )
    code = new_reset_code()
    expires = now() + timedelta(hours=settings.reset_code_hours)
    session.add(
        ResetCode(
            user_id=user.id,
            code_hash=reset_code_hash(settings.secret_key, code),
            expires_at=expires,
            created_by=desk.id,
        )
    )
    record(session, desk, "account.reset_code", f"user:{user.id}", expires_at=str(expires))
    name, sign_in = _names(session, user)
    return ResetCodeOut(
        code=code, expires_at=expires, user_id=user.id, name=name, sign_in_name=sign_in
    )


WRONG_CODE = "the code is not right, was used or has expired; ask the desk for a new one"


@router.post("/auth/reset", response_model=TokenOut, responses=THROTTLED)
def reset_password(
    body: PasswordReset,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limits: LimiterDep,
) -> TokenOut:
    """Set a new password with the desk's one-time code; signs in with it."""
    limits.check(f"reset:{client_address(request)}", settings.limit_resets, "reset-code tries")
    owners = [u.id for u in signin_candidates(session, body.name) if u is not None]
    digest = reset_code_hash(settings.secret_key, body.code)
    found = session.scalar(select(ResetCode).where(ResetCode.code_hash == digest))
    good = (
        found is not None
        and found.user_id in owners
        and found.status == "open"
        and found.attempts < settings.reset_code_tries
        and found.expires_at > now()
    )
    if not good or found is None:
        _count_wrong_try(limits, owners, settings.reset_code_tries)
        raise ApiError(401, "wrong_code", WRONG_CODE)
    user = session.get(User, found.user_id)
    if user is None or not user.active:
        raise ApiError(401, "wrong_code", WRONG_CODE)
    problem = password_problem(body.new_password, body.name)
    if problem:
        raise ApiError(422, "weak_password", problem)
    limits.clear(account_key(body.name))  # before this session writes (SQLite: one writer)
    used = session.execute(
        update(ResetCode)
        .where(ResetCode.id == found.id, ResetCode.status == "open")
        .values(status="used", used_at=now())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise ApiError(401, "wrong_code", WRONG_CODE)
    user.password_hash = hash_password(body.new_password)
    user.token_generation += 1
    record(session, user, "account.reset_password", f"user:{user.id}", code=found.id)
    return token_for(settings, user)


def _count_wrong_try(limits: Limiter, owners: list[int], tries: int) -> None:
    """A wrong code for these accounts: count it on their open codes (in a transaction of its
    own, kept although the request fails) and spend a code that had its tries."""
    if not owners:
        return
    open_codes = (ResetCode.user_id.in_(owners), ResetCode.status == "open")

    def count(connection: Connection) -> None:
        connection.execute(
            update(ResetCode).where(*open_codes).values(attempts=ResetCode.attempts + 1)
        )
        connection.execute(
            update(ResetCode).where(*open_codes, ResetCode.attempts >= tries).values(status="spent")
        )

    limits.after(count)
