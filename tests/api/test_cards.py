"""The Heitje card and the municipal desk (issue 16), on SQLite and PostgreSQL: the desk claims
a job for a resident and reports it done, issues a card; the shop's till charges it with the
PIN (exactly once, also when one request is sent by many threads at once); wrong PINs lock it
(ten at once still only three tries), the desk unlocks it, blocks a lost one and issues a new
one; the daily limit; a till charging for another shop. The PIN shows in no answer and in no
audit entry."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import update
from support.service import (
    PASSWORD,
    People,
    Service,
    at_once,
    open_shop,
    post_job,
    setup_people,
)

from api.limits import Limit
from api.models import Card
from api.routes import cards

PIN = "4071"


@pytest.fixture
def service_env() -> dict[str, str]:
    return {"HEITJE_API_CARD_DAILY_LIMIT": "20.00", "HEITJE_API_LIMIT_CARD_TILL": "100/900"}


def desk_login(s: Service, p: People) -> dict[str, str]:
    body = {"username": "balie", "password": PASSWORD, "role": "desk"}
    s.call("POST", "/staff", p.admin, 201, json=body)
    return s.login("balie", PASSWORD)


def earn_at_desk(s: Service, p: People, desk: dict[str, str], reward: str) -> dict[str, Any]:
    """The desk claims a job for the resident and reports it done; the inspector approves."""
    job = post_job(s, p, reward=reward)
    claim = s.call(
        "POST", f"/desk/residents/{p.resident_id}/claims", desk, 201, json={"job_id": job["id"]}
    )
    assert claim["resident"] == "R-0001" and claim["status"] == "claimed"
    done = s.call("POST", f"/desk/claims/{claim['id']}/done", desk, json={"note": "at the desk"})
    assert done["status"] == "done" and done["note"] == "at the desk"
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1
    return done


def charge(
    s: Service, till: dict[str, str], shop: dict[str, Any], number: str, amount: str,
    request_id: str, pin: str = PIN,
) -> Any:  # fmt: skip
    body = {"merchant_code": shop["code"], "card": number, "pin": pin, "amount": amount,
            "receipt": f"T-{request_id}"[:32], "request_id": f"till-{request_id}"}  # fmt: skip
    return s.http.post("/cards/pay", headers=till, json=body)


def balance(s: Service, p: People) -> int:
    return int(s.call("GET", "/residents/me", p.resident)["balance"]["cents"])


@dataclass
class Holder:
    """A resident who earned at the desk and holds a card, and a shop with its till."""

    p: People
    desk: dict[str, str]
    card: dict[str, Any]
    shop: dict[str, Any]
    till: dict[str, str]


def card_holder(s: Service, reward: str) -> Holder:
    p = setup_people(s)
    desk = desk_login(s, p)
    earn_at_desk(s, p, desk, reward)
    card = s.call("POST", f"/residents/{p.resident_id}/cards", desk, 201, json={"pin": PIN})
    shop, till = open_shop(s, p)
    return Holder(p, desk, card, shop, till)


def test_desk_earns_for_a_resident_issues_a_card_and_the_till_charges_it(service: Service) -> None:
    s = service
    p = setup_people(s)
    desk = desk_login(s, p)
    found = s.call("GET", "/desk/residents?q=r-00", desk)["items"]
    assert [r["pseudonym"] for r in found] == ["R-0001"]
    body = {"pseudonym": "R-DESK", "neighbourhood": "Palemig", "password": PASSWORD}
    there = s.call("POST", "/desk/residents", desk, 201, json=body)
    assert there["custodial"] is True and s.login("R-DESK", PASSWORD)
    again = s.http.post("/desk/residents", headers=desk, json=body)
    assert again.status_code == 409 and again.json()["error"] == "pseudonym_taken"
    assert s.http.post("/desk/residents", headers=p.issuer, json=body).status_code == 403
    assert s.http.get("/desk/residents?q=r", headers=p.resident).status_code == 403
    earn_at_desk(s, p, desk, "30.00")
    assert balance(s, p) == 30_00

    weak = s.http.post(f"/residents/{p.resident_id}/cards", headers=desk, json={"pin": "1234"})
    assert weak.status_code == 422 and weak.json()["error"] == "weak_pin"
    letters = s.http.post(f"/residents/{p.resident_id}/cards", headers=desk, json={"pin": "12a4"})
    assert letters.status_code == 422 and "12a4" not in letters.text
    issued = s.call("POST", f"/residents/{p.resident_id}/cards", desk, 201, json={"pin": PIN})
    number = issued["number"]
    assert len(number) == 19 and number.count("-") == 3 and issued["last4"] == number[-4:]
    assert issued["daily_limit"]["cents"] == 20_00 and issued["replaced"] == []
    assert "0x" not in number  # a random number, never an address or a key
    assert s.http.post(f"/residents/{p.resident_id}/cards", headers=p.issuer,
                       json={"pin": PIN}).status_code == 403  # fmt: skip

    shop, till = open_shop(s, p)
    typed = number.lower().replace("-", " ")  # as typed from the card: spaces, small letters
    paid = charge(s, till, shop, typed, "3.40", "card-sale-0001")
    assert paid.status_code == 201, paid.text
    out = paid.json()
    assert out["status"] == "paid" and out["card"] is True and out["resident"] == "R-0001"
    assert out["amount"]["cents"] == 3_40 and out["merchant_code"] == shop["code"]
    assert balance(s, p) == 26_60
    assert s.client.balance(shop["address"]) == 3_40
    history = s.call("GET", "/residents/me/history", p.resident)["items"]
    assert [(i["kind"], i["amount"]["cents"]) for i in history] == [("payment", -3_40),
                                                                    ("reward", 30_00)]  # fmt: skip
    shop_side = s.call("GET", "/payments", till)["items"]
    assert [(x["id"], x["card"]) for x in shop_side] == [(out["id"], True)]

    slip = s.call("POST", f"/desk/residents/{p.resident_id}/slip", desk)
    assert slip["account"]["balance"]["cents"] == 26_60
    assert slip["card_spent_today"]["cents"] == 3_40
    assert [c["status"] for c in slip["cards"]] == ["active"]
    assert [c["status"] for c in slip["claims"]] == ["approved"]
    assert slip["history_total"] == 2

    log = s.call("GET", "/audit?limit=200", p.admin)["items"]
    actions = [e["action"] for e in log]
    done = ("desk.register", "desk.claim", "desk.done", "card.issue", "card.pay", "desk.slip")
    for action in done:
        assert action in actions, action
    assert all(e["actor"] == "balie" for e in log if e["action"].startswith(("desk.", "card.i")))
    assert PIN not in json.dumps(log) and number not in json.dumps(log)


def test_wrong_pins_lock_the_card_ten_at_once_still_three_and_the_desk_unlocks(
    service: Service,
) -> None:
    s = service
    h = card_holder(s, "15.00")
    p, desk, issued, shop, till = h.p, h.desk, h.card, h.shop, h.till
    number, card_id = issued["number"], issued["id"]

    first = charge(s, till, shop, number, "1.00", "wrong-1", pin="9999")
    assert first.status_code == 403 and first.json()["details"] == {"tries_left": 2}
    assert "2 tries left" in first.json()["message"] and "9999" not in first.text
    assert charge(s, till, shop, number, "1.00", "right-1").status_code == 201
    again = charge(s, till, shop, number, "1.00", "wrong-2", pin="9999")
    assert again.json()["details"] == {"tries_left": 2}  # a right PIN starts the count again

    # Ten wrong PINs at once: only the two tries left are checked, then the card is locked.
    answers = at_once([
        lambda i=i: charge(s, till, shop, number, "1.00", f"burst-{i}", pin=f"{5550 + i}")
        for i in range(10)
    ])  # fmt: skip
    codes = sorted(a.json()["error"] for a in answers if not isinstance(a, BaseException))
    assert codes == ["card_locked"] * 8 + ["wrong_pin"] * 2, codes
    locked = charge(s, till, shop, number, "1.00", "right-2")  # the right PIN: too late
    assert locked.status_code == 409 and locked.json()["error"] == "card_locked"
    assert "municipal desk" in locked.json()["message"]
    assert balance(s, p) == 14_00  # only the one right payment
    cards = s.call("GET", f"/residents/{p.resident_id}/cards", desk)
    assert [(c["status"], c["wrong_pins"]) for c in cards] == [("locked", 3)]
    log = s.call("GET", "/audit?limit=200", p.admin)["items"]
    assert [e["action"] for e in log].count("card.wrong_pin") == 4  # 1, then 1 + 2 in a row
    assert [e["action"] for e in log].count("card.locked") == 1

    short = s.http.post(f"/cards/{card_id}/unblock", headers=desk, json={"reason": ""})
    assert short.status_code == 422
    s.call("POST", f"/cards/{card_id}/unblock", desk, json={"reason": "resident at the desk"})
    assert charge(s, till, shop, number, "1.00", "right-3").status_code == 201
    assert balance(s, p) == 13_00
    assert "card.unblock" in [e["action"] for e in s.call("GET", "/audit", p.admin)["items"]]


def test_tries_a_dead_process_counted_lock_the_card(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed after counting PIN tries and before checking them leaves them
    counted on an active card: the next till finds them still counted after the wait for
    checks in progress, and the card is locked then (its status says so), not left active
    with its tries used up."""
    s = service
    h = card_holder(s, "15.00")
    monkeypatch.setattr(cards, "TRY_WAIT", 0.3)
    with s.app.state.db.session(write=True) as session:  # as the killed process left it
        session.execute(update(Card).where(Card.id == h.card["id"]).values(wrong_pins=3))
    refused = charge(s, h.till, h.shop, h.card["number"], "1.00", "after-crash")
    assert refused.status_code == 409 and refused.json()["error"] == "card_locked"
    cards_now = s.call("GET", f"/residents/{h.p.resident_id}/cards", h.desk)
    assert [(c["status"], c["wrong_pins"]) for c in cards_now] == [("locked", 3)]
    log = s.call("GET", "/audit?limit=200", h.p.admin)["items"]
    assert [e["details"] for e in log if e["action"] == "card.locked"] == [
        {"wrong_pins": 3, "unchecked": True}
    ]
    assert balance(s, h.p) == 15_00


