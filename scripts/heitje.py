"""Any `heitje` CLI command, against brownie's active network.

    brownie run scripts/heitje.py main "merchant list" --network anvil
    brownie run scripts/heitje.py main "balance 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    brownie run scripts/heitje.py main " --json payout list --all" --network <network>

The one argument is the command line of `heitje` (see `heitje --help`), split like a shell
would split it. brownie takes an argument that starts with '-' for one of its own options, so
start such a command line with a space, as in the last example.

The command runs in `heitje_chain.cli`, the same code as the installed `heitje` tool; this
script only points it at brownie's chain: it sets `HEITJE_RPC_URL` to brownie's endpoint,
unless `HEITJE_RPC_URL` is set already.

Everything else comes from heitje's own configuration, as for the `heitje` tool: the contract
from the deployment record in `$HEITJE_HOME` (default `~/.heitje`) or `HEITJE_CONTRACT` (and
`HEITJE_DEPLOYMENT_BLOCK`; `scripts/deploy.py` prints both), the keys from heitje's keystores,
their passwords from `HEITJE_PASSWORD_<KEY>` / `HEITJE_PASSWORD` or a prompt. On a development
network brownie stops the chain it launched when the run ends, so use a chain brownie attaches
to (one already running on the network's port) for anything that should last.

A command that fails makes brownie exit with the command's exit code.
"""

from __future__ import annotations

import os
import shlex

from brownie import web3

from heitje_chain import cli


def main(command: str = "--help") -> None:
    if not os.environ.get("HEITJE_RPC_URL"):
        os.environ["HEITJE_RPC_URL"] = web3.provider.endpoint_uri
    code = cli.main(shlex.split(command))
    if code:
        raise SystemExit(code)
