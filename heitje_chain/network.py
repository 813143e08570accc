"""The production network kit: a permissioned Hyperledger Besu network with QBFT consensus,
one validator per partner (the municipality, the statistics office, the regional association,
the city-centre organisation, ...), free gas, and local node and account allowlists.

`init_network` writes a kit folder; everything in it but the keys is plain text to review,
put under version control and copy to the partners' machines:

    network.json                  what the kit was made from (the source of every other file)
    genesis.json                  QBFT genesis: validators in extraData, zeroBaseFee, cancun
    heitje.toml                   the [chain] section for the service and the `heitje` tool
    keys/<node>.json              each validator's node key, encrypted (eth-account keystore)
    nodes/<node>/config.toml      Besu's config for that node (min-gas-price=0, allowlists, RPC)
    nodes/<node>/permissions_config.toml   nodes and accounts allowlists (local permissioning)
    nodes/<node>/static-nodes.json         the other validators, dialled at start
    nodes/<node>/besu-heitje.service       systemd unit
    nodes/<node>/docker-compose.yml        the same node as a container (host networking)

A node's `key` file (Besu reads the node key unencrypted, or from a security module) is not in
the kit: `export_node_key` decrypts it for the machine that runs that node, and nowhere else.

The genesis is written once: changing it later would start another chain. Validators added
after genesis join by QBFT's vote (`propose_validator_vote` on a majority of the validators);
`add_validator` prepares their key and files and adds them to every node's allowlist.

The QBFT genesis `extraData` follows Besu's documentation exactly:
RLP([32 bytes vanity, [validator addresses], no vote (empty list), round 0 (integer), no seals
(empty list)]); `tests/lib/test_network.py` checks it against the example in Besu's docs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import coincurve
import rlp  # type: ignore[import-untyped]
from eth_account import Account

from heitje_chain.errors import ChainUnavailable, ConfigError, InvalidInput, KeystoreError
from heitje_chain.keys import NAME, KeyStore, LocalSigner, check_address
from heitje_chain.rpc import Rpc, RpcError

#: QBFT's fixed mixHash ("Istanbul" block identification), from Besu's documentation: the
#: 32 bytes of the text "ctical byzantine fault tolerance".
QBFT_MIX_HASH = "0x" + b"ctical byzantine fault tolerance".hex()
#: The Besu release the compose files run; pin the release you have tested.
BESU_IMAGE = "hyperledger/besu:24.12.2"
#: Where a node keeps its configuration and its chain data (systemd and compose alike).
CONFIG_DIR = "/etc/heitje-besu"
DATA_DIR = "/var/lib/heitje-besu"
#: Default addresses when none are given: a private subnet, one address per validator.
DEFAULT_SUBNET = "10.10.0."
P2P_PORT = 30303
RPC_PORT = 8545
#: Besu's default `--rpc-max-logs-range`; the library's log_range matches it.
LOG_RANGE = 5000
MIN_VALIDATORS = 4  # QBFT tolerates f faulty of 3f + 1: four is the least that survives one


# ------------------------------------------------------------------ extraData


@dataclass(frozen=True)
class QbftExtraData:
    vanity: bytes
    validators: tuple[str, ...]
    vote: tuple[str, bool] | None
    round: int
    seals: tuple[bytes, ...]


def qbft_extra_data(validators: Sequence[str], vanity: bytes = bytes(32)) -> str:
    """The genesis `extraData` of a QBFT network whose validators are `validators` (in the
    order given; Besu's documentation lists them in ascending order)."""
    if len(vanity) != 32:
        raise InvalidInput("the extraData vanity must be exactly 32 bytes")
    addresses = [bytes.fromhex(check_address(v, "validator")[2:]) for v in validators]
    if len(set(addresses)) != len(addresses):
        raise InvalidInput("a validator appears twice in the list")
    encoded: bytes = rlp.encode([vanity, addresses, [], 0, []])
    return "0x" + encoded.hex()


def decode_qbft_extra_data(extra: str) -> QbftExtraData:
    """The parts of a QBFT block's `extraData` (genesis or later block)."""
    try:
        raw = bytes.fromhex(extra.removeprefix("0x"))
        items = rlp.decode(raw)
        vanity, validators, vote, round_bytes, seals = items
    except (ValueError, TypeError, rlp.exceptions.DecodingError) as exc:
        raise InvalidInput(f"not a QBFT extraData value: {exc}") from None
    if not isinstance(vanity, bytes) or len(vanity) != 32 or not isinstance(validators, list):
        raise InvalidInput("not a QBFT extraData value: wrong vanity or validator list")
    decoded_vote: tuple[str, bool] | None = None
    if vote:  # [address, 0x00 (drop) | 0xff (add)]
        decoded_vote = (check_address("0x" + vote[0].hex(), "vote"), vote[1] == b"\xff")
    return QbftExtraData(
        vanity=vanity,
        validators=tuple(check_address("0x" + v.hex(), "validator") for v in validators),
        vote=decoded_vote,
        round=int.from_bytes(round_bytes, "big"),
        seals=tuple(seals),
    )


# ------------------------------------------------------------------ the network description


@dataclass(frozen=True)
class Node:
    """One validator node: its name (the partner), address and enode id (from its node key),
    and where it listens."""

    name: str
    address: str  # the validator address (of the node key)
    public_key: str  # 64 bytes hex, no 0x: the enode id
    host: str  # the address other nodes reach it on (p2p)
    p2p_port: int = P2P_PORT
    rpc_host: str = ""  # the interface its JSON-RPC listens on (internal, never public)
    rpc_port: int = RPC_PORT

    @property
    def enode(self) -> str:
        return f"enode://{self.public_key}@{self.host}:{self.p2p_port}"

    @property
    def rpc_url(self) -> str:
        return f"http://{self.rpc_host or self.host}:{self.rpc_port}"


@dataclass(frozen=True)
class Network:
    name: str
    chain_id: int
    nodes: tuple[Node, ...]
    genesis_validators: tuple[str, ...]  # addresses in the genesis extraData
    block_period: int = 2
    epoch_length: int = 30_000
    request_timeout: int = 4
    gas_limit: int = 30_000_000
    accounts: tuple[str, ...] = ()  # the accounts allowlist
    besu_image: str = BESU_IMAGE
    removed: tuple[str, ...] = field(default=())  # names of validators voted out

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise ConfigError(f"the network {self.name!r} has no node {name!r} (nodes: {known})")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "network.json") -> Network:
        try:
            data = json.loads(text)
            nodes = tuple(Node(**n) for n in data.pop("nodes"))
            for key in ("genesis_validators", "accounts", "removed"):
                data[key] = tuple(data.get(key, ()))
            return cls(nodes=nodes, **data)
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{where} is damaged ({exc}); restore it from the backup") from None