def test_a_lost_card_is_blocked_and_replaced_the_balance_stays(service: Service) -> None:
    s = service
    h = card_holder(s, "12.00")
    p, desk, old, shop, till = h.p, h.desk, h.card, h.shop, h.till
    assert charge(s, till, shop, old["number"], "2.00", "before-loss").status_code == 201
    blocked = s.call("POST", f"/cards/{old['id']}/block", desk, json={"reason": "lost at market"})
    assert blocked["status"] == "blocked" and blocked["reason"] == "lost at market"
    stolen = charge(s, till, shop, old["number"], "2.00", "after-loss")
    assert stolen.status_code == 409 and stolen.json()["error"] == "card_blocked"
    assert "desk" in stolen.json()["message"]
    undo = s.http.post(f"/cards/{old['id']}/unblock", headers=desk, json={"reason": "found it"})
    assert undo.status_code == 409 and undo.json()["error"] == "card_blocked"

    new = s.call("POST", f"/residents/{p.resident_id}/cards", desk, 201, json={"pin": "2580"})
    assert new["number"] != old["number"] and new["replaced"] == []
    assert balance(s, p) == 10_00  # the balance stayed with the resident: no recovery
    assert charge(s, till, shop, new["number"], "2.00", "new-card", pin="2580").status_code == 201
    assert charge(s, till, shop, old["number"], "2.00", "old-again").status_code == 409
    # A new card while one is active blocks that one at once.
    third = s.call("POST", f"/residents/{p.resident_id}/cards", desk, 201, json={"pin": "7391"})
    assert third["replaced"] == [new["id"]]
    gone = charge(s, till, shop, new["number"], "1.00", "replaced", pin="2580")
    assert gone.json()["error"] == "card_blocked"
    statuses = [c["status"] for c in s.call("GET", f"/residents/{p.resident_id}/cards", desk)]
    assert statuses == ["active", "blocked", "blocked"]
    assert balance(s, p) == 8_00
    actions = [e["action"] for e in s.call("GET", "/audit?limit=200", p.admin)["items"]]
    assert actions.count("card.issue") == 3 and actions.count("card.block") == 1


