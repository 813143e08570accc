"""The checks of several RPC endpoints of one chain (heitje_chain.rpc, heitje_chain.health): a
node that answers but is cut off (no peers on a network of peers, or a head that stopped
while another node is ahead) is left for a healthy one, the first endpoint is returned to once
it is healthy again, and the checks stay off the path of the calls.

The peer counts come from a proxy in front of anvil (anvil has no `net_peerCount`); a head
that stops is an anvil whose interval mining is switched off."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.anvil import Anvil
from support.proxy import Proxy

from heitje_chain.cli import main
from heitje_chain.config import Config, load_config
from heitje_chain.connect import connect, connect_rpc
from heitje_chain.errors import ConfigError, InvalidInput
from heitje_chain.health import HealthSettings
from heitje_chain.rpc import Rpc

World = Any  # conftest.World
PEERED = "0x3"
ALONE = "0x0"


def probes(proxy: Proxy) -> int:
    """How many health checks reached `proxy` (each asks its peer count once)."""
    return proxy.calls.count("net_peerCount")


def wait_for(what: str, test: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.05)


def test_a_node_without_peers_is_left_and_returned_to_once_it_has_peers_again(
    proxy: Callable[..., Proxy],
) -> None:
    first, second = proxy(), proxy()  # two "validators" of one chain (the same anvil)
    for node in (first, second):
        node.results["net_peerCount"] = PEERED
    rpc = Rpc([first.url, second.url], health=HealthSettings(interval=60))
    assert rpc.check_health().current == first.url
    assert all(n.healthy and n.peers == 3 for n in rpc.health().nodes)

    first.results["net_peerCount"] = ALONE  # cut off: it still answers
    report = rpc.check_health()
    assert rpc.url == second.url and report.current == second.url
    cut = report.nodes[0]
    assert cut.cut_off and cut.reachable and cut.peers == 0 and "no peers" in cut.reason
    assert not report.nodes[1].cut_off
    before = first.calls.count("eth_blockNumber")
    assert rpc.block_number() >= 0
    assert first.calls.count("eth_blockNumber") == before  # the call went to the healthy one
    assert second.calls.count("eth_blockNumber") == 1

    first.results["net_peerCount"] = PEERED  # healed
    report = rpc.check_health()
    assert rpc.url == first.url and report.current == first.url
    assert not report.nodes[0].cut_off


def test_the_checks_stay_off_the_path_of_the_calls(proxy: Callable[..., Proxy]) -> None:
    first, second = proxy(), proxy()
    for node in (first, second):
        node.results["net_peerCount"] = PEERED
    rpc = Rpc([first.url, second.url], health=HealthSettings(interval=60))
    for _ in range(50):
        rpc.block_number()
    wait_for("the background check", lambda: rpc._health is not None)
    assert first.calls.count("eth_blockNumber") == 50
    assert probes(first) == probes(second) == 1  # one check at the start, then every 60 s
    assert rpc.health().current == first.url  # fresh: the report is not made again
    assert probes(first) == 1


def test_a_stalled_head_is_left_for_a_node_ahead_and_returned_to_once_it_caught_up(
    start_chain: Callable[..., Anvil],
) -> None:
    first, second = start_chain("--block-time", "1"), start_chain("--block-time", "1")
    settings = HealthSettings(interval=0.2, stall_periods=2, block_period=1)
    rpc = Rpc([first.url, second.url], health=settings)
    rpc.block_number()  # starts the background checks
    wait_for("a first check", lambda: rpc._health is not None)
    assert rpc.url == first.url
    Rpc(first.url).call("anvil_setIntervalMining", [0])  # its head stops; it still answers
    stopped = Rpc(first.url).block_number()
    wait_for("the stalled node left", lambda: rpc.url == second.url)
    report = rpc.health()
    assert report.nodes[0].cut_off and report.nodes[0].head == stopped
    assert "block periods" in report.nodes[0].reason and second.url in report.nodes[0].reason
    assert report.current == second.url and not report.nodes[1].cut_off
    assert rpc.block_number() > stopped  # read from the node that goes on

    behind = Rpc(second.url).block_number() - stopped
    Rpc(first.url).call("anvil_mine", [hex(behind + 3)])  # it catches up and goes on
    Rpc(first.url).call("anvil_setIntervalMining", [1])
    wait_for("back on the first endpoint", lambda: rpc.url == first.url)
    assert not rpc.health().nodes[0].cut_off


def test_a_failover_tries_healthy_endpoints_before_a_cut_off_one(
    proxy: Callable[..., Proxy],
) -> None:
    first, lone, third = proxy(), proxy(), proxy()
    for node in (first, lone, third):
        node.results["net_peerCount"] = PEERED
    lone.results["net_peerCount"] = ALONE
    rpc = Rpc([first.url, lone.url, third.url], health=HealthSettings(interval=60))
    report = rpc.check_health()
    assert report.current == first.url and [n.cut_off for n in report.nodes] == [0, 1, 0]
    first.stop()  # the node in use goes away
    rpc.block_number()
    assert rpc.url == third.url, "the failover went to the cut-off node"
    assert "eth_blockNumber" not in lone.calls


def test_with_the_checks_off_the_endpoint_stays_and_the_report_still_tells(
    proxy: Callable[..., Proxy],
) -> None:
    first, second = proxy(), proxy()
    first.results["net_peerCount"] = ALONE
    second.results["net_peerCount"] = PEERED
    rpc = Rpc([first.url, second.url], health=HealthSettings(interval=0))
    for _ in range(5):
        rpc.block_number()
    time.sleep(0.3)
    assert probes(first) == 0  # no background checks
    report = rpc.health()
    assert report.nodes[0].cut_off and rpc.url == first.url  # told, not acted on


def test_the_block_period_is_learnt_from_block_timestamps(
    start_chain: Callable[..., Anvil],
) -> None:
    chain = start_chain()
    Rpc(chain.url).call("anvil_mine", [hex(10), hex(3)])  # ten blocks, 3 s apart
    report = Rpc(chain.url).health()
    assert report.block_period == 3.0
    assert report.nodes[0].head == 10 and report.nodes[0].peers is None  # anvil: unknown
    assert not report.nodes[0].cut_off


def test_the_settings_reach_the_rpc_and_bad_values_are_named(tmp_path: Path, anvil: Anvil) -> None:
    file = tmp_path / "heitje.toml"
    file.write_text(
        f'[chain]\nrpc_urls = ["{anvil.url}", "{anvil.url}"]\nhealth_interval = 2.5\n'
        "stall_periods = 3\nblock_period = 4\nreturn_lag = 1\n"
    )
    config = load_config(home=tmp_path, config_file=file, environ={})
    rpc = connect_rpc(config)
    assert rpc.health_settings == HealthSettings(
        interval=2.5, stall_periods=3, block_period=4.0, return_lag=1
    )
    off = load_config(home=tmp_path, config_file=file, environ={"HEITJE_HEALTH_INTERVAL": "0"})
    assert off.health_interval == 0
    for setting, value, words in (
        ("health_interval", "-1", "[chain] health_interval must be a number of seconds"),
        ("health_interval", '"often"', "[chain] health_interval must be a number of seconds"),
        ("block_period", "0", "[chain] block_period must be a number of seconds, more than 0"),
        ("stall_periods", "0", "[chain] stall_periods must be a whole number of at least 1"),
        ("return_lag", "-2", "[chain] return_lag must be a whole number of at least 0"),
    ):
        file.write_text(f"[chain]\n{setting} = {value}\n")
        with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
            load_config(home=tmp_path, config_file=file, environ={})
    with pytest.raises(ConfigError, match="HEITJE_HEALTH_INTERVAL must be a number of seconds"):
        load_config(home=tmp_path / "other", environ={"HEITJE_HEALTH_INTERVAL": "soon"})
    with pytest.raises(InvalidInput, match="stall_periods must be at least 1"):
        HealthSettings(stall_periods=0)


def test_a_payment_goes_to_a_healthy_node_and_heitje_status_names_the_cut_off_one(
    heitje: World, proxy: Callable[..., Proxy], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first, second = proxy(), proxy()
    first.results["net_peerCount"], second.results["net_peerCount"] = ALONE, PEERED
    deployment = heitje.deployment
    config = Config(home=tmp_path, rpc_urls=(first.url, second.url), chain_id=deployment.chain_id,
                    contract=deployment.address, deployment_block=deployment.block,
                    health_interval=60)  # fmt: skip
    client = connect(config)
    client.rpc.check_health()  # what the background check does within health_interval
    resident, shop = heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 10_00)
    client.pay(resident, shop.address, 3_00, "to a node of the network")
    assert "eth_sendRawTransaction" in second.calls and "eth_sendRawTransaction" not in first.calls
    assert client.balance(shop.address) == 3_00

    env = {
        "HEITJE_HOME": str(tmp_path),
        "HEITJE_RPC_URL": f"{first.url},{second.url}",
        "HEITJE_CONTRACT": deployment.address,
        "HEITJE_CHAIN_ID": str(deployment.chain_id),
        "HEITJE_DEPLOYMENT_BLOCK": str(deployment.block),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    assert main(["--json", "status"], out=out) == 0, out.getvalue()
    chain = json.loads(out.getvalue())["chain"]
    assert chain["rpc"] == second.url
    nodes = {n["url"]: n for n in chain["nodes"]}
    assert nodes[first.url]["cut_off"] and not nodes[first.url]["in_use"]
    assert nodes[first.url]["peers"] == 0 and "no peers" in nodes[first.url]["reason"]
    assert nodes[second.url]["in_use"] and not nodes[second.url]["cut_off"]
    out = io.StringIO()
    assert main(["status"], out=out) == 0
    text = out.getvalue()
    assert f"Nodes (in use: {second.url}):" in text and "CUT OFF: it has no peers" in text
