"""The job workflow end to end through HTTP, on a real embedded chain: post, claim, done,
approve, paid on-chain by the worker; every role refused where it does not belong; exactly
once when the worker dies half-way or two inspectors approve at once."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import load_settings
from heitje_chain.client import HeitjeClient, job_id
from heitje_chain.config import load_config, write_deployment
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.keys import KeyStore
from heitje_chain.node import EmbeddedChain
from heitje_chain.rpc import Rpc

PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedChain]:
    node = EmbeddedChain(tmp_path_factory.mktemp("chain"), port=_free_port())
    node.start()
    try:
        yield node
    finally:
        node.stop()


@dataclass
class Service:
    http: TestClient
    app: Any
    client: HeitjeClient

    def login(self, username: str, password: str) -> dict[str, str]:
        answer = self.http.post("/auth/login", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def call(self, method: str, url: str, who: dict[str, str], expect: int = 200, **kw: Any) -> Any:
        answer = self.http.request(method, url, headers=who, **kw)
        assert answer.status_code == expect, answer.text
        return answer.json()

    def pay_rewards(self) -> int:
        return int(self.app.state.worker.run_once())


@pytest.fixture
def service(
    chain: EmbeddedChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Service]:
    """A deployed token (fresh per test), role keys on disk, and the API on SQLite."""
    home = tmp_path / "home"
    monkeypatch.setenv("HEITJE_PASSWORD", PASSWORD)
    keys = KeyStore(home / "keystores", kdf="pbkdf2", iterations=1000)
    signers = {name: keys.create(name, PASSWORD) for name in ("admin", "job-office", "partner")}
    rpc = Rpc(chain.url)
    client, deployment = deploy(rpc, signers["admin"], admin_delay=0)
    grant_roles(
        client, signers["admin"], {k: s.address for k, s in signers.items() if k != "admin"}
    )
    for minter in ("job-office", "partner"):
        client.set_mint_allowance(signers["admin"], signers[minter].address, 10_000_00)
    write_deployment(home / "deployment.json", deployment)
    env = {
        "HEITJE_HOME": str(home),
        "HEITJE_RPC_URL": chain.url,
        "HEITJE_API_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
        "HEITJE_API_WORKER": "off",
        "HEITJE_API_WALLET_KDF_ITERATIONS": "1000",
        "HEITJE_PASSWORD": PASSWORD,
    }
    settings = load_settings(env, load_config(environ=env))
    app = create_app(settings)
    with TestClient(app) as http:
        yield Service(http, app, client)


@dataclass
class People:
    admin: dict[str, str]
    issuer: dict[str, str]
    inspector: dict[str, str]
    resident: dict[str, str]
    resident_id: int
    issuer_id: int


def setup_people(s: Service) -> People:
    admin = s.login("admin", "development-admin")
    issuer = s.call(
        "POST", "/issuers", admin, 201, json={"name": "Job office", "key_name": "job-office"}
    )
    for username, role in (("jo", "issuer"), ("insp", "inspector")):
        body = {"username": username, "password": PASSWORD, "role": role}
        if role == "issuer":
            body["issuer_id"] = issuer["id"]
        s.call("POST", "/staff", admin, 201, json=body)
    resident = s.call(
        "POST",
        "/residents",
        {},
        201,
        json={"pseudonym": "R-0001", "neighbourhood": "Grasbroek", "password": PASSWORD},
    )
    return People(
        admin=admin,
        issuer=s.login("jo", PASSWORD),
        inspector=s.login("insp", PASSWORD),
        resident=s.login("R-0001", PASSWORD),
        resident_id=resident["id"],
        issuer_id=issuer["id"],
    )


def post_job(s: Service, p: People, reward: str = "12.50", places: int = 1) -> dict[str, Any]:
    body = {
        "title": "Litter picking, Schandelerboord",
        "description": "Two hours with the litter picker along the park.",
        "neighbourhood": "Schandelen",
        "reward": reward,
        "deadline": str(date.today() + timedelta(days=7)),
        "places": places,
    }
    result: dict[str, Any] = s.call("POST", "/jobs", p.issuer, 201, json=body)
    return result


def finished_claim(s: Service, p: People, job: dict[str, Any]) -> dict[str, Any]:
    claim = s.call("POST", f"/jobs/{job['id']}/claim", p.resident, 201)
    done: dict[str, Any] = s.call(
        "POST", f"/claims/{claim['id']}/done", p.resident, json={"note": "all clean"}
    )
    assert done["status"] == "done"
    return done


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
