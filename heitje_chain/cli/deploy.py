"""`heitje deploy` and `heitje deployments`: a token per municipality."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from heitje_chain.cli.common import Context, UsageError, password_for
from heitje_chain.config import (
    ROLE_KEYS,
    Config,
    list_deployments,
    read_deployment,
    write_deployment,
)
from heitje_chain.connect import connect_rpc
from heitje_chain.deploy import check_role_holders, deploy, grant_roles
from heitje_chain.errors import KeystoreError
from heitje_chain.keys import LocalSigner


def cmd_deploy(ctx: Context, args: argparse.Namespace) -> int:
    cfg = ctx.config
    if cfg.contract and not args.new:
        rpc = connect_rpc(cfg)
        if rpc.code_at(cfg.contract):
            raise UsageError(
                f"Heitje is already deployed at {cfg.contract} on this chain. Deploying again "
                "starts a new token with no balances; add --new if that is what you want."
            )
    rpc = connect_rpc(_without_contract(cfg))
    keys = ctx.keys
    signers: dict[str, LocalSigner] = {}
    for role in ROLE_KEYS:
        name = cfg.key_name(role)
        if keys.exists(name):
            signers[role] = keys.load(name, password_for(name, ctx.err))
        elif args.create_keys:
            signers[role] = keys.create(name, password_for(name, ctx.err, new=True))
            print(f"created key {name!r}: {signers[role].address}", file=ctx.err)
        else:
            raise KeystoreError(
                f"no key {name!r} for the {role} role in {keys.folder}: create it with "
                f"`heitje keys new {name}`, or add --create-keys"
            )
    check_role_holders({k: s.address for k, s in signers.items()})
    client, deployment = deploy(
        rpc, signers["admin"], name=args.name, symbol=args.symbol, admin_delay=args.admin_delay
    )
    write_deployment(cfg.deployment_file, deployment)
    grant_roles(client, signers["admin"], {k: s.address for k, s in signers.items()})
    for role, amount in (("job-office", args.job_office_budget), ("partner", args.partner_budget)):
        if amount is not None:
            client.set_mint_allowance(signers["admin"], signers[role].address, amount)
    data = {
        "address": deployment.address,
        "chain_id": deployment.chain_id,
        "block": deployment.block,
        "tx": deployment.tx_hash,
        "roles": {role: s.address for role, s in signers.items()},
        "record": str(cfg.deployment_file),
    }
    ctx.emit(
        data,
        lambda: "\n".join(
            [
                f"Deployed {args.name} ({args.symbol}) at {deployment.address}",
                f"  chain {deployment.chain_id}, block {deployment.block}; recorded in "
                f"{cfg.deployment_file}",
                *(f"  {role:<17} {s.address}" for role, s in signers.items()),
            ]
        ),
    )
    return 0


def _without_contract(cfg: Config) -> Config:
    return replace(cfg, contract=None, chain_id=None if cfg.embedded else cfg.chain_id)


def cmd_deployments(ctx: Context, args: argparse.Namespace) -> int:
    """The deployments this installation knows: the single deployment.json (if any) and each
    named one under <home>/deployments/, side by side on the same chain."""
    home = ctx.config.home
    rows: list[dict[str, Any]] = []
    for name in ["", *list_deployments(home)]:
        path = home / "deployments" / f"{name}.json" if name else home / "deployment.json"
        record = read_deployment(path)
        if record is None:
            continue
        rows.append(
            {
                "deployment": name or "(default)",
                "name": record.name,
                "address": record.address,
                "chain_id": record.chain_id,
                "block": record.block,
                "selected": name == ctx.config.deployment,
            }
        )
    ctx.emit(
        rows,
        lambda: (
            "\n".join(
                f"{'*' if r['selected'] else ' '} {r['deployment']:<16} {r['address']}  "
                f"chain {r['chain_id']}  {r['name']}"
                for r in rows
            )
            or f"No deployments in {home}. Create one with `heitje deploy` "
            "(or `heitje --deployment NAME deploy`)."
        ),
    )
    return 0
