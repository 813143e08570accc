"""The public pages' API, without signing in: the ledger's figures (JSON or CSV, for the
council and journalists) and the verification of an annual statement (from its QR code, or
the whole statement as a file)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from api.deps import ChainDep, DatabaseDep, SettingsDep
from api.errors import ApiError
from api.limits import Limiter, client_address
from api.public import PublicLedger, compute_figures
from api.routes.auth import THROTTLED
from api.schemas import Money, example, example_of, money
from api.statements import StatementStore, check_year
from heitje_chain.keys import check_address
from heitje_chain.spreadsheet import safe_cell
from heitje_chain.statements import parse_statement

router = APIRouter(prefix="/public", tags=["public"])

BLOCK_HASH = "0x" + "5a" * 32
DIGEST = "3f" * 32
ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"


class MonthRewards(BaseModel):
    model_config = example({"month": "2026-11", "amount": money(24250)})
    month: str = Field(description="YYYY-MM (UTC)")
    amount: Money


class PlaceRewards(BaseModel):
    model_config = example(
        {
            "neighbourhood": "Schandelen",
            "residents": 17,
            "amount": money(26250),
            "suppressed": False,
        }
    )
    neighbourhood: str = Field(description="the job's neighbourhood")
    residents: int | None = Field(description="residents rewarded there; empty when suppressed")
    amount: Money | None = Field(description="rewards paid there; empty when suppressed")
    suppressed: bool = Field(
        description="too few residents (or hidden so that no small cell can be recovered "
        "from the total): the figures are left out"
    )


class Liability(BaseModel):
    model_config = example(
        {"circulating": money(512000), "unpaid_redemptions": money(8000), "total": money(520000)}
    )
    circulating: Money
    unpaid_redemptions: Money
    total: Money


class Redemptions(BaseModel):
    model_config = example(
        {
            "paid": 31,
            "paid_amount": money(412000),
            "waiting": 2,
            "waiting_amount": money(8000),
            "oldest_waiting_days": 3.5,
        }
    )
    paid: int
    paid_amount: Money
    waiting: int
    waiting_amount: Money
    oldest_waiting_days: float | None


class CheckResult(BaseModel):
    model_config = example({"name": "supply", "status": "pass", "offending": 0})
    name: str = Field(description="supply, mints, yearly_cap, recoveries, payments, ...")
    status: str = Field(description="pass, FAIL or skipped")
    offending: int


class AuditResult(BaseModel):
    model_config = example({"passed": True, "checks": [example_of(CheckResult)], "events": 1840})
    passed: bool
    checks: list[CheckResult]
    events: int = Field(description="events of the contract read")


class PublicLedgerFigures(BaseModel):
    model_config = example(
        {
            "block": 48211,
            "block_hash": BLOCK_HASH,
            "block_time": "2026-12-01T10:00:00Z",
            "computed_at": "2026-12-01T10:00:04Z",
            "chain_id": 1337,
            "contract": "0x8ba1f109551bD432803012645Ac136ddd64DBA72",
            "circulating": money(512000),
            "rewards_total": money(932000),
            "redemptions_total": money(420000),
            "liability": example_of(Liability),
            "shops": 12,
            "residents_rewarded": 214,
            "redemptions": example_of(Redemptions),
            "rewards_by_month": [example_of(MonthRewards)],
            "rewards_by_neighbourhood": [example_of(PlaceRewards)],
            "min_residents": 5,
            "audit": example_of(AuditResult),
        }
    )
    block: int = Field(description="every figure is of this block")
    block_hash: str
    block_time: str | None
    computed_at: str
    chain_id: int
    contract: str
    circulating: Money = Field(description="Heitjes in circulation (the total supply)")
    rewards_total: Money
    redemptions_total: Money
    liability: Liability = Field(description="what the municipality owes in euros")
    shops: int = Field(description="shops on the whitelist")
    residents_rewarded: int
    redemptions: Redemptions
    rewards_by_month: list[MonthRewards]
    rewards_by_neighbourhood: list[PlaceRewards]
    min_residents: int = Field(description="cells of fewer residents are suppressed")
    audit: AuditResult


def _out(f: dict[str, Any]) -> PublicLedgerFigures:
    red = f["redemptions"]
    return PublicLedgerFigures(
        **{k: f[k] for k in ("block", "block_hash", "block_time", "computed_at", "chain_id")},
        contract=f["contract"],
        circulating=Money.of(f["circulating"]),
        rewards_total=Money.of(f["rewards_total"]),
        redemptions_total=Money.of(f["redemptions_total"]),
        liability=Liability(**{k: Money.of(v) for k, v in f["liability"].items()}),
        shops=f["shops"],
        residents_rewarded=f["residents_rewarded"],
        redemptions=Redemptions(
            paid=red["paid"],
            paid_amount=Money.of(red["paid_amount"]),
            waiting=red["waiting"],
            waiting_amount=Money.of(red["waiting_amount"]),
            oldest_waiting_days=red["oldest_waiting_days"],
        ),
        rewards_by_month=[
            MonthRewards(month=m["month"], amount=Money.of(m["amount"]))
            for m in f["rewards_by_month"]
        ],
        rewards_by_neighbourhood=[
            PlaceRewards(
                neighbourhood=r["neighbourhood"],
                residents=r["residents"],
                amount=None if r["amount"] is None else Money.of(r["amount"]),
                suppressed=r["suppressed"],
            )
            for r in f["rewards_by_neighbourhood"]
        ],
        min_residents=f["min_residents"],
        audit=AuditResult(**f["audit"]),
    )


def _csv(f: PublicLedgerFigures) -> Response:
    """One row per figure: what, for which month or neighbourhood, amount (euros) or count,
    and the block it is of."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "period_or_place", "amount_eur", "count", "suppressed", "block",
                     "block_hash"])  # fmt: skip
    rows: list[tuple[str, str, Any, Any, Any]] = [
        ("circulating", "", f.circulating.eur, "", ""),
        ("rewards_total", "", f.rewards_total.eur, "", ""),
        ("redemptions_total", "", f.redemptions_total.eur, "", ""),
        ("liability_total", "", f.liability.total.eur, "", ""),
        ("liability_unpaid_redemptions", "", f.liability.unpaid_redemptions.eur, "", ""),
        ("shops", "", "", f.shops, ""),
        ("residents_rewarded", "", "", f.residents_rewarded, ""),
        ("redemptions_paid", "", f.redemptions.paid_amount.eur, f.redemptions.paid, ""),
        ("redemptions_waiting", "", f.redemptions.waiting_amount.eur, f.redemptions.waiting, ""),
        ("audit_passed", "", "", int(f.audit.passed), ""),
    ]
    rows += [("rewards_month", m.month, m.amount.eur, "", "") for m in f.rewards_by_month]
    rows += [
        (
            "rewards_neighbourhood",
            r.neighbourhood,
            r.amount.eur if r.amount else "",
            "" if r.residents is None else r.residents,
            str(r.suppressed).lower(),
        )
        for r in f.rewards_by_neighbourhood
    ]
    for figure, where, amount, count, hidden in rows:
        writer.writerow([figure, safe_cell(where), amount, count, hidden, f.block, f.block_hash])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="heitje-openbaar-{f.block}.csv"'},
    )


