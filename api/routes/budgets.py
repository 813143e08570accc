"""Budgets and the yearly cap, read from the chain: the cap per resident this year, whether
the token is paused, and what each job issuer may still mint (its budget).

Setting a budget or the cap needs the contract's admin key, which can also grant every role.
The service uses it only when that keystore and its password are given to the service
(HEITJE_PASSWORD_ADMIN); without them these changes are refused with the `heitje` command to
use instead, so the admin key can stay on a separate, offline machine. Pausing stays with
`heitje pause` (its own key).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import record
from api.chain import ChainAccess
from api.deps import ChainDep, DatabaseDep, SessionDep, require
from api.errors import ApiError
from api.models import Issuer, User
from api.schemas import Euros, Id, Money, Strict, example, example_of, money
from heitje_chain.errors import ConfigError, KeystoreError
from heitje_chain.keys import LocalSigner

router = APIRouter(prefix="/budgets", tags=["administration"])
Reader = Annotated[User, Depends(require("admin", "auditor", "issuer"))]
Admin = Annotated[User, Depends(require("admin"))]


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


class BudgetSet(Strict):
    model_config = example({"budget": "50000.00"})
    budget: Euros = Field(description="what the issuer may mint from now on (replaces the old)")


class CapSet(Strict):
    model_config = example({"cap": "1500.00"})
    cap: Euros = Field(description="what one resident may earn per calendar year")


@router.get("", response_model=Budgets)
def budgets(user: Reader, session: SessionDep, chain: ChainDep) -> Budgets:
    """The yearly cap and each issuer's budget left; an issuer sees only its own."""
    return _budgets(user, session, chain)


def _admin_key(chain: ChainAccess, command: str) -> LocalSigner:
    try:
        return chain.role_signer("admin")
    except (ConfigError, KeystoreError):
        raise ApiError(
            409, "admin_key_offline", "this service does not hold the contract's admin key, so "
            f"this is done on the admin's own computer: `{command}`"
        ) from None  # fmt: skip


@router.put("/issuers/{issuer_id}", response_model=Budgets)
def set_budget(
    issuer_id: Id, body: BudgetSet, admin: Admin, db: DatabaseDep, chain: ChainDep
) -> Budgets:
    """Set what a job issuer may still mint (on-chain, with the admin key)."""
    with db.session() as session:
        issuer = session.get(Issuer, issuer_id)
    if issuer is None:
        raise ApiError(404, "no_issuer", f"there is no issuer {issuer_id}")
    cents = int(body.budget)
    euros = Money.of(cents).eur
    signer = _admin_key(chain, f"heitje allowance set {issuer.key_name} {euros}")
    address = chain.keys.address(chain.settings.chain.key_name(issuer.key_name))
    chain.client.set_mint_allowance(signer, address, cents)  # no connection held meanwhile
    with db.session(write=True) as session:
        record(session, admin, "budget.set", f"issuer:{issuer.id}", name=issuer.name, cents=cents)
    with db.session() as session:
        return _budgets(admin, session, chain)


@router.put("/cap", response_model=Budgets)
def set_cap(body: CapSet, admin: Admin, db: DatabaseDep, chain: ChainDep) -> Budgets:
    """Set the yearly cap per resident (on-chain, with the admin key)."""
    cents = int(body.cap)
    signer = _admin_key(chain, f"heitje cap set {Money.of(cents).eur}")
    chain.client.set_yearly_cap(signer, cents)  # no connection held meanwhile
    with db.session(write=True) as session:
        record(session, admin, "cap.set", "token", cents=cents)
    with db.session() as session:
        return _budgets(admin, session, chain)


def _budgets(user: User, session: Session, chain: ChainAccess) -> Budgets:
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
