"""Merchants, payments and redemptions through HTTP on the embedded chain: a shop applies and
is whitelisted, a resident pays it by its code (a repeated request pays once), the shop
redeems, the treasurer exports the SEPA file and records the payout on-chain."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from support.service import (
    IBAN,
    PASSWORD,
    Service,
    earn,
    open_shop,
    setup_people,
)

from api.models import now
from api.sepa import parse_pain001
from api.settle import settle_stale


def test_pay_redeem_export_and_payout(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "30")
    shop, merchant = open_shop(s, p)
    body = {"merchant_code": shop["code"].lower(), "amount": "12.40", "receipt": "BAK-0001",
            "request_id": "app-payment-0001"}  # fmt: skip
    paid = s.call("POST", "/payments", p.resident, 201, json=body)
    assert paid["status"] == "paid" and paid["amount"]["cents"] == 1240
    again = s.call("POST", "/payments", p.resident, 201, json=body)  # a double tap
    assert again["id"] == paid["id"]
    assert s.client.balance(shop["address"]) == 1240  # paid once
    assert s.call("GET", "/residents/me", p.resident)["balance"]["cents"] == 30_00 - 1240
    received = s.call("GET", "/payments", merchant)
    assert [x["receipt"] for x in received["items"]] == ["BAK-0001"]
    assert s.call("GET", "/merchants/me", merchant)["balance"]["cents"] == 1240

    redemption = s.call(
        "POST",
        "/redemptions",
        merchant,
        201,
        json={"amount": "10", "request_id": "redeem-test-0001"},
    )
    assert redemption["amount"]["cents"] == 1000 and not redemption["paid"]
    treasurer_body = {"username": "treas", "password": PASSWORD, "role": "treasurer"}
    s.call("POST", "/staff", p.admin, 201, json=treasurer_body)
    treasurer = s.login("treas", PASSWORD)
    open_ = s.call("GET", "/redemptions?open=true", treasurer)["items"]
    assert [r["id"] for r in open_] == [redemption["id"]] and open_[0]["iban"] == IBAN
    answer = s.http.get("/redemptions/sepa", headers=treasurer)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    parsed = parse_pain001(answer.content)
    assert parsed.number_of_transactions == 1 and parsed.control_sum == Decimal("10.00")
    assert parsed.transfers[0].creditor_iban == IBAN
    assert parsed.transfers[0].end_to_end_id == f"HEITJE-R{redemption['id']}"
    done = s.call(
        "POST", f"/redemptions/{redemption['id']}/payout", treasurer,
        json={"bank_reference": "SEPA NL-2026-000817"},
    )  # fmt: skip
    assert done["paid"] and done["bank_reference"] == "SEPA NL-2026-000817"
    assert s.client.redemption(redemption["id"]).paid
    twice = s.http.post(
        f"/redemptions/{redemption['id']}/payout", headers=treasurer,
        json={"bank_reference": "SEPA NL-2026-000818"},
    )  # fmt: skip
    assert twice.status_code == 409 and twice.json()["error"] == "payout_recorded"
    assert "SEPA NL-2026-000817" in twice.json()["message"]
    assert s.call("GET", "/redemptions?open=true", treasurer)["total"] == 0
    assert s.http.get("/redemptions/sepa", headers=treasurer).json()["error"] == "nothing_open"


def test_payments_that_cannot_be_made(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "5")
    shop, _ = open_shop(s, p)
    base = {"merchant_code": shop["code"], "receipt": "R-1"}
    too_much = s.http.post(
        "/payments", headers=p.resident, json=base | {"amount": "6", "request_id": "req-toomuch"}
    )
    assert too_much.status_code == 409 and too_much.json()["error"] == "payment_refused"
    assert "holds EUR 5.00" in too_much.json()["message"]
    unknown = base | {"merchant_code": "ZZZZZZ", "amount": "1", "request_id": "req-unknown"}
    assert s.http.post("/payments", headers=p.resident, json=unknown).status_code == 404
    for amount in (1.5, "0", "-1", "0.001"):
        bad = base | {"amount": amount, "request_id": "req-bad-amount"}
        assert s.http.post("/payments", headers=p.resident, json=bad).status_code == 422
    applied = s.call(
        "POST", "/merchants", {}, 201,
        json={"name": "Not yet", "neighbourhood": "Palemig", "iban": IBAN, "password": PASSWORD},
    )  # fmt: skip
    pending = base | {"merchant_code": applied["code"], "amount": "1", "request_id": "req-pend"}
    assert s.http.post("/payments", headers=p.resident, json=pending).status_code == 404
    assert s.client.balance(shop["address"]) == 0


def test_merchant_roles_and_bad_iban(service: Service) -> None:
    s = service
    p = setup_people(s)
    typo = {"name": "Fietsen", "neighbourhood": "Grasbroek", "iban": "NL91ABNA0417164301",
            "password": PASSWORD}  # fmt: skip
    answer = s.http.post("/merchants", json=typo)
    assert answer.status_code == 422 and answer.json()["error"] == "bad_iban"
    assert "typo" in answer.json()["message"]
    shop, merchant = open_shop(s, p)
    payment = {
        "merchant_code": shop["code"],
        "amount": "1",
        "receipt": "R",
        "request_id": "r-12345",
    }
    for method, url, who, body in (
        ("POST", f"/merchants/{shop['id']}/approve", merchant, None),
        ("POST", f"/merchants/{shop['id']}/remove", p.inspector, None),
        ("GET", "/redemptions/sepa", p.admin, None),
        ("GET", "/redemptions/sepa", merchant, None),
        ("POST", "/redemptions", p.resident, {"amount": "1", "request_id": "redeem-test-0002"}),
        ("POST", "/payments", merchant, payment),
        ("GET", "/redemptions", p.resident, None),
        ("GET", "/merchants/me", p.resident, None),
    ):
        answer = s.http.request(method, url, headers=who, json=body)
        assert answer.status_code == 403, (method, url, answer.text)
        assert answer.json()["error"] == "wrong_role"
    removed = s.call("POST", f"/merchants/{shop['id']}/remove", p.admin)
    assert removed["status"] == "removed" and not s.client.is_merchant(shop["address"])
    listed = s.call("GET", "/merchants", p.resident)["items"]
    assert shop["code"] not in [m["code"] for m in listed]


def test_a_payment_left_sending_is_settled_from_the_chain(service: Service) -> None:
    """The service died after sending a payment and before noting it (or the chain did not
    answer): the app's retry with the same request id finds out from the chain."""
    from api.models import Payment

    s = service
    p = setup_people(s)
    earn(s, p, "10")
    shop, _ = open_shop(s, p)
    db, chain = s.app.state.db, s.app.state.chain
    address = s.call("GET", "/residents/me", p.resident)["resident"]["address"]
    sent = s.client.pay(chain.wallet(address), shop["address"], 3_00, "KASSA-9")
    crashed = now() - timedelta(minutes=5)  # longer ago than any request can take
    with db.session() as session:
        for cents, receipt, request in (
            (3_00, "KASSA-9", "req-crash-1"),
            (2_00, "KASSA-10", "req-crash-2"),
        ):
            session.add(Payment(resident_id=p.resident_id, merchant_id=shop["id"], cents=cents,
                                receipt=receipt, request_id=request, status="sending",
                                created_at=crashed))  # fmt: skip
    base = {"merchant_code": shop["code"]}
    arrived = s.call("POST", "/payments", p.resident, 201, json=base | {
        "amount": "3", "receipt": "KASSA-9", "request_id": "req-crash-1"})  # fmt: skip
    assert arrived["status"] == "paid" and arrived["tx_hash"] == sent.tx_hash
    lost = s.call("POST", "/payments", p.resident, 201, json=base | {
        "amount": "2", "receipt": "KASSA-10", "request_id": "req-crash-2"})  # fmt: skip
    assert lost["status"] == "failed" and "nothing was paid" in lost["reason"]
    assert s.client.balance(shop["address"]) == 3_00  # paid once, the lost one not at all

    # One nobody asks about again is settled by the worker's sweep.
    sent = s.client.pay(chain.wallet(address), shop["address"], 1_00, "KASSA-11")
    with db.session() as session:
        session.add(Payment(resident_id=p.resident_id, merchant_id=shop["id"], cents=1_00,
                            receipt="KASSA-11", request_id="req-crash-3"))  # fmt: skip
    assert settle_stale(db, chain, timedelta(minutes=2)) == 0  # too recent: may still be sending
    assert settle_stale(db, chain, timedelta(0)) == 1
    listed = s.call("GET", "/payments", p.resident)["items"][0]
    assert listed["receipt"] == "KASSA-11" and listed["tx_hash"] == sent.tx_hash


