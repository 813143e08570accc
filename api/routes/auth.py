"""Signing in: with a password, or by signing a one-time challenge with one's own wallet.

Staff and shops sign in with their user name, residents with their pseudonym. The two are
separate namespaces: a resident may choose a pseudonym that equals a staff user name (sign-up
never says which names staff use), and signing in checks both, always with two password
checks (real or dummy), so the time taken says nothing about which names exist.

Attempts are limited per user name and per client address (api/limits.py, 429 with
Retry-After when over): a locked name stays locked for the right password too, until its
window ends.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api.deps import ChainDep, LimiterDep, SessionDep, SettingsDep, UserDep
from api.errors import ApiError
from api.limits import client_address
from api.models import Challenge, Resident, User, now
from api.schemas import (
    ChallengeOut,
    ChallengeRequest,
    ErrorOut,
    Login,
    TokenOut,
    UserPublic,
    WalletLogin,
)
from api.security import make_token, parse_siwe, signature_problem, signer_of, siwe_message
from api.security import verify_password as verify
from api.settings import Settings

router = APIRouter(prefix="/auth", tags=["sign-in"])
CHALLENGE_MINUTES = 5
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorOut, "description": "too many attempts: wait `Retry-After` seconds"}
}


def token_for(settings: Settings, user: User) -> TokenOut:
    token = make_token(
        settings.secret_key, user.id, user.role, settings.token_hours, user.token_generation
    )
    return TokenOut(token=token, role=user.role, user_id=user.id)


def account_key(name: str) -> str:
    return f"login-name:{name.strip().lower()}"


def signin_candidates(session: Session, name: str) -> tuple[User | None, User | None]:
    """The staff or shop account with this user name, and the resident with this pseudonym."""
    staff = session.scalar(select(User).where(User.username == name, User.role != "resident"))
    resident = session.scalar(
        select(User)
        .join(Resident, User.resident_id == Resident.id)
        .where(Resident.pseudonym == name, User.role == "resident")
    )
    return staff, resident


@router.post("/login", response_model=TokenOut, responses=THROTTLED)
def login(
    body: Login,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limits: LimiterDep,
) -> TokenOut:
    """Sign in with a user name (residents: the pseudonym) and password; the token goes in
    `Authorization: Bearer`."""
    address_key = f"login-address:{client_address(request)}"
    limits.check(address_key, settings.limit_login_address, "failed sign-ins from this address")
    limits.check(account_key(body.username), settings.limit_login_account, "sign-in attempts")
    found: User | None = None
    for candidate in signin_candidates(session, body.username):
        result = verify(body.password, candidate.password_hash if candidate else None)
        if result.ok and candidate is not None and found is None:
            found = candidate
            if result.rehash:
                candidate.password_hash = result.rehash  # an older hash: today's argon2id
    if found is None:
        raise ApiError(401, "wrong_login", "the user name or the password is not right")
    limits.clear(account_key(body.username))
    limits.forgive(address_key)
    if not found.active:
        raise ApiError(
            401, "account_disabled", "this account is switched off; ask the municipality"
        )
    return token_for(settings, found)


def _public_base(request: Request, settings: Settings) -> tuple[str, str]:
    """The domain and URI a wallet sign-in message names."""
    if settings.public_url:
        base = settings.public_url
    else:
        base = f"{request.url.scheme}://{request.url.netloc}"
    domain = base.split("://", 1)[1].split("/", 1)[0]
    return domain, base + "/app/"


@router.post("/challenge", response_model=ChallengeOut, responses=THROTTLED)
def challenge(
    body: ChallengeRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    chain: ChainDep,
    limits: LimiterDep,
) -> ChallengeOut:
    """An EIP-4361 (Sign-In with Ethereum) message for a resident's or merchant's own wallet
    to sign, valid for 5 minutes. Each request gets its own; asking again does not end
    earlier ones."""
    limits.check(
        f"challenge:{client_address(request)}", settings.limit_challenges, "challenge requests"
    )
    if session.scalar(select(User.id).where(User.wallet == body.wallet)) is None:
        raise ApiError(404, "unknown_wallet", "no resident or merchant uses this wallet")
    chain_id = settings.chain.chain_id or chain.client.chain_id
    nonce = secrets.token_hex(16)
    moment = now()
    issued = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # as the text has it
    expires = issued + timedelta(minutes=CHALLENGE_MINUTES)
    domain, uri = _public_base(request, settings)
    text = siwe_message(
        domain=domain,
        uri=uri,
        wallet=body.wallet,
        chain_id=chain_id,
        nonce=nonce,
        issued_at=issued,
        expires_at=expires,
    )
    session.add(Challenge(wallet=body.wallet, nonce=nonce, expires_at=expires, message=text))
    # challenges that ended a day ago are of no use to anyone (there are as many as asked)
    session.execute(delete(Challenge).where(Challenge.expires_at < issued - timedelta(days=1)))
    return ChallengeOut(text=text, nonce=nonce, expires_at=expires)


@router.post("/wallet", response_model=TokenOut, responses=THROTTLED)
def wallet_login(
    body: WalletLogin,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limits: LimiterDep,
) -> TokenOut:
    """Sign in with a challenge's message and the wallet's signature of it. A challenge is
    used once: of parallel copies of one signature, exactly one gets a token."""
    address_key = f"login-address:{client_address(request)}"
    limits.check(address_key, settings.limit_login_address, "failed sign-ins from this address")
    parsed = parse_siwe(body.message)
    if parsed is None:
        raise ApiError(401, "bad_message", "this is not a message from POST /auth/challenge")
    if body.wallet is not None and body.wallet != parsed.address:
        raise ApiError(401, "bad_message", "the message is for another wallet")
    pending = session.scalar(select(Challenge).where(Challenge.nonce == parsed.nonce))
    if pending is None or pending.message != body.message or pending.wallet != parsed.address:
        raise ApiError(401, "no_challenge", "ask for a new challenge first (POST /auth/challenge)")
    if pending.used:
        raise ApiError(401, "challenge_used", "this challenge was used; ask for a new one")
    if pending.expires_at < now():
        raise ApiError(401, "challenge_expired", "this challenge has expired; ask for a new one")
    problem = signature_problem(body.signature)
    if problem or signer_of(body.message, body.signature) != pending.wallet:
        raise ApiError(401, "bad_signature", problem or "the signature is not from this wallet")
    user = session.scalar(select(User).where(User.wallet == pending.wallet))
    if user is None or not user.active:
        raise ApiError(401, "unknown_wallet", "no active resident or merchant uses this wallet")
    limits.forgive(address_key)  # before this session writes (SQLite has one writer)
    # Consumed once, decided by the database: of parallel copies only one changes the row.
    consumed = session.execute(
        update(Challenge)
        .where(Challenge.id == pending.id, Challenge.used.is_(False))
        .values(used=True)
        .execution_options(synchronize_session=False)
    )
    if consumed.rowcount != 1:  # type: ignore[attr-defined]
        raise ApiError(401, "challenge_used", "this challenge was used; ask for a new one")
    return token_for(settings, user)


@router.get("/me", response_model=UserPublic)
def me(user: UserDep) -> User:
    """Who is signed in."""
    return user