@router.get("/ledger", response_model=PublicLedgerFigures)
def public_ledger(
    request: Request,
    chain: ChainDep,
    db: DatabaseDep,
    settings: SettingsDep,
    format: Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")] = "json",
) -> PublicLedgerFigures | Response:
    """The currency's figures for everyone, without signing in: money in circulation,
    rewards per month and per neighbourhood (cells of fewer than 5 residents suppressed),
    shops, redemptions paid and waiting, the euro liability and the audit's result, all of
    one block (its number and hash). Kept for a while (HEITJE_API_PUBLIC_CACHE_SECONDS) and
    computed again only for a new block. `?format=csv` for a spreadsheet."""
    cache: PublicLedger = request.app.state.public_ledger
    config = settings.chain

    def head() -> int:
        return chain.client.ledger(config.log_range, config.final_depth).head()

    figures = _out(cache.get(head, lambda: compute_figures(chain, db, settings)))
    return _csv(figures) if format == "csv" else figures


class Figures(BaseModel):
    model_config = example(
        {
            "earned": money(42000),
            "cap": money(150000),
            "spent": money(31050),
            "refunded": money(250),
            "net_spent": money(30800),
            "rewards": 31,
        }
    )
    earned: Money
    cap: Money
    spent: Money
    refunded: Money
    net_spent: Money
    rewards: int = Field(description="how many rewards")


class Difference(BaseModel):
    model_config = example(
        {"kind": "value", "field": "earned", "row": None, "key": None,
         "statement": 52000, "chain": 42000}
    )  # fmt: skip
    kind: str = Field(
        description="digest, block_hash, contract, missing, rows, value, block, not_a_statement"
    )
    field: str | None = None
    row: int | None = Field(
        default=None, description="the row (1 is the first), for a row that differs"
    )
    key: str | None = Field(default=None, description="the row's field that differs")
    statement: Any = Field(default=None, description="what the statement says")
    chain: Any = Field(default=None, description="what the chain says")


