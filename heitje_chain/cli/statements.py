"""`heitje statements`: the annual earnings statements (jaaropgave) of a year, from the chain,
and the verification of one statement against the chain."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from heitje_chain.amounts import eur
from heitje_chain.cli.common import Context, UsageError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    help_text = (
        "the annual earnings statements (jaaropgave) of a year, computed from the chain; or "
        "verify one (exit 3: it does not match)"
    )
    p = sub.add_parser("statements", help=help_text, description=help_text)
    p.set_defaults(func=cmd_statements)
    p.add_argument("--year", type=int, help="the calendar year (UTC), e.g. 2026")
    p.add_argument("--out", metavar="DIR", help="write one page per resident and summary.csv")
    p.add_argument("--address", action="append", default=[], help="only this resident (repeatable)")
    p.add_argument("--at", type=int, metavar="BLOCK", help="compute at this block (default: head)")
    p.add_argument("--ledger", metavar="FILE", help="compute from a ledger export, no node")
    p.add_argument(
        "--verify",
        metavar="FILE",
        help="recompute this statement (.html, .pdf or .json) and compare",
    )
    p.add_argument("--lang", choices=["nl", "en"], default="nl", help="the pages' language")
    p.add_argument(
        "--site",
        metavar="URL",
        help="the web app's public address (e.g. https://heitje.heerlen.nl): each PDF's QR "
        "code opens its verification page there (default: HEITJE_API_PUBLIC_URL; without "
        "either, the PDFs have no QR code)",
    )


def cmd_statements(ctx: Context, args: argparse.Namespace) -> int:
    from heitje_chain.audit import FileLogSource, rpc_source
    from heitje_chain.audit.stream import LogSource
    from heitje_chain.keys import check_address
    from heitje_chain.statements import compute, read_statement, verify, write_statements

    given = None
    at = args.at
    if args.verify:
        try:
            given = read_statement(Path(args.verify))
        except (OSError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        at = int(given["block"])
    elif args.year is None:
        raise UsageError("give --year YEAR (or --verify FILE)")
    source: LogSource
    if args.ledger:
        source = FileLogSource(Path(args.ledger))
    else:
        config = ctx.config
        source = rpc_source(
            ctx.client, at, max_range=config.log_range, confirmations=config.final_depth
        )
    if given is not None:
        result = verify(source, given)
        ctx.emit(
            {"matches": result.matches, "differences": result.differences},
            result.text(),
        )
        return 0 if result.matches else 3
    year = int(args.year)
    if not 1970 <= year <= 9999:
        raise UsageError(f"{year} is not a year to make statements of")
    addresses = [check_address(a, "--address") for a in args.address] or None
    try:
        statements = compute(source, year, addresses)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    site = args.site or os.environ.get("HEITJE_API_PUBLIC_URL", "").strip() or None
    if site is not None and not site.startswith(("https://", "http://")):
        raise UsageError(f"--site {site}: the address starts with https:// (or http://)")
    written = write_statements(statements, Path(args.out), args.lang, site) if args.out else []
    if ctx.json:
        print(json.dumps(list(statements.values()), indent=1, default=str), file=ctx.out)
        return 0
    head = source.head
    print(
        f"Statements of {year} at block {head.block} (hash {head.block_hash}): "
        f"{len(statements)} residents.",
        file=ctx.out,
    )
    for s in statements.values():
        print(
            f"  {s['address']}  earned {eur(s['earned'])} of {eur(s['cap'])}, "
            f"spent {eur(s['net_spent'])}, {len(s['rewards'])} rewards",
            file=ctx.out,
        )
    if written:
        print(
            f"Wrote {len(statements)} statement pages, {len(statements)} PDFs and summary.csv "
            f"to {args.out}.",
            file=ctx.out,
        )
    return 0
