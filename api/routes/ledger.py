"""The ledger, read-only, for auditors and admins: every event of the contract since its
deployment, from the chain itself (heitje_chain's LedgerReader), searchable and paged, and a
summary per event and per month for the charts.

The events are read from the chain on each request, so what is shown never depends on the
service's database. That is fine for a municipality (thousands of events a year); for a
national roll-out an indexed copy of the events would be needed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from api.deps import ChainDep, DatabaseDep, SettingsDep, require
from api.errors import ApiError
from api.export import Format, Lang, Limit, Offset, listing_of
from api.models import User
from api.schemas import TX_EXAMPLE, Money, Page, example, example_of, money
from api.service_exports import service_exports
from heitje_chain.audit import SignalSettings, audit, rpc_source
from heitje_chain.audit.html import localized_signals, render
from heitje_chain.client import HeitjeClient, text_of
from heitje_chain.events import Event

router = APIRouter(prefix="/ledger", tags=["ledger"])
Reader = Annotated[User, Depends(require("auditor", "admin"))]

#: bytes32 arguments that carry text (a receipt or a bank reference); others are shown as hex.
_TEXT_ARGS = ("receipt", "reference", "bankReference", "paymentReference")


RESIDENT = "0x52908400098527886E0F7030069857D2E4169EE7"
SHOP = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


class LedgerEntry(BaseModel):
    model_config = example(
        {
            "block": 412,
            "at": "2026-11-14T10:32:07Z",
            "tx_hash": TX_EXAMPLE,
            "log_index": 1,
            "event": "Payment",
            "amount": money(475),
            "args": {"from": RESIDENT, "merchant": SHOP, "amount": "475", "receipt": "KASSA-00017"},
        }
    )
    block: int
    at: datetime | None = Field(description="the block's time (UTC)")
    tx_hash: str
    log_index: int
    event: str = Field(examples=["JobRewarded", "Payment", "RedemptionRequested"])
    amount: Money | None = Field(None, description="the event's amount, where it has one")
    args: dict[str, str] = Field(description="every argument of the event, as text")


class EventCount(BaseModel):
    model_config = example({"event": "JobRewarded", "count": 14, "amount": money(24250)})
    event: str
    count: int
    amount: Money


class MonthTotals(BaseModel):
    model_config = example(
        {
            "month": "2026-11",
            "rewards": money(24250),
            "payments": money(6180),
            "refunds": money(250),
            "redemptions": money(4000),
        }
    )
    month: str = Field(examples=["2026-11"])
    rewards: Money
    payments: Money
    refunds: Money
    redemptions: Money


class LedgerSummary(BaseModel):
    model_config = example(
        {"head": 512, "events": [example_of(EventCount)], "months": [example_of(MonthTotals)]}
    )
    head: int
    events: list[EventCount]
    months: list[MonthTotals]


def _text(name: str, value: Any) -> str:
    if isinstance(value, bytes):
        if name in _TEXT_ARGS:
            return text_of(value)
        return "0x" + value.hex()
    return str(value)


def _amount(event: Event) -> int | None:
    for key in ("amount", "value"):
        if key in event.args and isinstance(event.args[key], int):
            return int(event.args[key])
    return None


def _block_times(client: HeitjeClient, blocks: set[int]) -> dict[int, datetime]:
    """The times of `blocks`."""
    return {b: datetime.fromtimestamp(t, UTC) for b, t in client.rpc.block_times(blocks).items()}


def _entry(event: Event, times: dict[int, datetime]) -> LedgerEntry:
    cents = _amount(event)
    return LedgerEntry(
        block=event.block_number,
        at=times.get(event.block_number),
        tx_hash=event.tx_hash,
        log_index=event.log_index,
        event=event.name,
        amount=Money.of(cents) if cents is not None else None,
        args={k: _text(k, v) for k, v in event.args.items()},
    )


def _matches(event: Event, needle: str) -> bool:
    if needle in event.name.lower() or needle in event.tx_hash.lower():
        return True
    return any(needle in _text(k, v).lower() for k, v in event.args.items())


@router.get("", response_model=Page[LedgerEntry])
def ledger(
    _: Reader,
    chain: ChainDep,
    event: Annotated[str | None, Query(max_length=64, description="only this event")] = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="text to find in an address, tx, receipt, ..."),
    ] = None,
    newest_first: bool = False,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[LedgerEntry] | Response:
    """Every contract event from the chain, in chain order (or newest first), with the
    block's time. `event` keeps one kind; `q` searches addresses, transaction hashes,
    receipts and references. `?format=csv` exports every matching event."""
    client = chain.client
    reader = client.ledger()
    events: list[Event] = []
    if event is None:
        events = list(reader.events())
    elif event in client.events.topics:
        events = list(reader.events(names=[event]))
    if q and q.strip():
        needle = q.strip().lower()
        events = [e for e in events if _matches(e, needle)]
    if newest_first:
        events.reverse()
    shown = events if format == "csv" else events[offset : offset + limit]
    times = _block_times(client, {e.block_number for e in shown})
    entries = [_entry(e, times) for e in shown]
    if format == "csv":
        return listing_of(
            entries,
            name="ledger",
            offset=0,
            limit=len(entries),
            format=format,
            lang=lang,
        )
    return Page[LedgerEntry](items=entries, total=len(events), offset=offset, limit=limit)


@router.get("/summary", response_model=LedgerSummary)
def summary(_: Reader, chain: ChainDep) -> LedgerSummary:
    """Counts and amounts per event, and per month the euros rewarded, paid at merchants,
    refunded and redeemed: what the auditor's charts show."""
    client = chain.client
    reader = client.ledger()
    head = reader.head()
    events = list(reader.events(end=head))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in events:
        counts[e.name][0] += 1
        counts[e.name][1] += _amount(e) or 0
    kinds = {
        "JobRewarded": "rewards",
        "Payment": "payments",
        "Refund": "refunds",
        "RedemptionRequested": "redemptions",
    }
    wanted = [e for e in events if e.name in kinds]
    times = _block_times(client, {e.block_number for e in wanted})
    months: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(kinds.values(), 0))
    for e in wanted:
        at = times.get(e.block_number)
        if at is not None:
            months[f"{at:%Y-%m}"][kinds[e.name]] += _amount(e) or 0
    return LedgerSummary(
        head=head,
        events=[
            EventCount(event=name, count=c, amount=Money.of(a))
            for name, (c, a) in sorted(counts.items())
        ],
        months=[
            MonthTotals(month=month, **{k: Money.of(v) for k, v in totals.items()})
            for month, totals in sorted(months.items())
        ],
    )