def test_a_refund_left_sending_is_settled_from_the_chain(service: Service) -> None:
    """The service died after counting a refund: before sending it, or after the chain took
    it. The worker's sweep, or the app's retry with the same request id, settles each from
    the chain: refunded exactly once, or not at all and refundable again."""
    from api.models import Payment, Refund
    from api.routes.payments import refund_reference

    s = service
    p = setup_people(s)
    earn(s, p, "20")
    shop, merchant = open_shop(s, p)
    db, chain = s.app.state.db, s.app.state.chain
    body = {"merchant_code": shop["code"], "amount": "12", "receipt": "BAK-9",
            "request_id": "app-refund-0003"}  # fmt: skip
    paid = s.call("POST", "/payments", p.resident, 201, json=body)
    resident = s.call("GET", "/residents/me", p.resident)["resident"]["address"]

    def crashed(cents: int, request_id: str | None = None) -> str:
        with db.session() as session:
            payment = session.get(Payment, paid["id"])
            refund = Refund(payment=payment, cents=cents, reference="", request_id=request_id,
                            created_at=now() - timedelta(minutes=5))  # fmt: skip
            session.add(refund)
            session.flush()
            refund.reference = refund_reference(refund.id, "BAK-9")
            payment.refunded_cents += cents
            return refund.reference

    reference = crashed(2_00)  # ... the chain took it
    sent = s.client.refund(chain.wallet(shop["address"]), resident, 2_00, reference)
    crashed(3_00)  # ... never sent
    crashed(4_00, "app-refund-0004")  # ... never sent, and the app asks again
    assert s.call("GET", "/payments", merchant)["items"][0]["refunded"]["cents"] == 9_00

    again = s.call("POST", f"/payments/{paid['id']}/refund", merchant,
                   json={"amount": "4", "request_id": "app-refund-0004"})  # fmt: skip
    assert [r["status"] for r in again["refunds"]] == ["sending", "sending", "failed"]
    assert again["refunded"]["cents"] == 5_00
    assert settle_stale(db, chain, timedelta(0)) == 2
    settled = s.call("GET", "/payments", merchant)["items"][0]
    assert [(r["status"], r["tx_hash"]) for r in settled["refunds"]] == [
        ("paid", sent.tx_hash),
        ("failed", None),
        ("failed", None),
    ]
    assert "nothing was refunded" in settled["refunds"][1]["reason"]
    assert settled["refunded"]["cents"] == 2_00
    rest = s.call("POST", f"/payments/{paid['id']}/refund", merchant,
                  json={"request_id": "app-refund-0005"})  # fmt: skip
    assert rest["refunded"]["cents"] == 12_00
    twice = s.call("POST", f"/payments/{paid['id']}/refund", merchant,
                   json={"request_id": "app-refund-0005"})  # fmt: skip
    assert twice == rest  # the same refund, not a second one
    assert s.client.balance(resident) == 20_00 and s.client.balance(shop["address"]) == 0


