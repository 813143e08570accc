"""CSV exports of the lists staff use (`?format=csv`): one row per item, amounts in euros
with two decimals, opened directly in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import Response
from pydantic import BaseModel

Format = Literal["json", "csv"]


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"cents", "eur"}:
            return value["eur"]
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, list):
        return json.dumps(value, default=str)
    return value


def csv_response(items: Sequence[BaseModel], name: str) -> Response:
    rows = [item.model_dump(mode="json") for item in items]
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields or ["empty"])
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="heitje-{name}-{stamp}.csv"'},
    )
