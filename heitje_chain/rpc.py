"""JSON-RPC to the chain: one or more endpoints with failover, single and batched calls, and
errors that keep the node's revert data.

The library talks raw JSON-RPC for everything it sends and reads (so revert data, log ranges
and batches are under its control) and uses web3.py for ABI encoding. `Rpc.w3` is a `Web3`
on the current endpoint, with the proof-of-authority `extraData` middleware injected when the
chain's genesis block carries more than 32 bytes of `extraData` (Clique/QBFT/IBFT chains).

Several endpoints of one chain (the `rpc_urls` setting), the first one preferred:

- A call goes to the endpoint in use. When it cannot be reached (connection error, timeout)
  the others are tried, healthy ones first, and the one that answered is used from then on.
- A node that still answers but is cut off from the network is no better than a dead one: on
  Clique a validator without peers seals at most its own turn, then its head stops or it
  builds a private fork, so a service on it would send payments into that fork and read
  stale balances. So, with more than one endpoint, a background thread checks every
  endpoint every `health_interval` seconds (one batched request each: the newest block and
  `net_peerCount`; never a call on a request's path) and counts a node as **cut off** when
  it reports 0 peers while the network is one of peers (another endpoint reports peers, or
  one did before), or when its head block is older than `stall_periods` block periods while
  another endpoint is ahead of it. The block period is the `block_period` setting, else
  learnt from the timestamps of the best node's newest blocks. A node in use that is cut off
  or does not answer is left for the first healthy endpoint (logged as an error).
- Failover return: once the first endpoint is healthy again (it answers, has peers, and its
  head is within `return_lag` blocks of the best and not behind the endpoint in use, so the
  service never reads an older state than it already has), the calls go back to it.
- `Rpc.health()` is the last check's report (each endpoint's head, peers and whether it is
  cut off, and the endpoint in use): `heitje status` and the service's `GET /status` show it.
  `health_interval = 0` turns the checks off: then the endpoint changes only when it does not
  answer, and stays changed.

Clocks matter: a head's age is the host's clock minus the block's timestamp, so the hosts
must keep time (NTP), as the validators must anyway.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from heitje_chain.errors import ChainUnavailable, HeitjeError, InvalidInput
from heitje_chain.health import Health, HealthSettings, NodeHealth, Probe, judge, learn_period
from heitje_chain.waits import waiting

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

    Calls go to the current endpoint; when it cannot be reached the next one is tried (healthy
    ones first), and the one that answered becomes current. `ChainUnavailable` when none
    answers. With several endpoints, a background check moves off a node that is cut off and
    back to the first one once it is healthy again (see the module; `health` the settings).
    """

    def __init__(
        self,
        urls: Sequence[str] | str,
        timeout: float = 10.0,
        health: HealthSettings | None = None,
    ) -> None:
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
        self.health_settings = health or HealthSettings()
        self._health: Health | None = None
        self._checking = threading.Lock()  # one check at a time
        self._bad: frozenset[int] = frozenset()  # endpoints cut off or silent at the last check
        self._reported: dict[int, str] = {}  # the trouble last logged per endpoint
        self._peered = False  # a check saw a node with peers: the network is one of peers
        self._period = self.health_settings.block_period
        self._period_blocks = 0  # how many blocks the learnt period was measured over
        self._watch_pid = 0  # the process whose thread checks the endpoints (0: none yet)
        self._watch_lock = threading.Lock()  # not _checking: a call never waits for a check
        self._stop = threading.Event()

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
        if self._watch_pid != os.getpid() and self._watching:
            self._start_watch()
        body = json.dumps(payload)
        failures: list[str] = []
        current, count, bad = self._current, len(self.urls), self._bad
        order = [(current + attempt) % count for attempt in range(count)]
        if bad:  # after the current one, the healthy ones first
            order = (
                order[:1]
                + [i for i in order[1:] if i not in bad]
                + [i for i in order[1:] if i in bad]
            )
        for index in order:
            url = self.urls[index]
            try:
                with waiting():  # the embedding program's hook (heitje_chain.waits)
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

    # ------------------------------------------------------------------ node health

    @property
    def _watching(self) -> bool:
        return len(self.urls) > 1 and self.health_settings.interval > 0

    def _start_watch(self) -> None:
        """Start the thread that checks the endpoints, once per process (a forked child
        starts its own). It holds this Rpc weakly and ends when it is closed or gone."""
        with self._watch_lock:
            if self._watch_pid == os.getpid():
                return
            self._watch_pid = os.getpid()
        threading.Thread(
            target=_watch,
            args=(weakref.ref(self), self.health_settings.interval, self._stop),
            name="heitje-rpc-health",
            daemon=True,
        ).start()

    def close(self) -> None:
        """Stop the background checks (calls still work; the endpoint then changes only
        when it does not answer)."""
        self._stop.set()

    def health(self) -> Health:
        """The last check's report while it is fresh (younger than two check intervals: the
        background thread keeps it so), else the report of a check made now."""
        known = self._health
        if known is not None and time.time() - known.checked_at < 2 * self.health_settings.interval:
            return known
        return self.check_health()

    def check_health(self) -> Health:
        """Probe every endpoint now (one batched request each, all at once), judge them
        (`heitje_chain.health.judge`) and, unless the checks are off, leave an endpoint in use
        that is cut off or silent for the first healthy one, or go back to the first endpoint
        once it is fit again (see the module). Returns the report."""
        with self._checking:
            probes = self._probe_all()
            now = time.time()
            self._learn_period(probes)
            nodes = judge(probes, now, self.health_settings, self._period, self._peered)
            self._peered = self._peered or any((n.peers or 0) > 0 for n in nodes)
            if self.health_settings.interval > 0:
                self._choose(nodes)
            self._health = Health(self.url, self.urls[0], now, self._period, tuple(nodes))
            return self._health

    def _choose(self, nodes: list[NodeHealth]) -> None:
        bad = frozenset(i for i, n in enumerate(nodes) if not n.healthy)
        for i, node in enumerate(nodes):  # each endpoint's change of state, logged once
            state = "cut off" if node.cut_off else "silent" if not node.reachable else ""
            if state != self._reported.get(i, ""):
                if node.cut_off:
                    log.error("RPC endpoint %s is CUT OFF: %s", node.url, node.reason)
                elif state:
                    log.warning("RPC endpoint %s %s", node.url, node.reason)
                else:
                    peers = "peers unknown" if node.peers is None else f"{node.peers} peers"
                    log.warning("RPC endpoint %s is healthy (head #%s, %s)", node.url,
                                node.head, peers)  # fmt: skip
                self._reported[i] = state
        self._bad = bad
        current = self._current
        if current in bad:
            healthy = [i for i in range(len(nodes)) if i not in bad]
            if healthy:
                log.error("RPC failover: leaving %s (%s); now using %s", nodes[current].url,
                          nodes[current].reason, nodes[healthy[0]].url)  # fmt: skip
                self._current = healthy[0]
            elif self._reported.get(-1) != "stranded":
                log.error("no configured RPC endpoint is fit to use; staying on %s",
                          nodes[current].url)  # fmt: skip
            self._reported[-1] = "stranded" if not healthy else ""
            return
        self._reported[-1] = ""
        first, here = nodes[0], nodes[current]
        best = max((n.head for n in nodes if n.head is not None), default=None)
        if (
            current != 0
            and first.healthy
            and first.head is not None
            and best is not None
            and here.head is not None
            and first.head >= best - self.health_settings.return_lag
            and first.head >= here.head  # never an older state than the one read so far
        ):
            log.warning("RPC failover return: %s is healthy again (head #%d, best #%d); using "
                        "it again instead of %s", first.url, first.head, best,
                        here.url)  # fmt: skip
            self._current = 0

    def _probe_all(self) -> list[Probe]:
        if len(self.urls) == 1:
            return [self._probe(self.urls[0])]
        probes: list[Probe] = [Probe(url, error="no answer") for url in self.urls]

        def probe(i: int) -> None:
            probes[i] = self._probe(self.urls[i])

        threads = [threading.Thread(target=probe, args=(i,), daemon=True) for i in
                   range(len(self.urls))]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return probes

    def _direct(self, url: str, payload: Any) -> Any:
        """One request to `url` alone (no failover), with a timeout of at most 5 s, so that
        a check never waits long for a silent node."""
        with requests.Session() as session:
            session.trust_env = False
            response = session.post(url, json=payload, proxies=self._proxies[url],
                                    timeout=min(self.timeout, 5.0))  # fmt: skip
            response.raise_for_status()
            return response.json()

    def _probe(self, url: str) -> Probe:
        """`url`'s newest block and peer count, in one batched request."""
        payload = [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber",
             "params": ["latest", False]},
            {"jsonrpc": "2.0", "id": 2, "method": "net_peerCount", "params": []},
        ]  # fmt: skip
        try:
            answers = {a.get("id"): a for a in self._direct(url, payload)}
            block = answers[1].get("result") or {}
            head = Probe(url, int(block["number"], 16), block.get("hash"),
                         int(block["timestamp"], 16))  # fmt: skip
        except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError) as exc:
            return Probe(url, error=type(exc).__name__)
        peers = answers.get(2, {}).get("result")
        try:
            count = int(peers, 16) if isinstance(peers, str) else None
        except ValueError:
            count = None
        return Probe(url, head.head, head.head_hash, head.head_time, count)

    def _learn_period(self, probes: list[Probe]) -> None:
        """The block period from the best node's head and the block up to 20 below it (not
        the genesis block, whose timestamp is whatever its file says), unless it is set or
        already learnt over 20 blocks."""
        if self.health_settings.block_period is not None or self._period_blocks >= 20:
            return
        known = [p for p in probes if p.head is not None and p.head_time is not None]
        if not known:
            return
        best = max(known, key=lambda p: p.head or 0)
        assert best.head is not None and best.head_time is not None
        blocks = min(best.head - 1, 20)
        if blocks <= self._period_blocks:
            return
        payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber",
                   "params": [hex(best.head - blocks), False]}  # fmt: skip
        try:
            older = self._direct(best.url, payload).get("result") or {}
            older_time = int(older["timestamp"], 16)
        except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError):
            return
        period = learn_period((best.head, best.head_time), (best.head - blocks, older_time))
        if period is not None:
            self._period, self._period_blocks = period, blocks

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


def _watch(ref: weakref.ref[Rpc], interval: float, stop: threading.Event) -> None:
    """The background check of an Rpc's endpoints: one at once, then one every `interval`
    seconds, until the Rpc is closed or gone (it is held weakly, so it can be collected)."""
    while not stop.is_set():
        rpc = ref()
        if rpc is None:
            return
        try:
            rpc.check_health()
        except Exception:  # a failed check must not end the checks
            log.exception("checking the RPC endpoints failed")
        del rpc
        stop.wait(interval)
