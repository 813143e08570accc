"""The service's standing against the chain, for staff: whether the chain forgot blocks the
database has seen, what the last reconciliation repaired (api.reconcile), what is still being
sent, which approved rewards wait for staff (with the chain's reason), and the chain nodes:
which one is in use, and each configured node's head and whether it is cut off (the library's
last check, heitje_chain.rpc; made afresh only when that one is stale)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select

from api.deps import SessionDep, require
from api.models import ChainCursor, Payment, PayoutRecord, RedemptionRequest, Refund, Reward, User
from api.payment_index import CURSOR, PaymentIndex
from api.reconcile import TABLES, Reconciler
from api.schemas import Money, NodeState, ServiceStatus, WaitingReward
from heitje_chain.errors import HeitjeError

router = APIRouter(tags=["status"])
Staff = Annotated[User, Depends(require("admin", "issuer", "inspector", "treasurer", "auditor"))]


@router.get("/status", response_model=ServiceStatus)
def status(_: Staff, session: SessionDep, request: Request) -> ServiceStatus:
    """How the service's records stand against the chain (see the module)."""
    reconciler: Reconciler = request.app.state.worker.reconciler
    index: PaymentIndex = request.app.state.worker.payment_index
    cursor = session.get(ChainCursor, CURSOR)
    nodes: list[NodeState] = []
    in_use: str | None = None
    try:
        rpc = request.app.state.chain.client.rpc
        report = rpc.health().as_dict()
        nodes = [NodeState(**node) for node in report["nodes"]]
        in_use = report["current"]
        head: int | None = rpc.block_number()
    except HeitjeError:
        head = None
    seen = [session.scalar(select(func.max(table.block_number))) for table, _ in TABLES]
    highest = max((b for b in seen if b is not None), default=None)
    last, forgot = reconciler.last, reconciler.last_forgot
    sending = {
        name: session.scalar(select(func.count()).where(table.status == "sending")) or 0
        for name, table in (
            ("payments", Payment), ("refunds", Refund), ("redemptions", RedemptionRequest),
            ("payouts", PayoutRecord),
        )
    }  # fmt: skip
    waiting = session.scalars(
        select(Reward)
        .where(Reward.status == "pending", Reward.last_error.is_not(None))
        .order_by(Reward.id)
        .limit(200)
    )
    return ServiceStatus(
        chain_head=head,
        highest_block_seen=highest,
        chain_forgot=(head is not None and highest is not None and head < highest)
        or bool(last and last.forgot),
        forgot_at=forgot.at if forgot else None,
        forgot_from_block=forgot.forgot_from if forgot else None,
        last_check_at=last.at if last else None,
        last_check_error=last.error if last else None,
        repaired=(forgot.repaired if forgot else last.repaired if last else []),
        sending=sending,
        rewards_waiting=[
            WaitingReward(
                reward=r.id,
                claim=r.claim_id,
                amount=Money.of(r.cents),
                issuer_key=r.issuer_key,
                attempts=r.attempts,
                reason=r.last_error,
                next_attempt_at=r.next_attempt_at,
            )
            for r in waiting
        ],
        wallet_payments_read_to=cursor.block_number if cursor else None,
        wallet_payments_unlisted=index.unknown,
        node_in_use=in_use,
        nodes=nodes,
    )
