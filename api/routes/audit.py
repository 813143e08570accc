"""The audit log: every staff action, in order; for admins and auditors, as JSON or CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import func, select

from api.deps import SessionDep, require
from api.export import Format, csv_response
from api.models import AuditEntry, User
from api.schemas import AuditPublic, Offset, Page

router = APIRouter(prefix="/audit", tags=["audit"])
Reader = Annotated[User, Depends(require("admin", "auditor"))]


@router.get("", response_model=Page[AuditPublic])
def audit_log(
    _: Reader,
    session: SessionDep,
    action: str | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Format = "json",
) -> Page[AuditPublic] | Response:
    """Who did what, when; oldest first. `?format=csv` for a spreadsheet."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = session.scalars(query.order_by(AuditEntry.id).offset(offset).limit(limit)).all()
    items = [AuditPublic.model_validate(e) for e in entries]
    if format == "csv":
        return csv_response(items, "audit")
    return Page(items=items, total=total, offset=offset, limit=limit)
