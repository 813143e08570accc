"""Every error the library raises: one base, `HeitjeError`, and subclasses that also inherit
the builtin they resemble, so callers can catch `HeitjeError`, a specific class, or the
builtin (`except ValueError` catches `InvalidAmount`).

A transaction or call the contract refuses raises a `Refused` subclass decoded from the
contract's custom error (`NotMerchant`, `JobAlreadyRewarded`, `YearlyCapExceeded`, ...); the
decoded arguments are on `.values` and the message says in plain words what happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address


class HeitjeError(Exception):
    """Base of every error the Heitje library raises."""


class ConfigError(HeitjeError, ValueError):
    """The configuration is missing something or points at the wrong thing."""


class InvalidInput(HeitjeError, ValueError):
    """An argument is not what the operation takes (a redemption number, a role, a year)."""


class ChainUnavailable(HeitjeError, ConnectionError):
    """The chain's RPC endpoint does not answer."""


class KeystoreError(HeitjeError, ValueError):
    """A key could not be loaded or stored (wrong password, missing file, ...)."""


class TransactionFailed(HeitjeError, RuntimeError):
    """A transaction could not be brought into a block (dropped, stuck, or timed out)."""

    def __init__(self, message: str, tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class Refused(HeitjeError):
    """The contract's rules refuse the operation (or the library refused it up front, knowing
    the contract would). `.error` is the contract error's name (or '' when refused before
    sending), `.values` its decoded arguments, `.tx_hash` the reverted transaction if any."""

    error_name: ClassVar[str] = ""

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        """The plain-words message for the decoded values ('' when there is none)."""
        return ""

    def __init__(
        self,
        message: str | None = None,
        *,
        values: Mapping[str, Any] | None = None,
        tx_hash: str | None = None,
        **extra: Any,
    ) -> None:
        self.values: dict[str, Any] = dict(values or {}) | extra
        self.tx_hash = tx_hash
        self.error = self.error_name
        if message is None:
            try:
                message = self.explain(self.values) or self._raw_text()
            except (KeyError, TypeError, ValueError):
                message = self._raw_text()
        super().__init__(message)

    def _raw_text(self) -> str:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.values.items())
        return f"the contract refused: {self.error or type(self).__name__}({shown})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _eur(cents: Any) -> str:
    from heitje_chain.amounts import eur

    return eur(int(cents))


def _ref(value: Any) -> str:
    raw = bytes(value).rstrip(b"\0")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return "0x" + bytes(value).hex()


# --------------------------------------------------------------------------- decoded errors
# One class per contract error. `error_name` is the Solidity name; `explain` the plain words.


class NotMerchant(Refused, PermissionError):
    error_name = "HeitjeNotMerchant"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['account']} is not a whitelisted merchant: Heitjes can only be spent at "
            "local merchants on the list, not passed between residents"
        )


class NotResident(Refused, PermissionError):
    error_name = "HeitjeNotResident"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return f"{v['account']} is (or was) a merchant; only residents can receive this"


class MerchantToMerchant(Refused, PermissionError):
    error_name = "HeitjeMerchantToMerchant"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['from']} and {v['to']} are both merchants; merchants do not pay each "
            "other in Heitjes (they redeem them with the municipality instead)"
        )


class AlreadyMerchant(Refused, ValueError):
    error_name = "HeitjeAlreadyMerchant"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return f"{v['account']} is already a merchant"


class ResidentBalance(Refused, ValueError):
    error_name = "HeitjeResidentBalance"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['account']} holds {_eur(v['balance'])} earned as a resident and "
            "cannot become a merchant; use a separate wallet for the shop"
        )


class WalletRetired(Refused, PermissionError):
    error_name = "HeitjeWalletRetired"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['account']} is a lost wallet that was moved to a new one; it can no "
            "longer send or receive Heitjes"
        )


class JobAlreadyRewarded(Refused, ValueError):
    error_name = "HeitjeJobAlreadyRewarded"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return f"job {_show(v['jobId'])} was already paid; a job pays out once, ever"


