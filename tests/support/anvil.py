"""A throwaway anvil on a free port, for the library's and the auditor's tests.

anvil (from npm, linked into .venv/bin by `make setup`) runs with free gas and the cancun
rules; it answers `eth_chainId` before a test uses it. `start_anvil` tries another port if
the one it picked was taken meanwhile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from heitje_chain.errors import ChainUnavailable
from heitje_chain.node import free_port
from heitje_chain.rpc import Rpc

ROOT = Path(__file__).resolve().parents[2]
ANVIL_FLAGS = (
    "--base-fee",
    "0",
    "--gas-price",
    "0",
    "--hardfork",
    "cancun",
    "--gas-limit",
    "30000000",
    "--silent",
    "--accounts",
    "1",
    # Pool order = arrival order, so tests that mine several pending txs know their order.
    "--order",
    "fifo",
)


def anvil_binary() -> str:
    local = ROOT / ".venv" / "bin" / "anvil"
    if local.exists():
        return str(local)
    found = shutil.which("anvil")
    if found is None:
        pytest.fail("anvil is not installed: run `make setup`")
    return found


@dataclass
class Anvil:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_anvil(*extra: str, flags: tuple[str, ...] = ANVIL_FLAGS) -> Anvil:
    """Start an anvil on a free port and wait until it answers `eth_chainId`; `flags`
    replace the usual free-gas flags, `extra` are added to them."""
    for _attempt in range(3):
        port = free_port()
        process = subprocess.Popen(
            [anvil_binary(), "--port", str(port), "--host", "127.0.0.1", *flags, *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "off"},
        )
        anvil = Anvil(process, f"http://127.0.0.1:{port}")
        rpc = Rpc(anvil.url, timeout=2)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                rpc.chain_id()
                return anvil
            except ChainUnavailable:
                time.sleep(0.02)
        anvil.stop()  # the port was taken meanwhile, or anvil did not come up: try again
    raise RuntimeError("anvil did not start")
