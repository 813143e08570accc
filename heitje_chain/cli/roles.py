"""`heitje roles`, `allowance`, `cap`, `recover`, `pause`: the admin's and safety commands."""

from __future__ import annotations

import argparse

from heitje_chain.amounts import eur
from heitje_chain.cli.common import Context, money
from heitje_chain.client import ROLES
from heitje_chain.ledger import LedgerReader

# ------------------------------------------------------------------ roles, budgets, cap


def cmd_roles(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    if args.action in ("grant", "revoke"):
        account = ctx.address(args.account, "account")
        admin = ctx.signer(args.as_key or "admin")
        if args.action == "grant":
            done = client.grant_role(admin, args.role, account)
        else:
            done = client.revoke_role(admin, args.role, account)
        ctx.emit(
            {"role": args.role, "account": account, "action": args.action, "tx": done.tx_hash},
            f"{'Granted' if args.action == 'grant' else 'Revoked'} {args.role} "
            f"{'to' if args.action == 'grant' else 'from'} {ctx.name_of(account)}.",
        )
        return 0
    holders = role_holders(client.ledger(ctx.config.log_range, ctx.config.final_depth))
    rows = [
        {"role": role, "account": account}
        for role in ROLES
        for account in sorted(holders.get(role, ()))
    ]
    ctx.emit(
        rows,
        lambda: "\n".join(f"{r['role']:<17} {ctx.name_of(r['account'])}" for r in rows),
    )
    return 0


def role_holders(ledger: LedgerReader) -> dict[str, set[str]]:
    """Who holds each role now, from the RoleGranted/RoleRevoked events."""
    from heitje_chain.errors import role_name

    by_contract_name = {v: k for k, v in ROLES.items()}
    holders: dict[str, set[str]] = {}
    for event in ledger.events(names=["RoleGranted", "RoleRevoked"]):
        role = by_contract_name.get(role_name(event.args["role"]), role_name(event.args["role"]))
        accounts = holders.setdefault(role, set())
        if event.name == "RoleGranted":
            accounts.add(event.args["account"])
        else:
            accounts.discard(event.args["account"])
    return holders


def cmd_allowance(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    minter = ctx.address(args.minter, "minter")
    if args.action == "set":
        client.set_mint_allowance(ctx.signer(args.as_key or "admin"), minter, args.amount)
    cents = client.mint_allowance(minter)
    ctx.emit(
        {"minter": minter, "allowance": money(cents)},
        f"Budget left to {ctx.name_of(minter)}: {eur(cents)}",
    )
    return 0


def cmd_cap(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    if args.action == "set":
        client.set_yearly_cap(ctx.signer(args.as_key or "admin"), args.amount)
    cents = client.yearly_cap()
    ctx.emit({"yearly_cap": money(cents)}, f"Yearly earnings cap per resident: {eur(cents)}")
    return 0


def cmd_recover(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    lost = ctx.address(args.lost, "lost wallet")
    new = ctx.address(args.new, "new wallet")
    done = client.recover_wallet(ctx.signer(args.as_key or "recovery"), lost, new)
    moved = int(done.event("WalletRecovered").args["amount"])
    ctx.emit(
        {"lost": lost, "new": new, "moved": money(moved), "tx": done.tx_hash},
        f"Moved {eur(moved)} and this year's earnings from {lost} to {new}. "
        "The lost wallet is retired.",
    )
    return 0


def cmd_pause(ctx: Context, args: argparse.Namespace) -> int:
    signer = ctx.signer(args.as_key or "pauser")
    if args.command == "pause":
        ctx.client.pause(signer)
        text = "Heitje is paused: rewards, payments and redemptions are stopped."
    else:
        ctx.client.unpause(signer)
        text = "Heitje runs again."
    ctx.emit({"paused": ctx.client.paused()}, text)
    return 0
