"""Wallet sign-in, lost-wallet recovery, and the audit log with its CSV export."""

from __future__ import annotations

import csv
import io

from eth_account import Account
from eth_account.messages import encode_defunct
from support.service import PASSWORD, Service, finished_claim, post_job, setup_people


def test_own_wallet_signs_in_by_signing_a_challenge(service: Service) -> None:
    s = service
    own = Account.create()
    body = {"pseudonym": "R-own", "neighbourhood": "Musschemig", "wallet": own.address}
    assert s.http.post("/residents", json=body).status_code == 201
    challenge = s.http.post("/auth/challenge", json={"wallet": own.address}).json()
    assert "moves no money" in challenge["text"]
    text = challenge["text"]
    stranger = Account.create()
    forged = stranger.sign_message(encode_defunct(text=text)).signature.hex()
    refused = s.http.post(
        "/auth/wallet", json={"message": text, "signature": "0x" + forged.removeprefix("0x")}
    )
    assert refused.status_code == 401 and refused.json()["error"] == "bad_signature"
    signature = own.sign_message(encode_defunct(text=text)).signature.hex()
    signed = {"message": text, "signature": "0x" + signature.removeprefix("0x")}
    answer = s.http.post("/auth/wallet", json={**signed, "wallet": own.address})
    assert answer.status_code == 200, answer.text
    token = {"Authorization": f"Bearer {answer.json()['token']}"}
    assert s.call("GET", "/residents/me", token)["resident"]["address"] == own.address
    again = s.http.post("/auth/wallet", json=signed)  # a challenge is used once
    assert again.status_code == 401 and again.json()["error"] == "challenge_used"
    unknown = s.http.post("/auth/challenge", json={"wallet": stranger.address})
    assert unknown.status_code == 404
    other = s.http.post("/auth/challenge", json={"wallet": own.address}).json()["text"]
    garbage = {"message": other, "signature": "0" * 132}  # found by schemathesis: was a 500
    assert s.http.post("/auth/wallet", json=garbage).status_code == 401
    me = s.call("GET", "/auth/me", token)
    assert me["role"] == "resident"


def test_lost_wallet_is_recovered_with_its_pending_rewards(service: Service) -> None:
    s = service
    p = setup_people(s)
    first = finished_claim(s, p, post_job(s, p, reward="30"))
    s.call("POST", f"/claims/{first['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1
    second = finished_claim(s, p, post_job(s, p, reward="7.50"))
    s.call("POST", f"/claims/{second['id']}/approve", p.inspector, json={})  # not paid yet
    old = s.call("GET", "/residents/me", p.resident)["resident"]["address"]
    short = s.http.post(f"/residents/{p.resident_id}/recover", headers=p.admin, json={"reason": ""})
    assert short.status_code == 422  # a reason is required
    denied = s.http.post(
        f"/residents/{p.resident_id}/recover", headers=p.inspector, json={"reason": "lost phone"}
    )
    assert denied.status_code == 403
    moved = s.call(
        "POST", f"/residents/{p.resident_id}/recover", p.admin, json={"reason": "phone stolen"}
    )
    new = moved["address"]
    assert new != old and s.client.is_retired(old)
    assert s.client.balance(new) == 30_00 and s.client.balance(old) == 0
    assert s.pay_rewards() == 1  # the pending reward goes to the new wallet
    account = s.call("GET", "/residents/me", p.resident)
    assert account["balance"]["cents"] == 37_50
    assert account["earned_this_year"]["cents"] == 37_50  # the cap cannot be reset
    log = s.call("GET", "/audit?action=resident.recover", p.admin)["items"]
    assert len(log) == 1 and log[0]["details"]["reason"] == "phone stolen"
    assert log[0]["details"]["lost"] == old and log[0]["actor"] == "admin"


def test_audit_log_records_staff_actions_and_exports_csv(service: Service) -> None:
    s = service
    p = setup_people(s)
    claim = finished_claim(s, p, post_job(s, p))
    s.call("POST", f"/claims/{claim['id']}/reject", p.inspector, json={"reason": "not done"})
    s.call(
        "POST",
        "/staff",
        p.admin,
        201,
        json={"username": "aud", "password": PASSWORD, "role": "auditor"},
    )
    auditor = s.login("aud", PASSWORD)
    entries = s.call("GET", "/audit", auditor)["items"]
    actions = [(e["actor"], e["action"]) for e in entries]
    assert ("admin", "issuer.create") in actions
    assert ("jo", "job.post") in actions
    assert ("insp", "claim.reject") in actions
    answer = s.http.get("/audit?format=csv&lang=en", headers=auditor)
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["action"] for r in rows] == [e["action"] for e in entries]
    assert s.http.get("/audit", headers=p.inspector).status_code == 403
    jobs = s.http.get("/jobs?format=csv&lang=en", headers=p.admin).text.splitlines()
    assert jobs[0].startswith("id,issuer,title") and len(jobs) == 2
    assert "12.50" in jobs[1]
