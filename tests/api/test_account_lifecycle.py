"""Account lifecycle (issue 13): staff change their own password, an admin switches accounts
off and on (tokens stop at once), and the desk resets a resident's or shop's password with a
one-time code given in person or on paper; every step is in the audit log. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from support.service import PASSWORD, People, Service, setup_people

from api.models import ResetCode, User, now

NEW = "zeven groene fietsen"


def login(s: Service, username: str, password: str) -> Any:
    return s.http.post("/auth/login", json={"username": username, "password": password})


def bearer(answer: Any) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def audit(s: Service, p: People, action: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = s.call("GET", f"/audit?action={action}", p.admin)["items"]
    return items


def test_staff_change_their_own_password(service: Service) -> None:
    s = service
    p = setup_people(s)
    url = "/accounts/me/password"
    wrong = s.http.post(url, headers=p.inspector, json={"old_password": "x", "new_password": NEW})
    assert wrong.status_code == 422 and wrong.json()["error"] == "wrong_password"
    weak = s.http.post(url, headers=p.inspector,
                       json={"old_password": PASSWORD, "new_password": "password123"})  # fmt: skip
    assert weak.status_code == 422 and "most used" in weak.json()["message"]
    same = s.http.post(url, headers=p.inspector,
                       json={"old_password": PASSWORD, "new_password": PASSWORD})  # fmt: skip
    assert same.status_code == 422 and same.json()["error"] == "same_password"
    changed = s.http.post(url, headers=p.inspector,
                          json={"old_password": PASSWORD, "new_password": NEW})  # fmt: skip
    fresh = bearer(changed)
    assert s.http.get("/auth/me", headers=p.inspector).status_code == 401  # older sign-ins end
    assert s.call("GET", "/auth/me", fresh)["username"] == "insp"
    assert login(s, "insp", PASSWORD).status_code == 401
    assert login(s, "insp", NEW).status_code == 200
    log = audit(s, p, "account.password_change")
    assert [(e["actor"], e["subject"]) for e in log] == [
        ("insp", f"user:{changed.json()['user_id']}")
    ]


def test_admin_switches_accounts_off_and_on(service: Service) -> None:
    s = service
    p = setup_people(s)
    inspector_id = s.call("GET", "/auth/me", p.inspector)["id"]
    resident_id = s.call("GET", "/auth/me", p.resident)["id"]
    reason = {"reason": "left the service"}
    denied = s.http.post(f"/accounts/{resident_id}/disable", headers=p.inspector, json=reason)
    assert denied.status_code == 403
    for user_id, token, name in ((inspector_id, p.inspector, "insp"),
                                 (resident_id, p.resident, "R-0001")):  # fmt: skip
        off = s.call("POST", f"/accounts/{user_id}/disable", p.admin, json=reason)
        assert off["active"] is False
        assert s.http.get("/auth/me", headers=token).status_code == 401  # at once
        refused = login(s, name, PASSWORD)
        assert refused.status_code == 401 and refused.json()["error"] == "account_disabled"
        twice = s.http.post(f"/accounts/{user_id}/disable", headers=p.admin, json=reason)
        assert twice.status_code == 409
        on = s.call("POST", f"/accounts/{user_id}/enable", p.admin, json={"reason": "back"})
        assert on["active"] is True
        assert login(s, name, PASSWORD).status_code == 200
    admin_id = s.call("GET", "/auth/me", p.admin)["id"]
    own = s.http.post(f"/accounts/{admin_id}/disable", headers=p.admin, json=reason)
    assert own.status_code == 409 and own.json()["error"] == "own_account"
    assert s.http.post("/accounts/999/disable", headers=p.admin, json=reason).status_code == 404
    log = audit(s, p, "account.disable")
    assert {e["subject"] for e in log} == {f"user:{inspector_id}", f"user:{resident_id}"}
    assert all(e["details"]["reason"] == "left the service" for e in log)
    assert len(audit(s, p, "account.enable")) == 2


def desk_worker(s: Service, p: People) -> dict[str, str]:
    body = {"username": "balie", "password": PASSWORD, "role": "desk"}
    s.call("POST", "/staff", p.admin, 201, json=body)
    return s.login("balie", PASSWORD)


def test_desk_resets_a_residents_password_with_a_one_time_code(service: Service) -> None:
    s = service
    p = setup_people(s)
    desk = desk_worker(s, p)
    found = s.call("GET", "/accounts?q=r-0001", desk)["items"]
    assert [(a["name"], a["role"], a["signs_in_with"]) for a in found] == [
        ("R-0001", "resident", "password")
    ]
    staff = s.call("GET", "/accounts?q=insp", desk)["items"]
    assert staff == []  # the desk sees residents and shops only
    everyone = s.call("GET", "/accounts?q=insp", p.admin)["items"]  # an admin every account
    assert [(a["username"], a["role"]) for a in everyone] == [("insp", "inspector")]
    sheet = s.http.get("/accounts?format=csv&role=resident", headers=p.admin)
    assert sheet.status_code == 200 and "R-0001" in sheet.text
    made = s.call("POST", f"/accounts/{found[0]['id']}/reset-code", desk, 201)
    code = made["code"]
    assert len(code) == 14 and made["sign_in_name"] == "R-0001"
    with s.app.state.db.session() as session:  # only its HMAC is kept
        stored = session.scalars(select(ResetCode.code_hash)).all()
        assert len(stored) == 1 and code not in stored[0] and code.replace("-", "") not in stored[0]
    resident_before = p.resident
    typed = code.lower().replace("-", " ")  # read off paper: case and spacing do not matter
    reset = s.http.post("/auth/reset", json={"name": "R-0001", "code": typed, "new_password": NEW})
    bearer(reset)
    assert s.http.get("/residents/me", headers=resident_before).status_code == 401
    assert login(s, "R-0001", PASSWORD).status_code == 401
    assert login(s, "R-0001", NEW).status_code == 200
    again = s.http.post("/auth/reset", json={"name": "R-0001", "code": code, "new_password": NEW})
    assert again.status_code == 401 and again.json()["error"] == "wrong_code"  # once only
    made_log = audit(s, p, "account.reset_code")
    assert [(e["actor"], e["role"]) for e in made_log] == [("balie", "desk")]
    assert code not in str(made_log)
    used_log = audit(s, p, "account.reset_password")
    assert [e["subject"] for e in used_log] == [f"user:{found[0]['id']}"]
    # the desk may not reset staff; other staff may not make codes
    inspector_id = s.call("GET", "/auth/me", p.inspector)["id"]
    assert s.http.post(f"/accounts/{inspector_id}/reset-code", headers=desk).status_code == 403
    resident_id = found[0]["id"]
    no = s.http.post(f"/accounts/{resident_id}/reset-code", headers=p.inspector)
    assert no.status_code == 403


def test_a_shops_password_is_reset_too(service: Service) -> None:
    s = service
    p = setup_people(s)
    desk = desk_worker(s, p)
    shop = s.call("POST", "/merchants", {}, 201, json={
        "name": "Bakkerij Schandelen", "neighbourhood": "Schandelen",
        "iban": "NL91ABNA0417164300", "password": PASSWORD})  # fmt: skip
    account = s.call("GET", "/accounts?q=bakkerij", desk)["items"][0]
    made = s.call("POST", f"/accounts/{account['id']}/reset-code", desk, 201)
    name = f"merchant-{shop['code'].lower()}"
    assert made["sign_in_name"] == name
    bearer(
        s.http.post("/auth/reset", json={"name": name, "code": made["code"], "new_password": NEW})
    )
    assert login(s, name, NEW).status_code == 200


@pytest.mark.parametrize("service_env", [{"HEITJE_API_RESET_CODE_TRIES": "2"}])
def test_reset_codes_expire_are_replaced_and_allow_few_tries(service: Service) -> None:
    s = service
    p = setup_people(s)
    desk = desk_worker(s, p)
    user_id = s.call("GET", "/auth/me", p.resident)["id"]

    def use(code: str) -> Any:
        return s.http.post(
            "/auth/reset", json={"name": "R-0001", "code": code, "new_password": NEW}
        )

    first = s.call("POST", f"/accounts/{user_id}/reset-code", desk, 201)["code"]
    second = s.call("POST", f"/accounts/{user_id}/reset-code", desk, 201)["code"]
    assert use(first).status_code == 401  # replaced by the newer one
    assert use("AAAA-BBBB-CCCC").status_code == 401  # the second wrong try spends it
    assert use(second).status_code == 401
    third = s.call("POST", f"/accounts/{user_id}/reset-code", desk, 201)["code"]
    with s.app.state.db.session() as session:
        session.execute(update(ResetCode).values(expires_at=now() - timedelta(seconds=1)))
    assert use(third).status_code == 401  # expired
    assert use("").status_code == 422
    fourth = s.call("POST", f"/accounts/{user_id}/reset-code", desk, 201)["code"]
    other = s.http.post("/auth/reset", json={"name": "insp", "code": fourth, "new_password": NEW})
    assert other.status_code == 401  # a code works only for its own account
    assert use(fourth).status_code == 200
    assert login(s, "insp", PASSWORD).status_code == 200  # nothing changed for the inspector


@pytest.mark.parametrize("service_env", [{"HEITJE_API_LIMIT_RESETS": "3/900"}])
def test_reset_tries_are_limited_per_address(service: Service) -> None:
    s = service
    setup_people(s)
    for i in range(3):
        body = {"name": f"R-{i}", "code": "AAAA-BBBB-CCCC", "new_password": NEW}
        assert s.http.post("/auth/reset", json=body).status_code == 401
    over = s.http.post(
        "/auth/reset", json={"name": "R-0001", "code": "A" * 12, "new_password": NEW}
    )
    assert over.status_code == 429 and "Retry-After" in over.headers


def test_own_wallet_accounts_get_no_reset_code(service: Service) -> None:
    from eth_account import Account

    s = service
    p = setup_people(s)
    body = {"pseudonym": "R-own", "neighbourhood": "Palemig", "wallet": Account.create().address}
    s.call("POST", "/residents", {}, 201, json=body)
    with s.app.state.db.session() as session:
        own = session.scalar(select(User.id).where(User.wallet == body["wallet"]))
    answer = s.http.post(f"/accounts/{own}/reset-code", headers=p.admin)
    assert answer.status_code == 409 and answer.json()["error"] == "wallet_account"
