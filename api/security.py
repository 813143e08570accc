"""Passwords, sign-in tokens and wallet challenges.

- Passwords are stored as argon2id hashes (argon2-cffi) at OWASP's parameters or stronger
  (by default m=19 MiB, t=2, p=1; `configure_passwords`). Hashes made before (scrypt, n=2^14)
  still verify, and are replaced by an argon2id hash at the next sign-in (`verify_password`
  says so). A new password is NFKC-normalised and checked by `password_problem`: not blank,
  no control characters, long enough, and not one of the 30,000 most used passwords (the
  list zxcvbn ships).
- A token is `<base64 payload>.<base64 HMAC-SHA256>`; the payload carries the user id, role,
  expiry and the account's token generation. Tokens are checked against the user row on
  every request, so disabling a user, or changing or resetting a password (which raises the
  generation), ends the sessions made before at once.
- A wallet signs in by signing an EIP-4361 (Sign-In with Ethereum) message, built and parsed
  by the `siwe` package; only low-s signatures are taken (`signature_problem`).
- A desk's one-time reset code is random, shown once and stored only as an HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.constants import SECPK1_N
from siwe import SiweMessage
from zxcvbn.frequency_lists import FREQUENCY_LISTS

# ------------------------------------------------------------------ passwords

#: OWASP's argon2id configurations (memory in KiB, passes), all with parallelism 1: a
#: setting is strong enough when it has at least the memory and passes of one of them.
OWASP_ARGON2 = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))
MIN_PASSWORD_LENGTH = 10


def strong_enough(memory_kib: int, time_cost: int) -> bool:
    """Whether argon2id with these parameters meets OWASP's advice."""
    return any(memory_kib >= m and time_cost >= t for m, t in OWASP_ARGON2)


@dataclass(frozen=True)
class _Cost:
    memory_kib: int = 19456
    time_cost: int = 2
    parallelism: int = 1


_cost = _Cost()


def configure_passwords(memory_kib: int, time_cost: int, parallelism: int = 1) -> None:
    """The argon2id parameters for new hashes (the service's settings; production refuses
    any below OWASP's advice, tests may use cheaper ones)."""
    global _cost
    _cost = _Cost(memory_kib, time_cost, parallelism)


