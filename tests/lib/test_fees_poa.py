"""Chains that charge gas and proof-of-authority chains: a stuck transaction is replaced with
a higher fee (same nonce, mined once), and the POA extraData middleware is applied only where
the genesis block needs it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from web3 import HTTPProvider, Web3
from web3.exceptions import ExtraDataLengthError

from heitje_chain.artifacts import load_artifact
from heitje_chain.errors import ErrorDecoder
from heitje_chain.keys import LocalSigner
from heitje_chain.rpc import Rpc
from heitje_chain.tx import Transactor


@pytest.fixture
def paid_chain(start_chain: Callable[..., Any]) -> Rpc:
    """An anvil that charges gas (base fee 1 gwei), mining only on demand."""
    node = start_chain("--base-fee", "1000000000", "--no-mining", "--silent", flags=())
    return Rpc(node.url, timeout=2)


def test_stuck_transaction_is_replaced_with_a_higher_fee_and_mined_once(paid_chain: Rpc) -> None:
    rpc = paid_chain
    sender, receiver = LocalSigner.create(), LocalSigner.create().address
    rpc.call("anvil_setBalance", [sender.address, hex(10**18)])  # this chain charges gas
    tx = Transactor(rpc, rpc.chain_id(), ErrorDecoder(load_artifact().abi), resend_after=0.1)
    assert tx.fees().mode == "eip1559"
    pending = tx.send(sender, receiver, "0x", gas=21_000)
    first_fee = pending.fields["maxFeePerGas"]
    tx.wait_all([pending], timeout=0.6)  # nothing is mined: it is replaced meanwhile
    assert len(pending.hashes) >= 2, "the stuck transaction was not replaced"
    assert pending.fields["maxFeePerGas"] > first_fee
    assert pending.fields["nonce"] == 0
    pending.error = None  # mine, and wait again: one of the versions is mined
    rpc.call("evm_mine")
    receipt = tx.wait(pending, timeout=5)
    assert receipt.tx_hash in pending.hashes
    assert int(rpc.call("eth_getTransactionCount", [sender.address, "latest"]), 16) == 1
    others = [h for h in pending.hashes if h != receipt.tx_hash]
    assert all(rpc.call("eth_getTransactionReceipt", [h]) is None for h in others)


class _FakeNode(BaseHTTPRequestHandler):
    extra_data = "0x"

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        result: Any = {
            "number": "0x0",
            "hash": "0x" + "11" * 32,
            "parentHash": "0x" + "00" * 32,
            "timestamp": "0x0",
            "gasLimit": "0x1c9c380",
            "gasUsed": "0x0",
            "miner": "0x" + "00" * 20,
            "extraData": self.extra_data,
            "transactions": [],
        }
        if request["method"] == "eth_chainId":
            result = "0x539"
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("extra_data", "poa"),
    [("0x" + "00" * 32, False), ("0x" + "ab" * 97, True)],  # 97 bytes: a Clique/QBFT header
)
def test_poa_middleware_only_where_the_genesis_needs_it(extra_data: str, poa: bool) -> None:
    handler = type("Node", (_FakeNode,), {"extra_data": extra_data})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rpc = Rpc(f"http://127.0.0.1:{server.server_address[1]}")
        assert rpc.chain_id() == 1337
        assert rpc.is_poa() is poa
        block = rpc.w3.eth.get_block(0)  # without the middleware web3 refuses a POA header
        assert ("proofOfAuthorityData" in block) is poa
        if poa:
            assert bytes(block["proofOfAuthorityData"]) == bytes.fromhex(extra_data[2:])
            with pytest.raises(ExtraDataLengthError):  # what the middleware saves us from
                Web3(HTTPProvider(rpc.url)).eth.get_block(0)
    finally:
        server.shutdown()


class _FeeRpc:
    """Answers what `Transactor.fees` asks: the latest block and the suggested prices."""

    def __init__(self, base_fee: str | None, gas_price: str = "0x3b9aca00") -> None:
        self.block: dict[str, Any] = {"number": "0x5"}
        if base_fee is not None:
            self.block["baseFeePerGas"] = base_fee
        self.suggested = gas_price
        self.gas_price = None  # no [chain] gas_price on this RPC

    def call(self, method: str, params: Any = None) -> Any:
        return {
            "eth_getBlockByNumber": self.block,
            "eth_gasPrice": self.suggested,
            "eth_maxPriorityFeePerGas": "0x2",
        }[method]


@pytest.mark.parametrize(
    ("base_fee", "gas_price", "setting", "fields"),
    [
        # geth Clique at Berlin: no base fee, a suggested 1 gwei, but gas is free
        (None, "0x3b9aca00", 0, {"gasPrice": 0}),
        (None, "0x0", None, {"gasPrice": 0}),  # GoQuorum: suggests 0 itself
        (None, "0x3b9aca00", None, {"gasPrice": 10**9}),  # a legacy chain that charges
        ("0x0", "0x3b9aca00", None, {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}),
        ("0x0", "0x3b9aca00", 0, {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}),
        ("0x10", "0x3b9aca00", None, {"maxFeePerGas": 0x22, "maxPriorityFeePerGas": 2}),
    ],
)
def test_fee_fields_follow_the_chain(
    base_fee: str | None, gas_price: str, setting: int | None, fields: dict[str, int]
) -> None:
    """Legacy transactions (a gasPrice) where the chain's blocks have no base fee; EIP-1559
    ones where they do; free gas from the chain or from the `gas_price` setting."""
    tx = Transactor(_FeeRpc(base_fee, gas_price), 5, ErrorDecoder([]), gas_price=setting)  # type: ignore[arg-type]
    assert tx.fees().fields() == fields
    signed = LocalSigner.create().sign_transaction(
        {"chainId": 5, "nonce": 0, "gas": 21_000, "to": LocalSigner.create().address,
         **tx.fees().fields()}
    )  # fmt: skip
    assert bytes(signed.raw_transaction)[0] == (2 if "maxFeePerGas" in fields else 0xF8)