class VerifyResult(BaseModel):
    model_config = example(
        {
            "matches": True,
            "year": 2026,
            "address": ADDRESS,
            "block": 48211,
            "block_hash": BLOCK_HASH,
            "digest": DIGEST,
            "chain": example_of(Figures),
            "differences": [],
        }
    )
    matches: bool = Field(description="the statement is the chain's, at its block")
    year: int
    address: str
    block: int
    block_hash: str | None = Field(description="the block's hash on this chain")
    digest: str | None = Field(description="the digest of the statement the chain gives")
    chain: Figures | None = Field(description="the figures the chain gives, to compare")
    differences: list[Difference]


def _count_check(request: Request, db: DatabaseDep, settings: SettingsDep) -> None:
    """Each check may compute a statement from the chain: counted per client address."""
    Limiter(db.engine).check(
        f"verify:{client_address(request)}",
        settings.limit_verify,
        "statement checks from this address",
    )


def _figures(s: dict[str, Any]) -> Figures:
    return Figures(
        **{k: Money.of(s[k]) for k in ("earned", "cap", "spent", "refunded", "net_spent")},
        rewards=len(s["rewards"]),
    )


@router.get("/verify", response_model=VerifyResult, responses=THROTTLED)
def verify_short(
    request: Request,
    chain: ChainDep,
    db: DatabaseDep,
    settings: SettingsDep,
    year: Annotated[int, Query(ge=1970, le=9999, description="the statement's year")],
    address: Annotated[str, Query(max_length=42, description="the resident's wallet")],
    block: Annotated[int, Query(ge=0, le=2**63 - 1, description="the block it was made at")],
    digest: Annotated[
        str, Query(pattern="^[0-9a-fA-F]{64}$", description="the statement's fingerprint")
    ],
) -> VerifyResult:
    """What a statement's QR code asks: the statement of this wallet and year, computed
    again from the chain at the statement's block; it matches when its digest is the one
    printed. The chain's figures come along, to compare with those on paper."""
    check_year(year)
    try:
        wallet = check_address(address, "address")
    except ValueError as exc:
        raise ApiError(422, "bad_address", str(exc), {"address": address}) from None
    _count_check(request, db, settings)
    store: StatementStore = request.app.state.statements
    found = store.get(chain, settings, year, wallet, block)
    if found is None:
        return VerifyResult(
            matches=False, year=year, address=wallet, block=block, block_hash=None,
            digest=None, chain=None,
            differences=[Difference(kind="missing", field="address", statement=wallet)],
        )  # fmt: skip
    same = found["digest"] == digest.lower()
    return VerifyResult(
        matches=same,
        year=year,
        address=wallet,
        block=block,
        block_hash=found["block_hash"],
        digest=found["digest"],
        chain=_figures(found),
        differences=[]
        if same
        else [
            Difference(
                kind="digest", field="digest", statement=digest.lower(), chain=found["digest"]
            )
        ],
    )


#: The largest statement file the public page accepts.
MAX_FILE = 1024 * 1024


@router.post("/verify", response_model=VerifyResult, responses=THROTTLED)
async def verify_file(
    request: Request,
    chain: ChainDep,
    db: DatabaseDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the statement: its PDF, page or JSON")],
) -> VerifyResult:
    """A whole statement (the PDF, the printable page or the JSON) computed again from the
    chain at its block and compared, field by field: every difference is named."""
    import anyio.to_thread

    data = await file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise ApiError(413, "file_too_large", "a statement file is at most 1 MB")
    try:
        given = parse_statement(data, "the file")
        year, address, block = int(given["year"]), str(given["address"]), int(given["block"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(
            422,
            "not_a_statement",
            "this file holds no Heitje statement: choose the PDF, the page (.html) or the "
            "JSON file of the annual statement",
        ) from None
    await anyio.to_thread.run_sync(_count_check, request, db, settings)
    store: StatementStore = request.app.state.statements
    result = await anyio.to_thread.run_sync(store.verify, chain, settings, given)
    found = result.recomputed
    return VerifyResult(
        matches=result.matches,
        year=year,
        address=address,
        block=block,
        block_hash=found["block_hash"] if found else None,
        digest=found["digest"] if found else None,
        chain=_figures(found) if found else None,
        differences=[Difference(**d) for d in result.details],
    )
