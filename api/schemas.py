"""Request and response models. Amounts come in as decimal strings of euros ("12.50"),
never as JSON numbers (a float is not money), and go out as cents and euros both. Every text
a person types (names, pseudonyms, titles, notes, receipts, reasons, descriptions) is one of
the types of `api.text`: NFC-normalised, spaces folded, invisible and control characters
refused."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from eth_utils import keccak
from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from api.security import MIN_PASSWORD_LENGTH, password_problem
from api.text import Code, Name, Reason, Reference, RequestId, Short, Text
from heitje_chain.amounts import cents_to_decimal, parse_eur
from heitje_chain.keys import check_address


def _euros(value: str) -> int:
    return parse_eur(value)


def _address(value: str) -> str:
    return check_address(value)


Euros = Annotated[
    str,
    StringConstraints(strict=True, max_length=20),
    AfterValidator(_euros),
    Field(description='euros as a decimal string, e.g. "12.50"', examples=["12.50"]),
]
Address = Annotated[
    str,
    StringConstraints(strict=True, min_length=42, max_length=42),
    AfterValidator(_address),
    Field(examples=["0x52908400098527886E0F7030069857D2E4169EE7"]),
]
#: A pseudonym: one line; at sign-up also not confusable with one taken (api.text).
Pseudonym = Annotated[Short, Field(description="a pseudonymous id: no name, no BSN")]


def _new_password(value: str) -> str:
    problem = password_problem(value)
    if problem:
        raise PydanticCustomError("weak_password", problem)
    return value


#: A new password: checked by api.security.password_problem (length, blanks, control
#: characters, the most used passwords).
Password = Annotated[
    str,
    StringConstraints(max_length=200),
    AfterValidator(_new_password),
    Field(description=f"at least {MIN_PASSWORD_LENGTH} characters, not a much-used password"),
]
#: A record's number in a path or body: 1 up to the largest database integer.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
RefId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def example(values: dict[str, Any]) -> ConfigDict:
    """A model's example for the OpenAPI documentation (tests check it is valid)."""
    return ConfigDict(json_schema_extra={"examples": [values]})


#: A transaction hash for the examples (the hash of a made-up text, not a real transaction).
TX_EXAMPLE = "0x" + keccak(text="Heitje example transaction").hex()


class Money(BaseModel):
    model_config = example({"cents": 1250, "eur": "12.50"})
    cents: int
    eur: str

    @classmethod
    def of(cls, cents: int) -> Money:
        return cls(cents=cents, eur=str(cents_to_decimal(cents)))


def money(cents: int) -> dict[str, Any]:
    """An amount as it appears in an example."""
    return Money.of(cents).model_dump()


T = TypeVar("T")


def example_of(model: type[BaseModel]) -> dict[str, Any]:
    """The example of `model`, to nest in another model's example."""
    extra: Any = model.model_config.get("json_schema_extra")
    return dict(extra["examples"][0])


