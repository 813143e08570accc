"""Notices for the signed-in resident or shop (api.notices): listed until marked seen."""

from __future__ import annotations

from fastapi import APIRouter

from api import notices
from api.deps import SessionDep, UserDep
from api.schemas import Money, NoticeOut, NoticesSeen, SeenOut

router = APIRouter(prefix="/notices", tags=["notices"])


@router.get("", response_model=list[NoticeOut])
def my_notices(user: UserDep, session: SessionDep) -> list[NoticeOut]:
    """What happened since the last visit, newest first: a job approved and paid on-chain, a
    job rejected with its reason, a refund paid, a wallet recovered, an exchange paid out.
    Staff have none. Each stays until `POST /notices/seen`."""
    return [
        NoticeOut(
            key=n.key,
            kind=n.kind,
            at=n.at,
            title=n.title,
            amount=None if n.cents is None else Money.of(n.cents),
            reason=n.reason,
            shop=n.shop,
            receipt=n.receipt,
            redemption=n.redemption,
            bank_reference=n.bank_reference,
        )
        for n in notices.current(session, user)
    ]


@router.post("/seen", response_model=SeenOut)
def seen(body: NoticesSeen, user: UserDep, session: SessionDep) -> SeenOut:
    """Mark notices seen (keys from `GET /notices`); keys that are not the user's current
    notices are ignored."""
    return SeenOut(seen=notices.mark_seen(session, user, body.keys))