def test_a_merchant_refunds_a_payment_in_parts_never_more(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "20")
    shop, merchant = open_shop(s, p)
    body = {"merchant_code": shop["code"], "amount": "12.40", "receipt": "BAK-7",
            "request_id": "app-refund-0001"}  # fmt: skip
    paid = s.call("POST", "/payments", p.resident, 201, json=body)
    part = s.call("POST", f"/payments/{paid['id']}/refund", merchant, json={"amount": "2.40"})
    assert part["refunded"]["cents"] == 2_40
    rest = s.call("POST", f"/payments/{paid['id']}/refund", merchant, json={})
    assert rest["refunded"]["cents"] == 12_40
    more = s.http.post(f"/payments/{paid['id']}/refund", headers=merchant, json={"amount": "1"})
    assert more.status_code == 422 and more.json()["error"] == "too_much"
    assert s.call("GET", "/residents/me", p.resident)["balance"]["cents"] == 20_00
    assert s.client.balance(shop["address"]) == 0
    assert (
        s.http.post(f"/payments/{paid['id']}/refund", headers=p.resident, json={}).status_code
        == 403
    )
    assert s.http.post("/payments/999/refund", headers=merchant, json={}).status_code == 404
    history = s.call("GET", "/residents/me/history", p.resident)["items"]
    assert sorted(h["kind"] for h in history) == ["payment", "refund", "refund", "reward"]
    assert sum(h["amount"]["cents"] for h in history) == 20_00  # adds up to the balance
    assert s.http.get("/residents/me/history", headers=merchant).status_code == 403


def test_a_refund_the_chain_refuses_is_not_counted(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "10")
    shop, merchant = open_shop(s, p)
    body = {"merchant_code": shop["code"], "amount": "6", "receipt": "BAK-8",
            "request_id": "app-refund-0002"}  # fmt: skip
    paid = s.call("POST", "/payments", p.resident, 201, json=body)
    s.call(
        "POST",
        "/redemptions",
        merchant,
        201,
        json={"amount": "5", "request_id": "redeem-test-0003"},
    )  # only EUR 1 left
    refused = s.http.post(f"/payments/{paid['id']}/refund", headers=merchant, json={})
    assert refused.status_code == 409 and refused.json()["error"] == "ERC20InsufficientBalance"
    listed = s.call("GET", "/payments", merchant)["items"][0]
    assert listed["refunded"]["cents"] == 0  # taken off the count again
    ok = s.call("POST", f"/payments/{paid['id']}/refund", merchant, json={"amount": "1"})
    assert ok["refunded"]["cents"] == 1_00
