"""The Heitje card: for residents without a smartphone (or who want no app).

The municipal desk (role `desk`, or an admin) issues a resident a printed card: the resident's
pseudonym, a QR code and the card's number. The QR code carries that random number only,
never a key or an address; the service keeps only its HMAC and knows whose custodial wallet
it pays from. The resident chooses a PIN of 4 to 6 digits at the desk (kept as an argon2id
hash, like a password).

At a shop the till (the shop's signed-in page) charges the card: the amount, the card's
number (scanned or typed) and the PIN the resident types on the shop's device. The payment
is api.paying's, the same as the app's, with the till's `request_id` making it exactly-once.

- Each PIN try is counted on the card *before* the PIN is checked, by one guarded update
  (`wrong_pins + 1 ... WHERE wrong_pins < tries`), so of parallel wrong PINs only `tries`
  (3) are ever checked; then the card is `locked` until the desk unlocks it. A right PIN
  sets the count back to 0. Tries counted by a process that died before checking them are
  tries too: the next till to find them still counted locks the card. Tries are also
  counted per till (`HEITJE_API_LIMIT_CARD_TILL`), a right PIN excepted, so a till cannot
  try many cards' numbers.
- A till charges cards for its own shop only.
- What a resident pays with the card per day (Amsterdam) is limited
  (`HEITJE_API_CARD_DAILY_LIMIT`), counted in the transaction that records the payment, with
  the card's row locked.
- A lost card is blocked at once by the desk, for good; a new card blocks every older one.
  The balance stays in the resident's wallet: no wallet recovery is needed.
- The PIN is never in an answer, a log line or the audit log; every card action is in the
  audit log.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.audit import record
from api.db import Database
from api.deps import ChainDep, DatabaseDep, SessionDep, SettingsDep, require
from api.errors import ApiError
from api.limits import Limiter
from api.models import Card, Merchant, Payment, Resident, User, now
from api.paying import Guard, Order, pay, payment_of, repeated_payment
from api.routes.auth import THROTTLED
from api.schemas import Euros, Id, Money, PaymentPublic, Strict, example
from api.security import (
    card_number_hash,
    card_number_normal,
    hash_password,
    new_card_number,
    pin_problem,
    verify_password,
)
from api.settings import Settings
from api.text import Code, Reason, Reference, RequestId

router = APIRouter(tags=["cards"])
Desk = Annotated[User, Depends(require("admin", "desk"))]
Till = Annotated[User, Depends(require("merchant"))]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

Pin = Annotated[str, StringConstraints(min_length=4, max_length=6, pattern=r"^[0-9]{4,6}$")]
CardNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=16, max_length=40),
    Field(description="the card's number as printed (K7M2-QX9P-4TRW-8NHD) or scanned"),
]  # fmt: skip


class CardIssue(Strict):
    model_config = example({"pin": "4071"})
    pin: Pin = Field(description="4 to 6 digits the resident chooses; never shown again")


class CardIssued(BaseModel):
    model_config = example(
        {
            "id": 3,
            "number": "K7M2-QX9P-4TRW-8NHD",
            "last4": "8NHD",
            "resident_id": 17,
            "pseudonym": "HRL-7Q4K2",
            "status": "active",
            "daily_limit": {"cents": 5000, "eur": "50.00"},
            "created_at": "2026-12-02T10:15:00Z",
            "replaced": [2],
        }
    )
    id: int
    number: str = Field(description="shown once, to print on the card: its QR code holds it")
    last4: str
    resident_id: int
    pseudonym: str
    status: str
    daily_limit: Money
    created_at: datetime
    replaced: list[int] = Field(description="older cards of the resident, blocked now")


class CardPublic(BaseModel):
    model_config = example(
        {
            "id": 3,
            "last4": "8NHD",
            "status": "locked",
            "wrong_pins": 3,
            "reason": None,
            "created_at": "2026-12-02T10:15:00Z",
            "blocked_at": None,
        }
    )
    id: int
    last4: str = Field(description="the last four characters of the card's number")
    status: str = Field(description="active; locked (too many wrong PINs); blocked (for good)")
    wrong_pins: int
    reason: str | None
    created_at: datetime
    blocked_at: datetime | None


class CardReason(Strict):
    model_config = example({"reason": "lost on the market, reported at the desk"})
    reason: Reason


class CardPayment(Strict):
    model_config = example(
        {
            "merchant_code": "K7M2QX",
            "card": "K7M2-QX9P-4TRW-8NHD",
            "pin": "4071",
            "amount": "3.40",
            "receipt": "T2612021015-3FA9C1",
            "request_id": "web-5b7d4c119e0a2d6f8b4c3a71a1f3c9e2",
        }
    )
    merchant_code: Code = Field(description="the till's own shop (another shop is refused)")
    card: CardNumber
    pin: Pin
    amount: Euros
    receipt: Reference
    request_id: RequestId = Field(
        description="a unique id the till makes per sale: sending it again is safe"
    )


def card_out(card: Card) -> CardPublic:
    return CardPublic(
        id=card.id, last4=card.last4, status=card.status, wrong_pins=card.wrong_pins,
        reason=card.reason, created_at=card.created_at, blocked_at=card.blocked_at,
    )  # fmt: skip


def _resident(session: Session, resident_id: int) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise ApiError(404, "no_resident", f"there is no resident {resident_id}")
    return resident


@router.post("/residents/{resident_id}/cards", response_model=CardIssued, status_code=201)
def issue_card(
    resident_id: Id, body: CardIssue, desk: Desk, session: SessionDep, settings: SettingsDep
) -> CardIssued:
    """Issue a resident a Heitje card with the PIN they chose. Every older card of theirs is
    blocked at once (a lost card's replacement). The number is in this answer only."""
    problem = pin_problem(body.pin)
    if problem:
        raise ApiError(422, "weak_pin", problem)
    pin_hash = hash_password(body.pin)  # slow: before this session takes a lock
    resident = _resident(session, resident_id)
    if not resident.custodial or resident.retired:
        raise ApiError(
            409, "own_wallet", "this resident has a wallet of their own: a card pays only from "
            "a wallet the municipality keeps",
        )  # fmt: skip
    older = list(session.scalars(
        select(Card).where(Card.resident_id == resident.id, Card.status != "blocked")
        .with_for_update()
    ))  # fmt: skip
    for card in older:
        card.status, card.reason, card.blocked_at = "blocked", "replaced by a new card", now()
    number = new_card_number()
    card = Card(
        resident_id=resident.id,
        number_hash=card_number_hash(settings.secret_key, number),
        last4=card_number_normal(number)[-4:],
        pin_hash=pin_hash,
        created_by=desk.id,
    )
    session.add(card)
    session.flush()
    record(
        session, desk, "card.issue", f"card:{card.id}", resident=resident.pseudonym,
        last4=card.last4, replaced=[c.id for c in older] or None,
    )  # fmt: skip
    return CardIssued(
        id=card.id, number=number, last4=card.last4, resident_id=resident.id,
        pseudonym=resident.pseudonym, status=card.status,
        daily_limit=Money.of(settings.card_daily_limit), created_at=card.created_at,
        replaced=[c.id for c in older],
    )  # fmt: skip


@router.get("/residents/{resident_id}/cards", response_model=list[CardPublic])
def list_cards(resident_id: Id, _: Desk, session: SessionDep) -> list[CardPublic]:
    """A resident's cards, newest first (never their numbers)."""
    _resident(session, resident_id)
    cards = session.scalars(
        select(Card).where(Card.resident_id == resident_id).order_by(Card.id.desc())
    )
    return [card_out(c) for c in cards]


def _card(session: Session, card_id: int) -> Card:
    card = session.scalar(select(Card).where(Card.id == card_id).with_for_update())
    if card is None:
        raise ApiError(404, "no_card", f"there is no card {card_id}")
    return card


@router.post("/cards/{card_id}/block", response_model=CardPublic)
def block_card(card_id: Id, body: CardReason, desk: Desk, session: SessionDep) -> CardPublic:
    """Block a card for good (lost, stolen): from now on it pays nothing. The Heitjes stay in
    the resident's wallet; issue a new card for them."""
    card = _card(session, card_id)
    if card.status == "blocked":
        raise ApiError(409, "card_blocked", "this card is blocked already")
    card.status, card.reason, card.blocked_at = "blocked", body.reason, now()
    record(session, desk, "card.block", f"card:{card.id}", reason=body.reason)
    return card_out(card)


@router.post("/cards/{card_id}/unblock", response_model=CardPublic)
def unblock_card(card_id: Id, body: CardReason, desk: Desk, session: SessionDep) -> CardPublic:
    """Unlock a card locked by wrong PINs, with the resident there (its wrong PINs are
    forgotten). A card blocked for good stays blocked: issue a new one."""
    card = _card(session, card_id)
    if card.status == "blocked":
        raise ApiError(
            409, "card_blocked", "this card is blocked for good (lost or replaced): issue a "
            "new card instead",
        )  # fmt: skip
    if card.status == "active" and card.wrong_pins == 0:
        raise ApiError(409, "card_active", "this card is not locked")
    card.status, card.wrong_pins = "active", 0
    record(session, desk, "card.unblock", f"card:{card.id}", reason=body.reason)
    return card_out(card)


def unusable(status: str) -> ApiError:
    """The refusal for a card that cannot pay, in words that say to go to the desk."""
    if status == "blocked":
        return ApiError(
            409, "card_blocked", "this card is blocked and pays nothing: the resident can get "
            "a new card at the municipal desk",
        )  # fmt: skip
    return ApiError(
        409, "card_locked", "this card is locked after too many wrong PINs: the resident can "
        "have it unlocked at the municipal desk", {"tries_left": 0},
    )  # fmt: skip


#: How long a PIN try waits for the card's other tries in progress to finish.
TRY_WAIT = 5.0


def _take_try(db: Database, till: User, card_id: int, tries: int) -> int:
    """Count one PIN try on the card before it is checked (a guarded update); the tries
    counted now. While other tries of the card are being checked (a till repeating a request
    in parallel) it waits for them; a card locked or blocked meanwhile is refused.

    Tries still counted after TRY_WAIT (a check takes well under a second) are no longer
    being checked by anyone: the process checking them died (a crash, a SIGKILL) after
    counting them. Counted tries are tries: the card is locked then, as the last wrong PIN
    would have locked it, so its status says what it is (it pays nothing either way)."""
    deadline = time.monotonic() + TRY_WAIT
    while True:
        with db.session(write=True) as session:
            counted = session.execute(
                update(Card)
                .where(Card.id == card_id, Card.status == "active", Card.wrong_pins < tries)
                .values(wrong_pins=Card.wrong_pins + 1)
                .returning(Card.wrong_pins)
                .execution_options(synchronize_session=False)
            ).scalar()
            status = session.scalar(select(Card.status).where(Card.id == card_id))
        if counted is not None:
            return int(counted)
        if status == "active" and time.monotonic() > deadline:
            with db.session(write=True) as session:
                _lock(session, till, card_id, tries, abandoned=True)
        if status != "active" or time.monotonic() > deadline:
            raise unusable(status if status == "blocked" else "locked")
        time.sleep(0.05)


def _lock(session: Session, till: User, card_id: int, tries: int, abandoned: bool = False) -> None:
    """Lock the card if it is active with all its tries counted (in the audit log once;
    `abandoned`: tries counted that no one checked)."""
    locked = session.execute(
        update(Card)
        .where(Card.id == card_id, Card.status == "active", Card.wrong_pins >= tries)
        .values(status="locked")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if locked:
        record(
            session, till, "card.locked", f"card:{card_id}", wrong_pins=tries,
            unchecked=True if abandoned else None,
        )  # fmt: skip


def _wrong_pin(db: Database, till: User, card_id: int, counted: int, tries: int) -> ApiError:
    """A wrong PIN (counted already): the card is locked when it had its tries."""
    left = max(0, tries - counted)
    with db.session(write=True) as session:
        record(session, till, "card.wrong_pin", f"card:{card_id}", tries_left=left)
        _lock(session, till, card_id, tries)
    if left == 0:
        return ApiError(
            403, "wrong_pin", f"the PIN was wrong {tries} times: the card is locked now; the "
            "resident can have it unlocked at the municipal desk", {"tries_left": 0},
        )  # fmt: skip
    return ApiError(
        403, "wrong_pin", f"the PIN is not right: {left} {'try' if left == 1 else 'tries'} "
        "left before the card is locked", {"tries_left": left},
    )  # fmt: skip


def day_start(moment: datetime) -> datetime:
    """The start of the day in Amsterdam that `moment` is in, in UTC."""
    local = moment.astimezone(AMSTERDAM)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def spent_today(session: Session, resident_id: int) -> int:
    """What the resident paid with a card today (Amsterdam), or is paying: in cents."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Payment.cents), 0)).where(
                Payment.resident_id == resident_id,
                Payment.card_id.is_not(None),
                Payment.status.in_(("sending", "paid")),
                Payment.created_at >= day_start(now()),
            )
        )
        or 0
    )


def _guard(till: User, card_id: int, cents: int, settings: Settings, body: CardPayment) -> Guard:
    """The card's own checks, in the transaction that records the payment (api.paying)."""

    def check(session: Session, resident: Resident, merchant: Merchant) -> None:
        card = session.scalar(select(Card).where(Card.id == card_id).with_for_update())
        if card is None or card.resident_id != resident.id or card.status != "active":
            raise unusable(card.status if card is not None else "blocked")
        limit = settings.card_daily_limit
        spent = spent_today(session, resident.id)
        if spent + cents > limit:
            left = max(0, limit - spent)
            raise ApiError(
                409, "card_daily_limit", f"with this card at most {Money.of(limit).eur} euro can "
                f"be paid per day; {Money.of(left).eur} is left today",
                {"limit": limit, "left": left},
            )  # fmt: skip
        record(
            session, till, "card.pay", f"card:{card.id}", resident=resident.pseudonym,
            merchant=merchant.code, cents=cents, receipt=body.receipt, request_id=body.request_id,
        )  # fmt: skip

    return check


@router.post("/cards/pay", response_model=PaymentPublic, status_code=201, responses=THROTTLED)
def pay_with_card(
    body: CardPayment, till: Till, db: DatabaseDep, chain: ChainDep, settings: SettingsDep
) -> PaymentPublic:
    """The shop's till charges a resident's card, with the PIN the resident typed. Sending
    the same `request_id` again (also in parallel) returns the first payment: paid once.
    Refused: another shop's code (403 `other_shop`), an unknown card (404 `no_card`), a
    wrong PIN (403 `wrong_pin` with `tries_left`), a locked or blocked card (409
    `card_locked`, `card_blocked`), over the daily limit (409 `card_daily_limit`)."""
    limits = Limiter(db.engine)
    till_key = f"card-till:{till.merchant_id}"
    limits.check(till_key, settings.limit_card_till, "card payments tried at this till")
    with db.session() as session:
        shop = session.get(Merchant, till.merchant_id)
        if shop is None or shop.code != body.merchant_code.upper():
            raise ApiError(403, "other_shop", "a till charges cards for its own shop only")
        digest = card_number_hash(settings.secret_key, body.card)
        card = session.scalar(select(Card).where(Card.number_hash == digest))
        if card is None:
            raise ApiError(
                404, "no_card", "there is no Heitje card with this number: check the number "
                "on the card, or scan it again",
            )  # fmt: skip
        card_id, resident_id, pin_hash = card.id, card.resident_id, card.pin_hash
        status = card.status
        earlier = payment_of(session, resident_id, body.request_id)
    order = Order(
        resident_id=resident_id, merchant_code=shop.code, cents=int(body.amount),
        receipt=body.receipt, request_id=body.request_id, card_id=card_id,
    )  # fmt: skip
    if earlier is not None:  # a repeat: its outcome, with no new PIN try
        limits.forgive(till_key)
        return repeated_payment(db, chain, order)
    if status != "active":
        raise unusable(status)
    counted = _take_try(db, till, card_id, settings.card_pin_tries)
    if not verify_password(body.pin, pin_hash).ok:
        raise _wrong_pin(db, till, card_id, counted, settings.card_pin_tries)
    limits.forgive(till_key)
    with db.session(write=True) as session:
        session.execute(
            update(Card).where(Card.id == card_id, Card.status == "active").values(wrong_pins=0)
        )
    guard = _guard(till, card_id, int(body.amount), settings, body)
    return pay(db, chain, order, guard)