def test_daily_limit_unknown_cards_and_another_shops_code(service: Service) -> None:
    s = service
    h = card_holder(s, "40.00")
    p, card, shop, till = h.p, h.card, h.shop, h.till
    assert charge(s, till, shop, card["number"], "15.00", "limit-1").status_code == 201
    over = charge(s, till, shop, card["number"], "6.00", "limit-2")
    assert over.status_code == 409 and over.json()["error"] == "card_daily_limit"
    assert over.json()["details"] == {"limit": 20_00, "left": 5_00}
    assert charge(s, till, shop, card["number"], "5.00", "limit-3").status_code == 201
    # the app's own payments do not count against the card's limit
    s.call("POST", "/payments", p.resident, 201, json={
        "merchant_code": shop["code"], "amount": "1.00", "receipt": "APP-1",
        "request_id": "app-payment-1"})  # fmt: skip
    assert balance(s, p) == 19_00

    other = dict(shop, code="ZZZZZZ")
    refused = charge(s, till, other, card["number"], "1.00", "other-shop")
    assert refused.status_code == 403 and refused.json()["error"] == "other_shop"
    unknown = charge(s, till, shop, "AAAA-BBBB-CCCC-DDDD", "1.00", "unknown-card")
    assert unknown.status_code == 404 and unknown.json()["error"] == "no_card"
    resident_tries = s.http.post("/cards/pay", headers=p.resident, json={
        "merchant_code": shop["code"], "card": card["number"], "pin": PIN, "amount": "1.00",
        "receipt": "R", "request_id": "resident-tries"})  # fmt: skip
    assert resident_tries.status_code == 403  # only a shop's till charges a card
    assert balance(s, p) == 19_00

    # Tries that found no card (or another shop's code) count against the till; right PINs
    # do not. Two so far; at three the till waits.
    s.app.state.settings = replace(s.app.state.settings, limit_card_till=Limit(3, 900))
    assert charge(s, till, shop, "AAAA-BBBB-CCCC-EEEE", "1.00", "guess-1").status_code == 404
    throttled = charge(s, till, shop, "AAAA-BBBB-CCCC-FFFF", "1.00", "guess-2")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert balance(s, p) == 19_00


