"""Signing in: with a password, or by signing a one-time challenge with one's own wallet.

Staff and shops sign in with their user name, residents with their pseudonym. The two are
separate namespaces: a resident may choose a pseudonym that equals a staff user name (sign-up
never says which names staff use), and signing in checks both, always with two password
checks (real or dummy), so the time taken says nothing about which names exist.

A shop may also sign in with its shop code alone (`K7MX2Q`, any capitals), not only with its
user name `merchant-k7mx2q`.

With `remember` a sign-in also makes a device session (api.devices): the app keeps its token
on that device and signs in with it on the next visit (`POST /auth/device`); the account page
lists them (`GET /auth/devices`), and each is revoked at once (`DELETE /auth/devices/{id}`,
`DELETE /auth/devices` for all, `POST /auth/logout` for this one).

Attempts are limited per user name and per client address (api/limits.py, 429 with
Retry-After when over): a locked name stays locked for the right password too, until its
window ends.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api import devices
from api.audit import record
from api.deps import ChainDep, LimiterDep, SessionDep, SettingsDep, UserDep
from api.errors import ApiError
from api.limits import client_address
from api.models import Challenge, DeviceSession, Merchant, Resident, User, now
from api.schemas import (
    ChallengeOut,
    ChallengeRequest,
    DeviceOut,
    DeviceResume,
    DevicesRevoked,
    ErrorOut,
    Id,
    Login,
    TokenOut,
    UserPublic,
    WalletLogin,
)
from api.security import (
    make_token,
    parse_siwe,
    read_token,
    signature_problem,
    signer_of,
    siwe_message,
)
from api.security import verify_password as verify
from api.settings import Settings

router = APIRouter(prefix="/auth", tags=["sign-in"])
CHALLENGE_MINUTES = 5
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorOut, "description": "too many attempts: wait `Retry-After` seconds"}
}


def token_for(settings: Settings, user: User, device: int | None = None) -> TokenOut:
    token = make_token(
        settings.secret_key,
        user.id,
        user.role,
        settings.token_hours,
        user.token_generation,
        device,
    )
    return TokenOut(token=token, role=user.role, user_id=user.id)


#: A shop code as people type it (api.routes.merchants makes them: 6 letters and digits).
_SHOP_CODE = re.compile(r"^[A-Za-z0-9]{6}$")


def account_key(name: str) -> str:
    normal = name.strip().lower()
    if _SHOP_CODE.match(normal):  # a shop's code and its user name count as one
        normal = f"merchant-{normal}"
    return f"login-name:{normal}"


def signin_candidates(session: Session, name: str) -> tuple[User | None, User | None]:
    """The staff or shop account with this user name (or the shop with this code), and the
    resident with this pseudonym."""
    staff = session.scalar(select(User).where(User.username == name, User.role != "resident"))
    if staff is None and _SHOP_CODE.match(name.strip()):
        staff = session.scalar(
            select(User)
            .join(Merchant, User.merchant_id == Merchant.id)
            .where(Merchant.code == name.strip().upper(), User.role == "merchant")
        )
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
    if not body.remember:
        return token_for(settings, found)
    if settings.device_session_days == 0:
        raise ApiError(
            422, "remember_off", "staying signed in is switched off here; sign in without it"
        )
    name = devices.device_name(request.headers.get("user-agent"))
    device_token, device_id = devices.create(
        session, settings.secret_key, found, name, settings.device_session_days
    )
    record(session, found, "auth.device_added", f"device:{device_id}", name=name)
    answer = token_for(settings, found, device_id)
    answer.device_token = device_token
    return answer


@router.post("/device", response_model=TokenOut, responses=THROTTLED)
def device_login(
    body: DeviceResume,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limits: LimiterDep,
) -> TokenOut:
    """Sign in again on a device that stays signed in, with its device token; the device
    session's expiry moves forward. Refused (401 `device_signed_out`) once it is revoked,
    has expired, or the password changed since."""
    address_key = f"login-address:{client_address(request)}"
    limits.check(address_key, settings.limit_login_address, "failed sign-ins from this address")
    found = devices.resume(
        session, settings.secret_key, body.device_token, settings.device_session_days
    )
    if found is None:  # counted as a failed sign-in from this address
        raise ApiError(
            401,
            "device_signed_out",
            "this device is no longer signed in; sign in with your password",
        )
    limits.forgive(address_key)
    user, row = found
    return token_for(settings, user, row.id)


_bearer = HTTPBearer(auto_error=False)
#: The nonce line of an EIP-4361 message (the service's nonces are 32 hex digits).
_NONCE = re.compile(r"^Nonce: ([0-9A-Za-z]{8,64})$", re.MULTILINE)


def _current_device(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int | None:
    """The device session the request's token was made from, if any."""
    data = read_token(settings.secret_key, credentials.credentials) if credentials else None
    return data.device if data else None


