"""Sign-in security (issue 13): throttling and lock-out kept in the database, the same work
for unknown and known user names, separate namespaces for pseudonyms and staff names, limits
on sign-ups and challenges, argon2id passwords with a policy, EIP-4361 wallet challenges used
once and low-s only; and parallel sign-ups with one pseudonym (issue 12). Each runs on SQLite
and PostgreSQL; the parallel ones over real HTTP against a served app."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.constants import SECPK1_N
from fastapi.testclient import TestClient
from siwe import SiweMessage
from sqlalchemy import select, update
from support.service import PASSWORD, Service, setup_people

from api.main import create_app
from api.models import Challenge, User, now
from api.settings import load_settings
from heitje_chain.errors import ConfigError
from heitje_chain.node import free_port


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app behind a real HTTP server on this machine (uvicorn in a thread)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def parallel(n: int, send: Any) -> list[httpx.Response]:
    barrier = threading.Barrier(n)

    def one(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            return send(http)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def login(s: Service, username: str, password: str) -> Any:
    return s.http.post("/auth/login", json={"username": username, "password": password})


# ------------------------------------------------------------------ throttling


def test_wrong_passwords_lock_the_account_for_every_process(service: Service) -> None:
    s = service
    for _ in range(5):  # HEITJE_API_LIMIT_LOGIN_ACCOUNT: 5 per 15 minutes
        assert login(s, "admin", "not the password").status_code == 401
    locked = login(s, "admin", "development-admin")  # even the right one waits now
    assert locked.status_code == 429, locked.text
    assert locked.json()["error"] == "too_many_attempts"
    assert 800 <= int(locked.headers["Retry-After"]) <= 900
    assert locked.json()["details"]["retry_after"] == int(locked.headers["Retry-After"])
    # another process of the service (same database) sees the same lock
    with TestClient(create_app(s.app.state.settings)) as other:
        again = other.post("/auth/login", json={"username": "ADMIN ", "password": "x"})
        assert again.status_code == 429
    # the lock-out is per name: other accounts sign in as usual
    s.call("POST", "/residents", {}, 201, json={
        "pseudonym": "R-9", "neighbourhood": "Palemig", "password": PASSWORD})  # fmt: skip
    assert login(s, "R-9", PASSWORD).status_code == 200
    # when the window has passed, the right password works and clears the count
    with s.app.state.db.session() as session:
        session.execute(text_update_window("login-name:admin"))
    assert login(s, "admin", "development-admin").status_code == 200


def text_update_window(key: str) -> Any:
    from api.models import RateLimit

    return (
        update(RateLimit)
        .where(RateLimit.key == key)
        .values(window_ends=now() - timedelta(seconds=1))
    )


@pytest.mark.parametrize("service_env", [{"HEITJE_API_LIMIT_LOGIN_ADDRESS": "3/900"}])
def test_failed_signins_are_limited_per_client_address(service: Service) -> None:
    s = service
    for name in ("nobody-1", "nobody-2", "admin"):
        assert login(s, name, "wrong wrong wrong").status_code == 401
    over = login(s, "nobody-4", "wrong wrong wrong")
    assert over.status_code == 429 and "Retry-After" in over.headers
    assert login(s, "admin", "development-admin").status_code == 429  # this address waits


@pytest.mark.parametrize("service_env", [{"HEITJE_API_LIMIT_LOGIN_ADDRESS": "3/900"}])
def test_good_signins_do_not_use_up_the_address_limit(service: Service) -> None:
    for _ in range(6):
        assert login(service, "admin", "development-admin").status_code == 200


def test_parallel_wrong_passwords_are_counted_each(service: Service) -> None:
    """20 parallel guesses over real HTTP: exactly 5 are tried, 15 wait (no race past the
    counter)."""
    with served(service.app) as url:
        answers = parallel(20, lambda http: http.post(
            f"{url}/auth/login", json={"username": "admin", "password": "guess"}))  # fmt: skip
    assert Counter(a.status_code for a in answers) == {401: 5, 429: 15}


def test_unknown_and_known_names_do_the_same_password_work(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = service
    setup_people(s)
    calls: list[int] = []
    real = PasswordHasher.verify

    def counted(self: PasswordHasher, hash: str, password: str | bytes) -> bool:
        calls.append(1)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    work = {}
    for name in ("nobody-at-all", "insp", "R-0001", "admin"):
        calls.clear()
        assert login(s, name, "wrong guess here").status_code == 401
        work[name] = len(calls)
    assert set(work.values()) == {2}, work  # a staff name and a pseudonym are both checked


def test_signup_never_reveals_staff_names(service: Service) -> None:
    s = service
    p = setup_people(s)
    for name in ("admin", "insp", "jo"):  # staff user names
        body = {"pseudonym": name, "neighbourhood": "Palemig", "password": f"{PASSWORD} {name}"}
        answer = s.http.post("/residents", json=body)
        assert answer.status_code == 201, answer.text  # not "pseudonym_taken"
    # both sign in with their own passwords, each to their own account
    resident = login(s, "admin", f"{PASSWORD} admin").json()
    assert resident["role"] == "resident"
    staff = login(s, "admin", "development-admin").json()
    assert staff["role"] == "admin"
    assert login(s, "insp", PASSWORD).json()["role"] == "inspector"
    assert s.call("GET", "/auth/me", p.inspector)["username"] == "insp"
    # a pseudonym taken by another resident is still refused
    taken = s.http.post("/residents", json={
        "pseudonym": "admin", "neighbourhood": "Palemig", "password": PASSWORD})  # fmt: skip
    assert taken.status_code == 409 and taken.json()["error"] == "pseudonym_taken"


@pytest.mark.parametrize("service_env", [{"HEITJE_API_LIMIT_SIGNUPS": "3/3600"}])
def test_signups_and_shop_applications_are_limited_per_address(service: Service) -> None:
    s = service
    for i in range(2):
        s.call("POST", "/residents", {}, 201, json={
            "pseudonym": f"R-{i}", "neighbourhood": "Palemig", "password": PASSWORD})  # fmt: skip
    shop = {"name": "Bakkerij", "neighbourhood": "Palemig", "iban": "NL91ABNA0417164300",
            "password": PASSWORD}  # fmt: skip
    assert s.http.post("/merchants", json=shop).status_code == 201
    over = s.http.post("/merchants", json=shop)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 3000
    over = s.http.post("/residents", json={
        "pseudonym": "R-x", "neighbourhood": "Palemig", "password": PASSWORD})  # fmt: skip
    assert over.status_code == 429
    with s.app.state.db.session() as session:  # nothing was made for the refused ones
        made = session.scalars(select(User.id).where(User.role.in_(("resident", "merchant"))))
        assert len(list(made)) == 3


@pytest.mark.parametrize("service_env", [{"HEITJE_API_LIMIT_CHALLENGES": "3/600"}])
def test_challenge_requests_are_limited_per_address(service: Service) -> None:
    s = service
    own = Account.create()
    s.call("POST", "/residents", {}, 201, json={
        "pseudonym": "R-own", "neighbourhood": "Palemig", "wallet": own.address})  # fmt: skip
    for _ in range(3):
        assert s.http.post("/auth/challenge", json={"wallet": own.address}).status_code == 200
    over = s.http.post("/auth/challenge", json={"wallet": own.address})
    assert over.status_code == 429 and "Retry-After" in over.headers


def test_limits_and_password_cost_are_checked_settings(tmp_path: Any) -> None:
    base = {"HEITJE_HOME": str(tmp_path)}
    settings = load_settings(base)
    assert str(settings.limit_login_account) == "5/900"
    assert (settings.password_memory_kib, settings.password_time_cost) == (19456, 2)
    assert str(load_settings({**base, "HEITJE_API_LIMIT_SIGNUPS": "100/60"}).limit_signups) \
        == "100/60"  # fmt: skip
    for bad in ("5", "x/60", "0/60", "5/0"):
        with pytest.raises(ConfigError, match="HEITJE_API_LIMIT_SIGNUPS"):
            load_settings({**base, "HEITJE_API_LIMIT_SIGNUPS": bad})
    production = {
        **base, "HEITJE_API_ENV": "production", "HEITJE_API_SECRET": "s" * 40,
        "HEITJE_WALLET_PASSWORD": "w" * 16, "HEITJE_API_ADMIN_PASSWORD": "a" * 16,
    }  # fmt: skip
    assert load_settings(production).password_memory_kib == 19456
    cheap = {"HEITJE_API_PASSWORD_MEMORY_KIB": "1024", "HEITJE_API_PASSWORD_TIME_COST": "1"}
    assert load_settings({**base, **cheap}).password_memory_kib == 1024  # tests may
    with pytest.raises(ConfigError, match="OWASP"):
        load_settings({**production, **cheap})  # production may not
    strong = {"HEITJE_API_PASSWORD_MEMORY_KIB": "47104", "HEITJE_API_PASSWORD_TIME_COST": "1"}
    assert load_settings({**production, **strong}).password_time_cost == 1


# ------------------------------------------------------------------ passwords


def test_weak_passwords_are_refused_everywhere(service: Service) -> None:
    s = service
    admin = s.login("admin", "development-admin")
    weak = {
        "        ": "only spaces",
        "\x00" * 12: "control",
        "password": "at least 10",
        "12345678": "at least 10",
        "password123": "most used",
        "iloveyou12": "most used",
        "Qwerty123456": "most used",
        "correct\u202ehorse battery": "control",
    }
    for password, reason in weak.items():
        for url, body, who in (
            ("/residents", {"pseudonym": "R-w", "neighbourhood": "Palemig"}, {}),
            ("/staff", {"username": "beheer", "role": "admin"}, admin),
        ):
            answer = s.http.post(url, json={**body, "password": password}, headers=who)
            assert answer.status_code == 422, (password, answer.text)
            assert reason in answer.json()["message"], answer.json()
    good = {"username": "beheer", "role": "admin", "password": "zeven groene fietsen"}
    s.call("POST", "/staff", admin, 201, json=good)


def test_passwords_are_argon2id_and_old_scrypt_hashes_are_upgraded(service: Service) -> None:
    s = service
    s.call("POST", "/residents", {}, 201, json={
        "pseudonym": "R-1", "neighbourhood": "Palemig", "password": PASSWORD})  # fmt: skip
    salt = secrets.token_bytes(16)
    old = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    with s.app.state.db.session() as session:
        fresh = session.scalar(select(User).where(User.role == "resident"))
        assert fresh is not None and fresh.password_hash is not None
        assert fresh.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # test cost
        fresh.password_hash = f"scrypt${2**14}$8$1${salt.hex()}${old.hex()}"  # from before 0005
    assert login(s, "R-1", "not it at all").status_code == 401
    assert login(s, "R-1", PASSWORD).status_code == 200  # an existing user still signs in
    with s.app.state.db.session() as session:
        upgraded = session.scalar(select(User.password_hash).where(User.role == "resident"))
    assert upgraded is not None and upgraded.startswith("$argon2id$")
    assert login(s, "R-1", PASSWORD).status_code == 200


def test_production_cost_is_owasps() -> None:
    from api import security

    security.configure_passwords(19456, 2)
    try:
        digest = security.hash_password("zeven groene fietsen")
        assert digest.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert security.verify_password("zeven groene fietsen", digest).ok
        security.configure_passwords(47104, 1)  # a stronger setting: rehash on sign-in
        assert security.verify_password("zeven groene fietsen", digest).rehash is not None
    finally:
        security.configure_passwords(1024, 1)


# ------------------------------------------------------------------ wallet sign-in


def own_resident(s: Service) -> Any:
    own = Account.create()
    s.call("POST", "/residents", {}, 201, json={
        "pseudonym": "R-own", "neighbourhood": "Palemig", "wallet": own.address})  # fmt: skip
    return own


def signed(account: Any, text: str) -> dict[str, str]:
    signature = account.sign_message(encode_defunct(text=text)).signature.hex()
    return {"message": text, "signature": "0x" + signature.removeprefix("0x")}


def test_challenge_is_an_eip4361_message(service: Service) -> None:
    s = service
    own = own_resident(s)
    answer = s.call("POST", "/auth/challenge", {}, json={"wallet": own.address})
    message = SiweMessage.from_message(answer["text"], abnf=True)  # the spec's own grammar
    assert answer["text"].startswith("testserver wants you to sign in with your Ethereum")
    assert (message.domain, message.address, message.version) == ("testserver", own.address, "1")
    assert message.uri == "http://testserver/app/"
    assert message.chain_id == s.client.chain_id
    assert message.nonce == answer["nonce"] and len(message.nonce) == 32
    assert "moves no money" in message.statement
    issued = message.issued_at._datetime
    expires = message.expiration_time._datetime
    assert expires - issued == timedelta(minutes=5)


def test_asking_a_new_challenge_does_not_void_a_victims(service: Service) -> None:
    s = service
    own = own_resident(s)
    victim = s.call("POST", "/auth/challenge", {}, json={"wallet": own.address})["text"]
    body = signed(own, victim)
    for _ in range(3):  # anyone may ask challenges for this wallet
        s.call("POST", "/auth/challenge", {}, json={"wallet": own.address})
    answer = s.http.post("/auth/wallet", json=body)
    assert answer.status_code == 200, answer.text


def test_parallel_copies_of_one_signature_give_exactly_one_token(service: Service) -> None:
    s = service
    own = own_resident(s)
    text = s.call("POST", "/auth/challenge", {}, json={"wallet": own.address})["text"]
    body = signed(own, text)
    with served(s.app) as url:
        answers = parallel(10, lambda http: http.post(f"{url}/auth/wallet", json=body))
    codes = Counter(a.status_code for a in answers)
    assert codes == {200: 1, 401: 9}, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 401} == {"challenge_used"}


def test_high_s_copy_of_a_signature_is_refused(service: Service) -> None:
    s = service
    own = own_resident(s)
    text = s.call("POST", "/auth/challenge", {}, json={"wallet": own.address})["text"]
    raw = bytes.fromhex(signed(own, text)["signature"][2:])
    r, s_value, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    high = r + (SECPK1_N - s_value).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    recovered = Account.recover_message(encode_defunct(text=text), signature=high)
    assert recovered == own.address  # the copy is a valid signature by the same wallet
    answer = s.http.post("/auth/wallet", json={"message": text, "signature": "0x" + high.hex()})
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"
    assert "low-s" in answer.json()["message"]
    assert s.http.post("/auth/wallet", json=signed(own, text)).status_code == 200


def test_challenge_is_bound_to_its_text_wallet_and_expiry(service: Service) -> None:
    s = service
    own = own_resident(s)
    text = s.call("POST", "/auth/challenge", {}, json={"wallet": own.address})["text"]
    other_domain = text.replace("testserver wants", "evil.example wants", 1)
    answer = s.http.post("/auth/wallet", json=signed(own, other_domain))
    assert answer.status_code == 401 and answer.json()["error"] == "no_challenge"
    longer = text.replace("Expiration Time: 20", "Expiration Time: 29", 1)
    assert s.http.post("/auth/wallet", json=signed(own, longer)).status_code == 401
    not_siwe = s.http.post("/auth/wallet", json=signed(own, "Sign in to Heitje."))
    assert not_siwe.status_code == 401 and not_siwe.json()["error"] == "bad_message"
    wrong = s.http.post(
        "/auth/wallet", json={**signed(own, text), "wallet": Account.create().address}
    )
    assert wrong.status_code == 401
    with s.app.state.db.session() as session:
        session.execute(update(Challenge).values(expires_at=now() - timedelta(seconds=1)))
    expired = s.http.post("/auth/wallet", json=signed(own, text))
    assert expired.status_code == 401 and expired.json()["error"] == "challenge_expired"


# ------------------------------------------------------------------ parallel sign-ups


def test_parallel_signups_with_one_pseudonym_give_one_account_and_no_orphan_wallet(
    service: Service,
) -> None:
    s = service
    wallets = s.app.state.chain.wallets.path("x").parent
    before = set(wallets.glob("*")) if wallets.exists() else set()
    body = {"pseudonym": "HRL-TWIN", "neighbourhood": "Palemig", "password": PASSWORD}
    with served(s.app) as url:
        answers = parallel(10, lambda http: http.post(f"{url}/residents", json=body))
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 9}, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"pseudonym_taken"}
    made = set(wallets.glob("*")) - before
    winner = next(a.json() for a in answers if a.status_code == 201)
    assert [p.name for p in made] == [s.app.state.chain.wallets.path(winner["address"]).name]
    assert login(s, "HRL-TWIN", PASSWORD).status_code == 200


def test_a_crafted_wallet_message_is_refused_at_once(service: Service) -> None:
    """The EIP-4361 grammar's parser takes seconds on some 2,000-character texts: it only
    ever sees a text this service handed out."""
    s = service
    head = "example.com wants you to sign in with your Ethereum account:\n"
    wallet = "0x52908400098527886E0F7030069857D2E4169EE7"
    for text, code in (
        ("0" * 2000, "bad_message"),
        (head + wallet + "\n\n" + "0" * 1800, "bad_message"),
        (head + wallet + "\n\nNonce: " + "a" * 32 + "\n" + "0" * 1800, "no_challenge"),
    ):
        started = time.monotonic()
        answer = s.http.post("/auth/wallet", json={"message": text, "signature": "0x" + "ab" * 65})
        assert answer.status_code == 401 and answer.json()["error"] == code
        assert time.monotonic() - started < 2
