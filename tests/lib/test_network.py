"""The production network kit: QBFT extraData against Besu's documented examples, the genesis,
node keys, per-node Besu config and allowlists, adding and removing validators, votes."""

from __future__ import annotations

import json
import stat
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from eth_utils import keccak, to_checksum_address

from heitje_chain import network as net
from heitje_chain.cli import main
from heitje_chain.config import load_config
from heitje_chain.errors import ConfigError, InvalidInput, KeystoreError
from heitje_chain.keys import KeyStore

# Besu's documentation (private networks, configure QBFT, "Generate extra data"): the four
# validators of its toEncode.json example, in that order, and the RLP it gives for them.
BESU_DOC_VALIDATORS = [
    "0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb",
    "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
    "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de",
    "0xab5e7f4061c605820d3744227eed91ff8e2c8908",
]
BESU_DOC_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e4"
    "5706cc08b8f44b11e43cba0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee"
    "02d7bcbc1bf1236b8c15148971e1de94ab5e7f4061c605820d3744227eed91ff8e2c8908c080c0"
)
# The same page's genesis example for block-header validator selection.
BESU_DOC_GENESIS_VALIDATORS = [
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
]
BESU_DOC_GENESIS_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f8549464a702e6"
    "263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a0318594aefdb9a738"
    "c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0"
)
# ... and its genesis for contract validator selection: no validators in extraData.
BESU_DOC_CONTRACT_EXTRA_DATA = "0xe5a0" + "00" * 32 + "c0c080c0"

NAMES = ["gemeente", "cbs", "parkstad", "centrum"]
PASSWORD = "node key password 1"


@pytest.mark.parametrize(
    ("validators", "expected"),
    [
        (BESU_DOC_VALIDATORS, BESU_DOC_EXTRA_DATA),
        (BESU_DOC_GENESIS_VALIDATORS, BESU_DOC_GENESIS_EXTRA_DATA),
        ([], BESU_DOC_CONTRACT_EXTRA_DATA),
    ],
)
def test_extra_data_matches_besu_documentation(validators: list[str], expected: str) -> None:
    assert net.qbft_extra_data(validators) == expected
    decoded = net.decode_qbft_extra_data(expected)
    assert [v.lower() for v in decoded.validators] == validators
    assert decoded.vanity == bytes(32) and decoded.round == 0
    assert decoded.vote is None and decoded.seals == ()


def test_extra_data_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="not an Ethereum address"):
        net.qbft_extra_data(["0x1234"])
    with pytest.raises(InvalidInput, match="twice"):
        net.qbft_extra_data([BESU_DOC_VALIDATORS[0], BESU_DOC_VALIDATORS[0].upper()])
    with pytest.raises(InvalidInput, match="32 bytes"):
        net.qbft_extra_data(BESU_DOC_VALIDATORS, vanity=b"x")
    with pytest.raises(InvalidInput, match="not a QBFT extraData"):
        net.decode_qbft_extra_data("0x" + "00" * 32)  # a plain (non-BFT) header's extraData


def make_kit(tmp_path: Path, **options: Any) -> tuple[Path, net.Network]:
    kit = tmp_path / "kit"
    validators = [(name, None) for name in NAMES]
    network = net.init_network(
        kit,
        "heerlen",
        4587,
        validators,
        dict.fromkeys(NAMES, PASSWORD),
        kdf_iterations=2,  # fast keys in tests; the CLI uses scrypt
        **options,
    )
    return kit, network


def toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def test_init_writes_a_consistent_kit(tmp_path: Path) -> None:
    kit, network = make_kit(tmp_path)
    assert [n.name for n in network.nodes] == NAMES
    genesis = json.loads((kit / "genesis.json").read_text())
    config = genesis["config"]
    assert config["chainId"] == 4587 and config["zeroBaseFee"] is True
    assert config["londonBlock"] == 0 and config["cancunTime"] == 0
    assert config["qbft"] == {
        "blockperiodseconds": 2,
        "epochlength": 30_000,
        "requesttimeoutseconds": 4,
    }
    assert genesis["mixHash"] == net.QBFT_MIX_HASH and int(genesis["gasLimit"], 16) == 30_000_000
    in_genesis = net.decode_qbft_extra_data(genesis["extraData"]).validators
    assert sorted(in_genesis) == sorted(n.address for n in network.nodes)
    assert list(in_genesis) == sorted(in_genesis, key=str.lower)  # ascending, as Besu's docs
    enodes = {n.enode for n in network.nodes}
    keys = KeyStore(kit / "keys")
    for node in network.nodes:
        # The enode id is the node key's public key: its hash gives the validator address.
        assert to_checksum_address(keccak(bytes.fromhex(node.public_key))[-20:]) == node.address
        assert keys.load(node.name, PASSWORD).address == node.address
        folder = kit / "nodes" / node.name
        besu = toml(folder / "config.toml")
        assert besu["min-gas-price"] == 0
        assert besu["permissions-nodes-config-file-enabled"] is True
        assert besu["rpc-http-host"] == node.host != "0.0.0.0"
        assert node.host in besu["host-allowlist"] and "*" not in besu["host-allowlist"]
        assert "ADMIN" not in besu["rpc-http-api"] and "QBFT" in besu["rpc-http-api"]
        assert besu["rpc-max-logs-range"] == 5000
        allow = toml(folder / "permissions_config.toml")
        assert set(allow["nodes-allowlist"]) == enodes
        static = json.loads((folder / "static-nodes.json").read_text())
        assert set(static) == enodes - {node.enode}
        assert f"{net.CONFIG_DIR}/config.toml" in (folder / "besu-heitje.service").read_text()
        assert "network_mode: host" in (folder / "docker-compose.yml").read_text()
    # No account listed yet: accounts permissioning stays off rather than refusing everyone.
    assert (
        toml(kit / "nodes" / "cbs" / "config.toml")["permissions-accounts-config-file-enabled"]
        is False
    )
    # The service's settings for this network load as a Heitje config.
    home = tmp_path / "home"
    home.mkdir()
    (home / "heitje.toml").write_text((kit / "heitje.toml").read_text())
    cfg = load_config(home=home, environ={})
    assert cfg.rpc_urls == tuple(n.rpc_url for n in network.nodes)
    assert cfg.chain_id == 4587 and cfg.log_range == 5000 and cfg.instant_finality
    assert net.load(kit) == network
    assert "keys/" in (kit / ".gitignore").read_text().splitlines()


def test_hosts_ports_and_loopback_rpc(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    validators = [("a", "10.0.0.11"), ("b", "127.0.0.1"), ("c", "127.0.0.1"), ("d", None)]
    network = net.init_network(
        kit, "rehearsal", 4588, validators, dict.fromkeys("abcd", PASSWORD),
        rpc_interface="loopback", kdf_iterations=2,
    )  # fmt: skip
    a, b, c, _ = network.nodes
    assert a.enode.endswith("@10.0.0.11:30303")
    assert (b.p2p_port, c.p2p_port, b.rpc_port, c.rpc_port) == (30303, 30304, 8545, 8546)
    assert toml(kit / "nodes" / "a" / "config.toml")["rpc-http-host"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"validators": [("a", None), ("b", None), ("c", None)]}, "at least 4 validators"),
        ({"validators": [("a", None)] * 4}, "same name"),
        ({"validators": [("a b", None), *[(n, None) for n in "bcd"]]}, "not a usable validator"),
        ({"validators": [("a", "10.0.0.1;rm"), *[(n, None) for n in "bcd"]]}, "not a host"),
        ({"chain_id": 1}, "public network"),
        ({"chain_id": 0}, "chain id must be"),
        ({"name": "../x"}, "not a usable network name"),
        ({"block_period": 0}, "block period"),
        ({"gas_limit": 1_000_000}, "gas limit"),
        ({"rpc_interface": "public"}, "'internal' or 'loopback'"),
    ],
)
def test_init_refuses(tmp_path: Path, change: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "name": "heerlen",
        "chain_id": 4587,
        "validators": [(n, None) for n in "abcd"],
    }
    options = {k: v for k, v in change.items() if k not in args}
    args |= {k: v for k, v in change.items() if k in args}
    with pytest.raises(ConfigError, match=match):
        net.init_network(
            tmp_path / "kit", args["name"], args["chain_id"], args["validators"],
            dict.fromkeys("abcd", PASSWORD), kdf_iterations=2, **options,
        )  # fmt: skip
    assert not (tmp_path / "kit" / "network.json").exists()


def test_init_never_overwrites_a_kit(tmp_path: Path) -> None:
    kit, _ = make_kit(tmp_path)
    before = (kit / "genesis.json").read_text()
    with pytest.raises(ConfigError, match="holds a network kit already"):
        make_kit(tmp_path)
    assert (kit / "genesis.json").read_text() == before


