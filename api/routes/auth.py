"""Signing in: with a password, or by signing a one-time challenge with one's own wallet."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep, UserDep
from api.errors import ApiError
from api.models import Challenge, User, now
from api.schemas import ChallengeOut, ChallengeRequest, Login, TokenOut, UserPublic, WalletLogin
from api.security import challenge_text, check_password, make_token, signer_of

router = APIRouter(prefix="/auth", tags=["sign-in"])


def _token(settings: SettingsDep, user: User) -> TokenOut:
    token = make_token(settings.secret_key, user.id, user.role, settings.token_hours)
    return TokenOut(token=token, role=user.role, user_id=user.id)


@router.post("/login", response_model=TokenOut)
def login(body: Login, session: SessionDep, settings: SettingsDep) -> TokenOut:
    """Sign in with a user name and password; the token goes in `Authorization: Bearer`."""
    user = session.scalar(select(User).where(User.username == body.username))
    if user is None or not user.active or not check_password(body.password, user.password_hash):
        raise ApiError(401, "wrong_login", "the user name or the password is not right")
    return _token(settings, user)


@router.post("/challenge", response_model=ChallengeOut)
def challenge(body: ChallengeRequest, session: SessionDep) -> ChallengeOut:
    """A text for a resident's or merchant's own wallet to sign (valid for 5 minutes)."""
    if session.scalar(select(User).where(User.wallet == body.wallet)) is None:
        raise ApiError(404, "unknown_wallet", "no resident or merchant uses this wallet")
    nonce = secrets.token_hex(16)
    expires = now() + timedelta(minutes=5)
    session.add(Challenge(wallet=body.wallet, nonce=nonce, expires_at=expires))
    return ChallengeOut(text=challenge_text(body.wallet, nonce), expires_at=expires)


@router.post("/wallet", response_model=TokenOut)
def wallet_login(body: WalletLogin, session: SessionDep, settings: SettingsDep) -> TokenOut:
    """Sign in with the signature of the latest challenge for this wallet."""
    pending = session.scalars(
        select(Challenge)
        .where(Challenge.wallet == body.wallet, Challenge.used.is_(False))
        .order_by(Challenge.id.desc())
    ).first()
    if pending is None or pending.expires_at < now():
        raise ApiError(401, "no_challenge", "ask for a new challenge first (POST /auth/challenge)")
    signer = signer_of(challenge_text(body.wallet, pending.nonce), body.signature)
    if signer != body.wallet:
        raise ApiError(401, "bad_signature", "the signature is not from this wallet")
    pending.used = True
    user = session.scalar(select(User).where(User.wallet == body.wallet))
    if user is None or not user.active:
        raise ApiError(401, "unknown_wallet", "no active resident or merchant uses this wallet")
    return _token(settings, user)


@router.get("/me", response_model=UserPublic)
def me(user: UserDep) -> User:
    """Who is signed in."""
    return user