# ------------------------------------------------------------------ making and changing a kit


def parse_validators(spec: str) -> list[tuple[str, str | None]]:
    """`"gemeente,cbs=10.0.0.12,parkstad"` -> [(name, host or None), ...]."""
    out: list[tuple[str, str | None]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, host = part.partition("=")
        out.append((name.strip(), host.strip() or None))
    return out


def init_network(
    out: Path,
    name: str,
    chain_id: int,
    validators: Sequence[tuple[str, str | None]],
    passwords: dict[str, str],
    *,
    block_period: int = 2,
    epoch_length: int = 30_000,
    request_timeout: int | None = None,
    gas_limit: int = 30_000_000,
    accounts: Sequence[str] = (),
    rpc_interface: str = "internal",
    besu_image: str = BESU_IMAGE,
    kdf_iterations: int | None = None,
    minimum: int = MIN_VALIDATORS,
) -> Network:
    """Create a new network kit in `out` (which must not hold one): a node key per validator
    (encrypted with `passwords[name]`), the genesis, and every node's files."""
    if (out / "network.json").exists() or (out / "genesis.json").exists():
        raise ConfigError(f"{out} holds a network kit already; not overwritten")
    if not NAME.match(name):
        raise ConfigError(f"{name!r} is not a usable network name (letters, digits, - _ .)")
    if not 1 <= chain_id < 2**53:
        raise ConfigError("the chain id must be a whole number from 1 to 2^53")
    if chain_id in (1, 5, 10, 56, 100, 137, 8453, 11155111, 17000, 31337, 1337):
        raise ConfigError(
            f"chain id {chain_id} belongs to a public network or a development chain; "
            "pick an unused one so wallets and signatures cannot be confused"
        )
    if len(validators) < minimum:
        raise ConfigError(
            f"QBFT needs at least {minimum} validators to keep going with one of them "
            f"down; {len(validators)} given"
        )
    if not 1 <= block_period <= 60:
        raise ConfigError("the block period must be 1 to 60 seconds")
    if gas_limit < 5_000_000:
        raise ConfigError("the block gas limit must be at least 5,000,000 (the token's deploy)")
    if rpc_interface not in ("internal", "loopback"):
        raise ConfigError("the RPC interface must be 'internal' or 'loopback'")
    names = [n for n, _ in validators]
    if len(set(names)) != len(names):
        raise ConfigError("two validators have the same name")
    nodes: list[Node] = []
    for index, (node_name, host) in enumerate(validators):
        nodes.append(
            _new_node(out, node_name, host, index, passwords, rpc_interface, kdf_iterations, nodes)
        )
    genesis_order = sorted((n.address for n in nodes), key=str.lower)
    network = Network(
        name=name,
        chain_id=chain_id,
        nodes=tuple(nodes),
        genesis_validators=tuple(genesis_order),
        block_period=block_period,
        epoch_length=epoch_length,
        request_timeout=request_timeout or max(4, 2 * block_period),
        gas_limit=gas_limit,
        accounts=tuple(check_address(a, "allowed account") for a in accounts),
        besu_image=besu_image,
    )
    _write(out / "genesis.json", json.dumps(genesis(network), indent=2) + "\n")
    # The kit goes under version control; the node keys never do.
    _write(
        out / ".gitignore",
        "# node keys: keep them offline, never in version control\nkeys/\nkey\n*.key\n",
    )
    save(out, network)
    return network


def _new_node(
    kit: Path,
    name: str,
    host: str | None,
    index: int,
    passwords: dict[str, str],
    rpc_interface: str,
    kdf_iterations: int | None,
    others: Sequence[Node],
) -> Node:
    if not NAME.match(name):
        raise ConfigError(f"{name!r} is not a usable validator name (letters, digits, - _ .)")
    host = host or f"{DEFAULT_SUBNET}{11 + index}"
    if not re.fullmatch(r"[A-Za-z0-9.\-]+", host):
        raise ConfigError(f"{host!r} is not a host name or IPv4 address")
    # Several nodes on one host (a rehearsal on one machine): each gets its own ports.
    same_host = sum(1 for n in others if n.host == host)
    password = passwords.get(name)
    if not password:
        raise KeystoreError(f"no password for the node key of {name!r}")
    account = Account.create()
    public = coincurve.PublicKey.from_secret(bytes(account.key)).format(compressed=False)[1:]
    store = KeyStore(kit / "keys", kdf="pbkdf2" if kdf_iterations else "scrypt",
                     iterations=kdf_iterations)  # fmt: skip
    store.store(name, LocalSigner(account, name), password)
    return Node(
        name=name,
        address=account.address,
        public_key=public.hex(),
        host=host,
        p2p_port=P2P_PORT + same_host,
        rpc_host="127.0.0.1" if rpc_interface == "loopback" else host,
        rpc_port=RPC_PORT + same_host,
    )


def load(kit: Path) -> Network:
    path = kit / "network.json"
    if not path.exists():
        raise ConfigError(f"{kit} is not a network kit (no network.json); make one with "
                          "`heitje network init`")  # fmt: skip
    network = Network.from_json(path.read_text(), str(path))
    _check_genesis(kit, network)
    return network


def save(kit: Path, network: Network) -> None:
    """Write network.json and every file derived from it (never the genesis)."""
    _write(kit / "network.json", network.to_json())
    _write(kit / "heitje.toml", service_config(network))
    for node in network.nodes:
        folder = kit / "nodes" / node.name
        _write(folder / "config.toml", node_config(network, node))
        _write(folder / "permissions_config.toml", permissions_config(network))
        _write(folder / "static-nodes.json", json.dumps(static_nodes(network, node), indent=2))
        _write(folder / "besu-heitje.service", systemd_unit(network, node))
        _write(folder / "docker-compose.yml", compose_file(network, node))


def add_validator(
    kit: Path, name: str, host: str | None, password: str, *, kdf_iterations: int | None = None
) -> tuple[Network, Node]:
    """A new validator's key and files, and its enode in every node's allowlist. It validates
    once a majority of the current validators voted it in (`propose_validator_vote`)."""
    network = load(kit)
    if any(n.name == name for n in network.nodes):
        raise ConfigError(f"the network has a node named {name!r} already")
    rpc_interface = "loopback" if network.nodes[0].rpc_host == "127.0.0.1" else "internal"
    node = _new_node(
        kit, name, host, len(network.nodes), {name: password}, rpc_interface, kdf_iterations,
        network.nodes,
    )  # fmt: skip
    network = replace(network, nodes=(*network.nodes, node))
    save(kit, network)
    return network, node


def remove_validator(kit: Path, name: str) -> Network:
    """Take a node out of every allowlist and static-nodes file (after it was voted out).
    Its key stays in keys/ (delete it yourself once you no longer need it)."""
    network = load(kit)
    network.node(name)
    if len(network.nodes) - 1 < MIN_VALIDATORS:
        raise ConfigError(
            f"after removing {name!r} the network would have fewer than {MIN_VALIDATORS} "
            "validators and could not survive one of them failing; add one first"
        )
    network = replace(
        network,
        nodes=tuple(n for n in network.nodes if n.name != name),
        removed=(*network.removed, name),
    )
    save(kit, network)
    return network


def allow_accounts(kit: Path, addresses: Sequence[str]) -> Network:
    """Add accounts to every node's accounts allowlist file (for a running node, also call
    `perm_addAccountsToAllowlist`, or `perm_reloadPermissionsFromFile` after copying)."""
    network = load(kit)
    new = [check_address(a, "account") for a in addresses]
    accounts = tuple(dict.fromkeys([*network.accounts, *new]))
    network = replace(network, accounts=accounts)
    save(kit, network)
    return network


def export_node_key(kit: Path, name: str, password: str, to: Path) -> Path:
    """Decrypt a node key into Besu's `key` file format at `to` (owner-only permissions),
    for the machine that runs that node."""
    network = load(kit)
    node = network.node(name)
    signer = KeyStore(kit / "keys").load(name, password)
    if signer.address != node.address:
        raise KeystoreError(f"keys/{name}.json does not hold the key of node {name!r}")
    to.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("0x" + bytes(signer._account.key).hex())
    return to


def _check_genesis(kit: Path, network: Network) -> None:
    path = kit / "genesis.json"
    if not path.exists():
        raise ConfigError(f"{path} is missing: restore it from a node or the backup")
    data = json.loads(path.read_text())
    found = decode_qbft_extra_data(str(data.get("extraData", "0x"))).validators
    if [a.lower() for a in found] != [a.lower() for a in network.genesis_validators]:
        raise ConfigError(f"{path} does not match network.json (other genesis validators)")
    if int(data["config"]["chainId"]) != network.chain_id:
        raise ConfigError(
            f"{path} is for chain {data['config']['chainId']}, not {network.chain_id}"
        )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n")
    os.replace(tmp, path)


# ------------------------------------------------------------------ the files


def genesis(network: Network) -> dict[str, Any]:
    """The QBFT genesis: validators in extraData, free gas (zeroBaseFee from london on), the
    forks the contract is compiled for (cancun) active from the start, no pre-funded accounts
    (nobody needs ether when gas is free)."""
    return {
        "config": {
            "chainId": network.chain_id,
            "homesteadBlock": 0,
            "eip150Block": 0,
            "eip155Block": 0,
            "eip158Block": 0,
            "byzantiumBlock": 0,
            "constantinopleBlock": 0,
            "petersburgBlock": 0,
            "istanbulBlock": 0,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,
            "zeroBaseFee": True,
            "qbft": {
                "blockperiodseconds": network.block_period,
                "epochlength": network.epoch_length,
                "requesttimeoutseconds": network.request_timeout,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": qbft_extra_data(network.genesis_validators),
        "gasLimit": hex(network.gas_limit),
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "alloc": {},
    }


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def node_config(network: Network, node: Node) -> str:
    """Besu's config file for one node (option names as on Besu's command line)."""
    hosts = list(dict.fromkeys(["localhost", "127.0.0.1", node.rpc_host or node.host]))
    accounts_note = (
        ""
        if network.accounts
        else "# No account is listed yet, and an empty list would refuse every transaction:\n"
        "# `heitje network allow-account` lists the first ones and switches this on.\n"
    )
    return f"""# Besu config for {node.name}, validator of the {network.name} Heitje network.
# Generated by `heitje network`; edit network.json through `heitje network`, not this file.
genesis-file = "{CONFIG_DIR}/genesis.json"
data-path = "{DATA_DIR}"
node-private-key-file = "{CONFIG_DIR}/key"
sync-mode = "FULL"

# Free gas: no minimum gas price (the genesis has zeroBaseFee).
min-gas-price = 0

# Peer-to-peer: only the other validators (static nodes, all on the allowlist).
p2p-host = "{node.host}"
p2p-port = {node.p2p_port}
discovery-enabled = false
static-nodes-file = "{CONFIG_DIR}/static-nodes.json"

# Local permissioning: only these nodes may connect, only these accounts may send.
permissions-nodes-config-file-enabled = true
permissions-nodes-config-file = "{CONFIG_DIR}/permissions_config.toml"
{accounts_note}permissions-accounts-config-file-enabled = {str(bool(network.accounts)).lower()}
permissions-accounts-config-file = "{CONFIG_DIR}/permissions_config.toml"

# JSON-RPC on the internal interface only, never on a public one.
rpc-http-enabled = true
rpc-http-host = "{node.rpc_host or node.host}"
rpc-http-port = {node.rpc_port}
rpc-http-api = ["ETH", "NET", "WEB3", "QBFT", "PERM"]
host-allowlist = {_toml_list(hosts)}
rpc-max-logs-range = {LOG_RANGE}
revert-reason-enabled = true

metrics-enabled = true
metrics-host = "127.0.0.1"
"""


def permissions_config(network: Network) -> str:
    return (
        "# Local permissioning of the Heitje network (the same file on every node).\n"
        f"nodes-allowlist = {_toml_list([n.enode for n in network.nodes])}\n"
        f"accounts-allowlist = {_toml_list([a.lower() for a in network.accounts])}\n"
    )


def static_nodes(network: Network, node: Node) -> list[str]:
    return [n.enode for n in network.nodes if n.name != node.name]


def systemd_unit(network: Network, node: Node) -> str:
    return f"""[Unit]
Description=Heitje {network.name} network: validator {node.name} (Hyperledger Besu, QBFT)
Documentation=file:///usr/share/doc/heitje/network.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=besu
Group=besu
Environment=BESU_OPTS=-Xmx4g
ExecStart=/opt/besu/bin/besu --config-file={CONFIG_DIR}/config.toml
Restart=on-failure
RestartSec=5
TimeoutStopSec=60
LimitNOFILE=65536
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
# The chain data, and the allowlists (perm_add* calls write them back).
ReadWritePaths={DATA_DIR} {CONFIG_DIR}/permissions_config.toml

[Install]
WantedBy=multi-user.target
"""


def compose_file(network: Network, node: Node) -> str:
    return f"""# Validator {node.name} of the Heitje {network.name} network, as a container.
# Run from the folder holding this node's files (config.toml, permissions_config.toml,
# static-nodes.json, genesis.json and key): docker compose up -d
services:
  besu:
    image: {network.besu_image}
    container_name: heitje-{network.name}-{node.name}
    restart: unless-stopped
    network_mode: host
    command: ["--config-file={CONFIG_DIR}/config.toml"]
    environment:
      BESU_OPTS: "-Xmx4g"
    volumes:
      - ./config.toml:{CONFIG_DIR}/config.toml:ro
      - ./genesis.json:{CONFIG_DIR}/genesis.json:ro
      - ./static-nodes.json:{CONFIG_DIR}/static-nodes.json:ro
      - ./key:{CONFIG_DIR}/key:ro
      - ./permissions_config.toml:{CONFIG_DIR}/permissions_config.toml
      - chain-data:{DATA_DIR}
volumes:
  chain-data:
"""


def service_config(network: Network) -> str:
    """The [chain] section for the Heitje service and the `heitje` tool on this network."""
    return f"""# Heitje on the {network.name} network: copy to <HEITJE_HOME>/heitje.toml.
[chain]
rpc_urls = {_toml_list([n.rpc_url for n in network.nodes])}
chain_id = {network.chain_id}
log_range = {LOG_RANGE}          # Besu's rpc-max-logs-range
instant_finality = true    # QBFT: a block is final once it is on the chain
account_allowlist = {str(bool(network.accounts)).lower()}  # true: new wallets listed on all nodes
"""


# ------------------------------------------------------------------ validator votes


#: Consensus protocols whose validator votes `heitje network vote` casts: Besu's QBFT (the
#: production network) and geth's Clique (the local test network, `heitje network up`).
CONSENSUS = ("qbft", "clique")
_VOTE = {"qbft": "qbft_proposeValidatorVote", "clique": "clique_propose"}
_WITHDRAW = {"qbft": "qbft_discardValidatorVote", "clique": "clique_discard"}


def _consensus(name: str) -> str:
    if name not in CONSENSUS:
        raise ConfigError(f"consensus must be one of {', '.join(CONSENSUS)}, not {name!r}")
    return name


def propose_validator_vote(
    urls: Sequence[str], address: str, add: bool, consensus: str = "qbft"
) -> dict[str, str]:
    """Ask each validator node (its own RPC) to vote to add or remove `address`; per URL
    'voted' or the reason it did not. More than half the validators must vote alike.
    QBFT: `qbft_proposeValidatorVote` (answers true); Clique: `clique_propose` (answers
    null); each validator then puts its vote in the blocks it seals."""
    target = check_address(address, "validator")
    method = _VOTE[_consensus(consensus)]
    results: dict[str, str] = {}
    for url in urls:
        try:
            answer = Rpc(url, timeout=10).call(method, [target, add])
            ok = answer is True if consensus == "qbft" else answer is None
            results[url] = "voted" if ok else f"refused ({answer!r})"
        except (RpcError, ChainUnavailable) as exc:
            results[url] = f"failed: {exc}"
    return results


def withdraw_validator_vote(
    urls: Sequence[str], address: str, consensus: str = "qbft"
) -> dict[str, str]:
    """Withdraw each node's standing vote on `address` once the change is made, so that it is
    not cast again (QBFT: at the next epoch; Clique: a vote to add a signer already in is
    ignored, but one to remove a signer voted back in later would count again). Per URL
    'withdrawn' or the reason it was not."""
    target = check_address(address, "validator")
    method = _WITHDRAW[_consensus(consensus)]
    results: dict[str, str] = {}
    for url in urls:
        try:
            Rpc(url, timeout=10).call(method, [target])
            results[url] = "withdrawn"
        except (RpcError, ChainUnavailable) as exc:
            results[url] = f"failed: {exc}"
    return results


def validators_at(url: str, block: str = "latest", consensus: str = "qbft") -> list[str]:
    """The validators of a block, from a node's QBFT API (Clique: its signers)."""
    if _consensus(consensus) == "clique":
        answer = Rpc(url, timeout=10).call("clique_getSigners", [block])
    else:
        answer = Rpc(url, timeout=10).call("qbft_getValidatorsByBlockNumber", [block])
    return [check_address(a, "validator") for a in answer or []]


# ------------------------------------------------------------------ accounts on running nodes


def allow_on_nodes(urls: Sequence[str], addresses: Sequence[str], timeout: float = 10.0) -> None:
    """Add `addresses` to the account allowlist of every running node (Besu local
    permissioning: `perm_addAccountsToAllowlist`, which also writes the node's file). One
    already listed counts as done. Raises ChainUnavailable naming each node that did not
    take them: a sender must be listed on every node, or its transactions may be refused."""
    wanted = [check_address(a, "account") for a in addresses]
    failed = []
    for url in urls:
        try:
            answer = Rpc(url, timeout=timeout).call("perm_addAccountsToAllowlist", [wanted])
        except RpcError as exc:
            if "existing" in str(exc).lower() or "already" in str(exc).lower():
                continue
            failed.append(f"{url}: {exc}")
        except ChainUnavailable as exc:
            failed.append(f"{url}: {exc}")
        else:
            if answer != "Success":
                failed.append(f"{url}: answered {answer!r}")
    if failed:
        raise ChainUnavailable(
            "could not add the account to every node's allowlist, so it was not created: "
            + "; ".join(failed)
        )
