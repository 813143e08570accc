"""Exactly once when the service process really dies: killed between approval and mint, and
dying right after the chain took the rewards but before the database noted them. After a
restart every approved job is paid exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.service import PASSWORD

from api.demo import ensure_deployed
from heitje_chain.config import load_config
from heitje_chain.connect import connect
from heitje_chain.node import EmbeddedChain, free_port

ROOT = Path(__file__).resolve().parents[2]
JOBS = 6


def launch(env: dict[str, str], port: int, **extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "api", "--port", str(port)],
        env={**env, **extra}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def start_api(env: dict[str, str], port: int, **extra: str) -> subprocess.Popen[bytes]:
    """The API in its own process, once it answers."""
    process = launch(env, port, **extra)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process
        except httpx.TransportError:
            assert process.poll() is None, "the API did not start"
            assert time.monotonic() < deadline, "the API did not answer"
            time.sleep(0.1)


def approved_jobs(base: str) -> tuple[httpx.Client, dict[str, str]]:
    """Staff, a resident, JOBS jobs done and approved (rewards recorded, not yet paid)."""
    http = httpx.Client(base_url=base, timeout=30)

    def login(user: str, password: str = PASSWORD) -> dict[str, str]:
        answer = http.post("/auth/login", json={"username": user, "password": password})
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    admin = login("admin", "development-admin")
    issuer = http.post("/issuers", headers=admin, json={"name": "Office", "key_name": "job-office"})
    for user, role in (("jo", "issuer"), ("insp", "inspector")):
        body: dict[str, object] = {"username": user, "password": PASSWORD, "role": role}
        if role == "issuer":
            body["issuer_id"] = issuer.json()["id"]
        http.post("/staff", headers=admin, json=body).raise_for_status()
    body = {"pseudonym": "R-crash", "neighbourhood": "Palemig", "password": PASSWORD}
    http.post("/residents", json=body).raise_for_status()
    resident, office, inspector = login("R-crash"), login("jo"), login("insp")
    for i in range(JOBS):
        job = http.post("/jobs", headers=office, json={
            "title": f"Job {i}", "description": "d", "neighbourhood": "Palemig",
            "reward": "2.50", "deadline": "2099-01-01"}).json()  # fmt: skip
        claim = http.post(f"/jobs/{job['id']}/claim", headers=resident).json()
        http.post(f"/claims/{claim['id']}/done", headers=resident, json={}).raise_for_status()
        http.post(f"/claims/{claim['id']}/approve", headers=inspector, json={}).raise_for_status()
    return http, resident


@pytest.mark.parametrize("crash", ["killed-before-mint", "died-after-mint"])
def test_a_dead_service_pays_each_approved_job_once(tmp_path: Path, crash: str) -> None:
    chain = EmbeddedChain(tmp_path / "chain", port=free_port())
    chain.start()
    try:
        home = tmp_path / "home"
        env = {
            **os.environ, "HEITJE_HOME": str(home), "HEITJE_RPC_URL": chain.url,
            "HEITJE_PASSWORD": "heitje-demo-password",
            "HEITJE_API_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
            "HEITJE_API_WALLET_KDF_ITERATIONS": "1000",
        }  # fmt: skip
        ensure_deployed(home, chain.url)
        client = connect(load_config(environ=env))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api = start_api(env, port, HEITJE_API_WORKER="off")
        http, resident = approved_jobs(base)
        api.send_signal(signal.SIGKILL)  # approved, nothing minted yet
        api.wait(10)
        assert client.total_supply() == 0
        if crash == "died-after-mint":
            api = launch(env, port, HEITJE_API_FAULT="exit-after-mint")
            assert api.wait(60) == 70  # it died right after the chain took the rewards
            assert client.total_supply() == JOBS * 2_50
        api = start_api(env, port)  # the restart, with its worker
        try:
            deadline = time.monotonic() + 60
            while True:
                claims = http.get("/claims", headers=resident).json()["items"]
                if all(c["payment"] == "paid" for c in claims):
                    break
                assert time.monotonic() < deadline, claims
                time.sleep(0.2)
            assert len(claims) == JOBS
            assert client.total_supply() == JOBS * 2_50  # each job paid once
            account = http.get("/residents/me", headers=resident).json()
            assert account["balance"]["cents"] == JOBS * 2_50
        finally:
            api.terminate()
            api.wait(10)
    finally:
        chain.stop()
