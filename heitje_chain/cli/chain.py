"""`heitje chain`: the embedded (local) chain."""

from __future__ import annotations

import argparse

from heitje_chain.cli.common import Context, UsageError

# ------------------------------------------------------------------ chain


def cmd_chain(ctx: Context, args: argparse.Namespace) -> int:
    from heitje_chain.node import EmbeddedChain

    if not ctx.config.embedded:
        raise UsageError(
            "an RPC URL is configured, so the embedded chain is not used; `heitje chain` "
            "manages only the embedded chain"
        )
    chain = EmbeddedChain(
        ctx.config.chain_dir, port=ctx.config.embedded_port, host=ctx.config.embedded_host
    )
    if args.action == "up":
        status = chain.start()
    elif args.action == "down":
        stopped = chain.stop()
        ctx.emit(
            {"stopped": stopped},
            "The embedded chain stopped; its state is saved."
            if stopped
            else "The embedded chain was not running.",
        )
        return 0
    else:
        status = chain.status()
    data = {k: getattr(status, k) for k in status.__dataclass_fields__}
    ctx.emit(
        data,
        lambda: (
            f"The embedded chain is running at {status.url} (chain {status.chain_id}, "
            f"block {status.block_number}). State: {status.state_file}"
            if status.running
            else "The embedded chain is not running. Start it with `heitje chain up`."
        ),
    )
    return 0 if status.running or args.action != "status" else 3
