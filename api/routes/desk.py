"""The municipal desk, for residents without a smartphone who come in person: find the
resident, see their balance, cards, jobs and history (and print it on a slip), claim an open
job for them and report it done with a note. The inspector's approval and the reward then
work as for any claim (api.routes.jobs, the one implementation of both). Every action is in
the audit log, under the desk worker's name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.audit import record
from api.db import Database
from api.deps import ChainDep, DatabaseDep, LimiterDep, SessionDep, SettingsDep, require
from api.errors import ApiError
from api.export import Format, Lang, Limit, Offset, listing
from api.models import Card, Claim, Resident, User
from api.routes.cards import CardPublic, card_out, spent_today
from api.routes.jobs import claim_for, claim_out, expire_claims, expire_due, report_done
from api.routes.residents import account_of, history_of, register
from api.schemas import (
    ClaimDone,
    ClaimPublic,
    HistoryItem,
    Id,
    Money,
    Page,
    RefId,
    ResidentAccount,
    ResidentPublic,
    ResidentRegister,
    Strict,
    example,
    example_of,
)

router = APIRouter(prefix="/desk", tags=["desk"])
Desk = Annotated[User, Depends(require("admin", "desk"))]

#: the history rows a slip shows
SLIP_ROWS = 20


class DeskResident(BaseModel):
    model_config = example(
        {
            "account": example_of(ResidentAccount),
            "cards": [example_of(CardPublic)],
            "card_spent_today": {"cents": 340, "eur": "3.40"},
            "claims": [example_of(ClaimPublic)],
            "history": [example_of(HistoryItem)],
            "history_total": 1,
        }
    )
    account: ResidentAccount
    cards: list[CardPublic] = Field(description="newest first")
    card_spent_today: Money = Field(description="paid with a card today (Amsterdam)")
    claims: list[ClaimPublic] = Field(description="the resident's jobs, newest first")
    history: list[HistoryItem] = Field(description=f"the newest {SLIP_ROWS} movements")
    history_total: int


class DeskClaim(Strict):
    model_config = example({"job_id": 42})
    job_id: RefId


@router.get("/residents", response_model=Page[ResidentPublic])
def find_residents(
    _: Desk,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=64, description="part of the pseudonym")],
    offset: Offset = 0,
    limit: Limit = 20,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[ResidentPublic] | Response:
    """Residents whose pseudonym holds `q` (any capitals), by pseudonym."""
    pattern = f"%{q.strip().lower()}%"
    query = select(Resident).where(func.lower(Resident.pseudonym).like(pattern))
    return listing(
        session, query.order_by(Resident.pseudonym), ResidentPublic.model_validate,
        name="residents", offset=offset, limit=limit, format=format, lang=lang,
    )  # fmt: skip


@router.post("/residents", response_model=ResidentPublic, status_code=201)
def register_at_desk(
    body: ResidentRegister,
    desk: Desk,
    request: Request,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
    limits: LimiterDep,
) -> Resident:
    """Register a resident who is at the desk (a pseudonym, the neighbourhood and a password
    they choose), with a wallet the municipality keeps: the same sign-up as their own
    (POST /residents), written to the audit log under the desk worker's name."""
    resident = register(body, request, session, chain, settings, limits)
    record(session, desk, "desk.register", f"resident:{resident.id}", pseudonym=resident.pseudonym)
    return resident


def _overview(db: Database, chain: ChainDep, resident_id: int) -> DeskResident:
    expire_due(db)
    account = account_of(db, chain, resident_id)  # the chain first, no connection held
    with db.session() as session:
        cards = session.scalars(
            select(Card).where(Card.resident_id == resident_id).order_by(Card.id.desc())
        )
        claims = session.scalars(
            select(Claim).where(Claim.resident_id == resident_id).order_by(Claim.id.desc())
        )
        history = history_of(session, resident_id)
        return DeskResident(
            account=account,
            cards=[card_out(c) for c in cards],
            card_spent_today=Money.of(spent_today(session, resident_id)),
            claims=[claim_out(c) for c in claims],
            history=history[:SLIP_ROWS],
            history_total=len(history),
        )


@router.get("/residents/{resident_id}", response_model=DeskResident)
def resident_overview(resident_id: Id, _: Desk, db: DatabaseDep, chain: ChainDep) -> DeskResident:
    """A resident at the desk: balance and room under the cap (from the chain), cards, jobs
    and the newest movements."""
    return _overview(db, chain, resident_id)


@router.post("/residents/{resident_id}/slip", response_model=DeskResident)
def print_slip(resident_id: Id, desk: Desk, db: DatabaseDep, chain: ChainDep) -> DeskResident:
    """The same, for the balance and history slip the desk prints for the resident (the
    printing is in the audit log)."""
    overview = _overview(db, chain, resident_id)
    with db.session(write=True) as session:
        record(session, desk, "desk.slip", f"resident:{resident_id}",
               balance=overview.account.balance.cents)  # fmt: skip
    return overview


@router.post("/residents/{resident_id}/claims", response_model=ClaimPublic, status_code=201)
def claim_on_behalf(
    resident_id: Id, body: DeskClaim, desk: Desk, db: DatabaseDep, chain: ChainDep
) -> ClaimPublic:
    """Claim an open job for a resident who is at the desk: the same rules as the resident's
    own claim (places, deadline, the yearly cap)."""
    with db.session() as session:
        if session.get(Resident, resident_id) is None:
            raise ApiError(404, "no_resident", f"there is no resident {resident_id}")
    return claim_for(db, chain, resident_id, body.job_id, by=desk)


@router.post("/claims/{claim_id}/done", response_model=ClaimPublic)
def done_on_behalf(claim_id: Id, body: ClaimDone, desk: Desk, session: SessionDep) -> ClaimPublic:
    """Report a resident's job done, with their note, for the inspector."""
    expire_claims(session)
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise ApiError(404, "no_claim", f"there is no claim {claim_id}")
    return report_done(session, claim, body.note, by=desk)
