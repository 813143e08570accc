"""Shared pieces of the service tests: a signed-in HTTP client and the people of a test."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from heitje_chain.client import HeitjeClient

PASSWORD = "correct horse battery staple"


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


IBAN = "NL91ABNA0417164300"


def earn(s: Service, p: People, reward: str) -> None:
    claim = finished_claim(s, p, post_job(s, p, reward=reward))
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1


def open_shop(s: Service, p: People) -> tuple[dict[str, Any], dict[str, str]]:
    body = {
        "name": "Bakkerij Schandelen",
        "neighbourhood": "Schandelen",
        "iban": "nl91 abna 0417 1643 00",
    }
    shop = s.call("POST", "/merchants", {}, 201, json=body | {"password": PASSWORD})
    assert shop["status"] == "applied" and len(shop["code"]) == 6
    approved = s.call("POST", f"/merchants/{shop['id']}/approve", p.admin)
    assert approved["status"] == "approved"
    assert s.client.is_merchant(shop["address"])
    return shop, s.login(f"merchant-{shop['code'].lower()}", PASSWORD)


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response | BaseException]:
    """Run the calls on one thread each, released together; each answer, or the exception
    the in-process service raised (a 500 in a real process)."""
    barrier = threading.Barrier(len(calls))
    out: list[httpx.Response | BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(30)
        try:
            out[i] = calls[i]()
        except BaseException as exc:  # the app's own exception, re-raised by the TestClient
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(o is not None for o in out), "a thread did not finish"
    return [o for o in out if o is not None]
