"""Shared pieces of the browser tests: the running service and a client to set up what a
test is not about."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.demo import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    """The running service, and an HTTP client to set up what a test is not about."""

    base: str
    http: httpx.Client
    issuer_id: int
    shop_code: str
    shop_id: int

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        answer = self.http.post("/auth/login", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def call(self, method: str, url: str, who: dict[str, str], expect: int = 200, **kw: Any) -> Any:
        answer = self.http.request(method, url, headers=who, **kw)
        assert answer.status_code == expect, answer.text
        return answer.json()

    def resident(self, pseudonym: str, neighbourhood: str = "Grasbroek") -> dict[str, str]:
        body = {"pseudonym": pseudonym, "neighbourhood": neighbourhood, "password": PASSWORD}
        self.call("POST", "/residents", {}, 201, json=body)
        return self.login(pseudonym)

    def fund(self, resident: dict[str, str], reward: str) -> None:
        """A job for `resident`, done and approved; waits until the worker paid it."""
        office, inspector = self.login("wijkzaken"), self.login("inspecteur")
        job = self.call("POST", "/jobs", office, 201, json={
            "title": "Helpen bij de voedselbank", "description": "Pakketten sorteren.",
            "neighbourhood": "Palemig", "reward": reward, "deadline": "2099-12-31"})  # fmt: skip
        claim = self.call("POST", f"/jobs/{job['id']}/claim", resident, 201)
        self.call("POST", f"/claims/{claim['id']}/done", resident, json={"note": "done"})
        self.call("POST", f"/claims/{claim['id']}/approve", inspector, json={})
        wait_for(lambda: self.call("GET", "/claims", resident)["items"][-1]["payment"] == "paid")

    def pay(self, resident: dict[str, str], amount: str, receipt: str) -> dict[str, Any]:
        body = {"merchant_code": self.shop_code, "amount": amount, "receipt": receipt,
                "request_id": f"test-{receipt}-{time.monotonic_ns()}"}  # fmt: skip
        result: dict[str, Any] = self.call("POST", "/payments", resident, 201, json=body)
        return result


def wait_for(check: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.2)
