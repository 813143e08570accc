"""A local multi-validator network on this computer, for tests, benchmarks and rehearsals:
N proof-of-authority validators (geth v1.13.15, Clique), each its own process with its own
data folder, on 127.0.0.1 only, made from the network kit's own keys (`init_network`).

    net = LocalNetwork(folder, validators=4, block_period=1)
    net.start()                       # waits for peering and the first blocks
    net.urls                          # one JSON-RPC URL per node
    net.kill("validator4")            # SIGKILL; net.start_node("validator4") restarts it
    net.add_node("observer")          # a new node with an empty data folder: it syncs
    net.stop()                        # every node it started, by pid (also at exit)

`heitje network up --local N` runs one in the foreground.

- Genesis (`clique_genesis`): Clique with `extraData` = 32 zero bytes, the signers' addresses
  in ascending order, 65 zero bytes; every fork to Berlin at block 0, London too when asked
  (`london=True`, base fee 0), never `terminalTotalDifficultyPassed` (it stops sealing).
- Free gas: geth raises `--miner.gasprice 0` to 1 gwei, so every node is told
  `miner_setGasPrice(0)` once it answers (its pool and its sealer then take transactions
  without a tip from any sender), and the service's settings say `gas_price = 0` (geth still
  suggests 1 gwei). Without London there is no base fee at all: legacy transactions with a
  gas price of 0. With London, a base fee of 0 rises to 1 wei after a block more than half
  full and, rounded down, never falls back to 0: free gas would end for good, which is why
  London is not the default here.
- Sealing: `--miner.recommit 1s` (geth's least), so that transactions arriving while a block
  waits for its time are added to it within a second (Clique adds them only then). Sealing
  starts (`miner_start`) only once a validator has its peers: one sealing alone seals rival
  blocks, and Clique can stall on those (`unstick` breaks such a stall).
- Peers: each node's `[Node.P2P] StaticNodes` in a `--config` TOML, `--nodiscover`, listening
  on 127.0.0.1 only (RPC, p2p and the engine API alike), on free ports (never 8000 or
  8545-8547).
- Finality: Clique's 'latest' block can still be reorganised; the settings say
  `instant_finality = false` and `confirmations` (`CLIQUE_CONFIRMATIONS`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import coincurve

from heitje_chain import network as net
from heitje_chain.errors import ChainUnavailable, ConfigError, HeitjeError
from heitje_chain.keys import KeyStore, check_address
from heitje_chain.node import free_port as _free_port
from heitje_chain.rpc import Rpc, RpcError

log = logging.getLogger(__name__)

GETH_VERSION = "1.13.15"
GETH_ENV = "HEITJE_GETH"
#: Seconds without a new block after which `wait_ready` breaks Clique's livelock (`unstick`).
STALL_SECONDS = 6.0
#: Blocks behind the head that readers of a Clique network treat as final.
CLIQUE_CONFIRMATIONS = 6
#: The node keys of a local network are for this computer only; their password is written
#: next to them (never use such a kit for a real network).
LOCAL_PASSWORD = "heitje-local-network-only"  # noqa: S105 (a test network's, on purpose)
LOCAL_CHAIN_ID = 424242
_INSTALL_HINT = (
    f"geth {GETH_VERSION} (the last geth that seals Clique) is built by `make setup` "
    f"(tools/setup.sh) into ~/.cache/heitje/geth-v{GETH_VERSION}/ and linked as "
    f".venv/bin/geth-clique; or set {GETH_ENV} to a geth {GETH_VERSION} binary."
)


_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback port (never 8000 or 8545-8547), none handed out twice by this process."""
    while True:
        port = _free_port()
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class LocalNetworkError(HeitjeError, RuntimeError):
    """The local network could not be started or did not come together; says why."""


