"""The embedded chain: a local anvil node that the library uses when no RPC URL is configured.

`EmbeddedChain` starts, stops and inspects one anvil process whose files all live in one data
folder:

- ``state.json``: the chain itself (accounts, contracts, every block, transaction and log).
  anvil loads it at start, rewrites it every ``state_interval`` seconds and once more when it
  is stopped gracefully (SIGTERM).
- ``state.json.bak``: a copy of the last state that anvil loaded or wrote completely. anvil
  rewrites ``state.json`` in place (no temporary file, no fsync), so a crash or power cut in
  the middle of a write leaves a damaged file; anvil then refuses to start and the error
  message says how to fall back to the copy.
- ``anvil.pid``: the process id of the running anvil.
- ``anvil.log``: anvil's output, appended at every start.
- ``chain.json``: the host, port and chain id the chain was last started with.

What survives what: a graceful stop keeps everything. A crash (SIGKILL, power cut) keeps the
state of the last periodic write, so at most the last ``state_interval`` seconds are lost: 1
by default, the shortest anvil allows (it takes whole seconds). The blocks of those seconds
are gone, with their transactions; the chain comes back at an older height. The service's
reconciler (api.reconcile) notices and repairs its records: rewards are paid again, payments
and refunds the chain lost are marked reversed.

Gas is free on this chain (base fee 0, gas price 0): accounts with no ETH at all can send
transactions, as long as the transaction says so itself (``gasPrice`` 0, or ``maxFeePerGas``
and ``maxPriorityFeePerGas`` 0). anvil still *suggests* 1 gwei (``eth_gasPrice``,
``eth_maxPriorityFeePerGas``), so do not rely on a client's fee suggestion: look at the base
fee. (``--disable-min-priority-fee`` would make ``eth_gasPrice`` 0 but breaks
``eth_sendTransaction`` without explicit fees, so it is not used.)

Typical use (the ``heitje chain up/down/status`` commands do exactly this)::

    chain = EmbeddedChain(Path("var/chain"))
    status = chain.start()      # returns at once if it is already running
    print(status.url, status.block_number)
    chain.stop()
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from heitje_chain.errors import HeitjeError, InvalidInput

log = logging.getLogger(__name__)

STATE_FILE: Final = "state.json"
BACKUP_FILE: Final = "state.json.bak"
PID_FILE: Final = "anvil.pid"
LOG_FILE: Final = "anvil.log"
CONFIG_FILE: Final = "chain.json"

ANVIL_ENV: Final = "HEITJE_ANVIL"
_NPM_ANVIL: Final = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
_INSTALL_HINT: Final = (
    "Install it with `make setup` in the Heitje folder (it puts anvil in .venv/bin), "
    f"or point the {ANVIL_ENV} environment variable at an anvil binary."
)

# anvil processes started by this Python process, so stop() can reap them (no zombies).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class ChainError(HeitjeError, RuntimeError):
    """Something is wrong with the embedded chain (base of the errors in this module)."""


class ChainStartError(ChainError):
    """anvil could not be started, or it started but does not behave as expected."""


class PortInUse(ChainStartError):
    """The port the chain should listen on is already used by another program."""


class AnvilNotFound(ChainStartError):
    """The anvil program is not installed where the library looks for it."""


@dataclass(frozen=True)
class ChainStatus:
    """A snapshot of the embedded chain.

    `running` is true when our anvil process is alive. `chain_id` and `block_number` are None
    when it does not answer JSON-RPC (stopped, still starting, or hung). `state_bytes` is the
    size of the state file, None when there is none yet.
    """

    running: bool
    pid: int | None
    url: str
    chain_id: int | None
    block_number: int | None
    state_file: Path
    state_bytes: int | None
    log_file: Path


#: Ports never handed out by `free_port`: the embedded chain's and the service's defaults.
RESERVED_PORTS: Final = frozenset({8000, 8545, 8546, 8547})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (the system picks it; never
    one of RESERVED_PORTS), for chains and services started side by side (tests, benchmarks)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


def find_anvil(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Locate the anvil binary.

    In order: `explicit`, the ``HEITJE_ANVIL`` environment variable, ``anvil`` on the PATH,
    ``anvil`` next to the running Python (the project's ``.venv/bin``), and the npm package
    under the project's ``node_modules``. Raises `AnvilNotFound` when none exists.
    """
    if explicit is not None or os.environ.get(ANVIL_ENV):
        given = Path(explicit if explicit is not None else os.environ[ANVIL_ENV])
        where = "given" if explicit is not None else f"named by {ANVIL_ENV}"
        if given.is_file() and os.access(given, os.X_OK):
            return given
        found = shutil.which(str(given))
        if found:
            return Path(found)
        raise AnvilNotFound(f"The anvil program {where} ({given}) does not exist. {_INSTALL_HINT}")
    candidates: list[Path] = []
    on_path = shutil.which("anvil")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(Path(sys.executable).parent / "anvil")
    candidates.append(Path(__file__).resolve().parents[1] / _NPM_ANVIL)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise AnvilNotFound(f"The anvil program was not found. {_INSTALL_HINT}")