def test_a_card_payment_is_made_once_also_from_many_threads(service: Service) -> None:
    s = service
    h = card_holder(s, "10.00")
    p, card, shop, till = h.p, h.card, h.shop, h.till
    first = charge(s, till, shop, card["number"], "2.50", "once-only-1")
    second = charge(s, till, shop, card["number"], "2.50", "once-only-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    answers = at_once(
        [lambda: charge(s, till, shop, card["number"], "1.25", "burst-once") for _ in range(8)]
    )
    ids = {a.json()["id"] for a in answers if not isinstance(a, BaseException)}
    statuses = {a.status_code for a in answers if not isinstance(a, BaseException)}
    assert len(answers) == 8 and len(ids) == 1 and statuses == {201}, answers
    assert balance(s, p) == 6_25  # 2.50 once and 1.25 once
    payments = s.call("GET", "/payments", p.resident)["items"]
    assert sorted(x["amount"]["cents"] for x in payments) == [1_25, 2_50]
    # Another shop's till cannot read a payment by reusing its request_id.
    shop2 = s.call("POST", "/merchants", {}, 201, json={
        "name": "Slagerij Grasbroek", "neighbourhood": "Grasbroek",
        "iban": "NL91ABNA0417164300", "password": PASSWORD})  # fmt: skip
    s.call("POST", f"/merchants/{shop2['id']}/approve", p.admin)
    till2 = s.login(f"merchant-{shop2['code'].lower()}", PASSWORD)
    reused = charge(s, till2, shop2, card["number"], "1.25", "burst-once")
    assert reused.status_code == 409 and reused.json()["error"] == "request_id_used"
    assert balance(s, p) == 6_25