def find_geth(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The geth binary: `explicit`, $HEITJE_GETH, `geth-clique` next to the running Python
    (the project's .venv/bin) or on the PATH, then the set-up's build cache."""
    given = explicit if explicit is not None else os.environ.get(GETH_ENV)
    if given:
        path = Path(given)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise LocalNetworkError(f"the geth program {path} does not exist. {_INSTALL_HINT}")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    candidates = [
        Path(sys.executable).parent / "geth-clique",
        Path(shutil.which("geth-clique") or "/nonexistent"),
        cache / "heitje" / f"geth-v{GETH_VERSION}" / "geth",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise LocalNetworkError(f"geth was not found. {_INSTALL_HINT}")


# ------------------------------------------------------------------ the Clique genesis


def clique_extra_data(signers: Sequence[str]) -> str:
    """Clique's genesis `extraData`: 32 bytes of vanity, the signers' 20-byte addresses in
    ascending order, and 65 zero bytes where a block's seal goes."""
    addresses = sorted(bytes.fromhex(check_address(s, "signer")[2:]) for s in signers)
    if not addresses:
        raise ConfigError("a Clique network needs at least one signer")
    if len(set(addresses)) != len(addresses):
        raise ConfigError("a signer appears twice in the list")
    return "0x" + (bytes(32) + b"".join(addresses) + bytes(65)).hex()


def clique_genesis(network: net.Network, *, london: bool = False) -> dict[str, Any]:
    """geth's genesis for the kit's validators as Clique signers: the same chain id, block
    period and gas limit, every fork up to Berlin (London too with `london`, base fee 0) at
    block 0, no pre-funded accounts (gas is free)."""
    forks = [
        "homesteadBlock", "eip150Block", "eip155Block", "eip158Block", "byzantiumBlock",
        "constantinopleBlock", "petersburgBlock", "istanbulBlock", "berlinBlock",
    ]  # fmt: skip
    if london:
        forks.append("londonBlock")
    config: dict[str, Any] = {"chainId": network.chain_id, **dict.fromkeys(forks, 0)}
    config["clique"] = {"period": network.block_period, "epoch": network.epoch_length}
    genesis: dict[str, Any] = {
        "config": config,
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": clique_extra_data(network.genesis_validators),
        "gasLimit": hex(network.gas_limit),
        "difficulty": "0x1",
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "alloc": {},
    }
    if london:
        genesis["baseFeePerGas"] = "0x0"
    return genesis


def service_config(network: net.Network, urls: Sequence[str]) -> str:
    """The [chain] settings for the service and the `heitje` tool on a local Clique network."""
    listed = ", ".join(json.dumps(u) for u in urls)
    return f"""# Heitje on the local {network.name} network (geth Clique); HEITJE_CONFIG=this file.
[chain]
rpc_urls = [{listed}]
chain_id = {network.chain_id}
log_range = {net.LOG_RANGE}
instant_finality = false   # Clique: the latest blocks can still be reorganised
confirmations = {CLIQUE_CONFIRMATIONS}
gas_price = 0              # free gas, although geth suggests 1 gwei
"""


# ------------------------------------------------------------------ nodes


@dataclass
class LocalNode:
    """One geth process of the local network, with its data folder and ports."""

    name: str
    folder: Path
    rpc_port: int
    p2p_port: int
    auth_port: int
    public_key: str  # the enode id (hex, 64 bytes)
    signer: str | None = None  # the validator's address; None for a node that only follows
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def enode(self) -> str:
        return f"enode://{self.public_key}@127.0.0.1:{self.p2p_port}"

    @property
    def log_file(self) -> Path:
        return self.folder / "geth.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rpc(self, timeout: float = 5.0) -> Rpc:
        return Rpc(self.url, timeout=timeout)

    def log_tail(self, lines: int = 12) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class LocalNetwork:
    """N Clique validators on 127.0.0.1 in `folder` (the kit, and one data folder per node).

    An existing folder is used again (the same keys, genesis and chain data); a new one gets
    a kit from `heitje_chain.network.init_network`, with free ports for every node."""

    def __init__(
        self,
        folder: Path,
        validators: int = 4,
        *,
        block_period: int = 1,
        chain_id: int = LOCAL_CHAIN_ID,
        gas_limit: int = 30_000_000,
        london: bool = False,
        geth: str | os.PathLike[str] | None = None,
        verbosity: int = 2,
        recommit: int = 1,
    ) -> None:
        if validators < 1:
            raise ConfigError("a local network needs at least one validator")
        self.folder = Path(folder)
        self.geth = find_geth(geth)
        self.verbosity = verbosity
        # Seconds between rebuilds of the block being sealed: on Clique, transactions that
        # arrive meanwhile wait for the next rebuild (geth's default 2 s, its least 1 s).
        self.recommit = recommit
        self.london = london
        self.nodes: dict[str, LocalNode] = {}
        self.network = self._kit(validators, block_period, chain_id, gas_limit)
        self._stopped = False
        #: The rival heads `sealing_paused` found (a fork at the newest block), if any.
        self.forks: list[dict[str, tuple[int, str]]] = []
        atexit.register(self.stop)

    # ------------------------------------------------------------------ the kit

    def _kit(self, count: int, period: int, chain_id: int, gas_limit: int) -> net.Network:
        kit = self.folder / "kit"
        if (kit / "network.json").exists():
            network = net.load(kit)
            state = json.loads((self.folder / "nodes.json").read_text())
        else:
            names = [f"validator{i + 1}" for i in range(count)]
            passwords = dict.fromkeys(names, LOCAL_PASSWORD)
            network = net.init_network(
                kit, "local", chain_id, [(n, "127.0.0.1") for n in names], passwords,
                block_period=period, gas_limit=gas_limit, rpc_interface="loopback",
                kdf_iterations=2, minimum=1,
            )  # fmt: skip
            state = {}
            nodes = []
            for node in network.nodes:
                rpc_port, p2p_port = free_port(), free_port()
                nodes.append(replace(node, rpc_port=rpc_port, p2p_port=p2p_port))
                state[node.name] = {"rpc_port": rpc_port, "p2p_port": p2p_port,
                                    "auth_port": free_port()}  # fmt: skip
            network = replace(network, nodes=tuple(nodes))
            net.save(kit, network)
            genesis = clique_genesis(network, london=self.london)
            (kit / "genesis-clique.json").write_text(json.dumps(genesis, indent=2) + "\n")
            self.folder.joinpath("nodes.json").write_text(json.dumps(state, indent=2) + "\n")
        for node in network.nodes:
            ports = state[node.name]
            self.nodes[node.name] = LocalNode(
                node.name, self.folder / node.name, ports["rpc_port"], ports["p2p_port"],
                ports["auth_port"], node.public_key, node.address,
            )  # fmt: skip
        for name, ports in state.items():
            if name not in self.nodes and "public_key" in ports:  # a follower added earlier
                self.nodes[name] = LocalNode(
                    name, self.folder / name, ports["rpc_port"], ports["p2p_port"],
                    ports["auth_port"], ports["public_key"],
                )  # fmt: skip
        urls = [n.url for n in self.nodes.values()]
        (kit / "heitje.toml").write_text(service_config(network, urls))
        return network

    @property
    def kit(self) -> Path:
        return self.folder / "kit"

    @property
    def config_file(self) -> Path:
        """The service's and the `heitje` tool's settings for this network."""
        return self.kit / "heitje.toml"

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes.values()]

    @property
    def validators(self) -> list[LocalNode]:
        return [n for n in self.nodes.values() if n.signer is not None]

    def node(self, name: str) -> LocalNode:
        try:
            return self.nodes[name]
        except KeyError:
            raise ConfigError(f"no node {name!r} (nodes: {', '.join(self.nodes)})") from None

    # ------------------------------------------------------------------ one node's files

    def _prepare(self, node: LocalNode) -> None:
        """The node's data folder: geth's genesis state, its p2p key, its signer key and
        password, and its config TOML with the other nodes as static peers."""
        folder = node.folder
        (folder / "geth").mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (folder / "geth" / "chaindata").exists():
            self._geth(
                "--datadir", str(folder), "--state.scheme", "hash", "init",
                str(self.kit / "genesis-clique.json"),
            )  # fmt: skip
        if node.signer is not None and not (folder / "password.txt").exists():
            # The kit's node key is both the p2p identity (the enode) and the Clique signer.
            signer = KeyStore(self.kit / "keys").load(node.name, LOCAL_PASSWORD)
            _private(folder / "geth" / "nodekey", bytes(signer._account.key).hex())
            keystore = folder / "keystore"
            keystore.mkdir(exist_ok=True, mode=0o700)
            shutil.copy(self.kit / "keys" / f"{node.name}.json", keystore / f"{node.name}.json")
            _private(folder / "password.txt", LOCAL_PASSWORD)
        peers = [n.enode for n in self.nodes.values() if n.name != node.name]
        listed = ", ".join(json.dumps(p) for p in peers)
        (folder / "config.toml").write_text(
            f"# geth config of {node.name} (local Heitje network): peers, loopback only\n"
            "[Node.P2P]\n"
            "NoDiscovery = true\n"
            "BootstrapNodes = []\n"
            "BootstrapNodesV5 = []\n"
            f"StaticNodes = [{listed}]\n"
            f'ListenAddr = "127.0.0.1:{node.p2p_port}"\n'
        )

    def _geth(self, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 (our own geth, our own arguments)
            [str(self.geth), *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise LocalNetworkError(f"geth {args[-2]} failed: {done.stderr.strip()[-800:]}")

    def command(self, node: LocalNode) -> list[str]:
        args = [
            str(self.geth),
            "--datadir", str(node.folder),
            "--config", str(node.folder / "config.toml"),
            "--networkid", str(self.network.chain_id),
            "--nodiscover", "--nat", "none", "--ipcdisable",
            "--http", "--http.addr", "127.0.0.1", "--http.port", str(node.rpc_port),
            "--http.api", "eth,net,web3,admin,miner,clique,txpool,debug",
            "--http.vhosts", "localhost,127.0.0.1",
            "--authrpc.addr", "127.0.0.1", "--authrpc.port", str(node.auth_port),
            "--syncmode", "full", "--gcmode", "archive", "--state.scheme", "hash",
            "--cache", "64", "--snapshot=false",
            "--miner.gaslimit", str(self.network.gas_limit),
            "--miner.recommit", f"{self.recommit}s",
            "--verbosity", str(self.verbosity),
        ]  # fmt: skip
        if node.signer is not None:
            args += [
                "--miner.etherbase", node.signer,  # sealing starts once peered (_seal)
                "--unlock", node.signer, "--password", str(node.folder / "password.txt"),
                "--allow-insecure-unlock",
            ]  # fmt: skip
        return args

    # ------------------------------------------------------------------ running

    def start(self, timeout: float = 60.0) -> None:
        """Start every node that is not running, then wait until they are all peered, free
        gas is on, and blocks are being sealed."""
        for node in self.nodes.values():
            if not node.running:
                self._launch(node)
        self.wait_ready(timeout)

    def _launch(self, node: LocalNode) -> None:
        self._prepare(node)
        log = node.log_file.open("ab")
        try:
            node.process = subprocess.Popen(  # noqa: S603 (our own geth and arguments)
                self.command(node),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to pass on
            )
        finally:
            log.close()
        self._stopped = False

    def start_node(self, name: str, timeout: float = 60.0) -> LocalNode:
        """(Re)start one node with its data folder, and wait until it has caught up."""
        node = self.node(name)
        if not node.running:
            self._launch(node)
        self._wait_answer(node, timeout)
        self._free_gas(node)
        self.wait_synced(timeout=timeout)
        self._seal([node])
        return node

    def _seal(self, nodes: Sequence[LocalNode]) -> None:
        """Start sealing on the validators among `nodes` (miner_start). Validators are
        started without it and told once they have their peers (and, restarted, the others'
        head): one sealing alone at start seals a block of its own at the same height as the
        others', and rival blocks that each validator keeps are how Clique stalls (`unstick`)."""
        for node in nodes:
            if node.signer is not None and node.running:
                node.rpc().call("miner_start")

    def add_node(self, name: str, timeout: float = 120.0) -> LocalNode:
        """A new node that only follows (no signer), with an empty data folder: it syncs the
        whole chain from the others. Returns once it has their head."""
        if name in self.nodes:
            raise ConfigError(f"the local network has a node named {name!r} already")
        key = coincurve.PrivateKey()
        public = key.public_key.format(compressed=False)[1:].hex()
        node = LocalNode(
            name, self.folder / name, free_port(), free_port(), free_port(), public
        )  # fmt: skip
        self.nodes[name] = node
        self._prepare(node)
        _private(node.folder / "geth" / "nodekey", key.secret.hex())
        state = json.loads((self.folder / "nodes.json").read_text())
        state[name] = {"rpc_port": node.rpc_port, "p2p_port": node.p2p_port,
                       "auth_port": node.auth_port, "public_key": public}  # fmt: skip
        (self.folder / "nodes.json").write_text(json.dumps(state, indent=2) + "\n")
        return self.start_node(name, timeout)

    def add_validator(self, name: str, timeout: float = 120.0) -> LocalNode:
        """The runbook's "adding a validator" on this network (docs/network.md, section 4):
        its key and kit files made by `network.add_validator` (as `heitje network
        add-validator` does), its node started with an empty data folder, sealing on
        (`--mine`) with its key. It syncs the chain from the others at once and seals only
        after more than half of the signers voted it in (`network.propose_validator_vote`
        with `consensus="clique"`). Returns once it has the others' head."""
        if name in self.nodes:
            raise ConfigError(f"the local network has a node named {name!r} already")
        network, added = net.add_validator(
            self.kit, name, "127.0.0.1", LOCAL_PASSWORD, kdf_iterations=2
        )
        added = replace(added, rpc_port=free_port(), p2p_port=free_port())
        network = replace(
            network, nodes=tuple(added if n.name == name else n for n in network.nodes)
        )
        net.save(self.kit, network)
        self.network = network
        node = LocalNode(
            name, self.folder / name, added.rpc_port, added.p2p_port, free_port(),
            added.public_key, added.address,
        )  # fmt: skip
        self.nodes[name] = node
        state = json.loads((self.folder / "nodes.json").read_text())
        state[name] = {"rpc_port": node.rpc_port, "p2p_port": node.p2p_port,
                       "auth_port": node.auth_port}  # fmt: skip
        (self.folder / "nodes.json").write_text(json.dumps(state, indent=2) + "\n")
        self.config_file.write_text(service_config(network, self.urls))  # save() wrote Besu's
        return self.start_node(name, timeout)

    def signers(self, block: str = "latest") -> list[str]:
        """Clique's signers at `block`, as a running validator sees them (checksummed)."""
        node = next(n for n in self.validators if n.running)
        return [check_address(a, "signer") for a in node.rpc().call("clique_getSigners", [block])]

    def sealer_of(self, number: int) -> str:
        """The address that sealed block `number` (Clique's signature in its header),
        checksummed."""
        error: RpcError | None = None
        for node in self.nodes.values():  # a node a block behind does not have it yet
            if node.running:
                try:
                    signer = node.rpc().call("clique_getSigner", [hex(number)])
                except RpcError as exc:
                    error = exc
                    continue
                return check_address(signer, "signer")
        raise LocalNetworkError(f"no running node has block {number}: {error}")

    def wipe(self, name: str) -> None:
        """The runbook's "data corrupted" recovery, first half: stop the node and empty its
        chain data, keeping its key (`start_node` then syncs it from the others)."""
        node = self.node(name)
        self.stop_node(name)
        for folder in ("chaindata", "lightchaindata", "nodes", "triecache"):
            shutil.rmtree(node.folder / "geth" / folder, ignore_errors=True)

    def cut_off(self, name: str, timeout: float = 30.0) -> None:
        """Cut node `name` off from every other node (a network partition): its peers are
        removed on both sides, static dials included, until it has none. Its RPC still
        answers."""
        lone = self.node(name)
        others = [n for n in self.nodes.values() if n is not lone and n.running]
        deadline = time.monotonic() + timeout
        while True:
            for peer in others:  # again each round: a dial under way may still connect
                peer.rpc().call("admin_removePeer", [lone.enode])
                lone.rpc().call("admin_removePeer", [peer.enode])
            time.sleep(0.2)
            if int(lone.rpc().call("net_peerCount"), 16) == 0:
                return
            if time.monotonic() > deadline:
                raise LocalNetworkError(f"{name} kept its peers for {timeout:g} s")

    def heal(self, name: str, timeout: float = 60.0) -> dict[str, int]:
        """Undo `cut_off`: the peers added back on both sides; returns once every node is
        within a block of the others."""
        lone = self.node(name)
        for peer in self.nodes.values():
            if peer is not lone and peer.running:
                lone.rpc().call("admin_addPeer", [peer.enode])
                peer.rpc().call("admin_addPeer", [lone.enode])
        return self.wait_synced(timeout=timeout)

    def kill(self, name: str) -> None:
        """SIGKILL one node (a crash: nothing is flushed)."""
        node = self.node(name)
        if node.process is not None and node.running:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait(timeout=30)

    def stop_node(self, name: str, timeout: float = 30.0) -> None:
        """Stop one node as a service manager does: SIGTERM, then SIGKILL after `timeout`."""
        node = self.node(name)
        process = node.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    def stop(self) -> None:
        """Stop every node this object started, by pid (SIGTERM, then SIGKILL)."""
        if self._stopped:
            return
        running = [n for n in self.nodes.values() if n.running]
        for node in running:
            assert node.process is not None
            with contextlib.suppress(ProcessLookupError):
                node.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for node in running:
            assert node.process is not None
            try:
                node.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=30)
        self._stopped = True

    def __enter__(self) -> LocalNetwork:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ waiting

    def _wait_answer(self, node: LocalNode, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process is not None and node.process.poll() is not None:
                raise LocalNetworkError(
                    f"{node.name} (geth) exited with code {node.process.returncode}:\n"
                    + node.log_tail()
                )
            with contextlib.suppress(ChainUnavailable, RpcError):
                node.rpc(timeout=1).call("eth_blockNumber")
                return
            time.sleep(0.2)
        raise LocalNetworkError(f"{node.name} did not answer within {timeout:g} s:\n"
                                + node.log_tail())  # fmt: skip

    def _free_gas(self, node: LocalNode) -> None:
        """geth raises --miner.gasprice 0 to 1 gwei; the RPC call takes 0 (pool and sealer)."""
        node.rpc().call("miner_setGasPrice", ["0x0"])

    def wait_ready(self, timeout: float = 60.0, blocks: int = 2) -> None:
        """Every running node answers, has free gas, is peered with every other running node,
        and `blocks` new blocks were sealed."""
        running = [n for n in self.nodes.values() if n.running]
        for node in running:
            self._wait_answer(node, timeout)
            self._free_gas(node)
        deadline = time.monotonic() + timeout
        want = len(running) - 1
        while True:
            counts = {n.name: int(n.rpc().call("net_peerCount"), 16) for n in running}
            if all(c >= want for c in counts.values()):
                break
            if time.monotonic() > deadline:
                raise LocalNetworkError(f"the nodes did not all peer within {timeout:g} s "
                                        f"(peers per node: {counts})")  # fmt: skip
            time.sleep(0.2)
        self.wait_synced(max(1.0, deadline - time.monotonic()))
        self._seal(running)
        start = self.heights()
        first = max(start.values())
        progress, best = time.monotonic(), first
        joined = time.monotonic()  # since when the nodes are on one chain
        while True:
            one = self._one_chain()
            if one and max(self.heights().values()) >= first + blocks:
                return
            if time.monotonic() > deadline:
                raise LocalNetworkError(f"no new blocks on one chain within {timeout:g} s "
                                        f"(heights {start}, heads now {self.heads()}):\n"
                                        + running[0].log_tail())  # fmt: skip
            joined = time.monotonic() if one else joined
            if max(self.heights().values()) > best:
                progress, best = time.monotonic(), max(self.heights().values())
            if min(progress, joined) < time.monotonic() - STALL_SECONDS:
                self.unstick()  # no new block, or rival chains, for a while
                progress = joined = time.monotonic()
            time.sleep(0.2)

    def _one_chain(self) -> bool:
        """Every running node has the same block at the lowest of their heads (they are on
        one chain, some perhaps a block behind)."""
        heights = self.heights()
        low = hex(min(heights.values()))
        hashes = {
            n.name: n.rpc().call("eth_getBlockByNumber", [low, False])["hash"]
            for n in self.nodes.values()
            if n.running
        }
        return len(set(hashes.values())) == 1

    def wait_height(self, number: int, timeout: float = 60.0) -> dict[str, int]:
        """Wait until every running node has block `number` (a transaction mined on one node
        is seen by clients of the others)."""
        deadline = time.monotonic() + timeout
        while True:
            heights = self.heights()
            if min(heights.values()) >= number:
                return heights
            if time.monotonic() > deadline:
                raise LocalNetworkError(f"not every node reached block {number} within "
                                        f"{timeout:g} s (heights {heights})")  # fmt: skip
            time.sleep(0.2)

    def heights(self) -> dict[str, int]:
        """The head block number of each running node."""
        return {
            n.name: int(n.rpc().call("eth_blockNumber"), 16)
            for n in self.nodes.values()
            if n.running
        }

    def wait_synced(self, timeout: float = 60.0) -> dict[str, int]:
        """Wait until every running node is within one block of the highest head."""
        deadline = time.monotonic() + timeout
        while True:
            heights = self.heights()
            if max(heights.values()) - min(heights.values()) <= 1:
                return heights
            if time.monotonic() > deadline:
                raise LocalNetworkError(f"the nodes did not catch up within {timeout:g} s "
                                        f"(heights {heights})")  # fmt: skip
            time.sleep(0.25)

    @contextlib.contextmanager
    def sealing_paused(
        self, settle: float | None = None, attempts: int = 10
    ) -> Iterator[dict[str, tuple[int, str]]]:
        """Stop sealing on every validator (miner_stop), let the last blocks spread, and
        yield each running node's head (number, hash), the same on every node; sealing
        resumes afterwards.

        Two validators may have sealed rival blocks at the same height just before they
        stopped (Clique's out-of-turn blocks): with nobody sealing, nothing settles which one
        stays. Sealing then runs on for a moment and stops again, until one head remains;
        `self.forks` counts how often that was needed."""
        running = [n for n in self.validators if n.running]
        wait = settle if settle is not None else self.network.block_period + 1.5
        try:
            for _attempt in range(attempts):
                for node in running:
                    node.rpc().call("miner_stop")
                time.sleep(wait)
                self.wait_synced(timeout=30)
                heads = self.heads()
                if len(set(heads.values())) == 1:
                    break
                self.forks.append(heads)
                for node in running:
                    node.rpc().call("miner_start")
                time.sleep(2 * self.network.block_period)
            else:
                raise LocalNetworkError(f"the nodes kept different heads: {self.forks[-1]}")
            yield heads
        finally:
            for node in running:
                if node.running:
                    node.rpc().call("miner_start")

    def unstick(self, timeout: float = 30.0) -> list[str]:
        """Clique's livelock: rival blocks of equal difficulty at the head, each validator
        keeping its own (geth prefers blocks it sealed), and every one of them among the
        recent signers on its own branch, so nobody may seal the next block ("signed
        recently, must wait for others"). The validators on another head than the highest
        (the commonest of the highest) stop sealing, are set back to the last block they
        share with it (`debug_setHead`; none for a node only behind on its chain), reconnect
        to a node that has it and take it; then all seal again.
        Returns the nodes set back (none: sealing was only restarted)."""
        heads = self.heads()
        validators = [n for n in self.validators if n.running]
        counts: dict[str, int] = {}
        numbers: dict[str, int] = {}
        for number, block_hash in heads.values():
            counts[block_hash] = counts.get(block_hash, 0) + 1
            numbers[block_hash] = number
        # The highest head (the others may only be behind on its chain), then the commonest.
        winner_hash = max(counts, key=lambda h: (numbers[h], counts[h]))
        winner = next(
            n for n in self.nodes.values() if n.running and heads[n.name][1] == winner_hash
        )
        behind = [n for n in self.nodes.values() if n.running and heads[n.name][1] != winner_hash]
        if behind:
            self.forks.append(heads)
        log.warning(
            "no new block: %s; %s", ", ".join(f"{n} #{h} {x[:10]}" for n, (h, x) in heads.items()),
            f"setting {', '.join(n.name for n in behind)} back to the majority's chain"
            if behind else "sealing restarted",
        )  # fmt: skip
        for node in validators:
            node.rpc().call("miner_stop")
        for node in behind:
            number = heads[node.name][0]
            while number > 0:  # the newest block both chains have
                mine = node.rpc().call("eth_getBlockByNumber", [hex(number), False])
                theirs = winner.rpc().call("eth_getBlockByNumber", [hex(number), False])
                if mine and theirs and mine["hash"] == theirs["hash"]:
                    break
                number -= 1
            node.rpc().call("debug_setHead", [hex(number)])
            node.rpc().call("admin_removePeer", [winner.enode])
            node.rpc().call("admin_addPeer", [winner.enode])  # a new peer: it syncs at once
        deadline = time.monotonic() + timeout
        for node in behind:
            while node.rpc().call("eth_getBlockByNumber", ["latest", False])["hash"] != winner_hash:
                if time.monotonic() > deadline:
                    break  # sealing on may settle it; the caller's own timeout decides
                time.sleep(0.2)
        for node in validators:
            node.rpc().call("miner_start")
        return [n.name for n in behind]

    def heads(self) -> dict[str, tuple[int, str]]:
        out = {}
        for node in self.nodes.values():
            if node.running:
                block = node.rpc().call("eth_getBlockByNumber", ["latest", False])
                out[node.name] = (int(block["number"], 16), str(block["hash"]))
        return out


def _private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
