"""The chain is the source of truth: when it forgets blocks the database has seen (the embedded
chain restored from an older state file, a reorg), the reconciler notices, says so, and
repairs every record the chain no longer has (api.reconcile).

The chain forgets here through anvil's own snapshot and revert, which is exactly what a
restart from an older state file looks like to the service: the same chain id and contract,
fewer (or other) blocks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from support.service import (
    PASSWORD,
    People,
    Service,
    earn,
    finished_claim,
    open_shop,
    post_job,
    setup_people,
)

from api.models import AuditEntry, Payment, PayoutRecord, RedemptionRequest, Refund, Reward
from api.payouts import send_payouts


def _treasurer(s: Service, p: People) -> dict[str, str]:
    body = {"username": "treas", "password": PASSWORD, "role": "treasurer"}
    s.call("POST", "/staff", p.admin, 201, json=body)
    return s.login("treas", PASSWORD)


def _state(s: Service) -> dict[str, Any]:
    with s.app.state.db.session() as session:
        return {
            "payments": [(r.status, r.final) for r in session.scalars(select(Payment))],
            "refunds": [(r.status, r.final) for r in session.scalars(select(Refund))],
            "rewards": [(r.status, r.final) for r in session.scalars(select(Reward))],
            "redemptions": [
                (r.status, r.final) for r in session.scalars(select(RedemptionRequest))
            ],
            "payouts": [(r.status, r.final) for r in session.scalars(select(PayoutRecord))],
        }


def _paid_and_redeemed(
    s: Service, n: int
) -> tuple[People, dict[str, str], dict[str, str], dict[str, Any], dict[str, Any]]:
    """Staff, a resident who earned EUR 20 and paid a shop EUR 9, and the shop's EUR 5
    redemption: the shop's and the treasurer's sign-ins, the payment and the redemption."""
    p = setup_people(s)
    earn(s, p, "20")
    shop, merchant = open_shop(s, p)
    treasurer = _treasurer(s, p)
    pay = {
        "merchant_code": shop["code"],
        "amount": "9",
        "receipt": f"BON-{n}",
        "request_id": f"pay-000{n}",
    }
    paid = s.call("POST", "/payments", p.resident, 201, json=pay)
    redeemed = s.call(
        "POST", "/redemptions", merchant, 201, json={"amount": "5", "request_id": f"redeem-000{n}"}
    )
    return merchant, treasurer, paid, redeemed


def test_the_chain_forgets_and_the_service_repairs_what_it_lost(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "20")  # before the snapshot: kept
    shop, merchant = open_shop(s, p)
    treasurer = _treasurer(s, p)
    reconciler = s.app.state.worker.reconciler
    rpc = s.client.rpc
    assert reconciler.run().repaired == []
    snapshot = rpc.call("evm_snapshot")

    # After the snapshot: a reward, a payment and a refund, a redemption and its payout.
    claim = finished_claim(s, p, post_job(s, p, reward="7.50"))
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1
    pay = {
        "merchant_code": shop["code"],
        "amount": "9",
        "receipt": "BON-1",
        "request_id": "pay-0001",
    }
    paid = s.call("POST", "/payments", p.resident, 201, json=pay)
    s.call("POST", f"/payments/{paid['id']}/refund", merchant, json={"amount": "2"})
    redeemed = s.call(
        "POST", "/redemptions", merchant, 201, json={"amount": "5", "request_id": "redeem-0001"}
    )
    s.call("POST", f"/redemptions/{redeemed['id']}/payout", treasurer,
           json={"bank_reference": "SEPA-1"})  # fmt: skip
    first = reconciler.run()
    assert not first.forgot and first.repaired == []
    assert _state(s) == {  # on anvil every block is final at once
        "payments": [("paid", True)],
        "refunds": [("paid", True)],
        "rewards": [("paid", True), ("paid", True)],
        "redemptions": [("done", True)],
        "payouts": [("paid", True)],
    }
    resident = s.call("GET", "/residents/me", p.resident)["resident"]["address"]
    assert s.client.balance(resident) == 20_00 + 7_50 - 9_00 + 2_00

    # The chain forgets everything after the snapshot, then goes on past the old height,
    # so only the block hashes tell.
    highest = rpc.block_number()
    assert rpc.call("evm_revert", [snapshot]) is True
    for _ in range(highest - rpc.block_number() + 3):
        rpc.call("evm_mine")
    assert rpc.block_number() > highest
    assert s.client.balance(resident) == 20_00

    report = reconciler.run()
    assert report.forgot and report.forgot_from is not None
    assert len(report.repaired) == 4, report.repaired  # the refund goes with its payment
    assert _state(s) == {
        "payments": [("reversed", False)],
        "refunds": [("reversed", False)],
        "rewards": [("paid", True), ("pending", False)],
        "redemptions": [("reversed", False)],
        "payouts": [("sending", False)],
    }
    status = s.call("GET", "/status", p.admin)
    assert status["chain_forgot"] and len(status["repaired"]) == 4
    assert s.http.get("/status", headers=p.resident).status_code == 403
    listed = s.call("GET", "/payments", p.resident)["items"][0]
    assert listed["status"] == "reversed" and "nothing was paid" in listed["reason"]
    assert listed["refunded"]["cents"] == 0
    with s.app.state.db.session() as session:
        actions = {e.action for e in session.scalars(select(AuditEntry))}
    assert {"chain.forgot", "reconcile.reward_pending", "reconcile.payment_reversed",
            "reconcile.redemption_reversed", "reconcile.payout_resend"} <= actions  # fmt: skip

    # The reward is paid again (its job id keeps it exactly once); the service's balance
    # of the resident now equals the chain's again.
    assert s.pay_rewards() == 1
    assert s.client.balance(resident) == 20_00 + 7_50
    assert s.call("GET", "/residents/me", p.resident)["balance"]["cents"] == 27_50
    again = reconciler.run()
    assert not again.forgot and again.repaired == []
    # The payout's redemption is gone with the blocks: it is refused, and stays visible.
    assert send_payouts(s.app.state.db, s.app.state.chain, timedelta(0)) == 0
    with s.app.state.db.session() as session:
        payout = session.scalars(select(PayoutRecord)).one()
        assert payout.status == "sending" and payout.reason


def test_a_lost_refund_is_reversed_and_a_lost_payout_sent_again(service: Service) -> None:
    s = service
    merchant, treasurer, paid, redeemed = _paid_and_redeemed(s, 2)
    reconciler = s.app.state.worker.reconciler
    reconciler.run()
    snapshot = s.client.rpc.call("evm_snapshot")
    s.call("POST", f"/payments/{paid['id']}/refund", merchant, json={"amount": "1.50"})
    s.call("POST", f"/redemptions/{redeemed['id']}/payout", treasurer,
           json={"bank_reference": "SEPA-2"})  # fmt: skip
    assert s.client.redemption(redeemed["id"]).paid
    reconciler.run()
    s.client.rpc.call("evm_revert", [snapshot])
    assert not s.client.redemption(redeemed["id"]).paid

    report = reconciler.run()
    assert report.forgot and len(report.repaired) == 2, report.repaired
    listed = s.call("GET", "/payments", merchant)["items"][0]
    assert listed["refunded"]["cents"] == 0
    assert [r["status"] for r in listed["refunds"]] == ["reversed"]
    again_refund = s.call("POST", f"/payments/{paid['id']}/refund", merchant, json={"amount": "4"})
    assert again_refund["refunded"]["cents"] == 4_00  # refundable again
    assert send_payouts(s.app.state.db, s.app.state.chain, timedelta(0)) == 1
    again = s.client.redemption(redeemed["id"])
    assert again.paid and again.payment_reference == "SEPA-2"
    assert _state(s)["payouts"] == [("paid", False)]
    reconciler.run()
    assert _state(s)["payouts"] == [("paid", True)]
    assert _state(s)["payments"] == [("paid", True)]  # before the snapshot: untouched
    assert _state(s)["refunds"] == [("reversed", False), ("paid", True)]


def test_the_same_payout_twice_in_a_row_is_recorded_once(service: Service) -> None:
    s = service
    merchant, treasurer, _, redeemed = _paid_and_redeemed(s, 3)
    repeat = s.call(
        "POST", "/redemptions", merchant, 201, json={"amount": "5", "request_id": "redeem-0003"}
    )
    assert repeat["id"] == redeemed["id"]  # a double tap exchanges once
    assert s.call("GET", "/merchants/me", merchant)["balance"]["cents"] == 4_00
    body = {"bank_reference": "SEPA-3"}
    first = s.call("POST", f"/redemptions/{redeemed['id']}/payout", treasurer, json=body)
    second = s.call("POST", f"/redemptions/{redeemed['id']}/payout", treasurer, json=body)
    assert first == second and first["paid"]
    other = s.http.post(f"/redemptions/{redeemed['id']}/payout", headers=treasurer,
                        json={"bank_reference": "SEPA-4"})  # fmt: skip
    assert other.status_code == 409 and other.json()["error"] == "payout_recorded"