class EmbeddedChain:
    """A local anvil chain kept in `data_dir` (created if missing).

    The chain has `accounts` funded dev accounts from anvil's default mnemonic (for tests and
    the demo), the cancun hardfork, a 30,000,000 gas block limit and free gas. Its state is
    written to disk every `state_interval` whole seconds and when it stops.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 8545,
        host: str = "127.0.0.1",
        chain_id: int = 31337,
        anvil: str | None = None,
        state_interval: int = 1,
        accounts: int = 10,
    ) -> None:
        if isinstance(state_interval, bool) or not isinstance(state_interval, int):
            raise TypeError(
                "state_interval is a whole number of seconds (anvil takes no fractions)"
            )
        if state_interval < 1:
            raise InvalidInput("state_interval must be at least 1 second")
        if not 0 < port < 65536:
            raise InvalidInput(f"port {port} is not a valid TCP port")
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.host = host
        self.chain_id = chain_id
        self.anvil = anvil
        self.state_interval = state_interval
        self.accounts = accounts

    @classmethod
    def from_data_dir(cls, data_dir: Path, anvil: str | None = None) -> EmbeddedChain:
        """The chain as it was last started from `data_dir` (host, port and chain id from its
        ``chain.json``); the defaults when it was never started."""
        config_file = Path(data_dir) / CONFIG_FILE
        try:
            config = json.loads(config_file.read_text())
        except FileNotFoundError:
            return cls(Path(data_dir), anvil=anvil)
        except (OSError, ValueError) as exc:
            raise ChainError(
                f"{config_file} cannot be read ({exc}). Delete it; it is written again at the "
                "next start."
            ) from exc
        return cls(
            Path(data_dir),
            port=int(config["port"]),
            host=str(config["host"]),
            chain_id=int(config["chain_id"]),
            anvil=anvil,
            state_interval=int(config.get("state_interval", 1)),
        )

    # --- files ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The chain's JSON-RPC URL, ``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def state_file(self) -> Path:
        """anvil's state file (loaded at start, written periodically and at stop)."""
        return self.data_dir / STATE_FILE

    @property
    def backup_file(self) -> Path:
        """The copy of the last state known to be complete."""
        return self.data_dir / BACKUP_FILE

    @property
    def pid_file(self) -> Path:
        """The file holding the running anvil's process id."""
        return self.data_dir / PID_FILE

    @property
    def log_file(self) -> Path:
        """anvil's log (appended at every start)."""
        return self.data_dir / LOG_FILE

    @property
    def config_file(self) -> Path:
        """``chain.json``: host, port and chain id of the last start."""
        return self.data_dir / CONFIG_FILE

    def command(self, anvil: Path) -> list[str]:
        """The anvil command line this chain runs."""
        return [
            str(anvil),
            "--host", self.host,
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--hardfork", "cancun",
            "--gas-limit", "30000000",
            "--base-fee", "0",
            "--gas-price", "0",
            # Keep the state of the last 64 blocks in memory, no older: a call on 'latest'
            # that races with a new block still finds its state.
            "--prune-history", "64",
            "--accounts", str(self.accounts),
            "--state", str(self.state_file),
            "--state-interval", str(self.state_interval),
        ]  # fmt: skip

    # --- process -------------------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _is_ours(self, pid: int) -> bool:
        """Whether `pid` is a live anvil running on this chain's state file."""
        child = _CHILDREN.get(pid)
        if child is not None and child.poll() is not None:
            del _CHILDREN[pid]
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        if stat.rpartition(")")[2].split()[:1] == ["Z"]:  # a zombie: exited, not yet reaped
            return False
        args = [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]
        return (
            bool(args) and Path(args[0]).name.startswith("anvil") and str(self.state_file) in args
        )

    def _our_pid(self) -> int | None:
        """The pid of our running anvil; removes a stale pid file."""
        pid = self._read_pid()
        if pid is not None and self._is_ours(pid):
            return pid
        if self.pid_file.exists():
            log.info("removing stale pid file %s (pid %s is not our anvil)", self.pid_file, pid)
            self.pid_file.unlink(missing_ok=True)
        return None

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        """Wait until `pid` has exited; whether it did within `timeout` seconds."""
        child = _CHILDREN.get(pid)
        if child is not None:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            _CHILDREN.pop(pid, None)
            return True
        deadline = time.monotonic() + timeout
        while self._is_ours(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    # --- JSON-RPC ------------------------------------------------------------------------

    def _rpc(self, method: str, timeout: float = 2.0) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
        request = urllib.request.Request(  # noqa: S310 (the URL is always http://host:port)
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            reply = json.loads(response.read())
        if "error" in reply:
            raise ChainError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply["result"]

    def _probe(self, timeout: float = 2.0) -> tuple[int, int] | None:
        """(chain id, block number) from whatever answers on our URL, or None."""
        try:
            return int(self._rpc("eth_chainId", timeout), 16), int(
                self._rpc("eth_blockNumber", timeout), 16
            )
        except (OSError, ValueError, KeyError, TypeError, ChainError):
            return None

    def health_check(self, timeout: float = 2.0) -> bool:
        """Whether the chain answers ``eth_chainId`` with our chain id and ``eth_blockNumber``
        within `timeout` seconds. Never raises: False for no answer, a wrong answer, or a
        different chain on our port."""
        probe = self._probe(timeout)
        return probe is not None and probe[0] == self.chain_id

    # --- status --------------------------------------------------------------------------

    def status(self) -> ChainStatus:
        """The chain's current status (cleans up a stale pid file)."""
        pid = self._our_pid()
        probe = self._probe() if pid is not None else None
        try:
            state_bytes: int | None = self.state_file.stat().st_size
        except FileNotFoundError:
            state_bytes = None
        return ChainStatus(
            running=pid is not None,
            pid=pid,
            url=self.url,
            chain_id=probe[0] if probe else None,
            block_number=probe[1] if probe else None,
            state_file=self.state_file,
            state_bytes=state_bytes,
            log_file=self.log_file,
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            with self.log_file.open("rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 8192))
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # --- start ---------------------------------------------------------------------------

    def _check_running(self, pid: int, timeout: float) -> ChainStatus:
        config = self._read_config()
        if config and (config.get("host"), config.get("port")) != (self.host, self.port):
            raise ChainStartError(
                f"The chain in {self.data_dir} is already running (pid {pid}) on "
                f"{config.get('host')}:{config.get('port')}, not {self.host}:{self.port}. "
                "Stop it first (`heitje chain down`) to start it on another address."
            )
        deadline = time.monotonic() + timeout
        while True:
            probe = self._probe()
            if probe is not None and probe[0] == self.chain_id:
                return self.status()
            if probe is not None:
                raise ChainStartError(
                    f"The chain running from {self.data_dir} (pid {pid}) reports chain id "
                    f"{probe[0]}, not {self.chain_id}. Stop it (`heitje chain down`) and check "
                    "the configured chain id."
                )
            if not self._is_ours(pid):
                break  # it exited meanwhile: start a fresh one
            if time.monotonic() >= deadline:
                raise ChainStartError(
                    f"The chain from {self.data_dir} is running (pid {pid}) but does not answer "
                    f"on {self.url}. Stop it with `heitje chain down` and start it again. "
                    f"Last lines of {self.log_file}:\n{self._log_tail()}"
                )
            time.sleep(0.1)
        return self.start(max(0.0, deadline - time.monotonic()) or 1.0)

    def _read_config(self) -> dict[str, Any] | None:
        try:
            config = json.loads(self.config_file.read_text())
        except (OSError, ValueError):
            return None
        return config if isinstance(config, dict) else None

    def _port_taken(self) -> bool:
        """Whether something keeps accepting connections on our port for half a second.

        A connection test, not a bind test, and repeated: right after an anvil was killed the
        kernel may still hold its closed connections on the port (a test bind fails although
        anvil itself can bind again) and a single connection may still be accepted. A port
        bound but not listening makes anvil exit with "Address already in use", which `start`
        also reports as `PortInUse`.
        """
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104
        target = wildcard.get(self.host, self.host)
        deadline = time.monotonic() + 0.5
        while True:
            try:
                with socket.create_connection((target, self.port), timeout=1.0):
                    pass
            except OSError:
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.1)

    def _port_in_use(self) -> PortInUse:
        probe = self._probe(1.0)
        what = (
            f"another chain (chain id {probe[0]}, block {probe[1]})" if probe else "another program"
        )
        return PortInUse(
            f"Port {self.port} on {self.host} is already used by {what}, not by the Heitje "
            f"chain in {self.data_dir}. Stop that program, or configure another port for the "
            "embedded chain."
        )

    def start(self, timeout: float = 30) -> ChainStatus:
        """Start the chain in the background and wait until it answers JSON-RPC.

        Idempotent: when our anvil is already running and healthy, its status is returned.
        anvil runs in its own session, so it keeps running after this process exits.
        Raises `AnvilNotFound`, `PortInUse`, or `ChainStartError` (anvil exited at start,
        did not answer within `timeout` seconds, or reports another chain id).
        Two processes starting the same chain at once are serialised by a lock file.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            return self._start(timeout)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the data folder, held while starting or stopping."""
        with (self.data_dir / "chain.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _start(self, timeout: float) -> ChainStatus:
        pid = self._our_pid()
        if pid is not None:
            return self._check_running(pid, timeout)

        config = self._read_config()
        if config and self.state_file.exists() and config.get("chain_id") != self.chain_id:
            raise ChainStartError(
                f"The chain in {self.data_dir} was created with chain id "
                f"{config.get('chain_id')}, not {self.chain_id}. Use chain id "
                f"{config.get('chain_id')}, or another data folder for a new chain."
            )
        anvil = find_anvil(self.anvil)
        if self._port_taken():
            raise self._port_in_use()

        # Keep a copy of the state anvil is about to load; it becomes the backup once anvil
        # has loaded it (which proves it complete).
        loading = self.data_dir / (BACKUP_FILE + ".new")
        if self.state_file.exists():
            shutil.copyfile(self.state_file, loading)
        command = self.command(anvil)
        with self.log_file.open("ab") as log_out:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log_out.write(f"\n--- {stamp} heitje starts: {' '.join(command)}\n".encode())
            log_out.flush()
            child = subprocess.Popen(  # noqa: S603 (our own fixed command line)
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
                close_fds=True,
            )
        _CHILDREN[child.pid] = child
        self.pid_file.write_text(f"{child.pid}\n")
        try:
            probe = self._wait_answer(child, timeout)
        except BaseException:
            self._abort(child)
            loading.unlink(missing_ok=True)
            raise
        if probe[0] != self.chain_id:
            self._abort(child)
            loading.unlink(missing_ok=True)
            raise ChainStartError(
                f"anvil started but reports chain id {probe[0]}, not {self.chain_id}. "
                f"Check the configured chain id and {self.state_file}."
            )
        if loading.exists():
            loading.replace(self.backup_file)
        self._write_config(child.pid)
        log.info("embedded chain started: pid %d on %s", child.pid, self.url)
        return self.status()

    def _wait_answer(self, child: subprocess.Popen[bytes], timeout: float) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        while True:
            code = child.poll()
            if code is not None:
                _CHILDREN.pop(child.pid, None)
                self.pid_file.unlink(missing_ok=True)
                raise self._start_failure(code)
            probe = self._probe(1.0)
            if probe is not None:
                return probe
            if time.monotonic() >= deadline:
                raise ChainStartError(
                    f"anvil did not answer on {self.url} within {timeout:g} seconds and was "
                    f"stopped. Last lines of {self.log_file}:\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _start_failure(self, code: int) -> ChainStartError:
        tail = self._log_tail()
        lowered = tail.lower()
        if "address already in use" in lowered:
            return self._port_in_use()
        if "failed to parse json file" in lowered or "failed to load state" in lowered:
            backup = (
                f"The copy of the last complete state is {self.backup_file}: to go back to it "
                f"(losing what happened after it), copy it over {self.state_file}."
                if self.backup_file.exists()
                else "There is no backup copy of the state."
            )
            return ChainStartError(
                f"The chain's state file {self.state_file} is damaged (most likely anvil was "
                f"killed or the computer lost power while writing it), so anvil refused to "
                f"start. {backup} Last lines of {self.log_file}:\n{tail}"
            )
        return ChainStartError(
            f"anvil stopped right after starting (exit code {code}). "
            f"Last lines of {self.log_file}:\n{tail}"
        )

    def _abort(self, child: subprocess.Popen[bytes]) -> None:
        if child.poll() is None:
            child.kill()
            child.wait()
        _CHILDREN.pop(child.pid, None)
        self.pid_file.unlink(missing_ok=True)

    def _write_config(self, pid: int) -> None:
        config = {
            "host": self.host,
            "port": self.port,
            "chain_id": self.chain_id,
            "url": self.url,
            "state_interval": self.state_interval,
            "pid": pid,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp = self.config_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(config, indent=2) + "\n")
        tmp.replace(self.config_file)

    # --- stop ----------------------------------------------------------------------------

    def stop(self, timeout: float = 30) -> bool:
        """Stop the chain: SIGTERM (anvil then writes its state file), SIGKILL if it has not
        exited after `timeout` seconds. Returns whether a running chain was stopped.

        Only a process that really is our anvil (its command line names our state file) is
        signalled; a stale pid file is just removed.
        """
        if not self.data_dir.is_dir():
            return False
        with self._locked():
            return self._stop(timeout)

    def _stop(self, timeout: float) -> bool:
        pid = self._our_pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        graceful = self._wait_exit(pid, timeout)
        if not graceful:
            log.warning(
                "anvil (pid %d) did not stop within %g s; killing it. The state of the last "
                "periodic write is kept.",
                pid,
                timeout,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_exit(pid, 10)
        self.pid_file.unlink(missing_ok=True)
        if graceful and self.state_file.exists():
            tmp = self.data_dir / (BACKUP_FILE + ".new")
            shutil.copyfile(self.state_file, tmp)
            tmp.replace(self.backup_file)
        log.info("embedded chain stopped (pid %d)", pid)
        return True