class InvalidJobId(Refused, ValueError):
    error_name = "HeitjeInvalidJobId"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return "a job id of zero is not a job"


class InvalidAmount(Refused, ValueError):
    error_name = "HeitjeInvalidAmount"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        amount = v.get("amount", v.get("value"))
        if amount == 0:
            return "the amount must be more than zero"
        if isinstance(amount, int) and amount > 0:
            return f"the amount {amount} is too large for the contract"
        return f"the amount {amount!r} is not accepted"


class Paused(Refused, PermissionError):
    error_name = "EnforcedPause"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            "Heitje is paused: rewards, payments and redemptions are stopped until "
            "the pauser resumes it"
        )


class NotPaused(Refused, ValueError):
    error_name = "ExpectedPause"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return "Heitje is not paused"


class MintAllowanceExceeded(Refused, ValueError):
    error_name = "HeitjeMintAllowanceExceeded"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"the budget left to {v['minter']} is {_eur(v['allowance'])}, and this "
            f"needs {_eur(v['needed'])}"
        )


class YearlyCapExceeded(Refused, ValueError):
    error_name = "HeitjeYearlyCapExceeded"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['resident']} already earned {_eur(v['earned'])} this year; "
            f"{_eur(v['amount'])} more would pass the yearly cap of {_eur(v['cap'])}"
        )


class LengthMismatch(Refused, ValueError):
    error_name = "HeitjeLengthMismatch"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"the batch has {v['jobIds']} job ids, {v['residents']} residents and "
            f"{v['amounts']} amounts; they must be equal"
        )


class EmptyBatch(Refused, ValueError):
    error_name = "HeitjeEmptyBatch"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return "the batch is empty"


class UnknownRedemption(Refused, LookupError):
    error_name = "HeitjeUnknownRedemption"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return f"there is no redemption number {v['id']}"


class RedemptionAlreadyPaid(Refused, ValueError):
    error_name = "HeitjeRedemptionAlreadyPaid"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"redemption {v['id']} was already paid out, with bank reference "
            f"{_ref(v['paymentReference'])!r}"
        )


class InvalidReference(Refused, ValueError):
    error_name = "HeitjeInvalidReference"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return "a reference is needed (1 to 32 characters)"


class ReplacementInUse(Refused, ValueError):
    error_name = "HeitjeReplacementInUse"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"the new wallet {v['replacement']} is already in use (it holds "
            f"{_eur(v['balance'])} and earned {_eur(v['earned'])} this year); use a fresh wallet"
        )


class InvalidReplacement(Refused, ValueError):
    error_name = "HeitjeInvalidReplacement"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['replacement']} cannot replace the lost wallet (it is the same wallet "
            "or the zero address)"
        )


class SpenderRetired(Refused, PermissionError):
    error_name = "HeitjeSpenderRetired"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['spender']} is a lost wallet that was moved to a new one; it can no longer "
            f"spend the Heitjes {v['owner']} allowed it to"
        )


class SpenderFormerMerchant(Refused, PermissionError):
    error_name = "HeitjeSpenderFormerMerchant"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['spender']} is no longer a merchant on the list; it can no longer spend the "
            f"Heitjes {v['owner']} allowed it to"
        )


class MissingRole(Refused, PermissionError):
    error_name = "AccessControlUnauthorizedAccount"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['account']} does not hold the role {role_name(v['neededRole'])}, which this needs"
        )


class InsufficientBalance(Refused, ValueError):
    error_name = "ERC20InsufficientBalance"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return f"{v['sender']} holds {_eur(v['balance'])}, and this needs {_eur(v['needed'])}"


class InsufficientAllowance(Refused, ValueError):
    error_name = "ERC20InsufficientAllowance"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return (
            f"{v['spender']} may spend {_eur(v['allowance'])}, and this needs {_eur(v['needed'])}"
        )


class InvalidAddress(Refused, ValueError):
    """An address the operation cannot use (the zero address, a malformed address)."""

    error_name = "ERC20InvalidReceiver"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return f"{next(iter(v.values()), 'the address')} cannot be used here"