def _page_example(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    item = getattr(cls, "__pydantic_generic_metadata__", {}).get("args", (None,))[0]
    examples = (getattr(item, "model_config", {}).get("json_schema_extra") or {}).get("examples")
    if examples:
        schema["examples"] = [{"items": examples, "total": 120, "offset": 0, "limit": 50}]


class Page(BaseModel, Generic[T]):
    """One page of a list: `total` items in all, this page from `offset`."""

    model_config = ConfigDict(json_schema_extra=_page_example)
    items: list[T]
    total: int
    offset: int
    limit: int


class ErrorOut(BaseModel):
    """Every error: a code for programs, a message in plain words for people."""

    model_config = example(
        {
            "error": "HeitjeYearlyCapExceeded",
            "message": "this reward would take the resident over the yearly cap of EUR 1500.00:"
            " EUR 1495.00 earned this year, EUR 12.50 more asked",
            "details": {"earned": 149500, "amount": 1250, "cap": 150000},
        }
    )
    error: str = Field(description="a stable code: e.g. wrong_role, no_job, invalid_input")
    message: str
    details: dict[str, Any] = {}


#: The errors every operation can answer with (each route adds its own specific ones).
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not signed in, or the sign-in has expired"},
    403: {"model": ErrorOut, "description": "signed in with a role this is not for"},
    404: {"model": ErrorOut, "description": "no such record (or not yours)"},
    409: {"model": ErrorOut, "description": "the rules say no: the message says which rule"},
    422: {"model": ErrorOut, "description": "the request has a mistake: the message says where"},
    503: {
        "model": ErrorOut,
        "description": "the chain does not answer or has not confirmed yet: try again later",
    },
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ auth and users


class Login(Strict):
    model_config = example(
        {
            "username": "inspecteur.jansen",
            "password": "correct horse battery staple",
            "remember": False,
        }
    )
    username: Short = Field(
        description="staff: the user name; residents: the pseudonym; shops: the shop code "
        "(or merchant-<code>)"
    )
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    #: stay signed in on this device: the answer then carries a `device_token`
    remember: bool = False


class DeviceResume(Strict):
    model_config = example({"device_token": "hd1.1Qm9vay1rZWVwaW5nIGlzIGZ1bi4gQWxzbyB0aGlz"})
    device_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class DeviceOut(BaseModel):
    model_config = example(
        {
            "id": 3,
            "name": "Chrome, Android",
            "created_at": "2026-11-02T09:15:00Z",
            "last_used_at": "2026-12-01T18:40:00Z",
            "expires_at": "2027-03-01T18:40:00Z",
            "current": True,
        }
    )
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    #: the device this request comes from
    current: bool


class DevicesRevoked(BaseModel):
    model_config = example({"revoked": 2})
    revoked: int


class ChallengeRequest(Strict):
    model_config = example({"wallet": "0x52908400098527886E0F7030069857D2E4169EE7"})
    wallet: Address


class ChallengeOut(BaseModel):
    model_config = example(
        {
            "text": "heitje.heerlen.nl wants you to sign in with your Ethereum account:\n"
            "0x52908400098527886E0F7030069857D2E4169EE7\n\n"
            "Sign in to Heitje. This signature only proves you hold this wallet; it moves no"
            " money.\n\n"
            "URI: https://heitje.heerlen.nl/app/\nVersion: 1\nChain ID: 1337\n"
            "Nonce: 3f9c2a7be1d04c55a8e1c0de5f0a9b77\n"
            "Issued At: 2026-11-23T10:15:00.000Z\nExpiration Time: 2026-11-23T10:20:00.000Z",
            "nonce": "3f9c2a7be1d04c55a8e1c0de5f0a9b77",
            "expires_at": "2026-11-23T10:20:00Z",
        }
    )
    text: str = Field(description="an EIP-4361 (Sign-In with Ethereum) message to sign")
    nonce: str
    expires_at: datetime


class WalletLogin(Strict):
    model_config = example(
        {
            "message": example_of(ChallengeOut)["text"],
            "signature": "0x" + "ab" * 65,
            "wallet": "0x52908400098527886E0F7030069857D2E4169EE7",
        }
    )
    message: Annotated[str, StringConstraints(max_length=2000)] = Field(
        description="the challenge's text exactly as signed (EIP-4361)"
    )
    signature: Annotated[str, StringConstraints(min_length=130, max_length=134)]
    wallet: Address | None = Field(None, description="if given, must be the message's address")


class TokenOut(BaseModel):
    model_config = example(
        {
            "token": "eyJ1IjoxNywiZXhwIjoxNzk1NDQ1MzAwfQ.Qm9vay1rZWVwaW5nIGlzIGZ1bg",
            "role": "resident",
            "user_id": 23,
        }
    )
    token: str
    role: str
    user_id: int
    #: with `remember`: the device's long-lived token, to keep on this device only
    device_token: str | None = None


class StaffCreate(Strict):
    model_config = example(
        {
            "username": "inspecteur.jansen",
            "password": "correct horse battery staple",
            "role": "inspector",
            "issuer_id": None,
        }
    )
    username: Short
    password: Password
    role: Annotated[
        str, StringConstraints(pattern="^(admin|issuer|inspector|treasurer|auditor|desk)$")
    ]
    issuer_id: RefId | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "username": "inspecteur.jansen",
                    "role": "inspector",
                    "issuer_id": None,
                    "resident_id": None,
                    "merchant_id": None,
                    "active": True,
                }
            ]
        },
    )
    id: int
    username: str
    role: str
    issuer_id: int | None
    resident_id: int | None
    merchant_id: int | None
    active: bool


