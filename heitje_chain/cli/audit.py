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


#: The fraud signals' settings as options: name, type, help (see audit.signals).
SIGNAL_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("cap_fraction", "SHARE", "fast_cap: share of the yearly cap from one issuer (0.9)"),
    ("cap_days", "DAYS", "fast_cap: ... within this many days of its first reward (60)"),
    ("loop_count", "N", "refund_loops: refunds of a payment's exact amount per pair (3)"),
    ("redeem_excess", "EUR", "shop_overredeem: redeemed beyond net payments, at least (0.01)"),
    ("cluster_top", "N", "minter_cluster: the top N residents of an issuer (3)"),
    ("cluster_share", "SHARE", "minter_cluster: ... received this share or more (0.5)"),
    ("cluster_min_rewards", "N", "minter_cluster: issuers with this many rewards or more (20)"),
    ("inspector_min", "N", "inspector_favours: approvals of one resident, at least (5)"),
    ("inspector_factor", "X", "inspector_favours: times the inspector's overall share (3)"),
    ("quick_minutes", "MIN", "quick_approval: approved within minutes of the claim (30)"),
    ("quick_min_reward", "EUR", "quick_approval: for jobs rewarded with this or more (10.00)"),
)


def add_signal_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "fraud signals", "thresholds (default: the config file's [audit] section, else these)"
    )
    for name, metavar, help_text in SIGNAL_OPTIONS:
        group.add_argument(
            "--" + name.replace("_", "-"), dest="signal_" + name, metavar=metavar, help=help_text
        )


def signal_settings(ctx: Context, args: argparse.Namespace) -> Any:
    """The signals' settings: the options over the config file's [audit] section."""
    from heitje_chain.audit.signals import SignalSettings

    values: dict[str, Any] = dict(ctx.config.audit)
    for name, _metavar, _help in SIGNAL_OPTIONS:
        given = getattr(args, "signal_" + name, None)
        if given is None:
            continue
        try:
            values[name] = given if name.endswith(("reward", "excess")) else _number(given)
        except ValueError:
            raise UsageError(f"--{name.replace('_', '-')} {given!r} is not a number") from None
    try:
        return SignalSettings.from_mapping(values, "[audit] / options: ")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _number(text: str) -> int | float:
    return int(text) if text.strip().lstrip("-").isdigit() else float(text)


def cmd_audit(ctx: Context, args: argparse.Namespace) -> int:
    from heitje_chain.audit import Exports, FileLogSource, audit, rpc_source, summary, write_report
    from heitje_chain.audit.exports import read_claims, read_job_posters, read_jobs, read_payouts
    from heitje_chain.audit.stream import LogSource

    settings = signal_settings(ctx, args)
    exports = Exports(
        claims=read_claims(map(Path, args.claims)) if args.claims else None,
        jobs=read_jobs(map(Path, args.jobs)) if args.jobs else None,
        payouts=read_payouts(map(Path, args.payouts)) if args.payouts else None,
        posted_by=read_job_posters(map(Path, args.jobs)) if args.jobs else None,
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
        settings=settings,
    )
    written = write_report(report, Path(args.out), args.lang) if args.out else []
    if ctx.json:
        print(json.dumps(report, indent=1, default=str), file=ctx.out)
    else:
        print(summary(report), file=ctx.out)
        if written:
            print(
                f"Report written to {args.out}: report.html, report.json and "
                f"{len(written) - 2} CSV files (report.html in "
                f"{'Dutch' if args.lang == 'nl' else 'English'}).",
                file=ctx.out,
            )
    return 0 if report["passed"] else 3
