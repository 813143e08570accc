"""The municipality's administration: staff accounts and job issuers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from api.audit import record
from api.deps import ChainDep, SessionDep, require
from api.errors import ApiError
from api.models import Issuer, User
from api.schemas import IssuerCreate, IssuerPublic, StaffCreate, UserPublic
from api.security import hash_password

router = APIRouter(tags=["administration"])
Admin = Annotated[User, Depends(require("admin"))]


@router.post("/staff", response_model=UserPublic, status_code=201)
def create_staff(body: StaffCreate, admin: Admin, session: SessionDep) -> User:
    """Create a staff account (admin, issuer, inspector, treasurer or auditor)."""
    if session.scalar(select(User).where(User.username == body.username)) is not None:
        raise ApiError(409, "username_taken", f"the user name {body.username!r} is taken")
    if body.role == "issuer":
        if body.issuer_id is None or session.get(Issuer, body.issuer_id) is None:
            raise ApiError(422, "issuer_needed", "an issuer account needs an existing issuer_id")
    elif body.issuer_id is not None:
        raise ApiError(422, "issuer_not_allowed", "only issuer accounts belong to an issuer")
    user = User(
        username=body.username,
        role=body.role,
        password_hash=hash_password(body.password),
        issuer_id=body.issuer_id,
    )
    session.add(user)
    session.flush()
    record(
        session, admin, "staff.create", f"user:{user.id}", username=user.username, role=user.role
    )
    return user


@router.post("/issuers", response_model=IssuerPublic, status_code=201)
def create_issuer(body: IssuerCreate, admin: Admin, session: SessionDep, chain: ChainDep) -> Issuer:
    """Register a job issuer (the job office, a partner organisation) and its minter key."""
    if not chain.keys.exists(body.key_name):
        raise ApiError(
            422,
            "unknown_key",
            f"there is no key {body.key_name!r} on the server (heitje keys list)",
        )
    if session.scalar(select(Issuer).where(Issuer.name == body.name)) is not None:
        raise ApiError(409, "issuer_exists", f"an issuer named {body.name!r} exists")
    issuer = Issuer(name=body.name, key_name=body.key_name)
    session.add(issuer)
    session.flush()
    record(session, admin, "issuer.create", f"issuer:{issuer.id}", name=issuer.name)
    return issuer


@router.get("/issuers", response_model=list[IssuerPublic])
def list_issuers(_: Admin, session: SessionDep) -> list[Issuer]:
    return list(session.scalars(select(Issuer).order_by(Issuer.id)))
