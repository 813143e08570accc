"""The fast signer (`LocalSigner`): the same bytes as eth-account for every legacy, EIP-2930
and EIP-1559 transaction (random ones, through hypothesis), and a clear refusal of whatever
eth-account refuses or would sign as something else than meant."""

from __future__ import annotations

from typing import Any

import pytest
import rlp  # type: ignore[import-untyped]
from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from heitje_chain.errors import InvalidInput
from heitje_chain.keys import LocalSigner

KEYS = [LocalSigner(Account.from_key(bytes([i + 1]) * 32), f"k{i}") for i in range(3)]
TO = to_checksum_address("0x" + "ab" * 20)

uint = st.one_of(st.integers(0, 3), st.integers(0, 2**64 - 1), st.integers(0, 2**256 - 1))
small = st.one_of(st.integers(0, 3), st.integers(0, 2**64 - 1))
hex_or_int = st.one_of(st.just("int"), st.just("hex"))
address = st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address(b))
to_field = st.one_of(address, st.binary(min_size=20, max_size=20), st.just(None))
data_field = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: "0x" + b.hex()),
    st.binary(max_size=40).map(lambda b: "0x" + b.hex().upper()),
)
access_list = st.lists(
    st.fixed_dictionaries(
        {
            "address": st.one_of(address, address.map(str.lower)),
            "storageKeys": st.lists(
                st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex()), max_size=3
            ),
        }
    ),
    max_size=3,
)


def _as(value: int, form: str) -> int | str:
    return hex(value) if form == "hex" else value


@st.composite
def transactions(draw: Any) -> dict[str, Any]:
    """A random valid transaction of type legacy, 1 or 2 (fields sometimes left out or written
    as 0x-hex, the type sometimes written out, sometimes inferred)."""
    kind = draw(st.sampled_from([0, 1, 2]))
    tx: dict[str, Any] = {
        "chainId": draw(st.integers(1, 2**64 - 1)),
        "nonce": draw(small),
        "gas": draw(small),
    }
    if kind == 2:
        tx["maxFeePerGas"] = draw(uint)
        tx["maxPriorityFeePerGas"] = draw(uint)
    else:
        tx["gasPrice"] = draw(uint)
    if draw(st.booleans()):
        tx["to"] = draw(to_field)
    if draw(st.booleans()):
        tx["value"] = draw(uint)
    if draw(st.booleans()):
        tx["data"] = draw(data_field)
    if kind == 1 or (kind == 2 and draw(st.booleans())):
        tx["accessList"] = draw(access_list)
    if kind != 0 and (draw(st.booleans()) or (kind == 1 and "accessList" not in tx)):
        tx["type"] = draw(st.sampled_from([kind, hex(kind)]))
    for name in ("nonce", "gas", "gasPrice", "maxFeePerGas", "value", "chainId"):
        if name in tx and draw(st.booleans()):
            tx[name] = _as(tx[name], "hex")
    return tx


@settings(max_examples=400, deadline=None)
@given(tx=transactions(), key=st.sampled_from(KEYS))
def test_fast_signer_gives_eth_accounts_bytes(tx: dict[str, Any], key: LocalSigner) -> None:
    ours = key.sign_transaction(dict(tx))
    theirs = key._account.sign_transaction(dict(tx))
    assert bytes(ours.raw_transaction) == bytes(theirs.raw_transaction)
    assert bytes(ours.hash) == bytes(theirs.hash)
    assert (ours.r, ours.s, ours.v) == (theirs.r, theirs.s, theirs.v)
    assert Account.recover_transaction(ours.raw_transaction) == key.address


BASE = {"chainId": 5, "nonce": 1, "gas": 50_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0,
        "to": TO, "data": "0x12345678"}  # fmt: skip
LEGACY = {"chainId": 5, "nonce": 1, "gas": 50_000, "gasPrice": 0, "to": TO, "data": "0x12"}


