"""JSON-RPC to the chain: one or more endpoints with failover, single and batched calls, and
errors that keep the node's revert data.

The library talks raw JSON-RPC for everything it sends and reads (so revert data, log ranges
and batches are under its control) and uses web3.py for ABI encoding. `Rpc.w3` is a `Web3`
on the current endpoint, with the proof-of-authority `extraData` middleware injected when the
chain's genesis block carries more than 32 bytes of `extraData` (Clique/QBFT/IBFT chains).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from heitje_chain.errors import ChainUnavailable, HeitjeError, InvalidInput

log = logging.getLogger(__name__)


class RpcError(HeitjeError, RuntimeError):
    """The node answered with a JSON-RPC error. `.data` is the revert data, if any (hex)."""

    def __init__(self, method: str, code: int, message: str, data: str | None) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message
        self.data = data

    @property
    def is_revert(self) -> bool:
        text = self.message.lower()
        return self.code == 3 or "revert" in text or (self.data or "").startswith("0x")


def _state_race(error: RpcError) -> bool:
    """anvil with pruned history can answer a call on 'latest' that raced with a new block
    with "BlockOutOfRangeError": the state asked for was just dropped. Asking again works."""
    return "BlockOutOfRange" in error.message


def _revert_data(error: dict[str, Any]) -> str | None:
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
        data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        return data
    return None


class Rpc:
    """JSON-RPC over HTTP to one of several endpoints of the same chain.

    Calls go to the current endpoint; when it cannot be reached the next one is tried, and the
    one that answered becomes current. `ChainUnavailable` when none answers.
    """

    def __init__(self, urls: Sequence[str] | str, timeout: float = 10.0) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise InvalidInput("at least one RPC URL is needed")
        self.timeout = timeout
        self._current = 0
        self._ids = itertools.count(1)
        self._local = threading.local()
        self._poa: bool | None = None
        #: The network's gas price where its nodes suggest another ([chain] gas_price: 0 on
        #: geth Clique with free gas); the transactors on this RPC use it. None: ask the node.
        self.gas_price: int | None = None
        # The environment's proxy settings, read once (requests reads them on every call).
        self._proxies = {url: requests.utils.get_environ_proxies(url) for url in self.urls}

    # ------------------------------------------------------------------ transport

    @property
    def url(self) -> str:
        return self.urls[self._current]

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.trust_env = False  # proxies are read once, in __init__
            self._local.session = session
        return session

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload)
        failures: list[str] = []
        for attempt in range(len(self.urls)):
            index = (self._current + attempt) % len(self.urls)
            url = self.urls[index]
            try:
                response = self._session().post(
                    url,
                    proxies=self._proxies[url],
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=self.timeout,
                )
                response.raise_for_status()
                answer = response.json()
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures.append(f"{url}: {type(exc).__name__}")
                log.warning("RPC endpoint %s did not answer; trying the next one", url)
                continue
            except (requests.HTTPError, ValueError) as exc:
                failures.append(f"{url}: {exc}")
                continue
            if index != self._current:
                log.warning("RPC failover: now using %s", url)
                self._current = index
            return answer
        raise ChainUnavailable(
            "the chain does not answer ("
            + "; ".join(failures)
            + "). Is it running? For the embedded chain: `heitje chain up`."
        )

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One JSON-RPC call; its result, or `RpcError` with the node's message and data."""
        for attempt in range(5):
            try:
                return self._call(method, params)
            except RpcError as exc:
                if not _state_race(exc) or attempt == 4:
                    raise
                time.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")

    def _call(self, method: str, params: Sequence[Any]) -> Any:
        answer = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        )
        if not isinstance(answer, dict):
            raise RpcError(method, -1, f"unexpected answer {answer!r}", None)
        if "error" in answer:
            error = answer["error"] or {}
            raise RpcError(
                method, int(error.get("code", -1)), str(error.get("message")), _revert_data(error)
            )
        return answer.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Many calls in one HTTP request; per call its result or an `RpcError` (not raised)."""
        if not calls:
            return []
        first = next(self._ids)
        payload = [
            {"jsonrpc": "2.0", "id": first + i, "method": method, "params": list(params)}
            for i, (method, params) in enumerate(calls)
        ]
        for _ in range(len(calls) - 1):
            next(self._ids)
        answer = self._post(payload)
        if not isinstance(answer, list):  # the node refused the whole batch
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            return [
                RpcError(m, int(error.get("code", -1)), str(error.get("message")), None)
                for m, _ in calls
            ]
        by_id = {item.get("id"): item for item in answer}
        results: list[Any] = []
        for i, (method, _) in enumerate(calls):
            item = by_id.get(first + i, {"error": {"code": -1, "message": "no answer"}})
            if "error" in item:
                error = item["error"] or {}
                results.append(
                    RpcError(
                        method,
                        int(error.get("code", -1)),
                        str(error.get("message")),
                        _revert_data(error),
                    )
                )
            else:
                results.append(item.get("result"))
        for i, result in enumerate(results):  # ask again, alone, what raced with a new block
            if isinstance(result, RpcError) and _state_race(result):
                try:
                    results[i] = self.call(*calls[i])
                except RpcError as exc:
                    results[i] = exc
        return results

    # ------------------------------------------------------------------ conveniences

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def block_times(self, blocks: Iterable[int]) -> dict[int, int]:
        """The timestamps (unix seconds) of `blocks`, read in batched requests of 500. A block
        the node does not have is left out."""
        wanted = sorted(set(blocks))
        times: dict[int, int] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            answers = self.batch([("eth_getBlockByNumber", [hex(b), False]) for b in part])
            for block, answer in zip(part, answers, strict=True):
                if isinstance(answer, dict):
                    times[block] = int(answer["timestamp"], 16)
        return times

    def code_at(self, address: str, block: str = "latest") -> bytes:
        return bytes.fromhex(str(self.call("eth_getCode", [address, block]))[2:])

    def is_poa(self) -> bool:
        """True when the genesis block's extraData is longer than Ethereum's 32 bytes."""
        if self._poa is None:
            genesis = self.call("eth_getBlockByNumber", ["0x0", False]) or {}
            extra = str(genesis.get("extraData", "0x"))
            self._poa = len(extra) > 2 + 64
        return self._poa

    @property
    def w3(self) -> Web3:
        """A `Web3` on the current endpoint (for ABI work and callers that want web3.py)."""
        w3: Web3 | None = getattr(self._local, "w3", None)
        if w3 is None or w3.provider.endpoint_uri != self.url:  # type: ignore[attr-defined]
            w3 = Web3(HTTPProvider(self.url, request_kwargs={"timeout": self.timeout}))
            if self.is_poa():
                w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
            self._local.w3 = w3
        return w3