CurrentDevice = Annotated[int | None, Depends(_current_device)]


@router.get("/devices", response_model=list[DeviceOut])
def my_devices(user: UserDep, session: SessionDep, current: CurrentDevice) -> list[DeviceOut]:
    """The devices where one stays signed in (not revoked, not expired), last used first."""
    rows = session.scalars(
        select(DeviceSession)
        .where(
            DeviceSession.user_id == user.id,
            DeviceSession.revoked_at.is_(None),
            DeviceSession.expires_at > now(),
            DeviceSession.generation == user.token_generation,
        )
        .order_by(DeviceSession.last_used_at.desc(), DeviceSession.id.desc())
    )
    return [
        DeviceOut(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            current=row.id == current,
        )
        for row in rows
    ]


@router.delete("/devices/{device_id}", status_code=204)
def revoke_device(device_id: Id, user: UserDep, session: SessionDep) -> Response:
    """Sign out on one device: its device token and every sign-in made from it stop at once.
    Only one's own devices (another's answers 404, as an unknown one)."""
    if devices.revoke(session, user.id, device_id) != 1:
        raise ApiError(404, "no_device", "this device is not signed in to your account")
    record(session, user, "auth.device_revoked", f"device:{device_id}")
    return Response(status_code=204)


@router.delete("/devices", response_model=DevicesRevoked)
def revoke_all_devices(user: UserDep, session: SessionDep) -> DevicesRevoked:
    """Sign out on every device that stays signed in (this one too, if it does)."""
    count = devices.revoke(session, user.id)
    record(session, user, "auth.devices_revoked", f"user:{user.id}", count=count)
    return DevicesRevoked(revoked=count)


@router.post("/logout", status_code=204)
def logout(user: UserDep, session: SessionDep, current: CurrentDevice) -> Response:
    """Sign out; on a device that stays signed in, that device session ends too."""
    if current is not None and devices.revoke(session, user.id, current):
        record(session, user, "auth.device_revoked", f"device:{current}", at_logout=True)
    return Response(status_code=204)


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
    # The EIP-4361 grammar is parsed only once the text is known to be a challenge this
    # service made: its parser takes seconds on some crafted texts of 2,000 characters.
    nonce = _NONCE.search(body.message)
    if nonce is None:
        raise ApiError(401, "bad_message", "this is not a message from POST /auth/challenge")
    pending = session.scalar(select(Challenge).where(Challenge.nonce == nonce.group(1)))
    if pending is None or pending.message != body.message:
        raise ApiError(401, "no_challenge", "ask for a new challenge first (POST /auth/challenge)")
    parsed = parse_siwe(body.message)
    if parsed is None:
        raise ApiError(401, "bad_message", "this is not a message from POST /auth/challenge")
    if body.wallet is not None and body.wallet != parsed.address:
        raise ApiError(401, "bad_message", "the message is for another wallet")
    if pending.wallet != parsed.address:
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
