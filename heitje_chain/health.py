"""Whether each configured node of a chain is fit to use: the rules behind `Rpc`'s choice of
endpoint (see `heitje_chain.rpc` for when the checks run and what is done with them).

A node that answers can still be useless: one cut off from its peers keeps answering, but on
Clique it seals at most its own turn and then its head stops (or it builds a private fork),
so payments sent to it go into that fork and balances read from it are stale. From one
probe of each node (its newest block and its peer count) a node counts as cut off when

- it reports 0 peers on a network of peers (another node reports peers now, or one did
  at an earlier check: a single development node reports none and is not cut off), or
- its head block is older than `stall_periods` block periods while another node is ahead
  of it (its head has stopped, or it is still catching up).

The block period is the `block_period` setting, or learnt from block timestamps
(`learn_period`). Only these pure rules live here, so they are tested without a network.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from heitje_chain.errors import InvalidInput


@dataclass(frozen=True)
class HealthSettings:
    """The `[chain]` settings of the node checks (see `heitje_chain.config`)."""

    #: seconds between two checks of every endpoint; 0 turns the checks off
    interval: float = 5.0
    #: block periods a head may stand still while another node is ahead
    stall_periods: int = 5
    #: seconds between blocks; None: learnt from the chain's block timestamps
    block_period: float | None = None
    #: blocks the preferred node may be behind the best one and still be returned to
    return_lag: int = 2

    def __post_init__(self) -> None:
        if not math.isfinite(self.interval) or self.interval < 0:
            raise InvalidInput(f"health_interval must be 0 or more seconds, not {self.interval}")
        if self.stall_periods < 1:
            raise InvalidInput(f"stall_periods must be at least 1, not {self.stall_periods}")
        if self.block_period is not None and not (
            math.isfinite(self.block_period) and self.block_period > 0
        ):
            raise InvalidInput(f"block_period must be more than 0 seconds, not {self.block_period}")
        if self.return_lag < 0:
            raise InvalidInput(f"return_lag must be 0 or more blocks, not {self.return_lag}")


@dataclass(frozen=True)
class Probe:
    """What one node answered: its newest block (None: it did not answer) and its peers
    (None: it does not say, e.g. anvil, or a node without the `net` API)."""

    url: str
    head: int | None = None
    head_hash: str | None = None
    head_time: int | None = None  # unix seconds, from the block
    peers: int | None = None
    error: str = ""


@dataclass(frozen=True)
class NodeHealth:
    """One endpoint as the last check found it."""

    url: str
    reachable: bool
    head: int | None
    head_hash: str | None
    head_age_seconds: float | None
    peers: int | None
    cut_off: bool
    reason: str  # plain words why it is not used; "" when it is healthy

    @property
    def healthy(self) -> bool:
        return self.reachable and not self.cut_off


@dataclass(frozen=True)
class Health:
    """Every configured endpoint at the last check, and the one in use."""

    current: str  # the endpoint calls go to
    preferred: str  # the first configured one, returned to when healthy
    checked_at: float  # unix seconds
    block_period: float | None  # seconds; None: not known yet
    nodes: tuple[NodeHealth, ...]

    def as_dict(self) -> dict[str, Any]:
        """The report as `heitje status --json` and the service's `GET /status` give it."""
        return {
            "current": self.current,
            "preferred": self.preferred,
            "checked_at": self.checked_at,
            "block_period": self.block_period,
            "nodes": [{**asdict(n), "in_use": n.url == self.current} for n in self.nodes],
        }


def describe(nodes: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per node of a report's `nodes` (`Health.as_dict`), for people: the one in
    use marked, a cut-off or silent one in capitals with the reason."""
    lines = []
    for node in nodes:
        mark = "in use" if node.get("in_use") else ""
        if not node.get("reachable"):
            state = f"NOT ANSWERING: {node.get('reason')}"
        else:
            age, peers = node.get("head_age_seconds"), node.get("peers")
            state = f"block {node.get('head'):,}"
            if age is not None:
                state += f", {age:.0f} s old"
            if peers is not None:
                state += f", {peers} peers"
            if node.get("cut_off"):
                state += f"; CUT OFF: {node.get('reason')}"
        lines.append(f"  {node.get('url')}  {mark:<6}  {state}")
    return lines


def judge(
    probes: Sequence[Probe],
    now: float,
    settings: HealthSettings,
    period: float | None,
    peered: bool,
) -> list[NodeHealth]:
    """Each probed node's health (see the module); `peered`: an earlier check saw a node
    with peers, so the network is one of peers even if no node reports any now."""
    heads = [p.head for p in probes if p.head is not None]
    best = max(heads, default=None)
    best_url = next((p.url for p in probes if p.head is not None and p.head == best), "")
    peered = peered or any((p.peers or 0) > 0 for p in probes)
    judged: list[NodeHealth] = []
    for p in probes:
        if p.head is None:
            judged.append(
                NodeHealth(p.url, False, None, None, None, p.peers, False,
                           f"does not answer ({p.error or 'no block'})")
            )  # fmt: skip
            continue
        age = None if p.head_time is None else max(0.0, now - p.head_time)
        reason = ""
        if peered and p.peers == 0 and len(probes) > 1:
            reason = "it has no peers (cut off from the network)"
        elif (
            period is not None
            and age is not None
            and best is not None
            and p.head < best
            and age > settings.stall_periods * period
        ):
            reason = (
                f"its head #{p.head} is {age:.0f} s old (more than {settings.stall_periods} "
                f"block periods of {period:g} s) while {best_url} is at #{best}"
            )
        judged.append(NodeHealth(p.url, True, p.head, p.head_hash, age, p.peers, bool(reason),
                                 reason))  # fmt: skip
    return judged


def learn_period(newest: tuple[int, int], older: tuple[int, int]) -> float | None:
    """Seconds per block from two (number, timestamp) pairs of one chain, at least 1 s (block
    timestamps are whole seconds; no proof-of-authority chain seals faster); None when they
    are not two different blocks."""
    blocks = newest[0] - older[0]
    if blocks <= 0:
        return None
    return max(1.0, (newest[1] - older[1]) / blocks)