def test_add_and_remove_a_validator(tmp_path: Path) -> None:
    kit, network = make_kit(tmp_path, accounts=[BESU_DOC_VALIDATORS[0]])
    genesis = (kit / "genesis.json").read_text()
    network, node = net.add_validator(kit, "zuyd", "10.10.0.20", PASSWORD, kdf_iterations=2)
    assert (kit / "genesis.json").read_text() == genesis  # the chain stays the same chain
    assert node.address not in network.genesis_validators
    for name in [*NAMES, "zuyd"]:
        allow = toml(kit / "nodes" / name / "permissions_config.toml")
        assert node.enode in allow["nodes-allowlist"]
        assert allow["accounts-allowlist"] == [BESU_DOC_VALIDATORS[0]]
        static = json.loads((kit / "nodes" / name / "static-nodes.json").read_text())
        assert (node.enode in static) is (name != "zuyd")
    with pytest.raises(ConfigError, match="has a node named 'zuyd' already"):
        net.add_validator(kit, "zuyd", None, PASSWORD, kdf_iterations=2)

    gone = network.node("cbs")
    network = net.remove_validator(kit, "cbs")
    assert "cbs" in network.removed and all(n.name != "cbs" for n in network.nodes)
    for name in [*[n for n in NAMES if n != "cbs"], "zuyd"]:
        allow = toml(kit / "nodes" / name / "permissions_config.toml")
        assert gone.enode not in allow["nodes-allowlist"]
    with pytest.raises(ConfigError, match="fewer than 4 validators"):
        net.remove_validator(kit, "zuyd")
    with pytest.raises(ConfigError, match="has no node 'cbs'"):
        net.remove_validator(kit, "cbs")


def test_allow_accounts_switches_account_permissioning_on(tmp_path: Path) -> None:
    kit, _ = make_kit(tmp_path)
    assert toml(kit / "heitje.toml")["chain"]["account_allowlist"] is False
    first, second = BESU_DOC_VALIDATORS[1], BESU_DOC_VALIDATORS[2]
    net.allow_accounts(kit, [first])
    # ... and the service then lists each new wallet on every node itself.
    assert toml(kit / "heitje.toml")["chain"]["account_allowlist"] is True
    network = net.allow_accounts(kit, [second, first])  # no duplicates
    assert network.accounts == (to_checksum_address(first), to_checksum_address(second))
    besu = toml(kit / "nodes" / "gemeente" / "config.toml")
    assert besu["permissions-accounts-config-file-enabled"] is True
    allow = toml(kit / "nodes" / "gemeente" / "permissions_config.toml")
    assert allow["accounts-allowlist"] == [first, second]


