"""Redemptions: a merchant exchanges Heitjes for euros; the treasurer sees the open ones,
exports them as a SEPA credit-transfer file for the bank, and records each payout with the
bank's reference on-chain. The redemptions themselves live on-chain."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import payouts
from api.audit import record
from api.deps import ChainDep, DatabaseDep, SessionDep, UserDep, require
from api.errors import ApiError
from api.export import Format, Lang, Limit, Offset, listing_of
from api.models import Merchant, PayoutRecord, RedemptionRequest, User
from api.schemas import Id, Money, Page, Payout, RedemptionCreate, RedemptionPublic
from api.sepa import Debtor, SepaError, Transfer, build_pain001
from heitje_chain.amounts import cents_to_decimal
from heitje_chain.client import Redemption

router = APIRouter(prefix="/redemptions", tags=["redemptions"])
MerchantUser = Annotated[User, Depends(require("merchant"))]
Treasurer = Annotated[User, Depends(require("treasurer"))]


@router.post("", response_model=RedemptionPublic, status_code=201)
def redeem(
    body: RedemptionCreate, user: MerchantUser, db: DatabaseDep, chain: ChainDep
) -> RedemptionPublic:
    """Exchange Heitjes for euros: they are burned now, and paid to the shop's IBAN. Sending
    the same `request_id` again (also while the first is being sent) exchanges once."""
    assert user.merchant_id is not None
    row = payouts.redeem(db, chain, user.merchant_id, int(body.amount), body.request_id)
    with db.session() as session:
        merchant = session.get(Merchant, user.merchant_id)
    if row.redemption_id is None:  # the chain has not answered yet
        raise ApiError(
            503, "redemption_pending",
            "the exchange was sent and is not confirmed yet; ask again with the same request_id",
            {"request": row.id, "status": row.status},
        )  # fmt: skip
    assert merchant is not None
    made = Redemption(
        row.redemption_id, to_checksum_address(merchant.address), row.cents, False, ""
    )
    return _public(made, merchant, Dates({row.redemption_id: row.created_at}))


class Dates:
    """When the service sent each redemption (requested) and the treasurer's payout of it
    (paid), by redemption number; none for those made outside the service."""

    def __init__(
        self, requested: dict[int, datetime] | None = None, paid: dict[int, datetime] | None = None
    ) -> None:
        self.requested = requested or {}
        self.paid = paid or {}

    @classmethod
    def read(cls, session: Session, redemption_id: int | None = None) -> Dates:
        asked = select(RedemptionRequest.redemption_id, RedemptionRequest.created_at).where(
            RedemptionRequest.redemption_id.is_not(None)
        )
        paid = select(PayoutRecord.redemption_id, PayoutRecord.created_at).where(
            PayoutRecord.status == "paid"
        )
        if redemption_id is not None:
            asked = asked.where(RedemptionRequest.redemption_id == redemption_id)
            paid = paid.where(PayoutRecord.redemption_id == redemption_id)
        return cls(
            {int(i): at for i, at in session.execute(asked) if i is not None},
            {int(i): at for i, at in session.execute(paid)},
        )


def _public(r: Redemption, shop: Merchant | None, dates: Dates | None = None) -> RedemptionPublic:
    dates = dates or Dates()
    return RedemptionPublic(
        requested_at=dates.requested.get(r.id),
        paid_at=dates.paid.get(r.id) if r.paid else None,
        id=r.id,
        merchant=shop.name if shop else r.merchant,
        merchant_code=shop.code if shop else None,
        iban=shop.iban if shop else None,
        amount=Money.of(r.cents),
        paid=r.paid,
        bank_reference=r.payment_reference,
    )


def _all(session: SessionDep, chain: ChainDep) -> list[RedemptionPublic]:
    merchants = {m.address: m for m in session.scalars(select(Merchant))}
    dates = Dates.read(session)
    return [_public(r, merchants.get(r.merchant), dates) for r in chain.client.redemptions()]


@router.get("", response_model=Page[RedemptionPublic])
def list_redemptions(
    user: UserDep,
    session: SessionDep,
    chain: ChainDep,
    open_only: Annotated[bool, Query(alias="open", description="only those not paid yet")] = False,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[RedemptionPublic] | Response:
    """Redemptions read from the chain, oldest first; a merchant sees its own. `?format=csv`
    for a spreadsheet."""
    rows = _all(session, chain)
    if user.role == "merchant":
        own = session.get(Merchant, user.merchant_id)
        rows = [r for r in rows if own is not None and r.merchant_code == own.code]
    elif user.role not in ("treasurer", "admin", "auditor"):
        raise ApiError(403, "wrong_role", "redemptions are for merchants, the treasurer and staff")
    rows = [r for r in rows if not (open_only and r.paid)]
    return listing_of(
        rows, name="redemptions", offset=offset, limit=limit, format=format, lang=lang
    )


@router.get("/sepa", response_class=Response)
def sepa_file(
    user: Treasurer,
    session: SessionDep,
    chain: ChainDep,
    debtor_name: Annotated[str, Query(min_length=1, max_length=70)] = "Gemeente Heerlen",
    debtor_iban: Annotated[str, Query(min_length=15, max_length=42)] = "NL91ABNA0417164300",
    execution_date: date | None = None,
) -> Response:
    """The open redemptions as a SEPA credit-transfer file (pain.001.001.03) for the bank."""
    open_rows = [r for r in _all(session, chain) if not r.paid]
    if not open_rows:
        raise ApiError(404, "nothing_open", "there are no open redemptions to pay")
    unknown = [r.id for r in open_rows if r.iban is None]
    if unknown:
        raise ApiError(409, "unknown_merchant", f"redemptions {unknown} have no known IBAN")
    created = datetime.now(UTC)
    try:
        xml = build_pain001(
            Debtor(debtor_name, debtor_iban),
            [
                Transfer(
                    end_to_end_id=f"HEITJE-R{r.id}",
                    creditor_name=r.merchant,
                    creditor_iban=str(r.iban),
                    creditor_bic=None,
                    amount=Decimal(cents_to_decimal(r.amount.cents)),
                    remittance=f"Inwisseling Heitjes nr. {r.id}",  # what the shop's bank shows
                )
                for r in open_rows
            ],
            message_id=f"HEITJE-{created:%Y%m%d%H%M%S}",
            created_at=created,
            execution_date=execution_date or created.date(),
        )
    except SepaError as exc:
        raise ApiError(422, "sepa", str(exc)) from None
    record(
        session, user, "redemptions.export", "sepa", ids=[r.id for r in open_rows],
        cents=sum(r.amount.cents for r in open_rows),
    )  # fmt: skip
    name = f"heitje-payouts-{created:%Y%m%d-%H%M%S}.xml"
    return Response(
        xml,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/{redemption_id}/payout", response_model=RedemptionPublic)
def confirm_payout(
    redemption_id: Id, body: Payout, user: Treasurer, db: DatabaseDep, chain: ChainDep
) -> RedemptionPublic:
    """Record that the bank paid redemption `redemption_id`, with the bank's reference. Once
    per redemption: the same request again answers the same; another reference is refused."""
    payouts.confirm_payout(db, chain, user, redemption_id, body.bank_reference)
    paid = chain.client.redemption(redemption_id)
    with db.session() as session:
        shop = session.scalar(select(Merchant).where(Merchant.address == paid.merchant))
        dates = Dates.read(session, redemption_id)
    return _public(paid, shop, dates)
