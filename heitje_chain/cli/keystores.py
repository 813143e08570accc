"""`heitje keys`: the role keys on this computer."""

from __future__ import annotations

import argparse

from heitje_chain.cli.common import Context, password_for


def cmd_keys(ctx: Context, args: argparse.Namespace) -> int:
    if args.action == "new":
        signer = ctx.keys.create(args.name, password_for(args.name, ctx.err, new=True))
        ctx.emit(
            {"name": args.name, "address": signer.address},
            f"New key {args.name!r}: {signer.address} (stored encrypted in "
            f"{ctx.keys.path(args.name)})",
        )
        return 0
    rows = [{"name": n, "address": ctx.keys.address(n)} for n in ctx.keys.names()]
    ctx.emit(
        rows,
        lambda: (
            "\n".join(f"{r['name']:<20} {r['address']}" for r in rows)
            or f"No keys in {ctx.config.keystore_dir}. Create one with `heitje keys new NAME`."
        ),
    )
    return 0
