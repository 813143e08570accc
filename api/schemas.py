"""Request and response models. Amounts come in as decimal strings of euros ("12.50"),
never as JSON numbers (a float is not money), and go out as cents and euros both."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

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
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
#: A record's number in a path or body: 1 up to the largest database integer.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
RefId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Money(BaseModel):
    cents: int
    eur: str

    @classmethod
    def of(cls, cents: int) -> Money:
        return cls(cents=cents, eur=str(cents_to_decimal(cents)))


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ auth and users


class Login(Strict):
    username: Short
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ChallengeRequest(Strict):
    wallet: Address


class ChallengeOut(BaseModel):
    text: str
    expires_at: datetime


class WalletLogin(Strict):
    wallet: Address
    signature: Annotated[str, StringConstraints(min_length=130, max_length=134)]


class TokenOut(BaseModel):
    token: str
    role: str
    user_id: int


class StaffCreate(Strict):
    username: Short
    password: Password
    role: Annotated[str, StringConstraints(pattern="^(admin|issuer|inspector|treasurer|auditor)$")]
    issuer_id: RefId | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    role: str
    issuer_id: int | None
    resident_id: int | None
    merchant_id: int | None
    active: bool


class IssuerCreate(Strict):
    name: Name
    key_name: Short = Field(description="the keystore name of its minter key")


class IssuerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    key_name: str


# ------------------------------------------------------------------ residents


class ResidentRegister(Strict):
    pseudonym: Short = Field(description="a pseudonymous id: no name, no BSN")
    neighbourhood: Short
    password: Password | None = Field(None, description="for a custodial wallet")
    wallet: Address | None = Field(None, description="your own wallet instead")


class ResidentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    pseudonym: str
    neighbourhood: str
    address: str
    custodial: bool
    retired: bool


class ResidentAccount(BaseModel):
    resident: ResidentPublic
    balance: Money
    earned_this_year: Money
    room_under_cap: Money
    year: int


# ------------------------------------------------------------------ jobs


class JobCreate(Strict):
    title: Name
    description: Text
    neighbourhood: Short
    reward: Euros
    deadline: date
    places: int = Field(1, ge=1, le=1000)
    issuer_id: RefId | None = Field(None, description="admins choose; issuers post their own")


class JobPublic(BaseModel):
    id: int
    issuer: str
    title: str
    description: str
    neighbourhood: str
    reward: Money
    deadline: date
    places: int
    places_left: int
    status: str


class ClaimDone(Strict):
    note: Text = ""


class Decision(Strict):
    reason: Text = ""


class PhotoInfo(BaseModel):
    content_type: str = Field(examples=["image/jpeg"])
    size: int = Field(description="bytes, after the metadata was removed", examples=[1843200])
    sha256: str = Field(description="so an inspector can cite exactly this photo")
    url: str = Field(examples=["/claims/41/photo"])


class ClaimPublic(BaseModel):
    id: int
    job_id: int
    job_title: str
    resident: str
    status: str
    note: str | None
    reason: str | None
    reward: Money
    payment: str | None = Field(None, description="pending, paid or refused")
    payment_error: str | None = None
    tx_hash: str | None = None
    photo: PhotoInfo | None = None
    claimed_at: datetime
    done_at: datetime | None
    decided_at: datetime | None


# ------------------------------------------------------------------ merchants and money


class MerchantApply(Strict):
    name: Name
    neighbourhood: Short
    iban: Annotated[str, StringConstraints(strip_whitespace=True, min_length=15, max_length=42)]
    password: Password | None = Field(None, description="for a wallet kept by the municipality")
    wallet: Address | None = Field(None, description="the shop's own wallet instead")


class MerchantPublic(BaseModel):
    id: int
    name: str
    code: str
    neighbourhood: str
    status: str
    address: str


class MerchantAccount(BaseModel):
    merchant: MerchantPublic
    iban: str
    balance: Money


RequestId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=64)]


class PaymentCreate(Strict):
    merchant_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=4, max_length=12)
    ]
    amount: Euros
    receipt: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    request_id: RequestId = Field(
        description="a unique id the app makes per payment: sending it again is safe"
    )


class RefundCreate(Strict):
    amount: Euros | None = Field(None, description="part of the payment; default: all of it")
    request_id: RequestId | None = Field(
        None, description="a unique id the app makes per refund: sending it again is safe"
    )


class RefundPublic(BaseModel):
    id: int
    amount: Money
    status: str = Field(description="sending, paid or failed (nothing was refunded)")
    reason: str | None
    tx_hash: str | None
    created_at: datetime


class PaymentPublic(BaseModel):
    id: int
    resident: str
    merchant: str
    merchant_code: str
    amount: Money
    refunded: Money = Field(description="refunds paid or still being sent")
    refunds: list[RefundPublic] = []
    receipt: str
    status: str = Field(description="sending, paid, refused or failed (nothing was paid)")
    reason: str | None
    tx_hash: str | None
    created_at: datetime


class RedemptionCreate(Strict):
    amount: Euros


class RedemptionPublic(BaseModel):
    id: int
    merchant: str
    merchant_code: str | None
    iban: str | None
    amount: Money
    paid: bool
    bank_reference: str


class Payout(Strict):
    bank_reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
    ]


class Recovery(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
    new_wallet: Address | None = Field(
        None, description="for a resident with their own wallet: the new one"
    )


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    subject: str
    details: dict[str, object]


class HistoryItem(BaseModel):
    at: datetime
    kind: str = Field(description="reward, payment or refund")
    description: str
    amount: Money = Field(description="into the wallet (positive) or out of it (negative)")
    status: str
    tx_hash: str | None
