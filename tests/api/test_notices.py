"""Notices on the next visit (api.notices): shown once, each marked seen, and money only once
the chain has it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from support.service import (
    PASSWORD,
    Service,
    earn,
    finished_claim,
    open_shop,
    post_job,
    setup_people,
)


def test_an_approval_shows_once_paid_on_chain_and_only_once(service: Service) -> None:
    s = service
    p = setup_people(s)
    job = post_job(s, p, reward="12.50")
    claim = finished_claim(s, p, job)
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    # Approved, but the reward is not on the chain yet: no notice says money moved.
    assert s.call("GET", "/notices", p.resident) == []
    assert s.pay_rewards() == 1
    (notice,) = s.call("GET", "/notices", p.resident)
    assert notice["kind"] == "reward_paid" and notice["title"] == job["title"]
    assert notice["amount"] == {"cents": 12_50, "eur": "12.50"}
    # Staff have none; another resident does not see it.
    assert s.call("GET", "/notices", p.inspector) == []
    body = {"pseudonym": "R-0002", "neighbourhood": "Grasbroek", "password": PASSWORD}
    s.call("POST", "/residents", {}, 201, json=body)
    other = s.login("R-0002", PASSWORD)
    assert s.call("GET", "/notices", other) == []
    # Another's notice cannot be marked seen by them: it stays for its owner.
    assert s.call("POST", "/notices/seen", other, json={"keys": [notice["key"]]}) == {"seen": 0}
    assert len(s.call("GET", "/notices", p.resident)) == 1
    # Seen from two tabs at once: both succeed, and it is gone for good.
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: s.http.post(
                    "/notices/seen", headers=p.resident, json={"keys": [notice["key"]]}
                ),
                range(4),
            )
        )
    assert [a.status_code for a in answers] == [200] * 4
    assert s.call("GET", "/notices", p.resident) == []
    assert s.call("POST", "/notices/seen", p.resident, json={"keys": [notice["key"]]}) == {
        "seen": 0
    }
    # Bad input is refused in the service's shape and changes nothing.
    bad = s.http.post("/notices/seen", headers=p.resident, json={"keys": []})
    assert bad.status_code == 422 and bad.json()["error"]
    assert s.http.get("/notices").status_code == 401


def test_a_rejection_a_refund_and_a_payout_each_show(service: Service) -> None:
    s = service
    p = setup_people(s)
    job = post_job(s, p, reward="5")
    claim = finished_claim(s, p, job)
    s.call("POST", f"/claims/{claim['id']}/reject", p.inspector, json={"reason": "nog vuil"})
    (rejected,) = s.call("GET", "/notices", p.resident)
    assert rejected["kind"] == "claim_rejected" and rejected["reason"] == "nog vuil"
    assert rejected["amount"] is None
    s.call("POST", "/notices/seen", p.resident, json={"keys": [rejected["key"]]})

    earn(s, p, "20")
    s.call("POST", "/notices/seen", p.resident,
           json={"keys": [n["key"] for n in s.call("GET", "/notices", p.resident)]})  # fmt: skip
    shop, merchant = open_shop(s, p)
    body = {"merchant_code": shop["code"], "amount": "8", "receipt": "BON-1",
            "request_id": "notice-pay-0001"}  # fmt: skip
    paid = s.call("POST", "/payments", p.resident, 201, json=body)
    assert s.call("GET", "/notices", p.resident) == []  # a payment one made oneself: no notice
    s.call("POST", f"/payments/{paid['id']}/refund", merchant, json={"amount": "3"})
    (refund,) = s.call("GET", "/notices", p.resident)
    assert refund["kind"] == "refund_paid" and refund["amount"]["cents"] == 3_00
    assert refund["shop"] == shop["name"] and refund["receipt"] == "BON-1"

    made = s.call("POST", "/redemptions", merchant, 201,
                  json={"amount": "4", "request_id": "notice-redeem-01"})  # fmt: skip
    assert s.call("GET", "/notices", merchant) == []  # not paid out yet
    s.call("POST", "/staff", p.admin, 201,
           json={"username": "treas", "password": PASSWORD, "role": "treasurer"})  # fmt: skip
    treasurer = s.login("treas", PASSWORD)
    s.call("POST", f"/redemptions/{made['id']}/payout", treasurer,
           json={"bank_reference": "SEPA-77"})  # fmt: skip
    (payout,) = s.call("GET", "/notices", merchant)
    assert payout["kind"] == "payout_paid" and payout["redemption"] == made["id"]
    assert payout["amount"]["cents"] == 4_00 and payout["bank_reference"] == "SEPA-77"
    listed = s.call("GET", "/redemptions", treasurer)["items"]
    assert listed[0]["requested_at"] and listed[0]["paid_at"]


def test_a_recovery_shows_and_a_reversed_refund_does_not(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "20")
    s.call("POST", "/notices/seen", p.resident,
           json={"keys": [n["key"] for n in s.call("GET", "/notices", p.resident)]})  # fmt: skip
    s.call("POST", f"/residents/{p.resident_id}/recover", p.admin, json={"reason": "kwijt"})
    (recovered,) = s.call("GET", "/notices", p.resident)
    assert recovered["kind"] == "wallet_recovered"

    # A refund the reconciler found the chain lost is no longer told as money received.
    from sqlalchemy import update

    from api.models import Refund

    shop, merchant = open_shop(s, p)
    body = {"merchant_code": shop["code"], "amount": "2", "receipt": "BON-2",
            "request_id": "notice-pay-0002"}  # fmt: skip
    paid = s.call("POST", "/payments", p.resident, 201, json=body)
    s.call("POST", f"/payments/{paid['id']}/refund", merchant, json={})
    kinds = {n["kind"] for n in s.call("GET", "/notices", p.resident)}
    assert kinds == {"wallet_recovered", "refund_paid"}
    with s.app.state.db.session(write=True) as session:
        session.execute(update(Refund).values(status="reversed"))
    kinds = {n["kind"] for n in s.call("GET", "/notices", p.resident)}
    assert kinds == {"wallet_recovered"}
