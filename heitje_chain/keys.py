"""Keys: the role accounts and custodial wallets, in encrypted keystore files.

A keystore is eth-account's encrypted JSON format (scrypt + AES-128-CTR, "version 3"), one file
per key, named `<name>.json`, readable by the owner only. A private key is never printed,
logged or put in an exception message; `Signer` objects show only their address.

Anything that can sign an Ethereum transaction can be a signer (`Signer` protocol), so a
hardware wallet or a remote signing service can take the place of a keystore later.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import coincurve
import rlp  # type: ignore[import-untyped]
from eth_account import Account
from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import is_address, keccak, to_checksum_address
from hexbytes import HexBytes

from heitje_chain.errors import InvalidAddress, KeystoreError

_FAST_FIELDS = {
    "chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "to", "value", "data",
    "type",
}  # fmt: skip

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


Account.enable_unaudited_hdwallet_features()


@runtime_checkable
class Signer(Protocol):
    """Signs transactions for one address."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_transaction(self, transaction_dict: dict[str, Any]) -> SignedTransaction: ...


class LocalSigner:
    """A signer holding a decrypted key in memory; shows only its address.

    EIP-1559 transactions (the only kind the library builds) are encoded and signed directly
    (RLP + secp256k1 through coincurve), which is ten times faster than eth-account's general
    path and gives the same bytes (a test compares them); anything else goes to eth-account.
    """

    def __init__(self, account: LocalAccount, name: str = "") -> None:
        self._account = account
        self._key = coincurve.PrivateKey(bytes(account.key))
        self.name = name

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    def sign_transaction(self, transaction_dict: dict[str, Any]) -> SignedTransaction:
        tx = transaction_dict
        if set(tx) - _FAST_FIELDS or not {"maxFeePerGas", "chainId", "nonce", "gas"} <= set(tx):
            return self._account.sign_transaction(tx)
        data = tx.get("data", b"")
        payload = [
            int(tx["chainId"]),
            int(tx["nonce"]),
            int(tx.get("maxPriorityFeePerGas", 0)),
            int(tx["maxFeePerGas"]),
            int(tx["gas"]),
            bytes.fromhex(tx["to"][2:]) if tx.get("to") else b"",
            int(tx.get("value", 0)),
            bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data),
            [],
        ]
        unsigned = b"\x02" + rlp.encode(payload)
        digest = keccak(unsigned)
        signature = self._key.sign_recoverable(digest, hasher=None)
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        v = signature[64]
        raw = b"\x02" + rlp.encode([*payload, v, r, s])
        return SignedTransaction(
            raw_transaction=HexBytes(raw), hash=HexBytes(keccak(raw)), r=r, s=s, v=v
        )

    def __repr__(self) -> str:
        label = f"{self.name} " if self.name else ""
        return f"<LocalSigner {label}{self.address}>"

    @classmethod
    def create(cls, name: str = "") -> LocalSigner:
        return cls(Account.create(), name)

    @classmethod
    def from_mnemonic(cls, mnemonic: str, index: int = 0, name: str = "") -> LocalSigner:
        """Account `index` of a BIP-39 mnemonic (BIP-44 path m/44'/60'/0'/0/index). The
        mnemonic comes from the caller (the environment, a prompt); none is kept here."""
        account = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")
        return cls(account, name)


def check_address(value: object, what: str = "address") -> ChecksumAddress:
    """`value` as a checksummed address, or `InvalidAddress` (a ValueError) saying why not.

    Mixed-case input must carry a correct checksum (a typo in one letter is caught)."""
    if not isinstance(value, str) or not is_address(value):
        raise InvalidAddress(f"{what} {value!r} is not an Ethereum address (0x + 40 hex digits)")
    text = value.strip()
    body = text[2:]
    if body != body.lower() and body != body.upper() and to_checksum_address(text) != text:
        raise InvalidAddress(
            f"{what} {value!r} has a wrong checksum (a mistyped letter?); copy it again"
        )
    address = to_checksum_address(text)
    if int(address, 16) == 0:
        raise InvalidAddress(f"{what} is the zero address, which belongs to no one")
    return address


def env_password(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A key's password from the environment: HEITJE_PASSWORD_<NAME> (upper case, '-' and
    '.' as '_'), then HEITJE_PASSWORD; None when neither is set."""
    env = os.environ if environ is None else environ
    variable = password_variable(name)
    return env.get(variable) or env.get("HEITJE_PASSWORD") or None


def password_variable(name: str) -> str:
    return "HEITJE_PASSWORD_" + name.upper().replace("-", "_").replace(".", "_")


class KeyStore:
    """A folder of encrypted keystore files, `<name>.json`, one per key."""

    def __init__(
        self,
        folder: Path,
        kdf: Literal["scrypt", "pbkdf2"] = "scrypt",
        iterations: int | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.kdf = kdf
        self.iterations = iterations  # None: eth-account's default work factor

    def path(self, name: str) -> Path:
        if not NAME.match(name):
            raise KeystoreError(
                f"{name!r} is not a usable key name: use letters, digits, '-', '_' or '.', "
                "at most 64 characters"
            )
        return self.folder / f"{name}.json"

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json"))

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def address(self, name: str) -> ChecksumAddress:
        """The address of a stored key, read without the password."""
        data = self._read(name)
        if "address" not in data:
            raise KeystoreError(f"keystore {name!r} does not record its address")
        return to_checksum_address("0x" + str(data["address"]).removeprefix("0x"))

    def create(self, name: str, password: str) -> LocalSigner:
        """A new random key, stored encrypted under `name`; refuses to overwrite one."""
        return self.store(name, LocalSigner.create(name), password)

    def store(self, name: str, signer: LocalSigner, password: str) -> LocalSigner:
        """Store an existing in-memory key encrypted under `name`; refuses to overwrite."""
        self._check_password(password)
        path = self.path(name)
        if path.exists():
            raise KeystoreError(f"a key named {name!r} exists already ({path}); not overwritten")
        keystore = Account.encrypt(
            signer._account.key, password, kdf=self.kdf, iterations=self.iterations
        )
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(keystore, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # a crash leaves either no key or the whole key
        return LocalSigner(signer._account, name)

    def load(self, name: str, password: str) -> LocalSigner:
        """The decrypted key `name`; `KeystoreError` for a wrong password or a missing file."""
        data = self._read(name)
        try:
            key = Account.decrypt(data, password)
        except ValueError:
            raise KeystoreError(f"wrong password for key {name!r}") from None
        return LocalSigner(Account.from_key(key), name)

    def _read(self, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none"
            raise KeystoreError(
                f"no key named {name!r} in {self.folder} (keys there: {known})"
            ) from None
        except json.JSONDecodeError:
            raise KeystoreError(f"{path} is not a keystore file (not JSON)") from None
        if not isinstance(data, dict):
            raise KeystoreError(f"{path} is not a keystore file")
        return data

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < 8:
            raise KeystoreError("a keystore password must have at least 8 characters")
