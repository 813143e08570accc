"""The demo (`make demo`): it seeds a realistic Heerlen on a fresh embedded chain, and a
second start reuses the chain and the data without seeding again."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api import demo
from heitje_chain.config import read_deployment
from heitje_chain.errors import ChainUnavailable
from heitje_chain.node import EmbeddedChain, free_port
from heitje_chain.rpc import Rpc


def test_demo_seeds_once_and_restarts_with_its_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEITJE_RPC_URL", raising=False)
    monkeypatch.setenv("HEITJE_PASSWORD", "restored after the test")  # the demo sets its own
    home, port = tmp_path / "demo", free_port()
    assert demo.main(["--home", str(home), "--chain-port", str(port), "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "30 residents, 12 merchants, 24 jobs, 14 payments" in out
    shop_lines = [line for line in out.splitlines() if "(a shop: its code)" in line]
    assert len(shop_lines) == 3 and all("(or merchant-" in line for line in shop_lines)

    def counts() -> dict[str, int]:
        with sqlite3.connect(home / "heitje.db") as db:
            return {
                table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("residents", "merchants", "jobs", "payments", "rewards")
            }

    first = counts()
    assert first == {"residents": 30, "merchants": 12, "jobs": 24, "payments": 14, "rewards": 14}
    with sqlite3.connect(home / "heitje.db") as db:
        states = dict(db.execute("SELECT status, count(*) FROM claims GROUP BY status"))
        paid = db.execute("SELECT count(*) FROM rewards WHERE status = 'paid'").fetchone()[0]
        titles = {row[0] for row in db.execute("SELECT title FROM jobs")}
        notes = {row[0] for row in db.execute("SELECT note FROM claims WHERE note IS NOT NULL")}
        reasons = {
            row[0] for row in db.execute("SELECT reason FROM claims WHERE reason IS NOT NULL")
        }
    # The demo's data is in Dutch, as Heerlen's residents read it in the app.
    assert titles == {title for title, _, _ in demo.JOBS}
    assert "Zwerfafval prikken langs de Geleenbeek" in titles
    assert notes == {demo.NOTE} and reasons == {demo.REJECTION}
    assert states == {"approved": 14, "rejected": 2, "done": 4, "claimed": 3}
    assert paid == 14
    deployment = read_deployment(home / "deployment.json")
    assert deployment is not None

    assert demo.main(["--home", str(home), "--chain-port", str(port), "--no-serve"]) == 0
    assert "Seeding" not in capsys.readouterr().out
    assert counts() == first
    assert not (home / "chain" / "anvil.pid").exists()  # the chain was stopped again
    # The chain kept its state across the restart: the token is still there.

    chain = EmbeddedChain(home / "chain", port=port)
    chain.start()
    try:
        assert Rpc(chain.url).code_at(deployment.address)
    finally:
        chain.stop()


def test_a_stopped_demo_stops_its_chain(tmp_path: Path) -> None:
    """`make demo` stopped by a service manager (SIGTERM) stops the API and the embedded chain,
    which saves its state, as Ctrl-C does."""
    home, chain_port, port = tmp_path / "demo", free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.demo", "--home", str(home), "--chain-port", str(chain_port),
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/neighbourhoods").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the demo did not start serving")
        assert (home / "chain" / "anvil.pid").exists()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert not (home / "chain" / "anvil.pid").exists()
    with pytest.raises(ChainUnavailable):
        Rpc(f"http://127.0.0.1:{chain_port}", timeout=2).chain_id()
    assert (home / "chain" / "state.json").exists()
