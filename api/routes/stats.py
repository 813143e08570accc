"""Participation statistics for the statistics office: per neighbourhood and month, aggregated,
with small cells suppressed. No pseudonymous id, wallet or job leaves the service here.

One row per neighbourhood and calendar month (UTC):

- `jobs_posted`: jobs posted that month for that neighbourhood (where the job is);
- `jobs_claimed`, `jobs_done`: claims made, and claims marked done, that month by residents
  living in that neighbourhood;
- `residents`: residents of that neighbourhood who claimed, finished, earned or spent that
  month (each counted once);
- `earned`: Heitjes paid to them that month as rewards (paid on-chain);
- `spent`: Heitjes they paid merchants that month, less what was refunded.

A cell with fewer than 5 residents (but more than none) shows nothing but the jobs posted:
its resident figures are left empty and `suppressed` is true, so no figure can be traced to
one or a few people. No totals are given, so a suppressed cell cannot be recovered by
subtraction from this export.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, require
from api.export import Format, Lang, csv_response
from api.models import Claim, Job, Payment, Resident, Reward, User
from api.schemas import example
from api.suppression import MIN_RESIDENTS, too_few
from heitje_chain.amounts import cents_to_decimal

router = APIRouter(prefix="/statistics", tags=["statistics"])
Reader = Annotated[User, Depends(require("admin", "auditor"))]


class ParticipationRow(BaseModel):
    model_config = example(
        {
            "neighbourhood": "Schandelen",
            "month": "2026-10",
            "jobs_posted": 14,
            "jobs_claimed": 23,
            "jobs_done": 21,
            "residents": 17,
            "earned": "262.50",
            "spent": "198.40",
            "suppressed": False,
        }
    )
    neighbourhood: str
    month: str = Field(description="YYYY-MM (UTC)")
    jobs_posted: int
    jobs_claimed: int | None
    jobs_done: int | None
    residents: int | None
    earned: str | None = Field(description="euros, two decimals")
    spent: str | None = Field(description="euros, two decimals")
    suppressed: bool = Field(
        description=f"fewer than {MIN_RESIDENTS} residents: resident figures left out"
    )


class _Cell:
    __slots__ = ("claimed", "done", "earned", "posted", "residents", "spent")

    def __init__(self) -> None:
        self.posted = self.claimed = self.done = self.earned = self.spent = 0
        self.residents: set[int] = set()


def _month(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def participation_rows(session: Session) -> list[ParticipationRow]:
    """The table, computed from the service's records (streamed, one pass per kind)."""
    cells: dict[tuple[str, str], _Cell] = {}

    def cell(place: str, moment: datetime) -> _Cell:
        key = (place, _month(moment))
        found = cells.get(key)
        if found is None:
            found = cells[key] = _Cell()
        return found

    for place, created in session.execute(select(Job.neighbourhood, Job.created_at)).yield_per(
        2000
    ):
        cell(str(place), created).posted += 1
    claims = select(
        Resident.neighbourhood, Claim.resident_id, Claim.claimed_at, Claim.done_at
    ).join(Resident, Claim.resident_id == Resident.id)
    for place, resident, claimed, done in session.execute(claims).yield_per(2000):
        c = cell(str(place), claimed)
        c.claimed += 1
        c.residents.add(resident)
        if done is not None:
            c = cell(str(place), done)
            c.done += 1
            c.residents.add(resident)
    rewards = (
        select(Resident.neighbourhood, Claim.resident_id, Reward.paid_at, Reward.cents)
        .join(Claim, Reward.claim_id == Claim.id)
        .join(Resident, Claim.resident_id == Resident.id)
        .where(Reward.status == "paid", Reward.paid_at.is_not(None))
    )
    for place, resident, paid_at, cents in session.execute(rewards).yield_per(2000):
        if paid_at is None:  # excluded by the query; for the type checker
            continue
        c = cell(str(place), paid_at)
        c.earned += int(cents)
        c.residents.add(resident)
    payments = (
        select(
            Resident.neighbourhood,
            Payment.resident_id,
            Payment.created_at,
            Payment.cents,
            Payment.refunded_cents,
        )
        .join(Resident, Payment.resident_id == Resident.id)
        .where(Payment.status == "paid")
    )
    for place, resident, created, cents, refunded in session.execute(payments).yield_per(2000):
        c = cell(str(place), created)
        c.spent += int(cents) - int(refunded or 0)
        c.residents.add(resident)

    rows = []
    for (place, month), c in sorted(cells.items()):
        people = len(c.residents)
        hidden = too_few(people)
        rows.append(
            ParticipationRow(
                neighbourhood=place,
                month=month,
                jobs_posted=c.posted,
                jobs_claimed=None if hidden else c.claimed,
                jobs_done=None if hidden else c.done,
                residents=None if hidden else people,
                earned=None if hidden else str(cents_to_decimal(c.earned)),
                spent=None if hidden else str(cents_to_decimal(c.spent)),
                suppressed=hidden,
            )
        )
    return rows


@router.get("/participation", response_model=list[ParticipationRow])
def participation(
    _: Reader, session: SessionDep, format: Format = "json", lang: Lang = "nl"
) -> list[ParticipationRow] | Response:
    """Per neighbourhood and month: jobs posted, claimed and done, residents taking part,
    Heitjes earned and spent; cells of fewer than 5 residents suppressed. `?format=csv` for
    the statistics office."""
    rows = participation_rows(session)
    return csv_response(rows, "participation", lang) if format == "csv" else rows