@router.get(
    "/report",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "the report as one HTML file"}},
)
def report(_: Reader, chain: ChainDep) -> Response:
    """The full audit of the ledger (heitje_chain.audit: supply, rewards, payments,
    redemptions, roles, balances against the node) as an HTML file with its charts."""
    client = chain.client
    result = audit(rpc_source(client))
    block = result.get("block", "")
    return Response(
        render(result),
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="heitje-audit-{block}.html"',
            "X-Content-Type-Options": "nosniff",
        },
    )


class SignalColumn(BaseModel):
    model_config = example({"key": "earned", "label": "verdiend", "amount": True})
    key: str
    label: str = Field(description="the column's heading in the language asked for")
    amount: bool = Field(description="the values are amounts in cents")


class SignalOut(BaseModel):
    model_config = example(
        {
            "name": "quick_approval",
            "status": "look",
            "title": "Goedgekeurd binnen minuten na de claim",
            "looks_for": "een klus met een beloning voor uren werk, goedgekeurd binnen minuten",
            "threshold": "goedgekeurd binnen 30 minuten na de claim, voor klussen met een "
            "beloning van EUR 10.00 of meer (quick_minutes, quick_min_reward)",
            "skipped": "",
            "shown": 1,
            "columns": [example_of(SignalColumn)],
            "records": [{"claim": 41, "job": 12, "minutes": 3, "reward": 1250}],
        }
    )
    name: str
    status: str = Field(description="look (records to look at), quiet or skipped")
    title: str
    looks_for: str
    threshold: str
    skipped: str = Field(description="why it was skipped, or empty")
    shown: int = Field(description="how many records show it (the first 1000 are listed)")
    columns: list[SignalColumn]
    records: list[dict[str, Any]]


class SignalsReport(BaseModel):
    model_config = example(
        {
            "block": 48211,
            "block_hash": "0x" + "5a" * 32,
            "signal_settings": {"cap_days": 60, "loop_count": 3},
            "signals": [example_of(SignalOut)],
        }
    )
    block: int
    block_hash: str
    signal_settings: dict[str, Any]
    signals: list[SignalOut]


@router.get("/signals", response_model=SignalsReport)
def signals(
    _: Reader,
    chain: ChainDep,
    db: DatabaseDep,
    settings: SettingsDep,
    lang: Annotated[Literal["nl", "en"], Query(description="nl (default) or en")] = "nl",
) -> SignalsReport:
    """The audit's fraud signals (the same as `heitje audit`: from the chain and the
    service's claims and jobs), each with its threshold and the records behind it, in Dutch
    or English. The thresholds are the `[audit]` settings of the config file."""
    config = settings.chain
    with db.session() as session:
        exports = service_exports(session)
    try:
        thresholds = SignalSettings.from_mapping(dict(config.audit), "[audit]: ")
    except ValueError as exc:
        raise ApiError(503, "bad_audit_settings", str(exc)) from None
    source = rpc_source(chain.client, max_range=config.log_range, confirmations=config.final_depth)
    report = audit(source, exports=exports, settings=thresholds, balances=False)
    return SignalsReport(
        block=report["block"],
        block_hash=report["block_hash"],
        signal_settings=report["signal_settings"],
        signals=[SignalOut(**s) for s in localized_signals(report, lang)],
    )