class IssuerCreate(Strict):
    model_config = example({"name": "Stichting Buurtwerk Heerlen", "key_name": "buurtwerk"})
    name: Name
    key_name: Short = Field(description="the keystore name of its minter key")


class IssuerPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"id": 2, "name": "Stichting Buurtwerk Heerlen", "key_name": "buurtwerk"}]
        },
    )
    id: int
    name: str
    key_name: str


# ------------------------------------------------------------------ residents


class ResidentRegister(Strict):
    model_config = example(
        {
            "pseudonym": "HRL-7Q4K2",
            "neighbourhood": "Schandelen",
            "password": "correct horse battery staple",
            "wallet": None,
        }
    )
    pseudonym: Pseudonym
    neighbourhood: Short
    password: Password | None = Field(None, description="for a custodial wallet")
    wallet: Address | None = Field(None, description="your own wallet instead")


class ResidentPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "pseudonym": "HRL-7Q4K2",
                    "neighbourhood": "Schandelen",
                    "address": "0x52908400098527886E0F7030069857D2E4169EE7",
                    "custodial": True,
                    "retired": False,
                }
            ]
        },
    )
    id: int
    pseudonym: str
    neighbourhood: str
    address: str
    custodial: bool
    retired: bool


class ResidentAccount(BaseModel):
    model_config = example(
        {
            "resident": example_of(ResidentPublic),
            "balance": money(3750),
            "earned_this_year": money(21250),
            "room_under_cap": money(128750),
            "year": 2026,
        }
    )
    resident: ResidentPublic
    balance: Money
    earned_this_year: Money
    room_under_cap: Money
    year: int


# ------------------------------------------------------------------ jobs


class JobCreate(Strict):
    model_config = example(
        {
            "title": "Zwerfafval prikken, Schandelerboord",
            "description": "Two hours with the litter picker along the park; gloves and bags "
            "at the community centre.",
            "neighbourhood": "Schandelen",
            "reward": "12.50",
            "deadline": "2026-12-05",
            "places": 3,
            "issuer_id": None,
        }
    )
    title: Name
    description: Text
    neighbourhood: Short
    reward: Euros
    deadline: date
    places: int = Field(1, ge=1, le=1000)
    issuer_id: RefId | None = Field(None, description="admins choose; issuers post their own")


class JobPublic(BaseModel):
    model_config = example(
        {
            "id": 41,
            "issuer": "Gemeente Heerlen, Stadsbeheer",
            "title": "Zwerfafval prikken, Schandelerboord",
            "description": "Two hours with the litter picker along the park.",
            "neighbourhood": "Schandelen",
            "reward": money(1250),
            "deadline": "2026-12-05",
            "places": 3,
            "places_left": 1,
            "status": "open",
            "created_by": 3,
        }
    )
    id: int
    issuer: str
    title: str
    description: str
    neighbourhood: str
    reward: Money
    deadline: date
    places: int
    places_left: int
    status: str = Field(description="open, closed (no new claims) or cancelled")
    created_by: int | None = Field(
        None, description="the user id of the staff member who posted it (for the auditor)"
    )


class ClaimDone(Strict):
    model_config = example({"note": "Park done from the school to the pond: 4 bags."})
    note: Text = ""


class Decision(Strict):
    model_config = example({"reason": "The bags were not at the collection point."})
    reason: Text = ""


