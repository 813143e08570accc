"""`heitje merchant`: the whitelist of shops."""

from __future__ import annotations

import argparse
from typing import Any

from heitje_chain.amounts import eur
from heitje_chain.cli.common import Context, money

# ------------------------------------------------------------------ merchants


def cmd_merchant(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    if args.action in ("add", "remove"):
        merchant = ctx.address(args.account, "merchant")
        manager = ctx.signer(args.as_key or "merchant-manager")
        if args.action == "add":
            client.add_merchant(manager, merchant)
        else:
            client.remove_merchant(manager, merchant)
        ctx.emit(
            {"merchant": merchant, "action": args.action},
            f"{ctx.name_of(merchant)} {'added to' if args.action == 'add' else 'removed from'} "
            "the merchant list.",
        )
        return 0
    merchants: dict[str, bool] = {}
    ledger = client.ledger(ctx.config.log_range, ctx.config.final_depth)
    for event in ledger.events(names=["MerchantAdded", "MerchantRemoved"]):
        merchants[event.args["merchant"]] = event.name == "MerchantAdded"
    rows: list[dict[str, Any]] = [
        {"merchant": m, "listed": listed, "balance": money(client.balance(m))}
        for m, listed in merchants.items()
    ]
    ctx.emit(
        rows,
        lambda: (
            "\n".join(
                f"{r['merchant']}  {'listed ' if r['listed'] else 'removed'}  "
                f"{eur(r['balance']['cents']):>14}"
                for r in rows
            )
            or "No merchants yet."
        ),
    )
    return 0
