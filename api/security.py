"""Passwords, sign-in tokens and wallet challenges.

- Passwords are stored as scrypt hashes (hashlib; n=2^14, r=8, p=1, 16-byte salt).
- A token is `<base64 payload>.<base64 HMAC-SHA256>`; the payload carries the user id, role
  and expiry. Tokens are checked against the user row on every request, so deactivating a
  user ends their sessions.
- A wallet signs in by signing a one-time challenge text (EIP-191 personal message).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(candidate.hex(), digest)


@dataclass(frozen=True)
class TokenData:
    user_id: int
    role: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: str, user_id: int, role: str, hours: int) -> str:
    payload = json.dumps(
        {"u": user_id, "r": role, "e": int(time.time()) + hours * 3600}, separators=(",", ":")
    ).encode()
    signature = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def read_token(secret: str, token: str) -> TokenData | None:
    """The token's data, or None when it is malformed, forged or expired."""
    try:
        payload_text, signature_text = token.split(".")
        payload = _unb64(payload_text)
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature_text)):
            return None
        data = json.loads(payload)
        token_data = TokenData(int(data["u"]), str(data["r"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    if token_data.expires < time.time():
        return None
    return token_data


def challenge_text(wallet: str, nonce: str) -> str:
    """The text a wallet signs to sign in: says what it is for, so it cannot be mistaken for
    a transaction."""
    return (
        "Sign in to Heitje.\n"
        f"Wallet: {wallet}\n"
        f"One-time code: {nonce}\n"
        "This signature only proves you hold this wallet; it moves no money."
    )


def signer_of(text: str, signature: str) -> str | None:
    """The address that signed `text` (EIP-191), or None for a malformed signature."""
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception:  # any malformed signature (eth_keys raises its own BadSignature)
        return None
