"""The append-only audit log: every staff action, who did it and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.models import AuditEntry, User


def record(session: Session, user: User | None, action: str, subject: str, **details: Any) -> None:
    """Add an entry in the caller's transaction, so it is written if and only if the action
    itself is."""
    session.add(
        AuditEntry(
            actor=user.username if user else "system",
            role=user.role if user else "system",
            action=action,
            subject=subject,
            details={k: v for k, v in details.items() if v is not None},
        )
    )
