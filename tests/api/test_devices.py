"""Staying signed in on one's own device (api.devices): a device token kept by the browser,
its expiry sliding forward, listed on the account page and revocable at once; and a shop
signing in with its shop code."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from support.service import PASSWORD, Service, open_shop, setup_people

from api.devices import device_name
from api.models import AuditEntry, DeviceSession, now
from api.settings import load_settings
from heitje_chain.errors import ConfigError

PHONE = (
    "Mozilla/5.0 (Linux; Android 13; SM-A146B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


def remember(s: Service, name: str = "R-0001", agent: str = PHONE) -> dict[str, Any]:
    answer = s.http.post(
        "/auth/login",
        json={"username": name, "password": PASSWORD, "remember": True},
        headers={"User-Agent": agent},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["device_token"].startswith("hd1.")
    return body


def test_device_names_are_short_and_plain() -> None:
    assert device_name(PHONE) == "Chrome, Android"
    headless = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36"
    assert device_name(headless) == "Chrome, Linux"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1) Version/17.1 Mobile/15E148 Safari/604.1"
    assert device_name(iphone) == "Safari, iPhone"
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
    assert device_name(firefox) == "Firefox, Windows"
    assert device_name(None) == device_name("") == "browser"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def resume(s: Service, device_token: str) -> Any:
    return s.http.post("/auth/device", json={"device_token": device_token})


def test_a_device_stays_signed_in_and_slides_until_revoked(service: Service) -> None:
    s = service
    p = setup_people(s)
    plain = s.http.post("/auth/login", json={"username": "R-0001", "password": PASSWORD})
    assert plain.json()["device_token"] is None  # only when asked
    phone = remember(s)
    listed = s.call("GET", "/auth/devices", bearer(phone["token"]))
    assert [(d["name"], d["current"]) for d in listed] == [("Chrome, Android", True)]
    assert s.call("GET", "/auth/devices", p.resident)[0]["current"] is False
    with s.app.state.db.session() as session:  # only its HMAC is stored
        (stored,) = session.scalars(select(DeviceSession.token_hash)).all()
        assert phone["device_token"] not in stored and len(stored) == 64
        session.execute(update(DeviceSession).values(expires_at=now() + timedelta(days=1)))
        session.commit()

    # The next visit: the device token gives a new sign-in, and the expiry moves forward.
    again = resume(s, phone["device_token"])
    assert again.status_code == 200 and again.json()["role"] == "resident"
    assert again.json()["device_token"] is None  # the device keeps the one it has
    (row,) = s.call("GET", "/auth/devices", bearer(again.json()["token"]))
    assert row["expires_at"] > (now() + timedelta(days=89)).isoformat()
    # Several tabs opening at once all get in.
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: resume(s, phone["device_token"]), range(5)))
    assert [a.status_code for a in answers] == [200] * 5

    # Revoked from another sign-in: the device's token and its sign-ins stop at once.
    answer = s.http.delete(f"/auth/devices/{row['id']}", headers=p.resident)
    assert answer.status_code == 204
    for token in (phone["token"], again.json()["token"], answers[0].json()["token"]):
        refused = s.http.get("/residents/me", headers=bearer(token))
        assert refused.status_code == 401 and refused.json()["error"] == "bad_token"
    gone = resume(s, phone["device_token"])
    assert gone.status_code == 401 and gone.json()["error"] == "device_signed_out"
    assert s.call("GET", "/auth/devices", p.resident) == []
    assert s.http.get("/residents/me", headers=p.resident).status_code == 200  # others stay
    actions = [e["action"] for e in s.call("GET", "/audit", p.admin)["items"]]
    assert "auth.device_added" in actions and "auth.device_revoked" in actions


def test_a_device_expires_and_a_password_change_ends_it(service: Service) -> None:
    s = service
    setup_people(s)
    phone, tablet = remember(s), remember(s, agent="Mozilla/5.0 (iPad) Safari/605.1.15")
    with s.app.state.db.session(write=True) as session:
        session.execute(
            update(DeviceSession)
            .where(DeviceSession.name == "Chrome, Android")
            .values(expires_at=now() - timedelta(seconds=1))
        )
    expired = resume(s, phone["device_token"])
    assert expired.status_code == 401 and expired.json()["error"] == "device_signed_out"
    assert s.http.get("/residents/me", headers=bearer(phone["token"])).status_code == 401
    assert resume(s, tablet["device_token"]).status_code == 200
    # A changed password ends every device session made before it.
    changed = s.call("POST", "/accounts/me/password", bearer(tablet["token"]), json={
        "old_password": PASSWORD, "new_password": "een nieuw wachtwoord voor heitje"})  # fmt: skip
    assert resume(s, tablet["device_token"]).status_code == 401
    assert s.call("GET", "/auth/devices", bearer(changed["token"])) == []
    # Garbage is refused the same way, and bad input with a 422 in the service's shape.
    assert resume(s, "hd1.not-a-token").json()["error"] == "device_signed_out"
    assert resume(s, phone["token"]).json()["error"] == "device_signed_out"
    bad = s.http.post("/auth/device", json={"device_token": ""})
    assert bad.status_code == 422 and bad.json()["error"]


def test_one_cannot_revoke_anothers_device_and_logout_ends_ones_own(service: Service) -> None:
    s = service
    p = setup_people(s)
    mine = remember(s)
    shop, _ = open_shop(s, p)
    theirs = remember(s, f"merchant-{shop['code'].lower()}")
    (their_row,) = s.call("GET", "/auth/devices", bearer(theirs["token"]))
    refused = s.http.delete(f"/auth/devices/{their_row['id']}", headers=bearer(mine["token"]))
    assert refused.status_code == 404 and refused.json()["error"] == "no_device"
    assert resume(s, theirs["device_token"]).status_code == 200  # untouched
    assert s.http.delete("/auth/devices/0", headers=p.resident).status_code == 422
    assert s.http.delete(f"/auth/devices/{their_row['id']}").status_code == 401

    # Signing out on a device that stays signed in ends that device session.
    assert s.http.post("/auth/logout", headers=bearer(mine["token"])).status_code == 204
    assert resume(s, mine["device_token"]).status_code == 401
    # "Afmelden op alle apparaten"
    second, third = remember(s), remember(s)
    assert s.call("DELETE", "/auth/devices", p.resident) == {"revoked": 2}
    for device in (second, third):
        assert resume(s, device["device_token"]).status_code == 401
    with s.app.state.db.session() as session:
        logged = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("auth.device%"))
        ).all()
    assert "auth.devices_revoked" in logged


def test_a_shop_signs_in_with_its_code(service: Service) -> None:
    s = service
    p = setup_people(s)
    shop, _ = open_shop(s, p)
    for typed in (shop["code"], shop["code"].lower(), f"merchant-{shop['code'].lower()}"):
        answer = s.http.post("/auth/login", json={"username": typed, "password": PASSWORD})
        assert answer.status_code == 200 and answer.json()["role"] == "merchant", typed
    wrong = s.http.post("/auth/login", json={"username": shop["code"], "password": "x" * 12})
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong_login"


def test_the_device_days_setting(tmp_path: Path) -> None:
    env = {"HEITJE_HOME": str(tmp_path)}
    assert load_settings(env).device_session_days == 90
    assert load_settings(env | {"HEITJE_API_DEVICE_SESSION_DAYS": "30"}).device_session_days == 30
    assert load_settings(env | {"HEITJE_API_DEVICE_SESSION_DAYS": "0"}).device_session_days == 0
    for bad in ("-1", "ninety", "4000", "1.5"):
        with pytest.raises(ConfigError, match="HEITJE_API_DEVICE_SESSION_DAYS"):
            load_settings(env | {"HEITJE_API_DEVICE_SESSION_DAYS": bad})
