"""Annual statements (jaaropgave) in the app: a resident downloads their own; the desk and an
admin print one for a resident (written to the audit log). Computed from the chain at its last
final block by heitje_chain.statements; a PDF (default), a printable page or JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from api.audit import record
from api.deps import ChainDep, DatabaseDep, SettingsDep, require
from api.errors import ApiError
from api.models import Resident, User
from api.schemas import Id
from api.statements import (
    StatementFormat,
    StatementStore,
    check_year,
    labels,
    site_of,
    statement_answer,
)

router = APIRouter(tags=["statements"])
ResidentUser = Annotated[User, Depends(require("resident"))]
Desk = Annotated[User, Depends(require("admin", "desk"))]
Year = Annotated[int, Query(ge=1970, le=9999, description="the calendar year (UTC)")]
FormatQ = Annotated[StatementFormat, Query(description="pdf (default), html or json")]
Lang = Annotated[Literal["nl", "en"], Query(description="nl (default) or en")]

ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/pdf": {},
            "text/html": {},
            "application/json": {
                "example": {
                    "heitje_statement": 1,
                    "year": 2026,
                    "address": "0x52908400098527886E0F7030069857D2E4169EE7",
                    "block": 48211,
                    "block_hash": "0x" + "5a" * 32,
                    "earned": 42000,
                    "cap": 150000,
                    "cap_left": 108000,
                    "spent": 31050,
                    "refunded": 250,
                    "net_spent": 30800,
                    "rewards": [],
                    "digest": "3f" * 32,
                    "verify_url": "https://heitje.heerlen.nl/app/#/openbaar/verifieer?j=2026",
                }
            },
        },
        "description": "the statement: a PDF, a printable page, or its JSON",
    }
}


@dataclass(frozen=True)
class Asked:
    """Which statement, in which form: the query of both routes."""

    year: int
    format: StatementFormat
    lang: str


def asked(year: Year, format: FormatQ = "pdf", lang: Lang = "nl") -> Asked:
    return Asked(check_year(year), format, lang)


AskedDep = Annotated[Asked, Depends(asked)]


def _answer(
    request: Request,
    chain: ChainDep,
    db: DatabaseDep,
    settings: SettingsDep,
    resident: Resident,
    ask: Asked,
) -> Response:
    year = ask.year
    store: StatementStore = request.app.state.statements
    statement = store.get(chain, settings, year, resident.address, None)
    if statement is None:
        raise ApiError(
            404,
            "no_statement",
            f"no rewards were paid to this resident in {year}: there is no statement",
            {"year": year},
        )
    with db.session() as session:
        names = labels(session, chain, statement)
    return statement_answer(statement, ask.format, ask.lang, site_of(settings, request), names)


@router.get("/residents/me/statement", response_class=Response, responses=ANSWERS)
def my_statement(
    request: Request,
    user: ResidentUser,
    chain: ChainDep,
    db: DatabaseDep,
    settings: SettingsDep,
    ask: AskedDep,
) -> Response:
    """The signed-in resident's annual statement of `year`: every reward (date, job, issuer,
    amount), the total against the yearly cap, what was spent, and how to verify it (block,
    hash, wallet, digest, a QR code to the public verification page)."""
    with db.session() as session:
        resident = session.get(Resident, user.resident_id)
    if resident is None:
        raise ApiError(404, "no_resident", "this account has no resident record")
    return _answer(request, chain, db, settings, resident, ask)


@router.get("/accounts/{account_id}/statement", response_class=Response, responses=ANSWERS)
def resident_statement(
    request: Request,
    account_id: Id,
    staff: Desk,
    chain: ChainDep,
    db: DatabaseDep,
    settings: SettingsDep,
    ask: AskedDep,
) -> Response:
    """A resident's annual statement, for the desk or an admin to print (account id of the
    resident's account). Written to the audit log."""
    with db.session() as session:
        account = session.get(User, account_id)
        resident = (
            session.get(Resident, account.resident_id)
            if account is not None and account.resident_id is not None
            else None
        )
    if resident is None:
        raise ApiError(
            404, "no_resident", f"account {account_id} is not a resident's", {"account": account_id}
        )
    answer = _answer(request, chain, db, settings, resident, ask)
    with db.session(write=True) as session:
        record(
            session,
            staff,
            "statement.print",
            f"resident:{resident.id}",
            year=ask.year,
            format=ask.format,
            account=account_id,
        )
    return answer