class PhotoInfo(BaseModel):
    model_config = example(
        {
            "content_type": "image/jpeg",
            "size": 1843200,
            "sha256": hashlib.sha256(b"a photo of four bags of litter").hexdigest(),
            "url": "/claims/41/photo",
        }
    )
    content_type: str = Field(examples=["image/jpeg"])
    size: int = Field(description="bytes, after the metadata was removed", examples=[1843200])
    sha256: str = Field(description="so an inspector can cite exactly this photo")
    url: str = Field(examples=["/claims/41/photo"])


class ClaimPublic(BaseModel):
    model_config = example(
        {
            "id": 41,
            "job_id": 41,
            "job_title": "Zwerfafval prikken, Schandelerboord",
            "resident": "HRL-7Q4K2",
            "status": "approved",
            "note": "Park done: 4 bags.",
            "reason": None,
            "reward": money(1250),
            "neighbourhood": "Schandelen",
            "payment": "paid",
            "chain_job_id": "0x" + "3f1c" * 16,
            "payment_error": None,
            "tx_hash": TX_EXAMPLE,
            "photo": example_of(PhotoInfo),
            "claimed_at": "2026-11-20T09:00:00Z",
            "done_at": "2026-11-21T15:30:00Z",
            "decided_at": "2026-11-22T08:45:00Z",
            "decided_by": 7,
        }
    )
    id: int
    job_id: int
    job_title: str
    resident: str
    status: str = Field(
        description="claimed, done (waiting for inspection), approved, rejected, expired (not"
        " done by the deadline), cancelled (the job was called off) or withdrawn (given back by"
        " the resident)"
    )
    note: str | None
    reason: str | None = Field(description="why it was rejected or cancelled")
    reward: Money
    neighbourhood: str = Field(description="the job's neighbourhood")
    payment: str | None = Field(None, description="pending, paid or refused")
    chain_job_id: str | None = Field(
        None,
        description="the reward's job id on-chain (keccak-256 of its reference), once approved:"
        " what an auditor matches against the ledger's JobRewarded events",
    )
    payment_error: str | None = None
    tx_hash: str | None = None
    photo: PhotoInfo | None = None
    claimed_at: datetime
    done_at: datetime | None
    decided_at: datetime | None
    decided_by: int | None = Field(
        None, description="the user id of the staff member who approved or rejected it"
    )


# ------------------------------------------------------------------ merchants and money


class MerchantApply(Strict):
    model_config = example(
        {
            "name": "Bakkerij Pelzer",
            "neighbourhood": "Heerlen-Centrum",
            "iban": "NL91 ABNA 0417 1643 00",
            "password": "correct horse battery staple",
            "wallet": None,
        }
    )
    name: Name
    neighbourhood: Short
    iban: Annotated[str, StringConstraints(strip_whitespace=True, min_length=15, max_length=42)]
    password: Password | None = Field(None, description="for a wallet kept by the municipality")
    wallet: Address | None = Field(None, description="the shop's own wallet instead")


