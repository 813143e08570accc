"""The error hierarchy, and decoding every custom error of the contract's ABI into its typed
exception with a plain-words message that shows the values."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from heitje_chain import errors as E
from heitje_chain.amounts import eur
from heitje_chain.artifacts import load_artifact

ABI = load_artifact().abi
DECODER = E.ErrorDecoder(ABI)
ERRORS = {e["name"]: e for e in load_artifact().errors()}

ALICE = to_checksum_address("0x" + "a1" * 20)
BOB = to_checksum_address("0x" + "b0" * 20)
ZERO = "0x" + "00" * 20
JOB = keccak(text="job-42")
BANK_REF = b"NL-BANK-2024-0042".ljust(32, b"\0")
MINTER_ROLE = keccak(text="MINTER_ROLE")

# For every error of the ABI: the class it must decode to, sample arguments, and what the
# message must say about them (the values, in plain words).
CASES: dict[str, tuple[type[E.Refused], list[Any], list[str]]] = {
    "HeitjeNotMerchant": (E.NotMerchant, [ALICE], [ALICE, "not a whitelisted merchant"]),
    "HeitjeNotResident": (E.NotResident, [ALICE], [ALICE, "only residents"]),
    "HeitjeMerchantToMerchant": (E.MerchantToMerchant, [ALICE, BOB], [ALICE, BOB, "merchants"]),
    "HeitjeAlreadyMerchant": (E.AlreadyMerchant, [ALICE], [ALICE, "already a merchant"]),
    "HeitjeResidentBalance": (E.ResidentBalance, [ALICE, 1234], [ALICE, "EUR 12.34"]),
    "HeitjeWalletRetired": (E.WalletRetired, [ALICE], [ALICE, "lost wallet"]),
    "HeitjeJobAlreadyRewarded": (E.JobAlreadyRewarded, [JOB], ["0x" + JOB.hex(), "once"]),
    "HeitjeInvalidJobId": (E.InvalidJobId, [bytes(32)], ["zero"]),
    "HeitjeInvalidAmount": (E.InvalidAmount, [0], ["the amount must be more than zero"]),
    "HeitjeMintAllowanceExceeded": (
        E.MintAllowanceExceeded,
        [ALICE, 5000, 12345],
        [ALICE, "EUR 50.00", "EUR 123.45"],
    ),
    "HeitjeYearlyCapExceeded": (
        E.YearlyCapExceeded,
        [ALICE, 140000, 20000, 150000],
        [ALICE, "EUR 1,400.00", "EUR 200.00", "EUR 1,500.00", "yearly cap"],
    ),
    "HeitjeLengthMismatch": (E.LengthMismatch, [3, 2, 1], ["3 job ids", "2 residents", "1 amo"]),
    "HeitjeEmptyBatch": (E.EmptyBatch, [], ["empty"]),
    "HeitjeUnknownRedemption": (E.UnknownRedemption, [77], ["redemption number 77"]),
    "HeitjeRedemptionAlreadyPaid": (
        E.RedemptionAlreadyPaid,
        [7, BANK_REF],
        ["redemption 7", "'NL-BANK-2024-0042'"],
    ),
    "HeitjeInvalidReference": (E.InvalidReference, [], ["reference is needed"]),
    "HeitjeReplacementInUse": (
        E.ReplacementInUse,
        [BOB, 250, 1000],
        [BOB, "EUR 2.50", "EUR 10.00", "already in use"],
    ),
    "HeitjeInvalidReplacement": (E.InvalidReplacement, [ALICE], [ALICE, "cannot replace"]),
    "HeitjeSpenderRetired": (
        E.SpenderRetired,
        [ALICE, BOB],
        [ALICE, BOB, "lost wallet", "can no longer spend"],
    ),
    "HeitjeSpenderFormerMerchant": (
        E.SpenderFormerMerchant,
        [ALICE, BOB],
        [ALICE, BOB, "no longer a merchant", "can no longer spend"],
    ),
    "EnforcedPause": (E.Paused, [], ["paused"]),
    "ExpectedPause": (E.NotPaused, [], ["not paused"]),
    "AccessControlUnauthorizedAccount": (
        E.MissingRole,
        [ALICE, MINTER_ROLE],
        [ALICE, "MINTER_ROLE"],
    ),
    "AccessControlEnforcedDefaultAdminRules": (E.AdminRuleViolation, [], ["two-step"]),
    "AccessControlEnforcedDefaultAdminDelay": (E.AdminRuleViolation, [0], ["two-step"]),
    "AccessControlBadConfirmation": (E.AdminRuleViolation, [], ["two-step"]),
    "AccessControlInvalidDefaultAdmin": (E.InvalidAddress, [ALICE], [ALICE, "cannot be used"]),
    "ERC20InsufficientBalance": (
        E.InsufficientBalance,
        [ALICE, 100, 250],
        [ALICE, "EUR 1.00", "EUR 2.50"],
    ),
    "ERC20InsufficientAllowance": (
        E.InsufficientAllowance,
        [BOB, 0, 99],
        [BOB, "EUR 0.00", "EUR 0.99"],
    ),
    "ERC20InvalidReceiver": (E.InvalidAddress, [ZERO], [ZERO, "cannot be used"]),
    "ERC20InvalidSender": (E.InvalidAddress, [ZERO], [ZERO, "cannot be used"]),
    "ERC20InvalidApprover": (E.InvalidAddress, [ZERO], [ZERO, "cannot be used"]),
    "ERC20InvalidSpender": (E.InvalidAddress, [ZERO], [ZERO, "cannot be used"]),
    "SafeCastOverflowedUintDowncast": (E.InvalidAmount, [88, 2**90], []),
}


def revert_data(name: str, args: list[Any]) -> bytes:
    types = [i["type"] for i in ERRORS[name]["inputs"]]
    return keccak(text=f"{name}({','.join(types)})")[:4] + encode(types, args)


def test_every_abi_error_has_a_case() -> None:
    assert set(CASES) == set(ERRORS)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_abi_error_decodes_to_its_class(name: str) -> None:
    cls, args, fragments = CASES[name]
    error = DECODER.decode(revert_data(name, args), tx_hash="0xfeed")
    assert type(error) is cls
    assert type(error) is not E.Refused
    assert error.error == name
    assert error.tx_hash == "0xfeed"
    names = [i["name"] for i in ERRORS[name]["inputs"]]
    assert error.values == dict(zip(names, args, strict=True))
    message = str(error)
    assert not message.startswith("the contract refused: "), message  # not the raw fallback
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize("form", ["bytes", "hex", "HEX-no-prefix"])
def test_decode_accepts_bytes_and_hex(form: str) -> None:
    raw = revert_data("HeitjeNotMerchant", [ALICE])
    forms: dict[str, bytes | str] = {
        "bytes": raw,
        "hex": "0x" + raw.hex(),
        "HEX-no-prefix": raw.hex(),
    }
    error = DECODER.decode(forms[form])
    assert isinstance(error, E.NotMerchant)
    assert error.values == {"account": ALICE}


def test_addresses_come_back_checksummed() -> None:
    lower = ALICE.lower()
    error = DECODER.decode(revert_data("HeitjeAlreadyMerchant", [lower]))
    assert error.values["account"] == ALICE


def test_builtin_error_string_and_panic() -> None:
    data = keccak(text="Error(string)")[:4] + encode(["string"], ["nope, not today"])
    error = DECODER.decode(data)
    assert type(error) is E.RevertedWithMessage
    assert str(error) == "the contract refused: nope, not today"
    panic = DECODER.decode(keccak(text="Panic(uint256)")[:4] + encode(["uint256"], [0x11]))
    assert type(panic) is E.Panic
    assert isinstance(panic, RuntimeError)
    assert "panic code 17" in str(panic)


@pytest.mark.parametrize(
    "data",
    [None, b"", "", "0x", "0x1234", "0xdeadbeef", "0xdeadbeef" + "00" * 32, "not hex", b"\x01"],
)
def test_undecodable_data_gives_plain_refused(data: bytes | str | None) -> None:
    error = DECODER.decode(data, tx_hash="0xabc")
    assert type(error) is E.Refused
    assert error.tx_hash == "0xabc"
    assert error.values == {}
    assert "refused" in str(error)


def test_known_selector_with_broken_arguments_gives_plain_refused() -> None:
    data = revert_data("HeitjeNotMerchant", [ALICE])[:20]
    error = DECODER.decode(data)
    assert type(error) is E.Refused
    assert "HeitjeNotMerchant" in str(error)


def test_broken_arguments_keep_the_tx_hash() -> None:
    error = DECODER.decode(revert_data("HeitjeNotMerchant", [ALICE])[:20], tx_hash="0xabc")
    assert error.tx_hash == "0xabc"


def test_safecast_overflow_message_shows_the_value() -> None:
    error = DECODER.decode(revert_data("SafeCastOverflowedUintDowncast", [88, 2**90]))
    assert str(2**90) in str(error)
    assert "None" not in str(error)


def test_too_large_amount_is_not_called_too_small() -> None:
    error = DECODER.decode(revert_data("HeitjeInvalidAmount", [2**128]))
    assert "more than zero" not in str(error)


def test_admin_delay_message_shows_the_schedule() -> None:
    error = DECODER.decode(revert_data("AccessControlEnforcedDefaultAdminDelay", [1767225600]))
    assert "2026" in str(error) or "1767225600" in str(error)


# ------------------------------------------------------------------ the hierarchy


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (E.ConfigError, ValueError),
        (E.ChainUnavailable, ConnectionError),
        (E.KeystoreError, ValueError),
        (E.TransactionFailed, RuntimeError),
        (E.NotMerchant, PermissionError),
        (E.NotResident, PermissionError),
        (E.MerchantToMerchant, PermissionError),
        (E.WalletRetired, PermissionError),
        (E.SpenderRetired, PermissionError),
        (E.SpenderFormerMerchant, PermissionError),
        (E.MissingRole, PermissionError),
        (E.Paused, PermissionError),
        (E.AdminRuleViolation, PermissionError),
        (E.AlreadyMerchant, ValueError),
        (E.ResidentBalance, ValueError),
        (E.JobAlreadyRewarded, ValueError),
        (E.InvalidJobId, ValueError),
        (E.InvalidAmount, ValueError),
        (E.NotPaused, ValueError),
        (E.MintAllowanceExceeded, ValueError),
        (E.YearlyCapExceeded, ValueError),
        (E.LengthMismatch, ValueError),
        (E.EmptyBatch, ValueError),
        (E.RedemptionAlreadyPaid, ValueError),
        (E.InvalidReference, ValueError),
        (E.ReplacementInUse, ValueError),
        (E.InvalidReplacement, ValueError),
        (E.InsufficientBalance, ValueError),
        (E.InsufficientAllowance, ValueError),
        (E.InvalidAddress, ValueError),
        (E.UnknownRedemption, LookupError),
        (E.Panic, RuntimeError),
    ],
)
def test_error_inherits_its_builtin(cls: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(cls, builtin)
    assert issubclass(cls, E.HeitjeError)


def test_refused_subclasses_are_not_value_errors_by_accident() -> None:
    assert not issubclass(E.NotMerchant, ValueError)
    assert not issubclass(E.UnknownRedemption, ValueError)
    assert not issubclass(E.Refused, ValueError)


def test_refused_made_by_the_library() -> None:
    error = E.Refused("nope")
    assert str(error) == "nope"
    assert error.error == ""
    assert error.values == {}
    assert error.tx_hash is None


def test_refused_with_values_and_extra_keywords() -> None:
    error = E.InsufficientBalance(values={"sender": ALICE, "balance": 5}, needed=700)
    assert error.values == {"sender": ALICE, "balance": 5, "needed": 700}
    assert str(error) == f"{ALICE} holds EUR 0.05, and this needs EUR 7.00"


def test_refused_falls_back_to_raw_text_when_values_are_missing() -> None:
    error = E.NotMerchant(values={"other": 1})
    assert str(error) == "the contract refused: HeitjeNotMerchant(other=1)"
    other = E.MintAllowanceExceeded(values={"minter": ALICE, "allowance": "x", "needed": 1})
    assert str(other).startswith("the contract refused: HeitjeMintAllowanceExceeded(")


def test_reference_shown_as_hex_when_not_text() -> None:
    error = DECODER.decode(revert_data("HeitjeRedemptionAlreadyPaid", [3, b"\xff" * 32]))
    assert "0x" + "ff" * 32 in str(error)


@pytest.mark.parametrize(
    ("role", "name"),
    [
        (bytes(32), "DEFAULT_ADMIN_ROLE"),
        (keccak(text="PAUSER_ROLE"), "PAUSER_ROLE"),
        ("0x" + keccak(text="RECOVERY_ROLE").hex(), "RECOVERY_ROLE"),
        (keccak(text="TREASURER_ROLE").hex(), "TREASURER_ROLE"),
        (b"\x01" * 32, "0x" + "01" * 32),
    ],
)
def test_role_name(role: bytes | str, name: str) -> None:
    assert E.role_name(role) == name


def test_missing_admin_role_message() -> None:
    error = DECODER.decode(revert_data("AccessControlUnauthorizedAccount", [BOB, bytes(32)]))
    assert "DEFAULT_ADMIN_ROLE" in str(error)
    assert isinstance(error, PermissionError)


def test_eur_used_in_messages_matches_amounts_module() -> None:
    error = DECODER.decode(revert_data("HeitjeResidentBalance", [ALICE, 150000]))
    assert eur(150000) in str(error)
