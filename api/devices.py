"""Staying signed in on one's own device ("Ingelogd blijven op dit apparaat").

At sign-in a person may ask to stay signed in. The service then makes a device session: a
random token (256 bits) that the browser keeps (localStorage) and the service stores only as
an HMAC under its secret, like a reset code. With it the app gets a new ordinary sign-in
token (`POST /auth/device`) on the next visit; each use moves the expiry forward
(`HEITJE_API_DEVICE_SESSION_DAYS`, 90 by default, since the last use).

Every token made from a device session names it, and every request checks it (api.deps): so
revoking one (`DELETE /auth/devices/{id}`, or all of them), signing out on that device, or a
password change or reset (which raises the user's token generation) ends it at once, with
the sign-ins made from it. No key or seed phrase is ever in the browser: a device session
only stands for the password sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.models import DeviceSession, User, now

#: How a device token starts, so it is never mistaken for a sign-in token.
PREFIX = "hd1."


def token_hash(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), f"device:{token}".encode(), hashlib.sha256).hexdigest()


_BROWSERS = (
    ("SamsungBrowser", "Samsung Internet"),
    ("Edg", "Edge"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chromium", "Chromium"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Macintosh", "Mac"),
    ("CrOS", "Chromebook"),
    ("Linux", "Linux"),
)


def device_name(user_agent: str | None) -> str:
    """A short name for the device a browser says it runs on, e.g. "Chrome, Android"."""
    agent = user_agent or ""
    browser = next((name for key, name in _BROWSERS if f"{key}/" in agent), "")
    system = next((name for key, name in _SYSTEMS if key in agent), "")
    return ", ".join(part for part in (browser, system) if part) or "browser"


def create(session: Session, secret: str, user: User, name: str, days: int) -> tuple[str, int]:
    """A new device session for `user`: its token (shown to the browser once) and its id."""
    token = PREFIX + secrets.token_urlsafe(32)
    moment = now()
    row = DeviceSession(
        user_id=user.id,
        token_hash=token_hash(secret, token),
        name=name[:120],
        generation=user.token_generation,
        created_at=moment,
        last_used_at=moment,
        expires_at=moment + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return token, row.id


def device_open(row: DeviceSession | None, user_id: int, at: datetime | None = None) -> bool:
    """Whether a device session still stands (not revoked, not expired, this user's)."""
    return (
        row is not None
        and row.user_id == user_id
        and row.revoked_at is None
        and row.expires_at > (at or now())
    )


def resume(
    session: Session, secret: str, token: str, days: int
) -> tuple[User, DeviceSession] | None:
    """The user and device session of a device token, its expiry moved forward; None when the
    token is unknown, revoked, expired, or from before a password change."""
    if not token.startswith(PREFIX):
        return None
    row = session.scalar(
        select(DeviceSession).where(DeviceSession.token_hash == token_hash(secret, token))
    )
    if row is None or not device_open(row, row.user_id):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or user.token_generation != row.generation:
        return None
    moment = now()
    row.last_used_at = moment
    row.expires_at = moment + timedelta(days=days)
    return user, row


def revoke(session: Session, user_id: int, device_id: int | None = None) -> int:
    """Revoke one of the user's device sessions (or all of them); how many were open."""
    query = update(DeviceSession).where(
        DeviceSession.user_id == user_id, DeviceSession.revoked_at.is_(None)
    )
    if device_id is not None:
        query = query.where(DeviceSession.id == device_id)
    result = session.execute(
        query.values(revoked_at=now()).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