class MerchantPublic(BaseModel):
    model_config = example(
        {
            "id": 4,
            "name": "Bakkerij Pelzer",
            "code": "K7M2QX",
            "neighbourhood": "Heerlen-Centrum",
            "status": "approved",
            "address": "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        }
    )
    id: int
    name: str
    code: str
    neighbourhood: str
    status: str
    address: str


class MerchantListed(BaseModel):
    """A shop that accepts Heitjes, as residents see it: where to spend them (no IBAN, no
    wallet)."""

    model_config = example(
        {"name": "Bakkerij Pelzer", "code": "K7M2QX", "neighbourhood": "Schandelen"}
    )
    name: str
    code: str
    neighbourhood: str


class MerchantAccount(BaseModel):
    model_config = example(
        {
            "merchant": example_of(MerchantPublic),
            "iban": "NL91ABNA0417164300",
            "balance": money(48620),
        }
    )
    merchant: MerchantPublic
    iban: str
    balance: Money


class WalletNetwork(BaseModel):
    """What a resident's own wallet needs to pay shops: the network (EIP-3085) and the token
    (EIP-747), and how an EIP-681 payment request names them."""

    model_config = example(
        {
            "chain_id": 1337,
            "chain_id_hex": "0x539",
            "chain_name": "Heitje",
            "rpc_url": "https://rpc.heitje.heerlen.nl",
            "token": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "symbol": "HEITJE",
            "name": "Heerlens Heitje",
            "decimals": 2,
        }
    )
    chain_id: int
    chain_id_hex: str = Field(description="the chain id as wallets take it (hexadecimal)")
    chain_name: str
    rpc_url: str | None = Field(
        description="the JSON-RPC address wallets use; null when the municipality has not "
        "published one (HEITJE_API_PUBLIC_RPC_URL)"
    )
    token: str = Field(description="the Heitje token's contract address")
    symbol: str
    name: str
    decimals: int = Field(description="2: one unit is one cent")


class PaymentCreate(Strict):
    model_config = example(
        {
            "merchant_code": "K7M2QX",
            "amount": "12.40",
            "receipt": "BON-2026-0815",
            "request_id": "a1f3c9e2-5b7d-4c11-9e0a-2d6f8b4c3a71",
        }
    )
    merchant_code: Code
    amount: Euros
    receipt: Reference
    request_id: RequestId = Field(
        description="a unique id the app makes per payment: sending it again is safe"
    )


class RefundCreate(Strict):
    model_config = example({"amount": "2.40", "request_id": "c2b4e6f8-1a3c-4e5a-8b7d-9f0e1d2c3b4a"})
    amount: Euros | None = Field(None, description="part of the payment; default: all of it")
    request_id: RequestId | None = Field(
        None, description="a unique id the app makes per refund: sending it again is safe"
    )


class RefundPublic(BaseModel):
    model_config = example(
        {
            "id": 2,
            "amount": money(240),
            "status": "paid",
            "reason": None,
            "tx_hash": TX_EXAMPLE,
            "created_at": "2026-11-23T10:15:00Z",
        }
    )
    id: int
    amount: Money
    status: str = Field(
        description="sending, paid, failed (nothing was refunded) or reversed (the chain lost "
        "it after it was paid: nothing was refunded)"
    )
    reason: str | None
    tx_hash: str | None
    created_at: datetime


class PaymentPublic(BaseModel):
    model_config = example(
        {
            "id": 815,
            "resident": "HRL-7Q4K2",
            "merchant": "Bakkerij Pelzer",
            "merchant_code": "K7M2QX",
            "amount": money(1240),
            "refunded": money(240),
            "refunds": [example_of(RefundPublic)],
            "receipt": "BON-2026-0815",
            "status": "paid",
            "reason": None,
            "tx_hash": TX_EXAMPLE,
            "via": "app",
            "created_at": "2026-11-23T10:15:00Z",
            "card": False,
        }
    )
    id: int
    resident: str
    merchant: str
    merchant_code: str
    amount: Money
    refunded: Money = Field(description="refunds paid or still being sent")
    refunds: list[RefundPublic] = []
    receipt: str
    status: str = Field(
        description="sending, paid, refused or failed (nothing was paid), or reversed (the "
        "chain lost it after it was paid: nothing was paid)"
    )
    reason: str | None
    tx_hash: str | None
    via: str = Field(
        "app",
        description="app (paid through this service) or wallet (paid from the resident's own "
        "wallet, e.g. a plain ERC-20 transfer, and found on the chain; its receipt is empty "
        "unless the wallet added one)",
    )
    created_at: datetime
    card: bool = Field(False, description="paid with the resident's Heitje card at the till")


class RedemptionCreate(Strict):
    model_config = example(
        {"amount": "250.00", "request_id": "5d1e9b7a-3c2f-4a8e-9b6d-0f1e2a3b4c5d"}
    )
    amount: Euros
    request_id: RequestId = Field(
        description="a unique id the app makes per exchange: sending it again is safe"
    )


class RedemptionPublic(BaseModel):
    model_config = example(
        {
            "id": 12,
            "merchant": "Bakkerij Pelzer",
            "merchant_code": "K7M2QX",
            "iban": "NL91ABNA0417164300",
            "amount": money(25000),
            "paid": True,
            "bank_reference": "SEPA NL-2026-000817",
            "requested_at": "2026-11-28T10:12:00Z",
            "paid_at": "2026-12-01T09:30:00Z",
        }
    )
    id: int
    merchant: str
    merchant_code: str | None
    iban: str | None
    amount: Money
    paid: bool
    bank_reference: str
    #: when the shop asked for it (through the service; none for one made elsewhere)
    requested_at: datetime | None = None
    #: when the treasurer recorded the payout (through the service)
    paid_at: datetime | None = None


class Payout(Strict):
    model_config = example({"bank_reference": "SEPA NL-2026-000817"})
    bank_reference: Reference


class Recovery(Strict):
    model_config = example(
        {
            "reason": "Phone stolen; reported at the Stadsbalie, identity checked.",
            "new_wallet": None,
        }
    )
    reason: Reason
    new_wallet: Address | None = Field(
        None, description="for a resident with their own wallet: the new one"
    )


class AuditPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 318,
                    "at": "2026-11-22T08:45:00Z",
                    "actor": "inspecteur.jansen",
                    "role": "inspector",
                    "action": "claim.approve",
                    "subject": "claim:41",
                    "details": {"cents": 1250},
                }
            ]
        },
    )
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    subject: str
    details: dict[str, object]


