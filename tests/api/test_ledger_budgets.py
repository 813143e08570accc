"""The read-only views the web app uses for auditors and the municipality: the ledger read
from the chain (`GET /ledger`: pages, newest first, one kind of event, text search, CSV),
its summary per event and month (`GET /ledger/summary`), and the budgets and yearly cap
(`GET /budgets`: an issuer sees only its own budget). Who may read what is checked for every
role. Runs on SQLite and on PostgreSQL, on a real chain with a fresh token per test."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from support.service import PASSWORD, People, Service, finished_claim, post_job, setup_people


def staff(s: Service, p: People, username: str, role: str) -> dict[str, str]:
    s.call("POST", "/staff", p.admin, 201, json={"username": username, "password": PASSWORD,
                                                  "role": role})  # fmt: skip
    return s.login(username, PASSWORD)


def money_moved(s: Service, p: People) -> dict[str, Any]:
    """A reward of 12.50, a payment of 5.00 with receipt LEDGER-0042 and a refund of 1.20,
    through the service: the ledger then has one JobRewarded, Payment and Refund each."""
    claim = finished_claim(s, p, post_job(s, p, reward="12.50"))
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1
    shop = s.call("POST", "/merchants", {}, 201, json={
        "name": "Bakkerij Pelzer", "neighbourhood": "Heerlen-Centrum",
        "iban": "NL91ABNA0417164300", "password": PASSWORD})  # fmt: skip
    s.call("POST", f"/merchants/{shop['id']}/approve", p.admin)
    payment = s.call("POST", "/payments", p.resident, 201, json={
        "merchant_code": shop["code"], "amount": "5.00", "receipt": "LEDGER-0042",
        "request_id": "ledger-test-0001"})  # fmt: skip
    assert payment["status"] == "paid"
    merchant = s.login(f"merchant-{shop['code'].lower()}", PASSWORD)
    refunded = s.call("POST", f"/payments/{payment['id']}/refund", merchant, json={
        "amount": "1.20", "request_id": "ledger-test-refund"})  # fmt: skip
    assert refunded["refunds"][0]["status"] == "paid"
    resident = s.call("GET", "/residents/me", p.resident)["resident"]
    return {"payment": payment, "shop": shop, "resident": resident["address"]}


def test_the_ledger_pages_searches_filters_and_exports(service: Service) -> None:
    s = service
    p = setup_people(s)
    moved = money_moved(s, p)
    auditor = staff(s, p, "accountant", "auditor")

    everything = s.call("GET", "/ledger?limit=1000", auditor)
    events = everything["items"]
    assert everything["total"] == len(events) > 3
    blocks = [(e["block"], e["log_index"]) for e in events]
    assert blocks == sorted(blocks)  # chain order
    names = [e["event"] for e in events]
    assert names.count("JobRewarded") == names.count("Payment") == names.count("Refund") == 1
    assert all(e["at"] is not None for e in events)

    # Pages: the same events, a few at a time, with the same total; newest first reversed.
    paged: list[dict[str, Any]] = []
    for offset in range(0, len(events), 3):
        page = s.call("GET", f"/ledger?offset={offset}&limit=3", p.admin)
        assert page["total"] == len(events) and page["offset"] == offset
        assert len(page["items"]) == min(3, len(events) - offset)
        paged.extend(page["items"])
    assert paged == events
    newest = s.call("GET", "/ledger?newest_first=true&limit=2", auditor)
    assert newest["items"] == list(reversed(events))[:2]
    assert s.call("GET", f"/ledger?offset={len(events)}", auditor)["items"] == []

    # One kind of event; an unknown kind matches nothing.
    payments = s.call("GET", "/ledger?event=Payment", auditor)
    assert payments["total"] == 1
    (payment,) = payments["items"]
    assert payment["amount"]["cents"] == 5_00
    assert payment["args"]["receipt"] == "LEDGER-0042"  # bytes32 shown as its text
    assert payment["args"]["from"].lower() == moved["resident"].lower()
    assert payment["args"]["merchant"].lower() == moved["shop"]["address"].lower()
    reward = s.call("GET", "/ledger?event=JobRewarded", auditor)["items"][0]
    assert reward["amount"]["cents"] == 12_50 and reward["args"]["jobId"].startswith("0x")
    assert s.call("GET", "/ledger?event=NoSuchEvent", auditor) == {
        "items": [], "total": 0, "offset": 0, "limit": 50}  # fmt: skip

    # Text search, in any case: a receipt, a transaction hash, an address.
    found = s.call("GET", "/ledger?q=ledger-0042", auditor)["items"]
    assert {e["event"] for e in found} == {"Payment", "Refund"}  # the refund names the receipt
    assert all("LEDGER-0042" in json.dumps(e["args"]) for e in found)
    by_tx = s.call("GET", f"/ledger?q={payment['tx_hash'].upper()[2:]}", auditor)["items"]
    assert payment in by_tx and all(e["tx_hash"] == payment["tx_hash"] for e in by_tx)
    mine = s.call("GET", f"/ledger?q={moved['resident']}", auditor)["items"]
    assert {"JobRewarded", "Payment", "Refund"} <= {e["event"] for e in mine}
    assert s.call("GET", "/ledger?q=nothing-like-this", auditor)["total"] == 0
    both = s.call("GET", "/ledger?event=Refund&q=LEDGER-0042", auditor)["items"]
    assert [e["event"] for e in both] == ["Refund"] and both[0]["amount"]["cents"] == 1_20

    # CSV: every matching event, not one page, amounts in euros.
    answer = s.http.get("/ledger?format=csv&limit=2&lang=en", headers=auditor)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="heitje-ledger-' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == len(events)
    assert [r["tx_hash"] for r in rows] == [e["tx_hash"] for e in events]
    (paid,) = [r for r in rows if r["event"] == "Payment"]
    assert paid["amount"] == "5.00" and json.loads(paid["args"])["receipt"] == "LEDGER-0042"
    answer = s.http.get("/ledger?format=csv&event=Refund&lang=en", headers=p.admin)
    assert [r["amount"] for r in csv.DictReader(io.StringIO(answer.text))] == ["1.20"]

    # Bad paging is refused in the service's own error shape.
    answer = s.http.get("/ledger?limit=0", headers=auditor)
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_input"


def test_the_ledger_summary_adds_up_per_event_and_month(service: Service) -> None:
    s = service
    p = setup_people(s)
    money_moved(s, p)
    auditor = staff(s, p, "accountant", "auditor")
    summary = s.call("GET", "/ledger/summary", auditor)
    events = s.call("GET", "/ledger?limit=1000", auditor)["items"]
    assert summary["head"] >= max(e["block"] for e in events)
    counts = {c["event"]: c for c in summary["events"]}
    assert sum(c["count"] for c in counts.values()) == len(events)
    for name, count in counts.items():
        of_kind = [e for e in events if e["event"] == name]
        assert count["count"] == len(of_kind)
        assert count["amount"]["cents"] == sum(e["amount"]["cents"] for e in of_kind if e["amount"])
    assert counts["JobRewarded"]["amount"]["cents"] == 12_50
    month = f"{datetime.now(UTC):%Y-%m}"
    (this_month,) = summary["months"]  # a fresh chain: everything happened just now
    assert this_month["month"] == month
    assert {k: v["cents"] for k, v in this_month.items() if k != "month"} == {
        "rewards": 12_50, "payments": 5_00, "refunds": 1_20, "redemptions": 0}  # fmt: skip
    assert s.call("GET", "/ledger/summary", p.admin) == summary


def test_budgets_an_issuer_sees_only_its_own(service: Service) -> None:
    s = service
    p = setup_people(s)  # issuer "Job office" (job-office key), signed in as "jo"
    partner = s.call("POST", "/issuers", p.admin, 201, json={
        "name": "Welzijn Parkstad", "key_name": "partner"})  # fmt: skip
    body = {"username": "welzijn", "password": PASSWORD, "role": "issuer"}
    s.call("POST", "/staff", p.admin, 201, json={**body, "issuer_id": partner["id"]})
    claim = finished_claim(s, p, post_job(s, p, reward="12.50"))
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1

    everyone = s.call("GET", "/budgets", p.admin)
    assert everyone["year"] == datetime.now(UTC).year
    assert everyone["yearly_cap"]["cents"] == s.client.yearly_cap()
    assert everyone["paused"] is False
    left = {i["name"]: i["budget_left"]["cents"] for i in everyone["issuers"]}
    assert left == {"Job office": 10_000_00 - 12_50, "Welzijn Parkstad": 10_000_00}
    for row in everyone["issuers"]:  # the amounts are the chain's
        assert row["budget_left"]["cents"] == s.client.mint_allowance(row["address"])
    assert s.call("GET", "/budgets", staff(s, p, "accountant", "auditor")) == everyone

    own = s.call("GET", "/budgets", p.issuer)
    assert [(i["id"], i["name"]) for i in own["issuers"]] == [(p.issuer_id, "Job office")]
    assert own["yearly_cap"] == everyone["yearly_cap"]
    theirs = s.call("GET", "/budgets", s.login("welzijn", PASSWORD))
    assert [i["name"] for i in theirs["issuers"]] == ["Welzijn Parkstad"]
    assert theirs["issuers"][0]["budget_left"]["cents"] == 10_000_00


def test_ledger_and_budgets_refuse_other_roles(service: Service) -> None:
    s = service
    p = setup_people(s)
    shop = s.call("POST", "/merchants", {}, 201, json={
        "name": "Bakkerij Pelzer", "neighbourhood": "Heerlen-Centrum",
        "iban": "NL91ABNA0417164300", "password": PASSWORD})  # fmt: skip
    people = {
        "resident": p.resident,
        "inspector": p.inspector,
        "treasurer": staff(s, p, "penning", "treasurer"),
        "merchant": s.login(f"merchant-{shop['code'].lower()}", PASSWORD),
        "issuer": p.issuer,
    }
    for role, who in people.items():
        paths = ["/ledger", "/ledger/summary", "/ledger?format=csv"]
        if role != "issuer":
            paths.append("/budgets")
        for path in paths:
            answer = s.http.get(path, headers=who)
            assert answer.status_code == 403, (role, path, answer.text)
            assert answer.json()["error"] == "wrong_role"
            assert role in answer.json()["message"]
    for path in ("/ledger", "/ledger/summary", "/budgets"):
        answer = s.http.get(path)
        assert answer.status_code == 401 and answer.json()["error"] == "not_signed_in"
        answer = s.http.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert answer.status_code == 401


def test_an_admin_sets_a_budget_and_the_cap(service: Service, monkeypatch: Any) -> None:
    s = service
    p = setup_people(s)
    budget = s.call("PUT", f"/budgets/issuers/{p.issuer_id}", p.admin, json={"budget": "250.00"})
    row = budget["issuers"][0]
    assert row["budget_left"]["cents"] == 250_00 == s.client.mint_allowance(row["address"])
    capped = s.call("PUT", "/budgets/cap", p.admin, json={"cap": "1200.00"})
    assert capped["yearly_cap"]["cents"] == 1200_00 == s.client.yearly_cap()
    actions = [e["action"] for e in s.call("GET", "/audit?limit=1000", p.admin)["items"]]
    assert "budget.set" in actions and "cap.set" in actions

    for bad, code in (({"budget": 250}, "invalid_input"), ({"budget": "-1"}, "invalid_input")):
        answer = s.http.put(f"/budgets/issuers/{p.issuer_id}", headers=p.admin, json=bad)
        assert answer.status_code == 422 and answer.json()["error"] == code, answer.text
    answer = s.http.put("/budgets/cap", headers=p.admin, json={"cap": "0"})
    assert answer.status_code == 422 and s.client.yearly_cap() == 1200_00
    assert (
        s.http.put("/budgets/issuers/999", headers=p.admin, json={"budget": "1"}).json()["error"]
        == "no_issuer"
    )
    for who in (p.issuer, p.inspector, p.resident, staff(s, p, "accountant", "auditor")):
        answer = s.http.put("/budgets/cap", headers=who, json={"cap": "1.00"})
        assert answer.status_code == 403 and answer.json()["error"] == "wrong_role"

    # A service without the admin key refuses, and says which command to use instead.
    chain = s.app.state.chain
    chain._signers.clear()
    monkeypatch.delenv("HEITJE_PASSWORD")
    answer = s.http.put("/budgets/cap", headers=p.admin, json={"cap": "1500.00"})
    assert answer.status_code == 409 and answer.json()["error"] == "admin_key_offline"
    assert "`heitje cap set 1500.00`" in answer.json()["message"]
    assert s.client.yearly_cap() == 1200_00
