"""`heitje status`: the chain as it stands, and (with --service) whether the service's records
agree with it.

    heitje status
    heitje status --service https://heitje.heerlen.nl --user admin

The chain part checks every configured node first (its head, its peers, whether it is cut off
from the network: see heitje_chain/rpc.py) and names the node in use, then reads that node:
chain id, the newest block (number, hash, age), the contract, whether it is paused, the
supply. With `--service` the command also signs in to the
service (a staff account; the password from HEITJE_SERVICE_PASSWORD or asked for) and reads
its `GET /status`: the newest block any of its records was mined in, whether the chain forgot
blocks the service had seen (a chain restored from an older state, a reorg) and what the
service repaired, what is still being sent, and the approved rewards the chain refuses for
now with the reason. The exit code is 3 when the chain forgot blocks, like a failed audit.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from typing import Any

import requests

from heitje_chain.amounts import eur
from heitje_chain.cli.common import Context, UsageError
from heitje_chain.errors import ConfigError
from heitje_chain.health import describe

PASSWORD_VARIABLE = "HEITJE_SERVICE_PASSWORD"  # noqa: S105 (the variable's name)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="the chain as it stands, and whether the service's records agree with it",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.set_defaults(func=cmd_status)
    p.add_argument("--service", metavar="URL", default=os.environ.get("HEITJE_SERVICE_URL"),
                   help="the service's address (default: HEITJE_SERVICE_URL)")  # fmt: skip
    p.add_argument("--user", help="a staff account of the service (admin, auditor, ...)")


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    health = client.rpc.check_health()  # first: a cut-off node in use is left
    head = client.rpc.call("eth_getBlockByNumber", ["latest", False]) or {}
    number = int(head.get("number", "0x0"), 16)
    age = max(0, int(time.time()) - int(head.get("timestamp", "0x0"), 16))
    chain: dict[str, Any] = {
        "rpc": client.rpc.url,  # the node in use
        "chain_id": client.rpc.chain_id(),
        "head": number,
        "head_hash": head.get("hash"),
        "head_age_seconds": age,
        "contract": client.address,
        "paused": client.paused(),
        "supply_cents": client.total_supply(),
        "nodes": health.as_dict()["nodes"],
    }
    data: dict[str, Any] = {"chain": chain}
    service: dict[str, Any] | None = None
    if args.service:
        if not args.user:
            raise UsageError("--service needs --user: a staff account of the service")
        service = _service_status(args.service, args.user, ctx)
        data["service"] = service
    ctx.emit(data, lambda: _text(chain, service))
    return 3 if service is not None and service.get("chain_forgot") else 0


def _service_status(url: str, user: str, ctx: Context) -> dict[str, Any]:
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        if not sys.stdin.isatty():
            raise ConfigError(f"the service's password for {user!r} is needed: set "
                              f"{PASSWORD_VARIABLE}, or run this in a terminal")  # fmt: skip
        password = getpass.getpass(f"Password of {user!r} at {url}: ", stream=ctx.err)
    base = url.rstrip("/")
    try:
        login = requests.post(f"{base}/auth/login", json={"username": user, "password": password},
                              timeout=30)  # fmt: skip
        if login.status_code != 200:
            raise ConfigError(f"the service refused the sign-in: {_message(login)}")
        token = login.json()["token"]
        answer = requests.get(f"{base}/status", headers={"Authorization": f"Bearer {token}"},
                              timeout=30)  # fmt: skip
    except requests.RequestException as exc:
        raise ConfigError(f"the service at {url} did not answer: {exc}") from None
    if answer.status_code != 200:
        raise ConfigError(f"the service's status could not be read: {_message(answer)}")
    status: dict[str, Any] = answer.json()
    return status


def _message(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("message") or answer.status_code)
    except ValueError:
        return f"HTTP {answer.status_code}"


def _text(chain: dict[str, Any], service: dict[str, Any] | None) -> str:
    lines = [
        f"Chain {chain['chain_id']}: block {chain['head']:,} ({chain['head_hash']}), "
        f"{chain['head_age_seconds']} seconds old.",
        f"Contract {chain['contract']}: {'PAUSED' if chain['paused'] else 'running'}, "
        f"{eur(chain['supply_cents'])} in circulation.",
    ]
    lines.append(f"Nodes (in use: {chain['rpc']}):")
    lines += describe(chain["nodes"])
    if service is None:
        return "\n".join(lines)
    seen = service.get("highest_block_seen")
    lines.append(
        f"Service: its records were mined up to block {seen:,}." if seen is not None
        else "Service: none of its records is on the chain yet."
    )  # fmt: skip
    if service.get("chain_forgot"):
        lines.append(
            f"THE CHAIN FORGOT BLOCKS THE SERVICE HAD SEEN (from block "
            f"{service.get('forgot_from_block')}); the service repaired "
            f"{len(service.get('repaired') or [])} records (see its audit log):"
        )
        lines += [f"  - {line}" for line in service.get("repaired") or []]
    else:
        lines.append("The service's records agree with the chain.")
    if service.get("nodes"):
        lines.append(f"The service's nodes (in use: {service.get('node_in_use')}):")
        lines += describe(service["nodes"])
    sending = {k: v for k, v in (service.get("sending") or {}).items() if v}
    if sending:
        lines.append("Still being sent: " + ", ".join(f"{v} {k}" for k, v in sending.items()))
    for reward in service.get("rewards_waiting") or []:
        lines.append(f"Reward of claim {reward['claim']} ({reward['amount']['eur']} euro) waits: "
                     f"{reward['reason']}")  # fmt: skip
    return "\n".join(lines)
