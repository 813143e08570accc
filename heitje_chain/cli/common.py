"""The plumbing every command shares: the context (configuration, keys, output), passwords,
CSV files and the argument types for amounts and numbers."""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from heitje_chain.amounts import cents_to_decimal, parse_eur
from heitje_chain.client import HeitjeClient
from heitje_chain.config import Config
from heitje_chain.connect import connect
from heitje_chain.errors import HeitjeError, KeystoreError
from heitje_chain.keys import KeyStore, LocalSigner, check_address, env_password, password_variable
from heitje_chain.spreadsheet import safe_cell

# ------------------------------------------------------------------ plumbing


class UsageError(HeitjeError, ValueError):
    """The command line asks for something that cannot be done as asked."""


@dataclass
class Context:
    config: Config
    json: bool
    out: TextIO
    err: TextIO
    _client: HeitjeClient | None = None

    @property
    def client(self) -> HeitjeClient:
        if self._client is None:
            self._client = connect(self.config)
        return self._client

    @property
    def keys(self) -> KeyStore:
        return KeyStore(self.config.keystore_dir)

    def signer(self, key: str) -> LocalSigner:
        """The decrypted key `key` (a keystore name); the password comes from the environment
        (HEITJE_PASSWORD_<KEY>, then HEITJE_PASSWORD) or is asked for."""
        name = self.config.key_name(key)
        return self.keys.load(name, password_for(name, self.err))

    def address(self, value: str, what: str) -> str:
        """An address, or the address of the keystore of that name."""
        if value.startswith("0x"):
            return check_address(value, what)
        if self.keys.exists(self.config.key_name(value)):
            return self.keys.address(self.config.key_name(value))
        raise UsageError(f"{what} {value!r} is neither an address (0x...) nor a key name")

    def name_of(self, address: str) -> str:
        """A key name for an address we hold a key for, else the address."""
        for name in self.keys.names():
            try:
                if self.keys.address(name) == address:
                    return f"{address} ({name})"
            except KeystoreError:
                continue
        return address

    def emit(self, data: Any, text: str | Callable[[], str]) -> None:
        if self.json:
            print(json.dumps(data, indent=2, default=_json_default), file=self.out)
        else:
            print(text() if callable(text) else text, file=self.out)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def password_for(name: str, err: TextIO, *, new: bool = False) -> str:
    """The password of key `name`: from HEITJE_PASSWORD_<NAME>, then HEITJE_PASSWORD, else
    asked for in the terminal (twice for a new key, so a typo does not lock it)."""
    variable = password_variable(name)
    from_env = env_password(name)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise KeystoreError(
            f"the password for key {name!r} is needed: set {variable} (or HEITJE_PASSWORD), "
            "or run the command in a terminal to be asked for it"
        )
    if not new:
        return getpass.getpass(f"Password for key {name!r}: ", stream=err)
    first = getpass.getpass(f"New password for key {name!r} (8 characters or more): ", stream=err)
    if getpass.getpass("The same password again: ", stream=err) != first:
        raise KeystoreError("the two passwords differ; nothing was created")
    return first


def money(cents: int) -> dict[str, Any]:
    return {"cents": cents, "eur": str(cents_to_decimal(cents))}


def write_csv(path: Path, rows: Iterator[dict[str, Any]] | Sequence[dict[str, Any]]) -> int:
    """Write dict rows as CSV (header from the union of keys, in first-seen order)."""
    materialised = list(rows)
    fields: list[str] = []
    for row in materialised:
        for key in row:
            if key not in fields:
                fields.append(key)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in materialised:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    os.replace(tmp, path)
    return len(materialised)


def _cell(value: Any) -> Any:
    if isinstance(value, dict) and "eur" in value:
        return Decimal(value["eur"])  # an amount: a number, written as it is
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return safe_cell(value)


def euros(text: str) -> int:
    try:
        return parse_eur(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def euros_or_zero(text: str) -> int:
    try:
        return parse_eur(text, allow_zero=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
