"""A JSON-RPC proxy in front of anvil that behaves like a production node (Besu's limits and
errors, a node that goes away or dies mid-request, a validator's peer count), for the
library's tests (tests/lib)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from eth_account import Account
from eth_utils import keccak

BESU_RANGE_ERROR = {"code": -32005, "message": "Requested range exceeds maximum RPC range limit"}
BESU_NONCE_TOO_LOW = {"code": -32001, "message": "Nonce too low"}
BESU_NOT_AUTHORIZED = {
    "code": -32007,
    "message": "Sender account not authorized to send transactions",
}


class Proxy:
    """A JSON-RPC endpoint that forwards to `upstream`, with a node's limits and failures."""

    def __init__(self, upstream: str, *, max_log_range: int | None = None) -> None:
        self.upstream = upstream
        self.max_log_range = max_log_range
        self.disabled: set[str] = set()  # methods answered with "method not found"
        self.swallow_next_send = False  # forward one eth_sendRawTransaction, then hang up
        # Like Besu: a transaction sent again after it was mined is refused, "Nonce too low"
        # (anvil answers with its hash instead).
        self.besu_resend = True
        self.allowed_senders: set[str] | None = None  # Besu's local accounts allowlist
        self.calls: list[str] = []
        #: methods answered with this result instead of the node's (e.g. net_peerCount,
        #: which anvil does not offer: a validator's peer count)
        self.results: dict[str, Any] = {}
        self.log_spans: list[int] = []
        self._session = requests.Session()
        self._session.trust_env = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = proxy.handle(body)
                if answer is None:  # the node "died" after taking the request
                    self.close_connection = True
                    self.connection.close()
                    return
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, body: Any) -> Any:
        items = body if isinstance(body, list) else [body]
        methods = [item["method"] for item in items]
        self.calls.extend(methods)
        local: dict[int, dict[str, Any]] = {}
        for i, item in enumerate(items):
            if item["method"] in self.disabled:
                local[i] = {"code": -32601, "message": "Method not found"}
            elif item["method"] in self.results:
                local[i] = {"result": self.results[item["method"]]}
            elif item["method"] == "perm_addAccountsToAllowlist":
                local[i] = self._allow(item["params"][0])
            elif (
                item["method"] == "eth_sendRawTransaction"
                and self.allowed_senders is not None
                and Account.recover_transaction(item["params"][0]) not in self.allowed_senders
            ):
                local[i] = BESU_NOT_AUTHORIZED
            elif item["method"] == "eth_sendRawTransaction" and self.besu_resend:
                tx_hash = "0x" + keccak(hexstr=item["params"][0]).hex()
                if self._upstream("eth_getTransactionReceipt", [tx_hash]) is not None:
                    local[i] = BESU_NONCE_TOO_LOW
            elif item["method"] == "eth_getLogs" and self.max_log_range is not None:
                query = item["params"][0]
                span = self._block(query["toBlock"]) - self._block(query["fromBlock"]) + 1
                if span > self.max_log_range:
                    local[i] = BESU_RANGE_ERROR
                else:
                    self.log_spans.append(span)
        forward = [item for i, item in enumerate(items) if i not in local]
        answers: dict[Any, Any] = {}
        if forward:
            reply = self._session.post(self.upstream, json=forward, timeout=30).json()
            answers = {a["id"]: a for a in reply}
        if self.swallow_next_send and "eth_sendRawTransaction" in methods:
            self.swallow_next_send = False
            # The network mines what the node took; the node dies before it answers.
            self._upstream("evm_mine", [])
            return None
        out = [
            {"jsonrpc": "2.0", "id": item["id"], "result": local[i]["result"]}
            if i in local and "result" in local[i]
            else {"jsonrpc": "2.0", "id": item["id"], "error": local[i]}
            if i in local
            else answers[item["id"]]
            for i, item in enumerate(items)
        ]
        return out if isinstance(body, list) else out[0]

    def _allow(self, accounts: list[str]) -> dict[str, Any]:
        """Besu's perm_addAccountsToAllowlist (its answers, as results or errors)."""
        if self.allowed_senders is None:
            return {"code": -32000, "message": "Account allowlist has not been enabled"}
        if any(a in self.allowed_senders for a in accounts):
            return {"code": -32000, "message": "Cannot add existing account to allowlist"}
        self.allowed_senders.update(accounts)
        return {"result": "Success"}

    def _block(self, tag: str) -> int:
        if tag in ("latest", "pending", "safe", "finalized"):
            return int(self._upstream("eth_blockNumber", []), 16)
        return 0 if tag == "earliest" else int(tag, 16)

    def _upstream(self, method: str, params: list[Any]) -> Any:
        request = {"jsonrpc": "2.0", "id": 0, "method": method, "params": params}
        return self._session.post(self.upstream, json=request, timeout=30).json().get("result")

    def stop(self) -> None:
        """The node goes away: its port refuses connections from now on."""
        self.server.shutdown()
        self.server.server_close()
