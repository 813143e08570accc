"""The service's tables. Personal data stays here, never on-chain: residents are known by a
pseudonymous id and a neighbourhood only; merchants by their shop name and IBAN."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time, always read back with its time zone (UTC). SQLite keeps no zone, so
    without this its values would come back naive and print without an offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


class OnChain:
    """Where a row's transaction is on the chain, as the reconciler (api.reconcile) last saw
    it: the block and its hash; `final` once it is deep enough that the chain can no longer
    take it back (or on a chain with instant finality). Checked again if the chain forgets."""

    block_number: Mapped[int | None] = mapped_column(BigInteger, index=True)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    final: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


ROLES = ("admin", "issuer", "inspector", "treasurer", "merchant", "resident", "auditor", "desk")


class User(Base):
    """Someone who signs in: staff with a password, residents and merchants with a password
    or by signing a challenge with their own wallet."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    wallet: Mapped[str | None] = mapped_column(String(42), unique=True)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("issuers.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    #: raised when the password changes or is reset: tokens made before stop working
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Issuer(Base):
    """A job issuer: the municipality's job office or a partner organisation. It pays rewards
    with its own minter key (and on-chain budget)."""

    __tablename__ = "issuers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    key_name: Mapped[str] = mapped_column(String(64))  # keystore of its minter key
    created_at: Mapped[datetime] = mapped_column(default=now)


class Resident(Base):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    neighbourhood: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(42), unique=True)
    custodial: Mapped[bool] = mapped_column(Boolean)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=now)


class Merchant(Base):
    __tablename__ = "merchants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(12), unique=True)  # short code to type at the till
    neighbourhood: Mapped[str] = mapped_column(String(64))
    iban: Mapped[str] = mapped_column(String(34))
    address: Mapped[str] = mapped_column(String(42), unique=True)
    custodial: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="applied")  # approved, removed
    created_at: Mapped[datetime] = mapped_column(default=now)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    neighbourhood: Mapped[str] = mapped_column(String(64))
    reward_cents: Mapped[int] = mapped_column(BigInteger)
    deadline: Mapped[date] = mapped_column(Date)
    places: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # closed, cancelled
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    issuer: Mapped[Issuer] = relationship()
    claims: Mapped[list[Claim]] = relationship(back_populates="job")


CLAIM_STATES = ("claimed", "done", "approved", "rejected", "expired", "withdrawn")


class Claim(Base):
    """A resident's place on a job: claimed, marked done, then approved or rejected."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_job_status", "job_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(default=now)
    done_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    job: Mapped[Job] = relationship(back_populates="claims")
    resident: Mapped[Resident] = relationship()
    reward: Mapped[Reward | None] = relationship(back_populates="claim")
    photo: Mapped[ClaimPhoto | None] = relationship(back_populates="claim")


class ClaimPhoto(Base):
    """The photo a resident added to a finished job, without its metadata (see api.photos).
    Kept in the database, so a backup of the database holds the whole job record."""

    __tablename__ = "claim_photos"
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only to serve it
    uploaded_at: Mapped[datetime] = mapped_column(default=now)
    claim: Mapped[Claim] = relationship(back_populates="photo")


class Reward(OnChain, Base):
    """The outbox of on-chain rewards: written in the same transaction as the approval, driven
    to the chain by the worker. `reference` is hashed into the on-chain job id, so a repeated
    attempt can never pay twice."""

    __tablename__ = "rewards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    resident_address: Mapped[str] = mapped_column(String(42))
    cents: Mapped[int] = mapped_column(BigInteger)
    issuer_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # paid, refused
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[datetime] = mapped_column(default=now)
    paid_at: Mapped[datetime | None] = mapped_column()
    claim: Mapped[Claim] = relationship(back_populates="reward")


#: How a payment was made: through the service ("app"), or from the resident's own wallet
#: ("wallet": a plain transfer or a pay() the service did not send, found on the chain by
#: api.payment_index).
PAYMENT_VIA = ("app", "wallet")


class Payment(OnChain, Base):
    """A payment to a shop. The service's own (`via` "app") are recorded before they are sent
    (api.routes.payments); those made from a resident's own wallet (`via` "wallet") are
    indexed from the chain once mined (api.payment_index), one row per `Transfer` log: its
    transaction hash and `log_index` are unique (the service's own rows have log_index -1,
    so they stay one row per transaction)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("resident_id", "request_id"),
        Index("uq_payments_tx_log", "tx_hash", "log_index", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    cents: Mapped[int] = mapped_column(BigInteger)
    receipt: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(64))  # the client's idempotency key
    #: the Heitje card it was paid with at the shop's till (None: the resident's app)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), index=True)
    #: paid, refused, failed (nothing was paid) or reversed (the chain lost it: nothing paid)
    status: Mapped[str] = mapped_column(String(16), default="sending")
    tx_hash: Mapped[str | None] = mapped_column(String(66), index=True)
    #: the `Transfer` log's index in its transaction for an indexed payment; -1 otherwise
    log_index: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")
    via: Mapped[str] = mapped_column(String(16), default="app", server_default="app")
    reason: Mapped[str | None] = mapped_column(Text)
    #: refunds paid or still sending (never more than `cents`)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=now)
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")


