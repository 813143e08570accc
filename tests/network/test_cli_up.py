"""`heitje network up --local N`: starts N geth Clique validators, prints their URLs and pids,
and a SIGTERM (a service manager's stop) or Ctrl-C stops every one of them by pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from heitje_chain.rpc import Rpc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_network_up_local_runs_and_stops_every_node(tmp_path: Path) -> None:
    heitje = Path(sys.executable).parent / "heitje"
    child = subprocess.Popen(
        [str(heitje), "--json", "network", "up", "--local", "4", "--dir", str(tmp_path / "n"),
         "--block-period", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        lines = []
        while not lines or lines[-1] != "}\n":
            line = child.stdout.readline()
            assert line, child.stderr.read() if child.stderr else "no output"
            lines.append(line)
        shown = json.loads("".join(lines))
        pids = list(shown["pids"].values())
        assert len(shown["urls"]) == 4 and len(pids) == 4
        for url in shown["urls"]:
            assert url.startswith("http://127.0.0.1:")
            assert int(url.rsplit(":", 1)[1]) not in (8000, 8545, 8546, 8547)
            assert int(Rpc(url).call("net_peerCount"), 16) == 3
        assert Path(shown["config"]).read_text().count("gas_price = 0") == 1
        assert all(_alive(pid) for pid in pids)
    finally:
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=60)
    assert code == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "a geth process outlived `network up`"