class AdminRuleViolation(Refused, PermissionError):
    """The default-admin rules (two-step handover with a delay) refuse the operation."""

    error_name = "AccessControlEnforcedDefaultAdminRules"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        text = "the default admin changes only through the two-step handover with a delay"
        if "schedule" in v:
            when = int(v["schedule"])
            if when == 0:
                return f"{text}; no handover is scheduled"
            moment = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M UTC")
            return f"{text}; the scheduled handover can be accepted after {moment}"
        return text


class Panic(Refused, RuntimeError):
    error_name = "Panic"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return f"the contract failed internally (panic code {v['code']})"


class RevertedWithMessage(Refused):
    error_name = "Error"

    @staticmethod
    def explain(v: Mapping[str, Any]) -> str:
        return f"the contract refused: {v['message']}"


#: Further contract error names decoded into an existing class.
_ALIASES: dict[str, type[Refused]] = {
    "ERC20InvalidSender": InvalidAddress,
    "ERC20InvalidApprover": InvalidAddress,
    "ERC20InvalidSpender": InvalidAddress,
    "AccessControlInvalidDefaultAdmin": InvalidAddress,
    "AccessControlBadConfirmation": AdminRuleViolation,
    "AccessControlEnforcedDefaultAdminDelay": AdminRuleViolation,
    "SafeCastOverflowedUintDowncast": InvalidAmount,
}

_BY_NAME: dict[str, type[Refused]] = {
    cls.error_name: cls
    for cls in Refused.__subclasses__()
    for cls in (cls, *cls.__subclasses__())
    if cls.error_name
} | _ALIASES

ROLE_NAMES = (
    "MINTER_ROLE",
    "MERCHANT_MANAGER_ROLE",
    "TREASURER_ROLE",
    "PAUSER_ROLE",
    "RECOVERY_ROLE",
)
_ROLE_BY_HASH: dict[bytes, str] = {bytes(32): "DEFAULT_ADMIN_ROLE"} | {
    keccak(text=name): name for name in ROLE_NAMES
}


def role_name(role: bytes | str) -> str:
    """The name of a role id (bytes32), e.g. 'MINTER_ROLE', or its hex when unknown."""
    raw = bytes.fromhex(role.removeprefix("0x")) if isinstance(role, str) else bytes(role)
    return _ROLE_BY_HASH.get(raw, "0x" + raw.hex())


class ErrorDecoder:
    """Decodes revert data (selector + ABI-encoded arguments) with a contract's ABI."""

    _BUILTIN: ClassVar[dict[bytes, tuple[str, list[str], list[str]]]] = {
        keccak(text="Error(string)")[:4]: ("Error", ["message"], ["string"]),
        keccak(text="Panic(uint256)")[:4]: ("Panic", ["code"], ["uint256"]),
    }

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self._errors = dict(self._BUILTIN)
        for item in abi:
            if item.get("type") == "error":
                types = [i["type"] for i in item["inputs"]]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                self._errors[selector] = (item["name"], [i["name"] for i in item["inputs"]], types)

    def decode(self, data: bytes | str | None, tx_hash: str | None = None) -> Refused:
        """The typed exception for revert `data`; a plain `Refused` when it is not decodable."""
        raw = _as_bytes(data)
        if raw is None or len(raw) < 4 or raw[:4] not in self._errors:
            shown = "no reason given" if not raw else "0x" + raw.hex()
            return Refused(f"the contract refused the operation ({shown})", tx_hash=tx_hash)
        name, names, types = self._errors[raw[:4]]
        try:
            decoded = abi_decode(types, raw[4:])
        except Exception:  # malformed arguments: still say which error it was
            return Refused(f"the contract refused: {name} (undecodable arguments)", tx_hash=tx_hash)
        values = {
            key: to_checksum_address(val) if typ == "address" else val
            for key, typ, val in zip(names, types, decoded, strict=True)
        }
        cls = _BY_NAME.get(name, Refused)
        error = cls(values=values, tx_hash=tx_hash)
        error.error = name
        return error


def _as_bytes(data: bytes | str | None) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, bytes):
        return data
    text = data.removeprefix("0x")
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None
