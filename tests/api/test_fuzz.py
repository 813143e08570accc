"""schemathesis against the running service: generated requests for every operation in the
OpenAPI description, as each kind of user, and not one answer may be a server error (5xx)
or break the documented schema. schemathesis runs from its own venv (`.venv-fuzz`, made by
`make setup`), over real HTTP, against a real chain."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from support.service import Service, finished_claim, post_job, setup_people

from heitje_chain.node import free_port

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = ROOT / ".venv-fuzz" / "bin" / "schemathesis"


@pytest.fixture
def served(service: Service) -> Iterator[str]:
    """The service's app on a real port (its lifespan already ran in the fixture)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(service.app, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_generated_request_makes_a_server_error(
    service: Service, served: str, tmp_path: Path
) -> None:
    assert SCHEMATHESIS.exists(), "schemathesis is missing: run `make setup`"
    p = setup_people(service)
    finished_claim(service, p, post_job(service, p))  # something for the ids to find
    failures = []
    for role, token in (("admin", p.admin), ("resident", p.resident), ("inspector", p.inspector)):
        report = tmp_path / f"{role}.xml"
        run = subprocess.run(
            [
                str(SCHEMATHESIS), "run", f"{served}/openapi.json",
                "--header", f"Authorization: {token['Authorization']}",
                "--checks", "not_a_server_error,response_schema_conformance",
                "--max-examples", "6", "--seed", "2021", "--workers", "1",
                "--max-time", "25", "--report", "junit", "--report-junit-path", str(report),
            ],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if run.returncode != 0:
            failures.append(f"--- as {role} (exit {run.returncode}):\n{run.stdout[-6000:]}")
    assert not failures, "\n".join(failures)