def test_export_node_key(tmp_path: Path) -> None:
    kit, network = make_kit(tmp_path)
    target = tmp_path / "secret" / "key"
    net.export_node_key(kit, "cbs", PASSWORD, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert text.startswith("0x") and len(text) == 66
    from eth_account import Account

    assert Account.from_key(text).address == network.node("cbs").address
    with pytest.raises(FileExistsError):
        net.export_node_key(kit, "cbs", PASSWORD, target)
    with pytest.raises(KeystoreError, match="wrong password"):
        net.export_node_key(kit, "cbs", "not the password", tmp_path / "other")


def test_a_kit_with_a_changed_genesis_is_refused(tmp_path: Path) -> None:
    kit, _ = make_kit(tmp_path)
    genesis = json.loads((kit / "genesis.json").read_text())
    genesis["extraData"] = net.qbft_extra_data(BESU_DOC_VALIDATORS)
    (kit / "genesis.json").write_text(json.dumps(genesis))
    with pytest.raises(ConfigError, match=r"does not match network\.json"):
        net.load(kit)
    with pytest.raises(ConfigError, match="not a network kit"):
        net.load(tmp_path)


class _Validator(BaseHTTPRequestHandler):
    """A validator node's QBFT API: records votes, answers the validator list."""

    votes: ClassVar[list[list[Any]]] = []

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if request["method"] == "qbft_proposeValidatorVote":
            self.votes.append(request["params"])
            answer: Any = {"result": True}
        elif request["method"] == "qbft_getValidatorsByBlockNumber":
            answer = {"result": BESU_DOC_VALIDATORS}
        else:
            answer = {"error": {"code": -32601, "message": "Method not found"}}
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], **answer}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def validator_nodes() -> Iterator[tuple[list[str], list[list[Any]]]]:
    votes: ClassVar[list[list[Any]]] = []
    handler = type("V", (_Validator,), {"votes": votes})
    servers = [HTTPServer(("127.0.0.1", 0), handler) for _ in range(3)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://127.0.0.1:{s.server_address[1]}" for s in servers], votes
    for server in servers:
        server.shutdown()


def test_vote_asks_every_validator(
    validator_nodes: tuple[list[str], list[list[Any]]],
    dead_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls, votes = validator_nodes
    new = BESU_DOC_VALIDATORS[3]
    results = net.propose_validator_vote(urls, new, add=True)
    assert results == dict.fromkeys(urls, "voted")
    assert votes == [[to_checksum_address(new), True]] * 3
    argv = ["--json", "network", "vote", "remove", new, "--rpc", urls[0], "--rpc", dead_url]
    assert main(argv) == 1  # one node could not vote: the command says so
    out = json.loads(capsys.readouterr().out)
    assert out[urls[0]] == "voted" and out[dead_url].startswith("failed")
    assert votes[-1] == [to_checksum_address(new), False]
    assert net.validators_at(urls[1]) == [to_checksum_address(v) for v in BESU_DOC_VALIDATORS]


def test_cli_init_and_extradata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEITJE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HEITJE_PASSWORD", PASSWORD)
    kit = tmp_path / "kit"
    argv = ["--json", "network", "init", "--name", "heerlen", "--chain-id", "4587"]
    argv += ["--validators", "gemeente=10.0.0.11,cbs,parkstad,centrum", "--out", str(kit)]
    argv += ["--allow-account", BESU_DOC_VALIDATORS[0]]
    assert main(argv) == 0
    made = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in made["validators"]] == NAMES
    assert made["validators"][0]["enode"].endswith("@10.0.0.11:30303")
    keystore = json.loads((kit / "keys" / "cbs.json").read_text())
    assert keystore["crypto"]["kdf"] == "scrypt"  # node keys are encrypted like role keys
    assert main(["network", "extradata", *BESU_DOC_VALIDATORS]) == 0
    assert capsys.readouterr().out.strip() == BESU_DOC_EXTRA_DATA
    assert main(["--json", "network", "extradata", "--decode", BESU_DOC_EXTRA_DATA]) == 0
    decoded = json.loads(capsys.readouterr().out)
    assert [v.lower() for v in decoded["validators"]] == BESU_DOC_VALIDATORS
    assert main(["network", "init", "--name", "x", "--chain-id", "4587", "--out", str(kit),
                 "--validators", "a,b,c,d"]) == 1  # fmt: skip
    assert "holds a network kit already" in capsys.readouterr().err


def test_clique_genesis_for_geth(tmp_path: Path) -> None:
    """The local network's geth genesis: the kit's validators as Clique signers in extraData
    (32 zero bytes, the addresses in ascending order, 65 zero bytes), forks to Berlin at block
    0 (London only when asked, with base fee 0), never terminalTotalDifficultyPassed."""
    from heitje_chain.localnet import clique_extra_data, clique_genesis

    network = net.init_network(
        tmp_path / "kit", "local", 424242, [(f"v{i}", "127.0.0.1") for i in range(4)],
        {f"v{i}": "a long passphrase" for i in range(4)}, kdf_iterations=2,
    )  # fmt: skip
    genesis = clique_genesis(network)
    extra = bytes.fromhex(genesis["extraData"][2:])
    assert len(extra) == 32 + 4 * 20 + 65
    assert extra[:32] == bytes(32) and extra[-65:] == bytes(65)
    signers = ["0x" + extra[32 + 20 * i : 52 + 20 * i].hex() for i in range(4)]
    assert signers == sorted(a.lower() for a in network.genesis_validators)
    config = genesis["config"]
    assert config["berlinBlock"] == 0 and "londonBlock" not in config
    assert config["clique"] == {"period": network.block_period, "epoch": network.epoch_length}
    assert "terminalTotalDifficultyPassed" not in config and "baseFeePerGas" not in genesis
    london = clique_genesis(network, london=True)
    assert london["config"]["londonBlock"] == 0 and london["baseFeePerGas"] == "0x0"
    with pytest.raises(ConfigError, match="twice"):
        clique_extra_data([network.genesis_validators[0]] * 2)
