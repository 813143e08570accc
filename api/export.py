"""Lists: a page at a time as JSON (`offset`, `limit`, and the `total` to page through), or
the whole list as a CSV file for a spreadsheet (`?format=csv`): one row per item, amounts in
euros with two decimals.

Amounts are written as numbers (`-3.00` stays a number a spreadsheet adds up); every text cell
goes through `heitje_chain.spreadsheet.safe_cell`, so a text starting with `=`, `+`, `-`, `@`,
a tab or a carriage return is shown as text and never run as a formula.

The column headers are Dutch (`bedrag`, `wijk`, ...: `heitje_chain.columns`) unless the
request asks for English with `lang=en`; the JSON pages keep the API's field names."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Query, Response
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.schemas import Page
from heitje_chain.columns import header
from heitje_chain.spreadsheet import safe_cell

Format = Annotated[
    Literal["json", "csv"],
    Query(description="`json` for one page; `csv` for the whole list as a spreadsheet file"),
]
Offset = Annotated[
    int, Query(ge=0, le=2**31 - 1, description="how many items to skip (0 for the first page)")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many items on the page")]
Lang = Annotated[
    Literal["nl", "en"],
    Query(description="the CSV file's column headers: `nl` (Dutch, the default) or `en`"),
]

T = TypeVar("T", bound=BaseModel)


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"cents", "eur"}:
            return Decimal(value["eur"])  # an amount: a number, written as it is
        return safe_cell(json.dumps(value, sort_keys=True, default=str))
    if isinstance(value, list):
        return safe_cell(json.dumps(value, default=str))
    return safe_cell(value)


def csv_response(items: Sequence[BaseModel], name: str, lang: str = "nl") -> Response:
    rows = [item.model_dump(mode="json") for item in items]
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header(f, lang) for f in fields] or [header("empty", lang)])
    for row in rows:
        writer.writerow([_cell(row[f]) if f in row else "" for f in fields])
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="heitje-{name}-{stamp}.csv"'},
    )


def listing(
    session: Session,
    query: Select[*tuple[Any, ...]],
    out: Callable[..., T],
    *,
    name: str,
    offset: int,
    limit: int,
    format: str,
    lang: str = "nl",
) -> Page[T] | Response:
    """One page of an ordered query, or all of it as CSV. `out` gets each row's columns."""
    if format == "csv":
        return csv_response([out(*row) for row in session.execute(query)], name, lang)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.offset(offset).limit(limit))
    return Page[T](items=[out(*row) for row in rows], total=total, offset=offset, limit=limit)


def listing_of(
    items: Sequence[T], *, name: str, offset: int, limit: int, format: str, lang: str = "nl"
) -> Page[T] | Response:
    """The same for a list already in memory (read from the chain)."""
    if format == "csv":
        return csv_response(items, name, lang)
    page = list(items[offset : offset + limit])
    return Page[T](items=page, total=len(items), offset=offset, limit=limit)
