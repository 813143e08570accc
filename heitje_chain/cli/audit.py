"""`heitje ledger` and `heitje audit`: the token's events, and the auditor."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from heitje_chain.amounts import eur
from heitje_chain.cli.common import Context, UsageError, write_csv
from heitje_chain.client import text_of
from heitje_chain.events import Event

# ------------------------------------------------------------------ ledger


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.rstrip(b"\0")
        if text and all(32 <= b < 127 for b in text):
            return repr(text_of(value))
        return "0x" + value.hex()
    return str(value)


def cmd_ledger(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    ledger = client.ledger(ctx.config.log_range, ctx.config.final_depth)
    names = args.event or None
    if names:
        unknown = set(names) - set(client.events.topics)
        if unknown:
            raise UsageError(
                f"unknown event(s) {', '.join(sorted(unknown))}; known: "
                + ", ".join(sorted(client.events.topics))
            )
    events: Iterator[Event] = ledger.events(start=args.from_block, end=args.to_block, names=names)
    if args.csv:
        count = write_csv(Path(args.csv), (e.as_row() for e in events))
        ctx.emit({"events": count, "file": args.csv}, f"Wrote {count} events to {args.csv}.")
        return 0
    if ctx.json:
        ctx.emit([e.as_row() for e in events], "")
        return 0
    count = 0
    for event in events:
        count += 1
        shown = ", ".join(f"{k}={_short(v)}" for k, v in event.args.items())
        print(f"{event.block_number:>8}  {event.name:<20} {shown}", file=ctx.out)
    totals = ledger.totals_at()
    print(
        f"{count} events. At block {totals.block}: supply {eur(totals.supply)} = rewards "
        f"{eur(totals.rewards)} - redemptions {eur(totals.redemptions)}; "
        f"{totals.holders} holders.",
        file=ctx.out,
    )
    return 0


# ------------------------------------------------------------------ audit


def cmd_audit(ctx: Context, args: argparse.Namespace) -> int:
    from heitje_chain.audit import Exports, FileLogSource, audit, rpc_source, summary, write_report
    from heitje_chain.audit.exports import read_claims, read_jobs, read_payouts
    from heitje_chain.audit.stream import LogSource

    exports = Exports(
        claims=read_claims(map(Path, args.claims)) if args.claims else None,
        jobs=read_jobs(map(Path, args.jobs)) if args.jobs else None,
        payouts=read_payouts(map(Path, args.payouts)) if args.payouts else None,
        files=[*args.claims, *args.jobs, *args.payouts],
    )
    source: LogSource
    if args.ledger:
        if args.at is not None or args.save_ledger:
            raise UsageError(
                "--at and --save-ledger need a node; a ledger export is audited "
                "as it is, at its last block"
            )
        source = FileLogSource(Path(args.ledger))
    else:
        config = ctx.config
        source = rpc_source(
            ctx.client, args.at, max_range=config.log_range, confirmations=config.final_depth
        )
    report = audit(
        source,
        exports,
        checkpoint=Path(args.checkpoint) if args.checkpoint else None,
        save_ledger=Path(args.save_ledger) if args.save_ledger else None,
        balances=not args.no_balance_check,
    )
    written = write_report(report, Path(args.out)) if args.out else []
    if ctx.json:
        print(json.dumps(report, indent=1, default=str), file=ctx.out)
    else:
        print(summary(report), file=ctx.out)
        if written:
            print(
                f"Report written to {args.out}: report.html, report.json and "
                f"{len(written) - 2} CSV files.",
                file=ctx.out,
            )
    return 0 if report["passed"] else 3
