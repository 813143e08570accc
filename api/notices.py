"""Notices: what happened to a person's jobs and money since they last looked, shown once on
their next visit ("Uw klus 'Bladeren ruimen' is goedgekeurd, € 12,50 betaald").

They are read from the records themselves, never written beside them, so a notice can only
say what the records say now: a reward, refund or payout shows once the chain has it (status
`paid`, its transaction mined), never while it is still being sent, and disappears again if
the reconciler finds the chain lost it. What a user has seen is kept per user
(`notices_seen`). Only the last `DAYS` days count, newest first, at most `LIMIT`.

Kinds (and what each carries):

- `reward_paid` (resident): a job approved and its reward paid on-chain: `title`, `amount`;
- `claim_rejected` (resident): a job rejected by the inspector: `title`, `reason`;
- `refund_paid` (resident): money given back by a shop: `shop`, `amount`, `receipt`;
- `wallet_recovered` (resident): a lost wallet recovered to a new one;
- `payout_paid` (shop): an exchange paid out in euros: `redemption`, `amount`,
  `bank_reference`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from api.models import (
    Claim,
    Job,
    Merchant,
    NoticeSeen,
    Payment,
    PayoutRecord,
    RedemptionRequest,
    Refund,
    Reward,
    User,
    WalletRecovery,
    now,
)

DAYS = 60
LIMIT = 20


@dataclass(frozen=True)
class Notice:
    key: str
    kind: str
    at: datetime
    title: str | None = None
    cents: int | None = None
    reason: str | None = None
    shop: str | None = None
    receipt: str | None = None
    redemption: int | None = None
    bank_reference: str | None = None


def _resident_notices(session: Session, resident_id: int, since: datetime) -> list[Notice]:
    found: list[Notice] = []
    paid_at = func.coalesce(Reward.paid_at, Reward.created_at)
    for reward_id, title, cents, at in session.execute(
        select(Reward.id, Job.title, Reward.cents, paid_at)
        .join(Claim, Reward.claim_id == Claim.id)
        .join(Job, Claim.job_id == Job.id)
        .where(Claim.resident_id == resident_id, Reward.status == "paid", paid_at >= since)
    ):
        found.append(Notice(f"reward:{reward_id}", "reward_paid", at, title=title, cents=cents))
    for claim_id, title, reason, decided in session.execute(
        select(Claim.id, Job.title, Claim.reason, Claim.decided_at)
        .join(Job, Claim.job_id == Job.id)
        .where(
            Claim.resident_id == resident_id,
            Claim.status == "rejected",
            Claim.decided_at >= since,
        )
    ):
        found.append(
            Notice(
                f"rejected:{claim_id}",
                "claim_rejected",
                decided or since,
                title=title,
                reason=reason,
            )
        )
    for refund_id, shop, cents, receipt, at in session.execute(
        select(Refund.id, Merchant.name, Refund.cents, Payment.receipt, Refund.created_at)
        .join(Payment, Refund.payment_id == Payment.id)
        .join(Merchant, Payment.merchant_id == Merchant.id)
        .where(
            Payment.resident_id == resident_id,
            Refund.status == "paid",
            Refund.created_at >= since,
        )
    ):
        found.append(
            Notice(
                f"refund:{refund_id}", "refund_paid", at, shop=shop, cents=cents, receipt=receipt
            )
        )
    for recovery_id, at in session.execute(
        select(WalletRecovery.id, WalletRecovery.created_at).where(
            WalletRecovery.resident_id == resident_id,
            WalletRecovery.status == "done",
            WalletRecovery.created_at >= since,
        )
    ):
        found.append(Notice(f"recovery:{recovery_id}", "wallet_recovered", at))
    return found


def _shop_notices(session: Session, merchant_id: int, since: datetime) -> list[Notice]:
    return [
        Notice(
            f"payout:{payout_id}",
            "payout_paid",
            at,
            cents=cents,
            redemption=redemption,
            bank_reference=reference,
        )
        for payout_id, redemption, cents, reference, at in session.execute(
            select(
                PayoutRecord.id,
                PayoutRecord.redemption_id,
                RedemptionRequest.cents,
                PayoutRecord.bank_reference,
                PayoutRecord.created_at,
            )
            .join(
                RedemptionRequest,
                RedemptionRequest.redemption_id == PayoutRecord.redemption_id,
            )
            .where(
                RedemptionRequest.merchant_id == merchant_id,
                PayoutRecord.status == "paid",
                PayoutRecord.created_at >= since,
            )
        )
    ]


def current(session: Session, user: User) -> list[Notice]:
    """The user's notices not seen yet, newest first (at most LIMIT)."""
    since = max(now() - timedelta(days=DAYS), user.created_at)
    found: list[Notice] = []
    if user.role == "resident" and user.resident_id is not None:
        found = _resident_notices(session, user.resident_id, since)
    elif user.role == "merchant" and user.merchant_id is not None:
        found = _shop_notices(session, user.merchant_id, since)
    if not found:
        return []
    seen = set(
        session.scalars(
            select(NoticeSeen.key).where(
                NoticeSeen.user_id == user.id, NoticeSeen.key.in_([n.key for n in found])
            )
        )
    )
    fresh = [n for n in found if n.key not in seen]
    fresh.sort(key=lambda n: (n.at, n.key), reverse=True)
    return fresh[:LIMIT]


def mark_seen(session: Session, user: User, keys: list[str]) -> int:
    """Mark these of the user's current notices seen (others are ignored); how many were
    new. Two tabs marking the same notice at once both succeed."""
    mine = {n.key for n in current(session, user)} & set(keys)
    if not mine:
        return 0
    rows = [{"user_id": user.id, "key": key, "seen_at": now()} for key in sorted(mine)]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(NoticeSeen).values(rows).on_conflict_do_nothing())
    return len(mine)
