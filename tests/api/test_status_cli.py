"""`heitje status` against a real service over HTTP: the chain as it stands, and whether the
service's records agree with it; exit code 3 once the chain forgot blocks the service had seen."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from support.service import Service, earn, open_shop, setup_people

from heitje_chain.cli import main
from heitje_chain.node import free_port


@pytest.fixture
def served(service: Service) -> Iterator[str]:
    """The test's service on a real port (its lifespan already ran in the test client)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(service.app, port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    httpx.get(f"{url}/openapi.json", timeout=5).raise_for_status()
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def status(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["status", *args], out=out)
    return code, out.getvalue()


def test_status_says_when_the_chain_forgot_what_the_service_saw(
    service: Service, served: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = service
    home = Path(s.app.state.settings.chain.home)
    monkeypatch.setenv("HEITJE_HOME", str(home))
    monkeypatch.setenv("HEITJE_RPC_URL", s.app.state.settings.chain.urls[0])
    monkeypatch.setenv("HEITJE_SERVICE_PASSWORD", "development-admin")
    p = setup_people(s)
    earn(s, p, "20")
    shop, _ = open_shop(s, p)
    reconciler = s.app.state.worker.reconciler
    reconciler.run()

    code, text = status()
    assert code == 0 and "EUR 20.00 in circulation" in text and "running" in text
    code, text = status("--service", served, "--user", "admin")
    assert code == 0 and "agree with the chain" in text, text
    url = s.app.state.settings.chain.urls[0]
    assert f"The service's nodes (in use: {url}):" in text and "CUT OFF" not in text, text
    code, text = status("--service", served, "--user", "admin", "--json")
    data = json.loads(text)
    assert data["service"]["node_in_use"] == url == data["chain"]["rpc"]
    [node] = data["service"]["nodes"]
    assert node["url"] == url and node["in_use"] and node["reachable"] and not node["cut_off"]
    assert node["head"] == data["chain"]["head"]  # no block mined in between (anvil)

    snapshot = s.client.rpc.call("evm_snapshot")
    pay = {
        "merchant_code": shop["code"],
        "amount": "5",
        "receipt": "BON-S",
        "request_id": "pay-status-1",
    }
    s.call("POST", "/payments", p.resident, 201, json=pay)
    reconciler.run()
    s.client.rpc.call("evm_revert", [snapshot])
    assert reconciler.run().forgot

    code, text = status("--service", served, "--user", "admin")
    assert code == 3, text
    assert "THE CHAIN FORGOT BLOCKS THE SERVICE HAD SEEN" in text and "payment" in text
    code, text = status("--service", served, "--user", "admin", "--json")
    data = json.loads(text)
    assert code == 3 and data["service"]["chain_forgot"] is True
    assert data["service"]["forgot_from_block"] is not None and data["service"]["repaired"]

    monkeypatch.setenv("HEITJE_SERVICE_PASSWORD", "not the password")
    code, _ = status("--service", served, "--user", "admin")
    assert code == 1  # a refused sign-in is a clear error, not a status
