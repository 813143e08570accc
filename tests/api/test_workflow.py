"""The job workflow end to end through HTTP, on a real embedded chain: post, claim, done,
approve, paid on-chain by the worker; every role refused where it does not belong; exactly
once when the worker dies half-way or two inspectors approve at once. Every test runs on
SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from support.service import PASSWORD, Service, finished_claim, post_job, setup_people

from heitje_chain.client import job_id


def test_job_from_posting_to_reward_on_chain(service: Service) -> None:
    s = service
    p = setup_people(s)
    job = post_job(s, p)
    assert job["reward"] == {"cents": 1250, "eur": "12.50"} and job["places_left"] == 1
    listed = s.call("GET", "/jobs?neighbourhood=Schandelen", p.resident)
    assert [j["id"] for j in listed["items"]] == [job["id"]]
    claim = finished_claim(s, p, job)
    queue = s.call("GET", "/claims?status=done", p.inspector)
    assert [c["id"] for c in queue["items"]] == [claim["id"]]
    approved = s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert approved["status"] == "approved" and approved["payment"] == "pending"
    assert s.pay_rewards() == 1
    mine = s.call("GET", "/claims", p.resident)["items"][0]
    assert mine["payment"] == "paid" and mine["tx_hash"].startswith("0x")
    account = s.call("GET", "/residents/me", p.resident)
    assert account["balance"]["cents"] == 1250
    assert account["earned_this_year"]["cents"] == 1250
    assert account["room_under_cap"]["cents"] == 1500_00 - 1250
    reward = s.client.find_reward(job_id(f"heitje/job-{job['id']}/claim-{claim['id']}"))
    assert reward is not None and reward.args["amount"] == 1250
    assert mine["chain_job_id"] == "0x" + reward.args["jobId"].hex()  # what an auditor matches
    assert mine["neighbourhood"] == "Schandelen" and queue["items"][0]["chain_job_id"] is None
    assert s.pay_rewards() == 0  # nothing left to pay


def test_worker_dying_after_the_chain_took_the_reward_pays_once(service: Service) -> None:
    """The worker sent the reward and died before noting it: the next round finds the job
    paid on-chain and marks it paid, without paying again."""
    s = service
    p = setup_people(s)
    job = post_job(s, p, reward="20")
    claim = finished_claim(s, p, job)
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    chain = s.app.state.chain
    address = s.call("GET", "/residents/me", p.resident)["resident"]["address"]
    reference = f"heitje/job-{job['id']}/claim-{claim['id']}"
    first = s.client.reward_job(chain.role_signer("job-office"), reference, address, 20_00)
    assert first.status == "paid"  # what the dead worker had done
    supply = s.client.total_supply()
    assert s.pay_rewards() == 1
    assert s.client.total_supply() == supply  # nothing paid twice
    assert s.call("GET", "/claims", p.resident)["items"][0]["payment"] == "paid"


def test_two_inspectors_approving_at_once_pay_once(service: Service) -> None:
    s = service
    p = setup_people(s)
    other = {"username": "insp2", "password": PASSWORD, "role": "inspector"}
    s.call("POST", "/staff", p.admin, 201, json=other)
    second = s.login("insp2", PASSWORD)
    claim = finished_claim(s, p, post_job(s, p))
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def approve(who: dict[str, str]) -> None:
        barrier.wait()
        answer = s.http.post(f"/claims/{claim['id']}/approve", headers=who, json={})
        answers.append(answer.status_code)

    threads = [threading.Thread(target=approve, args=(w,)) for w in (p.inspector, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 409]
    assert s.pay_rewards() == 1
    assert s.call("GET", "/residents/me", p.resident)["balance"]["cents"] == 1250


def test_claims_over_the_yearly_cap_are_refused_before_work_starts(service: Service) -> None:
    s = service
    p = setup_people(s)
    big = post_job(s, p, reward="1000")
    finished_claim(s, p, big)  # EUR 1,000 claimed, not yet approved: counts
    another = post_job(s, p, reward="600")
    answer = s.http.post(f"/jobs/{another['id']}/claim", headers=p.resident)
    assert answer.status_code == 409 and answer.json()["error"] == "over_yearly_cap"
    assert "500.00" in answer.json()["message"]


def test_each_role_is_refused_where_it_does_not_belong(service: Service) -> None:
    s = service
    p = setup_people(s)
    job = post_job(s, p)
    claim = finished_claim(s, p, job)
    refusals = [
        ("POST", "/jobs", p.resident, {"title": "x"}),
        ("POST", "/jobs", p.inspector, {"title": "x"}),
        ("POST", f"/claims/{claim['id']}/approve", p.resident, {}),
        ("POST", f"/claims/{claim['id']}/approve", p.issuer, {}),
        ("POST", f"/claims/{claim['id']}/approve", p.admin, {}),
        ("POST", f"/jobs/{job['id']}/claim", p.inspector, None),
        ("POST", "/staff", p.inspector, {"username": "x", "password": PASSWORD, "role": "admin"}),
        ("POST", "/issuers", p.issuer, {"name": "x", "key_name": "partner"}),
        ("GET", "/residents/me", p.admin, None),
        ("GET", "/claims", p.issuer, None),
    ]
    for method, url, who, body in refusals:
        answer = s.http.request(method, url, headers=who, json=body)
        assert answer.status_code == 403, (method, url, answer.text)
        assert answer.json()["error"] == "wrong_role"
    for method, url in (("GET", "/jobs"), ("GET", "/residents/me"), ("GET", "/auth/me")):
        assert s.http.request(method, url).status_code == 401
    forged = {"Authorization": "Bearer abc.def"}
    assert s.http.get("/auth/me", headers=forged).json()["error"] == "bad_token"


def test_bad_input_is_refused_with_a_clear_message(service: Service) -> None:
    s = service
    p = setup_people(s)
    base = {
        "title": "t",
        "description": "d",
        "neighbourhood": "Palemig",
        "deadline": str(date.today() + timedelta(days=1)),
    }
    for reward in (12.5, "12.345", "-5", "0", "1,500", "lots", 1250):
        answer = s.http.post("/jobs", headers=p.issuer, json=base | {"reward": reward})
        assert answer.status_code == 422, (reward, answer.text)
        assert answer.json()["error"] == "invalid_input"
        assert "reward" in answer.json()["message"]
    past = base | {"reward": "5", "deadline": str(date.today() - timedelta(days=1))}
    assert s.http.post("/jobs", headers=p.issuer, json=past).json()["error"] == "deadline_passed"
    extra = base | {"reward": "5", "secret": "x"}
    assert s.http.post("/jobs", headers=p.issuer, json=extra).status_code == 422
    taken = {"pseudonym": "R-0001", "neighbourhood": "Palemig", "password": PASSWORD}
    assert s.http.post("/residents", json=taken).status_code == 409
    both = {"pseudonym": "R-9", "neighbourhood": "Palemig"}
    assert s.http.post("/residents", json=both).json()["error"] == "password_or_wallet"
    lower = both | {"wallet": "0x52908400098527886E0F7030069857D2E4169Ee7"}
    assert s.http.post("/residents", json=lower).status_code == 422  # wrong checksum
    assert s.http.post("/claims/999/done", headers=p.resident, json={}).status_code == 404
    wrong = s.http.post("/auth/login", json={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong_login"


def test_a_claim_not_done_by_the_deadline_expires_and_frees_its_place(service: Service) -> None:
    from sqlalchemy import update

    from api.models import Job

    s = service
    p = setup_people(s)
    job = post_job(s, p)
    claim = s.call("POST", f"/jobs/{job['id']}/claim", p.resident, 201)
    assert s.call("GET", f"/jobs/{job['id']}", p.resident)["places_left"] == 0
    with s.app.state.db.session() as session:  # the deadline passes
        session.execute(
            update(Job).where(Job.id == job["id"]).values(deadline=date.today() - timedelta(days=1))
        )
    mine = s.call("GET", "/claims", p.resident)["items"]
    assert [(c["id"], c["status"]) for c in mine] == [(claim["id"], "expired")]
    assert s.call("GET", f"/jobs/{job['id']}", p.resident)["places_left"] == 1
    late = s.http.post(f"/claims/{claim['id']}/done", headers=p.resident, json={"note": "late"})
    assert late.status_code == 409 and late.json()["error"] == "not_claimed"


def test_closing_and_cancelling_a_job(service: Service) -> None:
    s = service
    p = setup_people(s)
    other = {"pseudonym": "R-0002", "neighbourhood": "Palemig", "password": PASSWORD}
    s.call("POST", "/residents", {}, 201, json=other)
    second = s.login("R-0002", PASSWORD)

    # Closed: no new claims, but a claim already made is finished and paid as usual.
    job = post_job(s, p, places=3)
    claim = s.call("POST", f"/jobs/{job['id']}/claim", p.resident, 201)
    listed = {j["id"]: j for j in s.call("GET", "/jobs?status=all", p.admin)["items"]}
    assert (listed[job["id"]]["places_left"], listed[job["id"]]["issuer"]) == (2, "Job office")
    assert s.call("POST", f"/jobs/{job['id']}/close", p.issuer)["status"] == "closed"
    late = s.http.post(f"/jobs/{job['id']}/claim", headers=second)
    assert late.status_code == 409 and late.json()["error"] == "job_closed"
    s.call("POST", f"/claims/{claim['id']}/done", p.resident, json={"note": "done"})
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1

    # Cancelled, with a reason: open claims are cancelled, work reported done is inspected.
    job = post_job(s, p, places=2)
    finished = finished_claim(s, p, job)
    open_claim = s.call("POST", f"/jobs/{job['id']}/claim", second, 201)
    no_reason = s.http.post(f"/jobs/{job['id']}/cancel", headers=p.issuer, json={})
    assert no_reason.status_code == 422 and no_reason.json()["error"] == "reason_needed"
    body = {"reason": "The park is closed for tree felling."}
    assert s.call("POST", f"/jobs/{job['id']}/cancel", p.issuer, json=body)["status"] == (
        "cancelled"
    )
    mine = s.call("GET", "/claims", second)["items"]
    assert [(c["id"], c["status"], c["reason"]) for c in mine] == [
        (open_claim["id"], "cancelled", body["reason"])
    ]
    assert (
        s.http.post(f"/claims/{open_claim['id']}/done", headers=second, json={}).status_code == 409
    )
    queue = s.call("GET", "/claims?status=done", p.inspector)["items"]
    assert [c["id"] for c in queue] == [finished["id"]]
    again = s.http.post(f"/jobs/{job['id']}/close", headers=p.issuer)
    assert again.status_code == 409 and again.json()["error"] == "job_closed"
    cancelled = s.call("GET", "/claims?status=cancelled", p.admin)
    assert cancelled["total"] == 1
    actions = [e["action"] for e in s.call("GET", "/audit?limit=1000", p.admin)["items"]]
    assert "job.close" in actions and "job.cancel" in actions

    # Only the job's own issuer (or an admin) may; residents and inspectors may not.
    job = post_job(s, p)
    for who, status in ((p.resident, 403), (p.inspector, 403)):
        assert s.http.post(f"/jobs/{job['id']}/close", headers=who).status_code == status
    s.call("POST", "/issuers", p.admin, 201, json={"name": "Partner", "key_name": "partner"})
    partner_id = s.call("GET", "/issuers", p.admin)[-1]["id"]
    s.call("POST", "/staff", p.admin, 201,
           json={"username": "partner", "password": PASSWORD, "role": "issuer",
                 "issuer_id": partner_id})  # fmt: skip
    stranger = s.http.post(f"/jobs/{job['id']}/close", headers=s.login("partner", PASSWORD))
    assert stranger.status_code == 404
    assert s.call("POST", f"/jobs/{job['id']}/close", p.admin)["status"] == "closed"
