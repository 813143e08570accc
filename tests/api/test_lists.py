"""Lists page through their items (`offset`, `limit`, `total`) and export all of them as
CSV, whatever the page; each list shows only what the caller may see."""

from __future__ import annotations

import csv
import io

from support.service import PASSWORD, Service, finished_claim, post_job, setup_people

from heitje_chain.columns import field_of

IBAN = "NL91ABNA0417164300"
SHOPS = ["Apotheek Musschemig", "Bakkerij Grasbroek", "Café Pelt", "Fietsen Palemig", "Zuivel"]


def rows(answer_text: str) -> list[dict[str, str]]:
    """A CSV export's rows, by the API's field names (the headers are Dutch)."""
    return [
        {field_of(k): v for k, v in row.items()} for row in csv.DictReader(io.StringIO(answer_text))
    ]


def test_merchants_page_by_page_and_as_csv(service: Service) -> None:
    s = service
    p = setup_people(s)
    ids = []
    for name in reversed(SHOPS):
        body = {"name": name, "neighbourhood": "Grasbroek", "iban": IBAN, "password": PASSWORD}
        ids.append(s.call("POST", "/merchants", {}, 201, json=body)["id"])
    for shop_id in ids[:3]:  # Zuivel, Fietsen Palemig, Café Pelt
        s.call("POST", f"/merchants/{shop_id}/approve", p.admin)

    first = s.call("GET", "/merchants?limit=2", p.admin)
    assert (first["total"], first["offset"], first["limit"]) == (5, 0, 2)
    names = [m["name"] for m in first["items"]]
    rest = s.call("GET", "/merchants?offset=2&limit=2", p.admin)["items"]
    last = s.call("GET", "/merchants?offset=4&limit=2", p.admin)["items"]
    assert names + [m["name"] for m in rest + last] == SHOPS  # by name, each once
    assert s.call("GET", "/merchants?offset=5", p.admin)["items"] == []

    # A resident sees only the approved shops; the status filter narrows staff's list.
    seen = s.call("GET", "/merchants", p.resident)
    assert seen["total"] == 3 and {m["status"] for m in seen["items"]} == {"approved"}
    applied = s.call("GET", "/merchants?status=applied", p.admin)
    assert [m["name"] for m in applied["items"]] == SHOPS[:2]

    # A shop by the code on its sticker: only one that accepts Heitjes.
    zuivel = s.call("GET", "/merchants?status=approved&limit=1000", p.admin)["items"][-1]
    found = s.call("GET", f"/merchants/by-code/{zuivel['code'].lower()}", p.resident)
    assert found == zuivel
    applied_code = s.call("GET", "/merchants?status=applied", p.admin)["items"][0]["code"]
    for code in (applied_code, "ZZZZZZ"):
        answer = s.http.get(f"/merchants/by-code/{code}", headers=p.resident)
        assert answer.status_code == 404 and "sticker" in answer.json()["message"]
    assert s.http.get(f"/merchants/by-code/{zuivel['code']}").status_code == 401

    # CSV: the whole list, not the page.
    answer = s.http.get("/merchants?format=csv&limit=1", headers=p.admin)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert [r["name"] for r in rows(answer.text)] == SHOPS

    for bad in ("limit=0", "limit=1001", "offset=-1", "status=closed", "format=xml"):
        answer = s.http.get(f"/merchants?{bad}", headers=p.admin)
        assert answer.status_code == 422, bad


def test_redemptions_and_history_page(service: Service) -> None:
    s = service
    p = setup_people(s)
    # A shop with 40 Heitjes that redeems 1, 2, 3 and 4 of them.
    body = {"name": "Bakkerij", "neighbourhood": "Grasbroek", "iban": IBAN, "password": PASSWORD}
    shop = s.call("POST", "/merchants", {}, 201, json=body)
    s.call("POST", f"/merchants/{shop['id']}/approve", p.admin)
    merchant = s.login(f"merchant-{shop['code'].lower()}", PASSWORD)
    for _ in range(2):
        claim = finished_claim(s, p, post_job(s, p, reward="20"))
        s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 2
    for n in range(4):
        pay = {"merchant_code": shop["code"], "amount": str(n + 1), "receipt": f"B-{n}"}
        s.call("POST", "/payments", p.resident, 201, json=pay | {"request_id": f"request-{n:04d}"})
    made = [s.call("POST", "/redemptions", merchant, 201, json={
                "amount": str(n + 1), "request_id": f"redeem-list-{n:04d}"})["id"]
            for n in range(4)]  # fmt: skip

    s.call("POST", "/staff", p.admin, 201,
           json={"username": "treas", "password": PASSWORD, "role": "treasurer"})  # fmt: skip
    treasurer = s.login("treas", PASSWORD)
    page = s.call("GET", "/redemptions?limit=3", treasurer)
    assert page["total"] == 4 and [r["id"] for r in page["items"]] == made[:3]
    second = s.call("GET", "/redemptions?offset=3&limit=3", treasurer)["items"]
    assert [r["id"] for r in second] == made[3:]
    s.call("POST", f"/redemptions/{made[0]}/payout", treasurer, json={"bank_reference": "B1"})
    assert s.call("GET", "/redemptions?open=true&limit=1", treasurer)["total"] == 3
    answer = s.http.get("/redemptions?format=csv&limit=1", headers=merchant)
    assert [int(r["id"]) for r in rows(answer.text)] == made  # the merchant's own, all of them

    # The resident's history: 2 rewards and 4 payments, newest first, adding up to the balance.
    history = s.call("GET", "/residents/me/history?limit=4", p.resident)
    assert history["total"] == 6 and len(history["items"]) == 4
    newest = history["items"][0]
    assert (newest["kind"], newest["counterparty"], newest["receipt"]) == (
        "payment",
        "Bakkerij",
        "B-3",
    )
    everything = rows(s.http.get("/residents/me/history?format=csv", headers=p.resident).text)
    assert sum(int(r["amount"].replace(".", "")) for r in everything) == 40_00 - 10_00
    assert s.call("GET", "/residents/me", p.resident)["balance"]["cents"] == 30_00


def test_residents_list_is_for_admins(service: Service) -> None:
    s = service
    p = setup_people(s)
    other = {"pseudonym": "R-0002", "neighbourhood": "Palemig", "password": PASSWORD}
    s.call("POST", "/residents", {}, 201, json=other)
    everyone = s.call("GET", "/residents", p.admin)
    assert [r["pseudonym"] for r in everyone["items"]] == ["R-0001", "R-0002"]
    found = s.call("GET", "/residents?pseudonym=R-0002", p.admin)["items"]
    assert [r["neighbourhood"] for r in found] == ["Palemig"]
    assert s.call("GET", "/residents?neighbourhood=Grasbroek", p.admin)["total"] == 1
    for who in (p.resident, p.inspector, p.issuer):
        answer = s.http.get("/residents", headers=who)
        assert answer.status_code == 403 and answer.json()["error"] == "wrong_role"


def test_large_answers_are_compressed(service: Service) -> None:
    s = service
    p = setup_people(s)
    answer = s.http.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip" and answer.json()["paths"]
    small = s.http.get("/residents/me", headers=p.resident | {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # not worth it under 1,000 bytes