@cache
def _hasher(cost: _Cost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_kib,
        parallelism=cost.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


@cache
def _dummy_hash(cost: _Cost) -> str:
    return _hasher(cost).hash(secrets.token_hex(16))


def _normal(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher(_cost).hash(_normal(password))


@dataclass(frozen=True)
class Verified:
    ok: bool
    #: a new hash to store, when the stored one is older or weaker than today's setting
    rehash: str | None = None


def _scrypt_matches(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def verify_password(password: str, stored: str | None) -> Verified:
    """Check `password` against a stored hash. Without a hash (an unknown user, or one who
    signs in with a wallet) a dummy hash is checked instead, so the answer takes as long."""
    hasher = _hasher(_cost)
    if not stored or not stored.startswith(("$argon2", "scrypt$")):
        try:
            hasher.verify(_dummy_hash(_cost), password)
        except VerificationError:
            pass
        return Verified(False)
    if stored.startswith("scrypt$"):
        if not _scrypt_matches(password, stored):
            return Verified(False)
        return Verified(True, hash_password(password))
    try:
        hasher.verify(stored, _normal(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verified(False)
    return Verified(True, hash_password(password) if hasher.check_needs_rehash(stored) else None)


def check_password(password: str, stored: str | None) -> bool:
    return verify_password(password, stored).ok


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why `password` may not be used (in plain words), or None when it may."""
    normal = _normal(password)
    if not normal.strip():
        return "a password of only spaces cannot be used: choose a few words you remember"
    if any(unicodedata.category(c).startswith("C") for c in normal):
        return "a password cannot contain control or invisible characters"
    if len(normal) < MIN_PASSWORD_LENGTH:
        return (
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters: a few words you "
            "remember work well"
        )
    lowered = normal.lower()
    if lowered in _common_passwords() or lowered.replace(" ", "") in _common_passwords():
        return "this password is one of the most used ones, so easy to guess: choose another"
    if username and lowered.strip() == username.strip().lower():
        return "a password cannot be the same as the user name"
    return None


# ------------------------------------------------------------------ tokens


@dataclass(frozen=True)
class TokenData:
    user_id: int
    role: str
    expires: int
    generation: int = 0
    #: the device session (api.devices) this sign-in was made from, if any: it ends with it
    device: int | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(
    secret: str,
    user_id: int,
    role: str,
    hours: int,
    generation: int = 0,
    device: int | None = None,
) -> str:
    fields: dict[str, object] = {
        "u": user_id,
        "r": role,
        "e": int(time.time()) + hours * 3600,
        "g": generation,
    }
    if device is not None:
        fields["d"] = device
    payload = json.dumps(fields, separators=(",", ":")).encode()
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
        device = data.get("d")
        token_data = TokenData(
            int(data["u"]),
            str(data["r"]),
            int(data["e"]),
            int(data.get("g", 0)),
            None if device is None else int(device),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if token_data.expires < time.time():
        return None
    return token_data


# ------------------------------------------------------------------ wallet sign-in

STATEMENT = "Sign in to Heitje. This signature only proves you hold this wallet; it moves no money."


def siwe_message(
    *,
    domain: str,
    uri: str,
    wallet: str,
    chain_id: int,
    nonce: str,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    """The EIP-4361 text a wallet signs to sign in (wallets show it as a sign-in request)."""
    return str(
        SiweMessage(
            domain=domain,
            address=wallet,
            statement=STATEMENT,
            uri=uri,
            version="1",
            chain_id=chain_id,
            nonce=nonce,
            issued_at=_iso(issued_at),
            expiration_time=_iso(expires_at),
        ).prepare_message()
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_siwe(text: str) -> SiweMessage | None:
    """The EIP-4361 message in `text` (parsed by its ABNF grammar), or None if it is not one."""
    try:
        return SiweMessage.from_message(text, abnf=True)
    except Exception:  # the parser raises ValueError, pydantic errors or its own
        return None


def signature_problem(signature: str) -> str | None:
    """Why a 65-byte secp256k1 signature is refused: malformed, or a high-s copy (EIP-2: for
    each signature there is a second valid one with s' = n - s; only the low one counts)."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        return "the signature is not hexadecimal"
    if len(raw) != 65:
        return "a signature has 65 bytes"
    s = int.from_bytes(raw[32:64], "big")
    if not 0 < s <= SECPK1_N // 2:
        return "the signature is not in its low-s form (EIP-2)"
    if raw[64] not in (0, 1, 27, 28):
        return "the signature's recovery byte is not 27 or 28"
    return None


def signer_of(text: str, signature: str) -> str | None:
    """The address that signed `text` (EIP-191), or None for a malformed or high-s
    signature."""
    if signature_problem(signature):
        return None
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception:  # any malformed signature (eth_keys raises its own BadSignature)
        return None


# ------------------------------------------------------------------ reset codes

# No 0/O, 1/I/L: a code read off paper and typed by people.
_CODE_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_reset_code() -> str:
    """A one-time code in three groups of four (31^12, about 59 bits), e.g. K7M2-QX9P-4TRW."""
    chars = "".join(secrets.choice(_CODE_CHARS) for _ in range(12))
    return "-".join(chars[i : i + 4] for i in range(0, 12, 4))


def reset_code_hash(secret: str, code: str) -> str:
    """What is stored of a reset code: its HMAC under the service's secret (spaces, dashes
    and case do not matter when it is typed)."""
    normal = "".join(c for c in code.upper() if c.isalnum())
    return hmac.new(secret.encode(), f"reset:{normal}".encode(), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ Heitje cards


def new_card_number() -> str:
    """A Heitje card's number, the only thing its QR code carries: 16 characters of the
    reset codes' alphabet in four groups (31^16, about 79 bits: unguessable), e.g.
    K7M2-QX9P-4TRW-8NHD."""
    chars = "".join(secrets.choice(_CODE_CHARS) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def card_number_normal(number: str) -> str:
    """The number as typed or scanned, without spaces and dashes, in capitals."""
    return "".join(c for c in number.upper() if c.isalnum())


def card_number_hash(secret: str, number: str) -> str:
    """What is stored of a card's number: its HMAC under the service's secret."""
    normal = card_number_normal(number)
    return hmac.new(secret.encode(), f"card:{normal}".encode(), hashlib.sha256).hexdigest()


def pin_problem(pin: str) -> str | None:
    """Why a new PIN may not be used (plain words), or None: 4 to 6 digits, not all the same
    digit and not a run such as 1234 or 4321."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 6):
        return "a PIN is 4 to 6 digits"
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({0}, {1}, {-1}):
        return "this PIN is too easy to guess (one digit, or a run such as 1234): choose another"
    return None