@pytest.mark.parametrize(
    ("change", "match", "eth_account_refuses"),
    [
        ({"to": TO[2:]}, "not an address", True),  # no 0x: was signed as a 19-byte address
        ({"to": "0x" + "ab" * 19}, "not an address", True),
        ({"to": TO[:-1] + ("b" if TO[-1] != "b" else "c")}, "checksum", True),
        ({"to": TO.lower()}, "checksum", True),
        ({"to": b"\x01" * 19}, "19 bytes", True),
        ({"data": "12345678"}, "data", False),  # no 0x: the selector lost a byte
        ({"data": "0x123"}, "data", False),  # odd: eth-account pads a nibble
        ({"data": "0xzz"}, "data", True),
        ({"data": 5}, "data", False),
        ({"type": 1}, "cannot be part of an EIP-2930", True),
        ({"type": 5}, "unknown transaction type", True),
        ({"type": "0x7f"}, "unknown transaction type", True),
        ({"type": "2"}, "not a transaction type", True),
        ({"type": True}, "not a transaction type", True),
        ({"gasPrice": 1}, "gasPrice cannot be part of an EIP-1559", True),
        ({"nonce": True}, "whole number", True),
        ({"nonce": 1.0}, "whole number", True),
        ({"gas": "16"}, "whole number", True),
        ({"value": -1}, "out of range", True),
        ({"value": 2**256}, "out of range", False),
        ({"nonce": 2**64}, "out of range", False),
        ({"chainId": 0}, "chainId 0", False),
    ],
)
def test_signer_refuses_what_it_would_sign_wrongly(
    change: dict[str, Any], match: str, eth_account_refuses: bool
) -> None:
    key = KEYS[0]
    tx = {**BASE, **change}
    with pytest.raises(InvalidInput, match=match):
        key.sign_transaction(tx)
    if eth_account_refuses:
        with pytest.raises((TypeError, ValueError, rlp.exceptions.RLPException)):
            key._account.sign_transaction(tx)


@pytest.mark.parametrize(
    ("tx", "match"),
    [
        ({**LEGACY, "type": 0}, "leave `type` out"),
        ({k: v for k, v in LEGACY.items() if k != "gasPrice"}, "needs gasPrice"),
        ({k: v for k, v in LEGACY.items() if k != "chainId"}, "needs chainId"),  # replayable
        ({k: v for k, v in BASE.items() if k != "maxPriorityFeePerGas"}, "needs"),
        ({k: v for k, v in BASE.items() if k != "gas"}, "needs gas"),
        ({**BASE, "accessList": [{"address": TO}]}, "accessList entry"),
        ({**BASE, "accessList": [{"address": TO, "storageKeys": ["0x05"]}]}, "storage key"),
        ({**LEGACY, "accessList": [], "maxFeePerGas": 0}, "gasPrice cannot be part"),
    ],
)
def test_signer_refuses_incomplete_or_mixed_transactions(tx: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        KEYS[0].sign_transaction(tx)


def test_other_types_and_fields_go_to_eth_account() -> None:
    key = KEYS[1]
    tx = {**BASE, "from": key.address}
    ours, theirs = key.sign_transaction(tx), key._account.sign_transaction(tx)
    assert ours.raw_transaction == theirs.raw_transaction
    with pytest.raises(TypeError, match="from field must match"):
        key.sign_transaction({**BASE, "from": KEYS[0].address})
    with pytest.raises(TypeError, match="blob"):
        key.sign_transaction({**BASE, "type": 3})


def test_transactor_writes_the_checksum_of_a_lowercase_destination() -> None:
    """The library's own callers may hold an address in lowercase (a receipt's
    contractAddress): the transactor checksums it; a mixed-case typo is still refused."""
    from heitje_chain.errors import ErrorDecoder
    from heitje_chain.tx import Transactor

    tx = Transactor(None, 5, ErrorDecoder([]))  # type: ignore[arg-type]
    fees = {"gasPrice": 0}
    signed = tx._sign(KEYS[0], 0, TO.lower(), "0x", 21_000, fees, "")
    assert signed.fields["to"] == TO
    assert signed.raw == tx._sign(KEYS[0], 0, TO, "0x", 21_000, fees, "").raw
    typo = TO[:-1] + ("b" if TO[-1] != "b" else "c")
    with pytest.raises(InvalidInput, match="checksum"):
        tx._sign(KEYS[0], 0, typo, "0x", 21_000, fees, "")
    with pytest.raises(InvalidInput, match="not an address"):
        tx._sign(KEYS[0], 0, TO[2:], "0x", 21_000, fees, "")
