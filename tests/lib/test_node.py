"""The embedded chain (heitje_chain.node): start, stop, status, persistence, free gas."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from heitje_chain.node import (
    AnvilNotFound,
    ChainStartError,
    ChainStatus,
    EmbeddedChain,
    PortInUse,
    free_port,
)

# Init code of a tiny contract: it emits LOG1(topic 0x11..11, data uint256(42)) while being
# deployed and leaves no code behind.
TOPIC = "0x" + "11" * 32
LOG_INIT_CODE = "0x602a600052" + "7f" + TOPIC[2:] + "60206000a1" + "00"
RECIPIENT = to_checksum_address("0x" + "ab" * 20)


def rpc(url: str, method: str, *params: Any) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def mined(url: str, tx_hash: str) -> dict[str, Any]:
    """The receipt of `tx_hash` (anvil's automine is asynchronous)."""
    for _ in range(200):
        receipt = rpc(url, "eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            assert receipt["status"] == "0x1", receipt
            return dict(receipt)
        time.sleep(0.01)
    raise AssertionError(f"{tx_hash} not mined")


def send_raw(url: str, account: Any, **tx: Any) -> dict[str, Any]:
    nonce = int(rpc(url, "eth_getTransactionCount", account.address, "pending"), 16)
    signed = account.sign_transaction({"nonce": nonce, "chainId": 31337, "value": 0, **tx})
    tx_hash = rpc(url, "eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
    return mined(url, tx_hash)


MakeChain = Callable[..., EmbeddedChain]


@pytest.fixture
def make_chain(tmp_path: Path) -> Iterator[MakeChain]:
    """Build chains on free ports under tmp_path; every one is stopped at teardown."""
    made: list[EmbeddedChain] = []

    def make(name: str = "chain", **kwargs: Any) -> EmbeddedChain:
        kwargs.setdefault("port", free_port())
        chain = EmbeddedChain(tmp_path / name, **kwargs)
        made.append(chain)
        return chain

    yield make
    for chain in made:
        chain.stop(timeout=10)


def test_start_status_stop(make_chain: MakeChain) -> None:
    chain = make_chain()
    assert not chain.status().running
    status = chain.start()
    assert isinstance(status, ChainStatus)
    assert status.running and status.pid is not None
    assert status.url == chain.url == f"http://127.0.0.1:{chain.port}"
    assert status.chain_id == 31337
    assert status.block_number == 0
    assert status.log_file == chain.data_dir / "anvil.log" and status.log_file.exists()
    assert status.state_file == chain.data_dir / "state.json"
    assert chain.health_check()
    assert int(chain.pid_file.read_text()) == status.pid
    assert json.loads(chain.config_file.read_text())["port"] == chain.port
    assert len(rpc(chain.url, "eth_accounts")) == 10
    assert rpc(chain.url, "eth_getBlockByNumber", "latest", False)["baseFeePerGas"] == "0x0"

    assert chain.stop() is True
    stopped = chain.status()
    assert not stopped.running and stopped.pid is None and stopped.block_number is None
    assert not chain.pid_file.exists()
    assert not chain.health_check()
    assert stopped.state_bytes and stopped.state_bytes > 0  # written at exit
    assert chain.stop() is False


def test_start_is_idempotent(make_chain: MakeChain) -> None:
    chain = make_chain()
    first = chain.start()
    assert chain.start() == first
    # Another process (the CLI) knows the chain only by its folder.
    again = EmbeddedChain.from_data_dir(chain.data_dir)
    assert again.port == chain.port
    assert again.start().pid == first.pid
    assert again.status().running


def test_chain_outlives_the_process_that_started_it(make_chain: MakeChain) -> None:
    chain = make_chain()
    script = (
        "import sys; from pathlib import Path; from heitje_chain.node import EmbeddedChain; "
        "print(EmbeddedChain(Path(sys.argv[1]), port=int(sys.argv[2])).start().pid)"
    )
    started = subprocess.run(
        [sys.executable, "-c", script, str(chain.data_dir), str(chain.port)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    pid = int(started.stdout)
    status = EmbeddedChain.from_data_dir(chain.data_dir).status()
    assert status.running and status.pid == pid and status.block_number == 0
    assert chain.stop() is True  # not our child: found and checked through /proc
    assert not chain.status().running
    try:  # gone, or a zombie waiting for init to reap it (it may vanish while we look)
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z")


def test_port_used_by_another_program_is_refused(make_chain: MakeChain) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        chain = make_chain(port=other.getsockname()[1])
        with pytest.raises(PortInUse, match="already used by another program"):
            chain.start()
    assert not chain.pid_file.exists()
    with socket.socket() as bound:  # bound, not listening: anvil itself fails to bind
        bound.bind(("127.0.0.1", 0))
        chain = make_chain("bound", port=bound.getsockname()[1])
        with pytest.raises(PortInUse, match="already used"):
            chain.start()
    assert not chain.pid_file.exists()


def test_port_used_by_another_chain_is_refused(make_chain: MakeChain) -> None:
    first = make_chain("first")
    first.start()
    second = make_chain("second", port=first.port)
    with pytest.raises(PortInUse, match="another chain"):
        second.start()
    assert first.health_check()


def test_missing_anvil_is_refused(make_chain: MakeChain, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = make_chain(anvil="/nonexistent/anvil")
    with pytest.raises(AnvilNotFound, match="make setup"):
        chain.start()
    monkeypatch.setenv("HEITJE_ANVIL", "/nonexistent/anvil")
    with pytest.raises(AnvilNotFound, match="HEITJE_ANVIL"):
        make_chain("other").start()


def test_anvil_exiting_at_start_is_reported(make_chain: MakeChain) -> None:
    chain = make_chain()
    chain.data_dir.mkdir()
    chain.state_file.write_text('{"block": {"number": ')  # a dump cut off by a crash
    with pytest.raises(ChainStartError, match="damaged") as refused:
        chain.start()
    assert "failed to parse json file" in str(refused.value)  # the log's tail
    assert not chain.pid_file.exists()


def test_state_survives_graceful_restart(make_chain: MakeChain) -> None:
    # No periodic writes during the test: whatever survives was written at SIGTERM.
    chain = make_chain(state_interval=3600)
    url = chain.start().url
    dev = rpc(url, "eth_accounts")[0]
    transfer = rpc(url, "eth_sendTransaction", {"from": dev, "to": RECIPIENT, "value": "0x2a"})
    mined(url, transfer)
    deploy = mined(url, rpc(url, "eth_sendTransaction", {"from": dev, "data": LOG_INIT_CODE}))
    assert len(deploy["logs"]) == 1
    logs = rpc(url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    block_number = chain.status().block_number
    assert block_number == 2 and len(logs) == 1

    assert chain.stop()
    assert chain.state_file.stat().st_size > 0
    assert chain.backup_file.read_bytes() == chain.state_file.read_bytes()

    assert chain.start().block_number == block_number
    assert rpc(url, "eth_getBalance", RECIPIENT, "latest") == "0x2a"
    assert rpc(url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"}) == logs
    assert rpc(url, "eth_getLogs", {"topics": [TOPIC], "fromBlock": "0x0"})[0]["data"] == (
        "0x" + "00" * 31 + "2a"
    )
    assert rpc(url, "eth_getTransactionReceipt", transfer)["blockNumber"] == "0x1"
    assert rpc(url, "eth_getBlockByNumber", "0x1", False)["transactions"] == [transfer]
    # New blocks continue the old chain.
    mined(url, rpc(url, "eth_sendTransaction", {"from": dev, "to": RECIPIENT, "value": "0x1"}))
    assert chain.status().block_number == 3


def test_sigkill_keeps_the_last_periodic_write(make_chain: MakeChain) -> None:
    chain = make_chain(state_interval=1)
    status = chain.start()
    url = status.url
    dev = rpc(url, "eth_accounts")[0]
    mined(url, rpc(url, "eth_sendTransaction", {"from": dev, "to": RECIPIENT, "value": "0x7"}))
    time.sleep(chain.state_interval + 1.5)  # the design: written at least every interval

    assert status.pid is not None
    os.kill(status.pid, signal.SIGKILL)
    for _ in range(100):
        if not chain.status().running:
            break
        time.sleep(0.05)
    assert not chain.status().running
    assert not chain.pid_file.exists()  # the dead pid was cleaned up

    restarted = chain.start()
    assert restarted.pid != status.pid
    assert restarted.block_number == 1
    assert rpc(url, "eth_getBalance", RECIPIENT, "latest") == "0x7"


def test_stale_pid_file_is_cleaned_up(make_chain: MakeChain) -> None:
    chain = make_chain()
    chain.data_dir.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    chain.pid_file.write_text(f"{dead.pid}\n")
    assert not chain.status().running
    assert not chain.pid_file.exists()
    chain.pid_file.write_text("not a pid\n")
    assert chain.stop() is False
    assert not chain.pid_file.exists()
    assert chain.start().running


def test_unrelated_process_in_pid_file_is_not_killed(make_chain: MakeChain) -> None:
    chain = make_chain()
    chain.data_dir.mkdir()
    other = subprocess.Popen(["sleep", "60"])
    try:
        chain.pid_file.write_text(f"{other.pid}\n")
        assert chain.stop() is False
        assert not chain.status().running
        time.sleep(0.1)
        assert other.poll() is None  # still alive
        assert not chain.pid_file.exists()
    finally:
        other.kill()
        other.wait()


def test_account_without_eth_can_transact(make_chain: MakeChain) -> None:
    url = make_chain().start().url
    resident = Account.create()
    assert rpc(url, "eth_getBalance", resident.address, "latest") == "0x0"

    legacy = send_raw(url, resident, to=RECIPIENT, gas=21000, gasPrice=0)
    eip1559 = send_raw(
        url, resident, to=RECIPIENT, gas=21000, maxFeePerGas=0, maxPriorityFeePerGas=0
    )
    deploy = send_raw(
        url, resident, data=LOG_INIT_CODE, gas=100_000, maxFeePerGas=0, maxPriorityFeePerGas=0
    )
    assert legacy["type"] == "0x0" and eip1559["type"] == "0x2"
    assert len(deploy["logs"]) == 1
    assert rpc(url, "eth_getBalance", resident.address, "latest") == "0x0"
    assert rpc(url, "eth_getTransactionCount", resident.address, "latest") == "0x3"

    # Any non-zero fee cap is refused: a resident's wallet must say 0 itself.
    signed = resident.sign_transaction(
        {
            "nonce": 3,
            "chainId": 31337,
            "to": RECIPIENT,
            "value": 0,
            "gas": 21000,
            "maxFeePerGas": 1,
            "maxPriorityFeePerGas": 0,
        }
    )
    with pytest.raises(RuntimeError, match=r"(?i)insufficient funds"):
        rpc(url, "eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