CARD_STATES = ("active", "locked", "blocked")


class Card(Base):
    """A resident's Heitje card (api.routes.cards): a printed card whose QR code and number
    carry a random card number only. Only the number's HMAC is kept (`number_hash`) and its
    last four characters to name it; the PIN is an argon2id hash. `active`; `locked` after
    too many wrong PINs (the desk unlocks it); `blocked` for good (lost, or replaced by a new
    card). `wrong_pins` is counted before each PIN is checked, by a guarded update."""

    __tablename__ = "cards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last4: Mapped[str] = mapped_column(String(4))
    pin_hash: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    wrong_pins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reason: Mapped[str | None] = mapped_column(Text)  # why it was blocked
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    blocked_at: Mapped[datetime | None] = mapped_column()


class Refund(OnChain, Base):
    """(Part of) a payment given back by the merchant: recorded as `sending` and counted in
    the payment's `refunded_cents` before it is sent; then `paid`, or `failed` and taken off
    the count again. The on-chain reference names the refund (`R<id>:<receipt>`)."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("payment_id", "request_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    cents: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64))  # the client's idempotency key
    #: paid, failed (nothing was refunded) or reversed (the chain lost it: nothing refunded)
    status: Mapped[str] = mapped_column(String(16), default="sending")
    tx_hash: Mapped[str | None] = mapped_column(String(66), unique=True, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    payment: Mapped[Payment] = relationship(back_populates="refunds")


class RedemptionRequest(OnChain, Base):
    """A merchant's exchange of Heitjes for euros, as the service sent it: recorded as
    `sending` under the app's `request_id` before the burn is sent, then `done` with the
    on-chain redemption number, or `refused`/`failed` (nothing burned). The payout the
    treasurer records is kept here too, so the reconciler can send it again if the chain
    loses it. Redemptions made outside the service are read from the chain only."""

    __tablename__ = "redemption_requests"
    __table_args__ = (UniqueConstraint("merchant_id", "request_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    cents: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="sending")
    redemption_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), unique=True, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)


class PayoutRecord(OnChain, Base):
    """The treasurer's record of a redemption paid in euros (on-chain `confirmPayout`):
    `sending`, then `paid`; the reconciler sends it again if the chain loses it."""

    __tablename__ = "payouts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    redemption_id: Mapped[int] = mapped_column(BigInteger, unique=True, index=True)
    bank_reference: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="sending")
    tx_hash: Mapped[str | None] = mapped_column(String(66), unique=True, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)


class ChainCursor(Base):
    """How far a reader that follows the chain got (api.payment_index): the last block it
    read and that block's hash, so it can tell when the chain forgot it."""

    __tablename__ = "chain_cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    updated_at: Mapped[datetime] = mapped_column(default=now)


class WalletRecovery(Base):
    """One recovery of a lost wallet (api.routes.residents.recover): the row is written before
    anything is made or sent, and the lost address is unique, so of parallel requests one
    recovers and the others answer its outcome; the replacement is noted before the chain is
    asked, so a retry after a crash reuses it instead of making another wallet."""

    __tablename__ = "wallet_recoveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    lost: Mapped[str] = mapped_column(String(42), unique=True)
    replacement: Mapped[str | None] = mapped_column(String(42))
    status: Mapped[str] = mapped_column(String(16), default="sending")  # done, failed
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)


class AuditEntry(Base):
    """Append-only: who did what, when. Never updated or deleted by the service."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(120))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Challenge(Base):
    """A one-time text a wallet signs to log in."""

    __tablename__ = "challenges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wallet: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the EIP-4361 text to sign, exactly as handed out (older challenges have none)
    message: Mapped[str | None] = mapped_column(Text)


class RateLimit(Base):
    """A counter of attempts (sign-ins, sign-ups, challenges, reset codes) per key, e.g. per
    account or per client address, in a window that ends at `window_ends`. Kept in the
    database, so every process of the service counts together (api.limits)."""

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    window_ends: Mapped[datetime] = mapped_column(index=True)


class ResetCode(Base):
    """A one-time code the desk gives a resident or shop (in person or on paper) to set a new
    password. Only its HMAC is stored; it expires, is used once, and allows a few tries."""

    __tablename__ = "reset_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # used, replaced, spent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    used_at: Mapped[datetime | None] = mapped_column()


class DeviceSession(Base):
    """A resident's, shop's or staff member's "stay signed in on this device": a long-lived
    random token kept by that browser, stored here only as an HMAC (api.devices). Its expiry
    slides forward each time it is used; revoking it (or a password change, which raises the
    user's token generation) ends it and every sign-in made from it at once."""

    __tablename__ = "device_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_used_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class NoticeSeen(Base):
    """A notice (api.notices) the user has seen: notices are read from what happened (a
    reward paid on-chain, a claim rejected, a refund paid, ...), and shown until seen."""

    __tablename__ = "notices_seen"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=now)
