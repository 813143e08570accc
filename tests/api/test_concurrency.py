"""One test per bug of issue 12 (money under parallel requests, crashes and a chain that
forgets), on the in-process service (SQLite and PostgreSQL) with real threads: parallel
refunds beyond the payment, one request_id answered differently, a burst that starves the
pool and unrelated reads, a 500 that is not JSON, the worker stopped by one refusal (one
test per kind of refusal, and the settle sweep), a chain that forgot a payment and a reward,
a recovery onto a wallet another resident has, parallel sign-ups with one pseudonym, and
claims that over-fill a job or pass the yearly cap.

The real service process, kills and the event-by-event reconciliation are in tests/fault.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from support.service import (
    PASSWORD,
    People,
    Service,
    at_once,
    finished_claim,
    post_job,
    setup_people,
)

from api.main import create_app
from heitje_chain.client import text_of
from heitje_chain.keys import LocalSigner

THREADS = 10


def described(answers: list[httpx.Response | BaseException]) -> list[str]:
    def one(a: httpx.Response | BaseException) -> str:
        if isinstance(a, BaseException):
            return f"raised {type(a).__name__}: {str(a)[:80]}"
        try:
            body = a.json()
        except ValueError:
            return f"{a.status_code} (not JSON) {a.text[:60]}"
        return f"{a.status_code} {body.get('error') or body.get('status') or ''}".strip()

    return sorted(one(a) for a in answers)


def codes(answers: list[httpx.Response | BaseException]) -> list[int]:
    return sorted(a.status_code if isinstance(a, httpx.Response) else 500 for a in answers)


def earn(s: Service, p: People, reward: str) -> None:
    claim = finished_claim(s, p, post_job(s, p, reward=reward))
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1


def open_shop(
    s: Service, p: People, name: str = "Bakkerij"
) -> tuple[dict[str, Any], dict[str, str]]:
    body = {
        "name": name,
        "neighbourhood": "Schandelen",
        "iban": "NL91ABNA0417164300",
        "password": PASSWORD,
    }
    shop = s.call("POST", "/merchants", {}, 201, json=body)
    s.call("POST", f"/merchants/{shop['id']}/approve", p.admin)
    return shop, s.login(f"merchant-{shop['code'].lower()}", PASSWORD)


def resident(s: Service, name: str) -> tuple[dict[str, str], dict[str, Any]]:
    body = {"pseudonym": name, "neighbourhood": "Grasbroek", "password": PASSWORD}
    made = s.call("POST", "/residents", {}, 201, json=body)
    return s.login(name, PASSWORD), made


def refunded_on_chain(s: Service, payment_id: int) -> int:
    """EUR cents refunded on-chain for a payment (its refunds' references name it)."""
    db = s.app.state.db
    from api.models import Refund

    with db.session() as session:
        references = {r.reference for r in session.query(Refund).filter_by(payment_id=payment_id)}
    return sum(
        int(e.args["amount"])
        for e in s.client.ledger(confirmations=0).events(names=["Refund"])
        if text_of(e.args["receipt"]) in references
    )


def a_paid_payment(s: Service, p: People, amount: str = "3.00") -> tuple[int, dict[str, str]]:
    earn(s, p, "30")
    shop, merchant = open_shop(s, p)
    body = {
        "merchant_code": shop["code"],
        "amount": amount,
        "receipt": "BON-1",
        "request_id": "pay-to-refund",
    }
    paid = s.call("POST", "/payments", p.resident, 201, json=body)
    assert paid["status"] == "paid"
    return int(paid["id"]), merchant


# ----------------------------------------------------------------------------- refunds


def test_parallel_refunds_never_go_beyond_the_payment(service: Service) -> None:
    """Bug: 10 parallel refunds of EUR 1.00 (different request_ids) on a EUR 3.00 payment
    all went through on-chain while the database counted EUR 3.00."""
    s = service
    p = setup_people(s)
    pid, merchant = a_paid_payment(s, p)
    answers = at_once(
        [
            (
                lambda i=i: s.http.post(
                    f"/payments/{pid}/refund",
                    headers=merchant,
                    json={"amount": "1.00", "request_id": f"tap-refund-{i}"},
                )
            )
            for i in range(THREADS)
        ]
    )
    on_chain = refunded_on_chain(s, pid)
    row = s.call("GET", "/payments", merchant)["items"][0]
    assert on_chain <= 3_00, (on_chain, described(answers))
    assert row["refunded"]["cents"] == on_chain, (row, on_chain)
    assert codes(answers).count(200) == on_chain // 1_00, described(answers)
    assert all(c < 500 for c in codes(answers)), described(answers)


def test_parallel_full_refunds_refund_once(service: Service) -> None:
    """Bug: 10 parallel full refunds (no amount) of one payment gave 5 successes."""
    s = service
    p = setup_people(s)
    pid, merchant = a_paid_payment(s, p)
    answers = at_once(
        [
            (
                lambda i=i: s.http.post(
                    f"/payments/{pid}/refund", headers=merchant, json={"request_id": f"all-{i:04d}"}
                )
            )
            for i in range(THREADS)
        ]
    )
    assert codes(answers).count(200) == 1, described(answers)
    assert all(c < 500 for c in codes(answers)), described(answers)
    assert refunded_on_chain(s, pid) == 3_00


# ----------------------------------------------------------------------------- idempotency


def test_one_request_id_sent_ten_times_at_once_is_one_payment_and_one_answer(
    service: Service,
) -> None:
    """Bug: 10 parallel payments with one request_id answered 500 (IntegrityError), "paid"
    and "failed: nothing was paid; pay again" for one payment that moved the money once."""
    s = service
    p = setup_people(s)
    earn(s, p, "30")
    shop, _ = open_shop(s, p)
    body = {
        "merchant_code": shop["code"],
        "amount": "2.00",
        "receipt": "TAP",
        "request_id": "one-tap-request",
    }
    answers = at_once([lambda: s.http.post("/payments", headers=p.resident, json=body)] * THREADS)
    assert described(answers) == ["201 paid"] * THREADS
    bodies = [a.json() for a in answers if isinstance(a, httpx.Response)]
    assert len({b["id"] for b in bodies}) == 1 and all(b["reason"] is None for b in bodies)
    payments = [
        e
        for e in s.client.ledger(confirmations=0).events(names=["Payment"])
        if text_of(e.args["receipt"]) == "TAP"
    ]
    assert len(payments) == 1
    final = s.call("GET", "/payments", p.resident)["items"]
    assert [(x["status"], x["reason"]) for x in final] == [("paid", None)]


# ----------------------------------------------------------------------------- the pool


def test_a_burst_of_payments_answers_everyone_and_keeps_reads_fast(service: Service) -> None:
    """Bug: 20 parallel payments from one resident exhausted the connection pool (each
    request held a pooled connection across the chain call while `pay()` opened a second
    one): 500s, and another resident's GET /jobs waited 15-29 s."""
    s = service
    p = setup_people(s)
    earn(s, p, "50")
    shop, _ = open_shop(s, p)
    other, _ = resident(s, "R-reader")
    reads: list[float] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            began = time.monotonic()
            s.http.get("/jobs", headers=other)
            reads.append(time.monotonic() - began)
            done.wait(0.05)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        answers = at_once(
            [
                (
                    lambda i=i: s.http.post(
                        "/payments",
                        headers=p.resident,
                        json={
                            "merchant_code": shop["code"],
                            "amount": "1.00",
                            "receipt": f"B-{i}",
                            "request_id": f"burst-pay-{i}",
                        },
                    )
                )
                for i in range(20)
            ]
        )
    finally:
        done.set()
        thread.join(60)
    assert described(answers) == ["201 paid"] * 20
    assert max(reads) < 2.0, f"an unrelated GET /jobs took {max(reads):.1f} s during the burst"


def test_an_unexpected_error_is_a_json_500(service: Service, monkeypatch: Any) -> None:
    """Bug: a 500 came as text/plain "Internal Server Error", not the documented JSON."""
    s = service
    p = setup_people(s)

    def broken(*_: Any) -> int:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(type(s.app.state.chain.client), "balance", broken)
    raw = TestClient(s.app, raise_server_exceptions=False)
    answer = raw.get("/residents/me", headers=p.resident)
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/json"), answer.text
    assert {"error", "message", "details"} <= answer.json().keys()


# ----------------------------------------------------------------------------- the worker


def admin_signer(s: Service) -> LocalSigner:
    signer: LocalSigner = s.app.state.chain.role_signer("admin")
    return signer


def two_rewards(s: Service, p: People, issuer_of_first: int | None = None) -> tuple[int, int]:
    """Two approved claims (rewards pending, the first one older): the first the test
    spoils, the second (another resident's, the job office's) must be paid regardless."""
    first_job = post_job(s, p, reward="12.50")
    if issuer_of_first is not None:  # posted by the admin for another issuer
        body = {
            "title": "Partner job",
            "description": "d",
            "neighbourhood": "Schandelen",
            "reward": "12.50",
            "deadline": first_job["deadline"],
            "issuer_id": issuer_of_first,
        }
        first_job = s.call("POST", "/jobs", p.admin, 201, json=body)
    first = finished_claim(s, p, first_job)
    s.call("POST", f"/claims/{first['id']}/approve", p.inspector, json={})
    other, _ = resident(s, "R-other")
    job = post_job(s, p, reward="5.00")
    claim = s.call("POST", f"/jobs/{job['id']}/claim", other, 201)
    s.call("POST", f"/claims/{claim['id']}/done", other, json={})
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    return int(first["id"]), int(claim["id"])


def claim_of(s: Service, p: People, claim_id: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        c for c in s.call("GET", "/claims?limit=200", p.inspector)["items"] if c["id"] == claim_id
    ]
    assert found, claim_id
    return found[0]


def run_worker(s: Service) -> None:
    """One round of the worker: it must not raise, whatever one reward's refusal."""
    s.app.state.worker.run_once()


@pytest.fixture
def spoiled(service: Service) -> Iterator[tuple[Service, People]]:
    s = service
    yield s, setup_people(s)


def check_refused_one(
    s: Service, p: People, spoilt: int, good: int, words: tuple[str, ...], can_wait: bool
) -> None:
    run_worker(s)
    paid = claim_of(s, p, good)
    assert paid["payment"] == "paid", paid
    refused = claim_of(s, p, spoilt)
    assert refused["payment"] in (("pending", "refused") if can_wait else ("refused",)), refused
    reason = (refused["payment_error"] or "").lower()
    assert any(w in reason for w in words), refused


def test_worker_budget_too_small_for_one_issuer_pays_the_other(spoiled: Any) -> None:
    """Bug: `isinstance(result.error, _WAIT_FOR_STAFF | TransactionFailed)` raises TypeError
    (a tuple | a type): one issuer's budget too small and the worker crashed every round;
    the other issuer's rewards stayed pending and staff saw no reason."""
    s, p = spoiled
    partner = s.call(
        "POST", "/issuers", p.admin, 201, json={"name": "Partner", "key_name": "partner"}
    )
    spoilt, good = two_rewards(s, p, issuer_of_first=partner["id"])
    partner_key = s.app.state.chain.role_signer("partner")
    s.client.set_mint_allowance(admin_signer(s), partner_key.address, 1_00)
    check_refused_one(s, p, spoilt, good, ("allowance", "budget"), can_wait=True)
    assert claim_of(s, p, spoilt)["payment"] == "pending"  # staff can raise the budget


def test_worker_pause_waits_with_its_reason_and_goes_on(spoiled: Any) -> None:
    """The same bug for a paused token: the rewards wait (staff can unpause), with the
    reason shown, and the worker keeps running (the settle sweep included)."""
    s, p = spoiled
    spoilt, good = two_rewards(s, p)
    admin = admin_signer(s)
    s.client.grant_role(admin, "pauser", admin.address)
    s.client.pause(admin)
    run_worker(s)
    for claim in (spoilt, good):
        waiting = claim_of(s, p, claim)
        assert waiting["payment"] == "pending", waiting
        assert "pause" in (waiting["payment_error"] or "").lower(), waiting
    s.client.unpause(admin)
    from api.models import Reward

    with s.app.state.db.session() as session:  # skip the backoff: due now
        for reward in session.query(Reward):
            reward.next_attempt_at = None
    run_worker(s)
    assert claim_of(s, p, good)["payment"] == "paid"


def test_worker_yearly_cap_refuses_one_and_pays_the_other(spoiled: Any) -> None:
    s, p = spoiled
    spoilt, good = two_rewards(s, p)
    office = s.app.state.chain.role_signer("job-office")
    address = s.call("GET", "/residents/me", p.resident)["resident"]["address"]
    room = s.client.room_under_cap(address)  # earned elsewhere meanwhile: the cap is near
    s.client.reward_job(office, "elsewhere-1", address, room - 1_00)
    check_refused_one(s, p, spoilt, good, ("cap",), can_wait=True)


def test_worker_retired_wallet_waits_and_pays_the_other(spoiled: Any) -> None:
    s, p = spoiled
    spoilt, good = two_rewards(s, p)
    address = s.call("GET", "/residents/me", p.resident)["resident"]["address"]
    recovery = s.app.state.chain.role_signer("recovery")
    s.client.recover_wallet(recovery, address, LocalSigner.create().address)  # behind its back
    check_refused_one(s, p, spoilt, good, ("retired", "recover", "lost"), can_wait=True)
    assert claim_of(s, p, spoilt)["payment"] == "pending"  # a recovery points it elsewhere


def test_worker_not_a_resident_is_refused_and_pays_the_other(spoiled: Any) -> None:
    s, p = spoiled
    spoilt, good = two_rewards(s, p)
    address = s.call("GET", "/residents/me", p.resident)["resident"]["address"]
    manager = s.app.state.chain.role_signer("merchant-manager")
    s.client.add_merchant(manager, address)  # the wallet became a shop's
    check_refused_one(s, p, spoilt, good, ("merchant", "resident"), can_wait=False)


def test_a_reward_paid_on_chain_is_noted_paid_only_with_its_transaction(
    spoiled: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug (the PostgreSQL chain-kill fault test, once): a reward the chain had paid, whose
    event the node's log query did not return at that moment, came back `already_paid`
    without a transaction and was noted `paid` with none (and no block). It waits instead,
    with its reason, and is noted with the transaction that paid it when the event shows."""
    from api.models import Reward

    s, p = spoiled
    spoilt, _ = two_rewards(s, p)
    with s.app.state.db.session() as session:
        reward = session.query(Reward).filter_by(claim_id=spoilt).one()
        reference, address, cents = reward.reference, reward.resident_address, reward.cents
    office = s.app.state.chain.role_signer("job-office")
    earlier = s.client.reward_job(office, reference, address, cents)  # paid behind its back
    balance = s.client.balance(address)
    worker_client = s.app.state.chain.client
    real = worker_client.find_reward
    monkeypatch.setattr(worker_client, "find_reward", lambda jid: None)
    run_worker(s)
    waiting = claim_of(s, p, spoilt)
    assert waiting["payment"] == "pending", waiting
    assert "nothing was sent" in (waiting["payment_error"] or ""), waiting
    monkeypatch.setattr(worker_client, "find_reward", real)
    with s.app.state.db.session(write=True) as session:  # skip the backoff: due now
        session.query(Reward).filter_by(claim_id=spoilt).one().next_attempt_at = None
    run_worker(s)
    with s.app.state.db.session() as session:
        reward = session.query(Reward).filter_by(claim_id=spoilt).one()
        assert (reward.status, reward.tx_hash) == ("paid", earlier.tx_hash)
        assert reward.block_number == earlier.block_number
    assert s.client.balance(address) == balance  # paid once


def test_the_settle_sweep_runs_although_a_reward_is_refused(
    spoiled: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug: the worker's TypeError came before the settle sweep, so payments left `sending`
    were never settled while any reward was refused."""
    s, p = spoiled
    spoilt, _ = two_rewards(s, p)
    partner_key = s.app.state.chain.role_signer("job-office")
    s.client.set_mint_allowance(admin_signer(s), partner_key.address, 1_00)
    shop, _ = open_shop(s, p)
    from api.models import Payment

    with s.app.state.db.session() as session:  # the service died before sending it
        session.add(
            Payment(
                resident_id=p.resident_id,
                merchant_id=shop["id"],
                cents=1_00,
                receipt="LOST",
                request_id="lost-1",
                status="sending",
            )
        )
    worker = s.app.state.worker
    worker.settle_interval, worker.settle_after = 0.0, timedelta(0)  # (before issue 12)
    chain = s.app.state.chain  # HEITJE_API_SETTLE_AFTER: settled as soon as it is due
    monkeypatch.setattr(chain, "settings", replace(chain.settings, settle_after=0.01))
    worker.interval = 0.1
    worker.start()
    try:
        deadline = time.monotonic() + 15
        while s.call("GET", "/payments", p.resident)["items"][0]["status"] == "sending":
            assert time.monotonic() < deadline, "the sweep did not settle the payment"
            time.sleep(0.2)
    finally:
        worker.stop()
    assert s.call("GET", "/payments", p.resident)["items"][0]["status"] == "failed"
    assert claim_of(s, p, spoilt)["payment_error"]


# ----------------------------------------------------------------------------- the chain forgets


def test_a_chain_that_forgot_a_payment_and_a_reward_is_repaired_at_start_up(
    service: Service,
) -> None:
    """Bug: after the chain lost blocks (a SIGKILL of anvil, a reorg), payments and rewards
    stayed `paid` in the database with transactions the chain no longer has. A restart must
    reconcile: the payment `reversed`, the reward pending again and then paid again.
    The reconciler runs in the worker's first round (at start-up); here the worker is off,
    so its check is run by hand."""
    s = service
    p = setup_people(s)
    rpc = s.client.rpc
    snapshot = rpc.call("evm_snapshot", [])
    earn(s, p, "30")
    shop, _ = open_shop(s, p)
    body = {
        "merchant_code": shop["code"],
        "amount": "4.00",
        "receipt": "GONE",
        "request_id": "forgotten",
    }
    paid = s.call("POST", "/payments", p.resident, 201, json=body)
    assert paid["status"] == "paid"
    # The chain forgets everything since the snapshot (the token's deployment stays), and
    # goes on with other blocks at the same heights.
    head = rpc.block_number()
    assert rpc.call("evm_revert", [snapshot])
    for _ in range(head - rpc.block_number() + 2):
        rpc.call("evm_mine", [])
    settings = s.app.state.settings
    with TestClient(create_app(settings)) as http:
        worker = http.app.state.worker
        reconciler = getattr(worker, "reconciler", None)  # the worker's first round's check
        if reconciler is not None:
            reconciler.run()
        for _ in range(3):  # then the reward is paid again
            worker.run_once()
        admin = {
            "Authorization": "Bearer "
            + http.post(
                "/auth/login", json={"username": "admin", "password": "development-admin"}
            ).json()["token"]
        }
        payments = http.get("/payments", headers=admin).json()["items"]
        assert [(x["receipt"], x["status"]) for x in payments] == [("GONE", "reversed")]
        claims = http.get("/claims", headers=p.inspector).json()["items"]
        assert [c["payment"] for c in claims] == ["paid"]
        assert claims[0]["tx_hash"] != paid["tx_hash"]
        assert s.client.is_rewarded(bytes.fromhex(claims[0]["chain_job_id"][2:]))


# ----------------------------------------------------------------------------- recovery


def test_recovery_onto_another_residents_wallet_is_refused_before_anything_is_sent(
    service: Service,
) -> None:
    """Bug: the chain retired the lost wallet and moved its earnings to another resident's
    wallet; then the database failed (UNIQUE) with a 500, and every retry the same."""
    s = service
    p = setup_people(s)
    own = s.call(
        "POST",
        "/residents",
        {},
        201,
        json={
            "pseudonym": "R-own",
            "neighbourhood": "Grasbroek",
            "wallet": LocalSigner.create().address,
        },
    )
    _, fresh = resident(s, "R-fresh")  # holds nothing yet: the chain itself would take it
    raw = TestClient(s.app, raise_server_exceptions=False)
    for attempt in (1, 2):
        answer = raw.post(
            f"/residents/{own['id']}/recover",
            headers=p.admin,
            json={"reason": "Phone lost, identity checked.", "new_wallet": fresh["address"]},
        )
        assert answer.status_code == 409, (attempt, answer.status_code, answer.text)
        assert answer.json()["error"]
    assert not s.client.is_retired(own["address"])  # nothing was sent


# ----------------------------------------------------------------------------- sign-ups, claims


def test_parallel_sign_ups_with_one_pseudonym(service: Service) -> None:
    """Bug: 10 parallel sign-ups with one pseudonym gave 9 x 500 and 9 orphan wallet files."""
    s = service
    wallets = s.app.state.settings.wallet_dir
    before = set(wallets.glob("*.json")) if wallets.is_dir() else set()
    body = {"pseudonym": "R-twice", "neighbourhood": "Grasbroek", "password": PASSWORD}
    answers = at_once([lambda: s.http.post("/residents", json=body)] * THREADS)
    assert described(answers) == ["201"] + ["409 pseudonym_taken"] * (THREADS - 1)
    made = set(wallets.glob("*.json")) - before
    address = next(
        a.json()["address"]
        for a in answers
        if isinstance(a, httpx.Response) and a.status_code == 201
    )
    assert [f.stem.lower() for f in made] == [address.lower()]


def test_parallel_claims_never_over_fill_a_job(service: Service) -> None:
    s = service
    p = setup_people(s)
    job = post_job(s, p, reward="2.00", places=3)
    people = [resident(s, f"R-claim-{i}")[0] for i in range(THREADS)]
    answers = at_once(
        [(lambda who=who: s.http.post(f"/jobs/{job['id']}/claim", headers=who)) for who in people]
    )
    assert described(answers) == ["201 claimed"] * 3 + ["409 job_full"] * (THREADS - 3)


def test_parallel_claims_near_the_yearly_cap_count_each_other(service: Service) -> None:
    s = service
    p = setup_people(s)
    address = s.call("GET", "/residents/me", p.resident)["resident"]["address"]
    office = s.app.state.chain.role_signer("job-office")
    s.client.reward_job(office, "elsewhere-2", address, s.client.room_under_cap(address) - 5_00)
    jobs = [post_job(s, p, reward="2.00") for _ in range(6)]
    answers = at_once(
        [(lambda j=j: s.http.post(f"/jobs/{j['id']}/claim", headers=p.resident)) for j in jobs]
    )
    assert described(answers) == ["201 claimed"] * 2 + ["409 over_yearly_cap"] * 4
