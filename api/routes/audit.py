"""The audit log: every staff action, in order; for admins and auditors, as JSON or CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from api.deps import SessionDep, require
from api.export import Format, Lang, Limit, Offset, listing
from api.models import AuditEntry, User
from api.schemas import AuditPublic, Page

router = APIRouter(prefix="/audit", tags=["audit"])
Reader = Annotated[User, Depends(require("admin", "auditor"))]


@router.get("", response_model=Page[AuditPublic])
def audit_log(
    _: Reader,
    session: SessionDep,
    action: str | None = None,
    offset: Offset = 0,
    limit: Limit = 100,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[AuditPublic] | Response:
    """Who did what, when; oldest first. `?format=csv` for a spreadsheet."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    return listing(
        session, query.order_by(AuditEntry.id), AuditPublic.model_validate,
        name="audit", offset=offset, limit=limit, format=format, lang=lang,
    )  # fmt: skip
