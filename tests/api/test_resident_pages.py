"""What residents' pages need from the API: the shops that accept Heitjes (searchable, by
neighbourhood, without IBAN or wallet), giving a claimed job back (its place freed, only
while claimed), and the SEPA remittance the shop's bank shows, in Dutch. Each test runs on
SQLite and on PostgreSQL."""

from __future__ import annotations

from support.service import PASSWORD, Service, earn, open_shop, post_job, setup_people


def test_residents_find_the_shops_that_accept_heitjes(service: Service) -> None:
    s = service
    p = setup_people(s)
    baker, _ = open_shop(s, p)
    for name, hood in (("Groenteboer Meezenbroek", "Meezenbroek"), ("Kapper 100%", "Palemig")):
        shop = s.call("POST", "/merchants", {}, 201, json={
            "name": name, "neighbourhood": hood, "iban": "NL91ABNA0417164300",
            "password": PASSWORD})  # fmt: skip
        s.call("POST", f"/merchants/{shop['id']}/approve", p.admin)
    waiting = s.call("POST", "/merchants", {}, 201, json={
        "name": "Slagerij Nog Niet", "neighbourhood": "Schandelen", "iban": "NL91ABNA0417164300",
        "password": PASSWORD})  # fmt: skip

    listed = s.call("GET", "/merchants/accepting", p.resident)
    names = [m["name"] for m in listed["items"]]
    assert names == ["Groenteboer Meezenbroek", "Kapper 100%", "Bakkerij Schandelen"]  # by hood
    assert listed["total"] == 3 and waiting["name"] not in names  # only admitted shops
    assert set(listed["items"][0]) == {"name", "code", "neighbourhood"}  # no IBAN, no wallet
    found = s.call("GET", "/merchants/accepting?q=BAKKERIJ", p.resident)["items"]
    assert [m["code"] for m in found] == [baker["code"]]  # capitals do not matter
    by_code = s.call("GET", f"/merchants/accepting?q={baker['code'].lower()}", p.resident)
    assert [m["name"] for m in by_code["items"]] == ["Bakkerij Schandelen"]
    assert [m["name"] for m in s.call(
        "GET", "/merchants/accepting?q=%25", p.resident)["items"]] == ["Kapper 100%"]  # fmt: skip
    hood = s.call("GET", "/merchants/accepting?neighbourhood=meezenbroek", p.resident)["items"]
    assert [m["name"] for m in hood] == ["Groenteboer Meezenbroek"]
    s.call("POST", f"/merchants/{baker['id']}/remove", p.admin)
    after = s.call("GET", "/merchants/accepting", p.resident)["items"]
    assert "Bakkerij Schandelen" not in [m["name"] for m in after]
    refused = s.http.get("/merchants/accepting", headers=p.inspector)
    assert refused.status_code == 403 and refused.json()["error"] == "wrong_role"
    assert s.http.get("/merchants/accepting").status_code == 401


def test_a_resident_gives_a_claimed_job_back(service: Service) -> None:
    s = service
    p = setup_people(s)
    job = post_job(s, p, places=1)
    claim = s.call("POST", f"/jobs/{job['id']}/claim", p.resident, 201)
    assert s.call("GET", f"/jobs/{job['id']}", p.resident)["places_left"] == 0
    back = s.call("POST", f"/claims/{claim['id']}/withdraw", p.resident)
    assert back["status"] == "withdrawn"
    assert s.call("GET", f"/jobs/{job['id']}", p.resident)["places_left"] == 1  # freed
    again = s.http.post(f"/claims/{claim['id']}/withdraw", headers=p.resident)
    assert again.status_code == 409 and again.json()["error"] == "not_claimed"
    late = s.http.post(f"/claims/{claim['id']}/done", headers=p.resident, json={"note": "x"})
    assert late.status_code == 409 and late.json()["error"] == "not_claimed"
    listed = s.call("GET", "/claims?status=withdrawn", p.resident)["items"]
    assert [c["id"] for c in listed] == [claim["id"]]
    # Claimed again later: a new claim, and it counts as a place again.
    second = s.call("POST", f"/jobs/{job['id']}/claim", p.resident, 201)
    assert second["id"] != claim["id"] and second["status"] == "claimed"
    # Work reported done can't be given back; nor can someone else's claim.
    s.call("POST", f"/claims/{second['id']}/done", p.resident, json={"note": "klaar"})
    done = s.http.post(f"/claims/{second['id']}/withdraw", headers=p.resident)
    assert done.status_code == 409 and done.json()["error"] == "not_claimed"
    s.call("POST", "/residents", {}, 201, json={
        "pseudonym": "R-0002", "neighbourhood": "Grasbroek", "password": PASSWORD})  # fmt: skip
    other = s.login("R-0002", PASSWORD)
    third = s.call("POST", f"/jobs/{post_job(s, p)['id']}/claim", p.resident, 201)
    foreign = s.http.post(f"/claims/{third['id']}/withdraw", headers=other)
    assert foreign.status_code == 404 and foreign.json()["error"] == "no_claim"
    assert s.call("GET", "/claims", p.resident)["items"][-1]["status"] == "claimed"
    log = s.call("GET", "/audit?action=claim.withdraw", p.admin)["items"]
    assert [e["subject"] for e in log] == [f"claim:{claim['id']}"]


def test_the_sepa_remittance_is_in_dutch(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "10.00")
    shop, merchant = open_shop(s, p)
    s.call("POST", "/payments", p.resident, 201, json={
        "merchant_code": shop["code"], "amount": "6.00", "receipt": "BON-1",
        "request_id": "pay-sepa-1"})  # fmt: skip
    done = s.call("POST", "/redemptions", merchant, 201, json={
        "amount": "5.00", "request_id": "redeem-sepa-1"})  # fmt: skip
    admin = p.admin
    s.call("POST", "/staff", admin, 201, json={
        "username": "pm", "password": PASSWORD, "role": "treasurer"})  # fmt: skip
    answer = s.http.get("/redemptions/sepa", headers=s.login("pm", PASSWORD))
    assert answer.status_code == 200
    assert f"<Ustrd>Inwisseling Heitjes nr. {done['id']}</Ustrd>" in answer.text


def test_the_admin_finds_a_resident_whatever_the_capitals(service: Service) -> None:
    s = service
    p = setup_people(s)
    for typed in ("R-0001", "r-0001", " r-0001 "):
        found = s.call("GET", f"/residents?pseudonym={typed}", p.admin)["items"]
        assert [r["id"] for r in found] == [p.resident_id], typed
    assert s.call("GET", "/residents?pseudonym=R-000", p.admin)["items"] == []  # exact name