class HistoryItem(BaseModel):
    model_config = example(
        {
            "at": "2026-11-23T10:15:00Z",
            "kind": "payment",
            "description": "Bakkerij Pelzer, receipt BON-2026-0815",
            "counterparty": "Bakkerij Pelzer",
            "receipt": "BON-2026-0815",
            "amount": money(-1240),
            "status": "paid",
            "tx_hash": TX_EXAMPLE,
        }
    )
    at: datetime
    kind: str = Field(description="reward, payment or refund")
    description: str = Field(description="in English, for a statement; apps build their own")
    counterparty: str = Field(description="the job's title (reward) or the shop's name")
    receipt: str | None = Field(description="the shop's receipt number (payment, refund)")
    amount: Money = Field(description="into the wallet (positive) or out of it (negative)")
    status: str
    tx_hash: str | None


class WaitingReward(BaseModel):
    model_config = example(
        {
            "reward": 41,
            "claim": 77,
            "amount": money(1250),
            "issuer_key": "partner",
            "attempts": 3,
            "reason": "partner's budget (EUR 5.00 left) is too small for EUR 12.50",
            "next_attempt_at": "2026-11-23T10:20:00Z",
        }
    )
    reward: int
    claim: int
    amount: Money
    issuer_key: str
    attempts: int
    reason: str | None
    next_attempt_at: datetime | None


class NodeState(BaseModel):
    """One configured chain node as the service's last check found it (heitje_chain.health)."""

    model_config = example(
        {
            "url": "http://10.0.0.12:8545",
            "in_use": True,
            "reachable": True,
            "head": 1214,
            "head_hash": "0x" + "ab" * 32,
            "head_age_seconds": 1.2,
            "peers": 3,
            "cut_off": False,
            "reason": "",
        }
    )
    url: str
    in_use: bool = Field(description="the service's calls go to this node")
    reachable: bool = Field(description="it answered the last check")
    head: int | None = Field(description="its newest block (None: no answer)")
    head_hash: str | None
    head_age_seconds: float | None = Field(description="seconds since its newest block's time")
    peers: int | None = Field(description="its peers (None: the node does not say)")
    cut_off: bool = Field(
        description="it answers but is cut off from the network (no peers, or its head stopped "
        "while another node is ahead): the service does not use it"
    )
    reason: str = Field(description="why it is not used, in plain words ('' when healthy)")


