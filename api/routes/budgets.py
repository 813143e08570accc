"""Budgets and the yearly cap, read from the chain: the cap per resident this year, whether
the token is paused, and what each job issuer may still mint (its budget). Read-only: these
are set with the admin key (`heitje` CLI), not through the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import ChainDep, SessionDep, require
from api.models import Issuer, User
from api.schemas import Money, example, example_of, money

router = APIRouter(prefix="/budgets", tags=["administration"])
Reader = Annotated[User, Depends(require("admin", "auditor", "issuer"))]


class IssuerBudget(BaseModel):
    model_config = example(
        {
            "id": 1,
            "name": "Gemeente Heerlen, Wijkzaken",
            "address": "0x71C7656EC7ab88b098defB751B7401B5f6d8976F",
            "budget_left": money(4_975_000),
        }
    )
    id: int
    name: str
    address: str | None = Field(description="its minter key's address (None: key not found)")
    budget_left: Money | None = Field(description="what it may still mint")


class Budgets(BaseModel):
    model_config = example(
        {
            "year": 2026,
            "yearly_cap": money(150_000),
            "paused": False,
            "issuers": [example_of(IssuerBudget)],
        }
    )
    year: int
    yearly_cap: Money = Field(description="what one resident may earn this calendar year")
    paused: bool
    issuers: list[IssuerBudget]


@router.get("", response_model=Budgets)
def budgets(user: Reader, session: SessionDep, chain: ChainDep) -> Budgets:
    """The yearly cap and each issuer's budget left; an issuer sees only its own."""
    client = chain.client
    query = select(Issuer).order_by(Issuer.id)
    if user.role == "issuer":
        query = query.where(Issuer.id == user.issuer_id)
    rows = []
    for issuer in session.scalars(query):
        name = chain.settings.chain.key_name(issuer.key_name)
        address = chain.keys.address(name) if chain.keys.exists(name) else None
        rows.append(
            IssuerBudget(
                id=issuer.id,
                name=issuer.name,
                address=address,
                budget_left=Money.of(client.mint_allowance(address)) if address else None,
            )
        )
    return Budgets(
        year=client.current_year(),
        yearly_cap=Money.of(client.yearly_cap()),
        paused=client.paused(),
        issuers=rows,
    )