class ServiceStatus(BaseModel):
    """How the service's records stand against the chain (for staff)."""

    model_config = example(
        {
            "chain_head": 1214,
            "highest_block_seen": 1214,
            "chain_forgot": False,
            "forgot_at": None,
            "forgot_from_block": None,
            "last_check_at": "2026-11-23T10:15:00Z",
            "last_check_error": None,
            "repaired": [],
            "sending": {"payments": 0, "refunds": 0, "redemptions": 0, "payouts": 0},
            "rewards_waiting": [example_of(WaitingReward)],
            "wallet_payments_read_to": 1214,
            "wallet_payments_unlisted": 0,
            "node_in_use": "http://10.0.0.12:8545",
            "nodes": [example_of(NodeState)],
        }
    )
    chain_head: int | None = Field(description="the newest block of the chain (None: no answer)")
    highest_block_seen: int | None = Field(
        description="the newest block any of the service's records was mined in"
    )
    chain_forgot: bool = Field(
        description="the chain no longer has blocks the service has seen (a chain restored "
        "from an older state, a reorg); what it lost is repaired and listed in `repaired` and "
        "the audit log"
    )
    forgot_at: datetime | None
    forgot_from_block: int | None
    last_check_at: datetime | None = Field(description="the last check against the chain")
    last_check_error: str | None
    repaired: list[str] = Field(description="what the last check that found any repaired")
    sending: dict[str, int] = Field(description="records still waiting for the chain's answer")
    rewards_waiting: list[WaitingReward] = Field(
        description="approved rewards the chain refused for now, with the reason (staff can "
        "lift it: a budget, the pause, a role); they are tried again by themselves"
    )
    wallet_payments_read_to: int | None = Field(
        None, description="the last block read for payments made from own wallets (None: none)"
    )
    wallet_payments_unlisted: int = Field(
        0,
        description="payments to shops from wallets the service has no resident for, seen by "
        "this process since it started (the audit counts them; the lists cannot)",
    )
    node_in_use: str | None = Field(
        None, description="the chain node the service's calls go to (None: not connected)"
    )
    nodes: list[NodeState] = Field(
        default_factory=list,
        description="every configured chain node at the last check (every few seconds): its "
        "head, its peers, and whether it is cut off from the network",
    )


class NoticeOut(BaseModel):
    """Something that happened since the user last looked (api.notices); money only once
    the chain has it."""

    model_config = example(
        {
            "key": "reward:41",
            "kind": "reward_paid",
            "at": "2026-12-01T14:05:00Z",
            "title": "Bladeren ruimen",
            "amount": money(1250),
            "reason": None,
            "shop": None,
            "receipt": None,
            "redemption": None,
            "bank_reference": None,
        }
    )
    key: str
    kind: str
    at: datetime
    title: str | None = None
    amount: Money | None = None
    reason: str | None = None
    shop: str | None = None
    receipt: str | None = None
    redemption: int | None = None
    bank_reference: str | None = None


NoticeKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class NoticesSeen(Strict):
    model_config = example({"keys": ["reward:41", "rejected:7"]})
    keys: Annotated[list[NoticeKey], Field(min_length=1, max_length=100)]


class SeenOut(BaseModel):
    model_config = example({"seen": 2})
    seen: int


class AppConfig(BaseModel):
    """What the web app shows of the municipality (api.brand)."""

    model_config = example(
        {
            "municipality": "Gemeente Heerlen",
            "brand_colour": "#0b4f8a",
            "brand_text_colour": "#ffffff",
            "remember_days": 90,
            "logo_url": None,
        }
    )
    municipality: str
    brand_colour: str
    brand_text_colour: str
    #: how long "stay signed in on this device" lasts since the last use; 0: not offered
    remember_days: int
    #: the municipality's logo for the header, if it has one
    logo_url: str | None = None
