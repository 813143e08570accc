"""`heitje`: the command-line tool for the municipality's staff.

Every command prints plain text by default and JSON with `--json`. Nothing here implements an
operation: each command calls the library (`heitje_chain`), which the API and the brownie
scripts call too.

The commands live in modules by area (`chain`, `keystores`, `deploy`, `roles`, `merchants`,
`rewards`, `payouts`, `audit`, `statements`, `completion`; `heitje_chain.network_cli` for
`heitje network`),
the plumbing they share in `common`, and the command line itself here: `build_parser` and
`main`, the entry point (`heitje_chain.cli:main`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from heitje_chain import __version__
from heitje_chain.cli.audit import cmd_audit, cmd_ledger
from heitje_chain.cli.chain import cmd_chain
from heitje_chain.cli.common import Context, UsageError, euros, euros_or_zero, positive
from heitje_chain.cli.completion import cmd_completion
from heitje_chain.cli.deploy import cmd_deploy, cmd_deployments
from heitje_chain.cli.keystores import cmd_keys
from heitje_chain.cli.merchants import cmd_merchant
from heitje_chain.cli.payouts import cmd_balance, cmd_payout, cmd_redeem
from heitje_chain.cli.rewards import cmd_reward
from heitje_chain.cli.roles import cmd_allowance, cmd_cap, cmd_pause, cmd_recover, cmd_roles
from heitje_chain.client import ROLES
from heitje_chain.config import load_config
from heitje_chain.deploy import DEFAULT_ADMIN_DELAY
from heitje_chain.errors import ConfigError, HeitjeError


class CommandParser(argparse.ArgumentParser):
    """A parser that takes the global options (--json, --as, --home, --config, --deployment)
    itself, and so does every command's parser made from it (argparse makes a command's
    parser, and its actions' parsers, of its parent's class): `heitje audit --at 1200000
    --json` is `heitje --json audit --at 1200000`. Below the top, an option not given leaves
    what was given before the command (the default is SUPPRESS)."""

    def __init__(self, *args: Any, top: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unset: Any = None if top else argparse.SUPPRESS
        options = self.add_argument_group("options for every command")
        options.add_argument(
            "--json",
            action="store_true",
            default=False if top else argparse.SUPPRESS,
            help="print JSON instead of text",
        )
        options.add_argument(
            "--as", dest="as_key", metavar="KEY", default=unset, help="act with this key"
        )
        options.add_argument(
            "--home",
            default=unset,
            help="the Heitje folder (default: $HEITJE_HOME or ~/.heitje)",
        )
        options.add_argument(
            "--config", default=unset, help="a config file (default: <home>/heitje.toml)"
        )
        options.add_argument(
            "--deployment",
            metavar="NAME",
            default=unset,
            help="which municipality's deployment (default: $HEITJE_DEPLOYMENT, else the "
            "single <home>/deployment.json)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="heitje",
        description=(
            "Heitje: the municipality's tool for its community currency. Amounts are in "
            "euros (1 Heitje = EUR 1.00), written like 12.50. Where a command acts, it uses "
            "one of the municipality's keys; --as KEY picks another than the usual one. "
            "The options --json, --as, --home, --config and --deployment may be given "
            "before or after the command."
        ),
        epilog="Start with: heitje chain up; heitje deploy --create-keys. "
        "Help on one command: heitje COMMAND --help.",
        top=True,
    )
    parser.add_argument("--version", action="version", version=f"heitje {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, func: Callable[..., int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def as_key(p: argparse.ArgumentParser, usual: str) -> None:
        """A command that acts with a key: --as (a global option) picks it."""
        p.set_defaults(takes_key=True)
        for action in p._actions:
            if action.dest == "as_key":
                action.help = f"act with this key ({usual})"

    p = command("chain", "start, stop or check the embedded (local) chain", cmd_chain)
    p.add_argument("action", choices=["up", "down", "status"])

    p = command("keys", "create a key, or list the keys on this computer", cmd_keys)
    p.add_argument("action", choices=["new", "list"])
    p.add_argument("name", nargs="?", default="", help="name of the new key")

    p = command("deploy", "create the Heitje token on the chain and give out the roles", cmd_deploy)
    p.add_argument("--name", default="Heerlens Heitje", help="the token's name")
    p.add_argument("--symbol", default="HEITJE", help="the token's symbol")
    p.add_argument(
        "--admin-delay",
        type=int,
        default=DEFAULT_ADMIN_DELAY,
        help="seconds a new default admin must wait before taking over (default: 2 days)",
    )
    p.add_argument("--job-office-budget", type=euros_or_zero, metavar="EUR")
    p.add_argument("--partner-budget", type=euros_or_zero, metavar="EUR")
    p.add_argument("--create-keys", action="store_true", help="create missing role keys")
    p.add_argument("--new", action="store_true", help="deploy even if a token exists already")

    p = command("deployments", "list the deployments (municipalities) here", cmd_deployments)
    p.add_argument("action", choices=["list"], nargs="?", default="list")

    from heitje_chain.network_cli import register as register_network

    register_network(sub)

    p = command("roles", "list who holds which role, or grant or revoke one", cmd_roles)
    p.add_argument("action", choices=["list", "grant", "revoke"])
    p.add_argument("role", nargs="?", choices=list(ROLES), help="the role")
    p.add_argument("account", nargs="?", help="an address or a key name")
    as_key(p, "usually admin")

    p = command("allowance", "show or set a job issuer's budget (mint allowance)", cmd_allowance)
    p.add_argument("action", choices=["show", "set"])
    p.add_argument("minter", help="the job issuer: an address or a key name")
    p.add_argument("amount", nargs="?", type=euros_or_zero, help="the new budget in euros")
    as_key(p, "usually admin")

    p = command("cap", "show or set the yearly earnings cap per resident", cmd_cap)
    p.add_argument("action", choices=["show", "set"])
    p.add_argument("amount", nargs="?", type=euros, help="the new cap in euros")
    as_key(p, "usually admin")

    p = command("merchant", "list merchants, or add or remove one", cmd_merchant)
    p.add_argument("action", choices=["list", "add", "remove"])
    p.add_argument("account", nargs="?", help="the merchant's address or key name")
    as_key(p, "usually merchant-manager")

    p = command("reward", "pay a resident for an approved job, or a CSV file of jobs", cmd_reward)
    p.add_argument("job", nargs="?", help="the job's reference, e.g. HRL-2026-0042")
    p.add_argument("resident", nargs="?", help="the resident's address")
    p.add_argument("amount", nargs="?", type=euros, help="the reward in euros")
    p.add_argument("--csv", metavar="FILE", help="a CSV file with columns job,resident,amount")
    p.add_argument("--report", metavar="FILE", help="also write what happened to each job as CSV")
    p.add_argument("--batch-size", type=positive, default=100, help="jobs per transaction")
    as_key(p, "usually job-office")

    p = command("balance", "show an account's Heitjes and this year's earnings", cmd_balance)
    p.add_argument("account", help="an address or a key name")

    p = command("redeem", "a merchant exchanges Heitjes for euros", cmd_redeem)
    p.add_argument("amount", type=euros, help="euros to redeem")
    as_key(p, "the merchant's key")

    p = command("payout", "list open redemptions, or record one as paid", cmd_payout)
    p.add_argument("action", choices=["list", "confirm"])
    p.add_argument("id", nargs="?", type=positive, help="the redemption number")
    p.add_argument("reference", nargs="?", help="the bank's payment reference")
    p.add_argument("--all", action="store_true", help="list paid redemptions too")
    as_key(p, "usually treasurer")

    p = command("recover", "move a lost wallet's Heitjes to a new wallet", cmd_recover)
    p.add_argument("lost", help="the lost wallet's address")
    p.add_argument("new", help="the new wallet's address")
    as_key(p, "usually recovery")

    for name, text in (("pause", "stop rewards, payments and redemptions"), ("unpause", "resume")):
        p = command(name, text, cmd_pause)
        as_key(p, "usually pauser")

    p = command("ledger", "list the token's events (or write them to a CSV file)", cmd_ledger)
    p.add_argument("--from", dest="from_block", type=int, help="first block")
    p.add_argument("--to", dest="to_block", type=int, help="last block")
    p.add_argument("--event", action="append", help="only this event (repeat for more)")
    p.add_argument("--csv", metavar="FILE", help="write the events to this CSV file")

    p = command(
        "audit",
        "verify the whole ledger from the chain and report (exit 3: a check failed)",
        cmd_audit,
    )
    p.add_argument("--at", type=int, metavar="BLOCK", help="audit at this block (default: head)")
    p.add_argument("--out", metavar="DIR", help="write report.json, report.html and CSV files")
    p.add_argument("--ledger", metavar="FILE", help="audit a ledger export offline, no node")
    p.add_argument("--save-ledger", metavar="FILE", help="also write the logs to a ledger export")
    p.add_argument("--checkpoint", metavar="FILE", help="resume from / save to this checkpoint")
    p.add_argument(
        "--claims",
        action="append",
        default=[],
        metavar="CSV",
        help="the service's claims export, to reconcile (repeatable)",
    )
    p.add_argument(
        "--jobs",
        action="append",
        default=[],
        metavar="CSV",
        help="the service's jobs export (rewards per neighbourhood)",
    )
    p.add_argument(
        "--payouts",
        action="append",
        default=[],
        metavar="CSV",
        help="the service's redemptions export, to reconcile payouts",
    )
    p.add_argument(
        "--no-balance-check",
        action="store_true",
        help="do not compare every holder's balance with the node's",
    )
    p.add_argument(
        "--lang",
        choices=["nl", "en"],
        default="nl",
        help="the language of report.html (default: nl, Dutch)",
    )
    from heitje_chain.cli.audit import add_signal_options

    add_signal_options(p)
    from heitje_chain.cli.statements import register as register_statements

    register_statements(sub)
    from heitje_chain.cli.status import register as register_status

    register_status(sub)
    p = command(
        "completion",
        "print a shell completion script: source <(heitje completion bash)",
        cmd_completion,
    )
    p.add_argument("shell", choices=["bash"], help="the shell (bash)")
    return parser


_REQUIRED: dict[tuple[str, str], tuple[str, ...]] = {
    ("keys", "new"): ("name",),
    ("roles", "grant"): ("role", "account"),
    ("roles", "revoke"): ("role", "account"),
    ("allowance", "set"): ("amount",),
    ("cap", "set"): ("amount",),
    ("merchant", "add"): ("account",),
    ("merchant", "remove"): ("account",),
    ("payout", "confirm"): ("id", "reference"),
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.as_key is not None and not getattr(args, "takes_key", False):
        parser.error(f"{args.command} acts with no key: --as is not for it")
    for name in _REQUIRED.get((args.command, getattr(args, "action", "")), ()):
        if getattr(args, name, None) in (None, ""):
            parser.error(f"{args.command} {args.action} needs {name.upper()}")
    stdout = out or sys.stdout
    try:
        config = load_config(args.home, args.config, deployment=args.deployment)
        ctx = Context(config, args.json, stdout, sys.stderr)
        code: int = args.func(ctx, args)
        return code
    except HeitjeError as exc:
        kind = "Refused" if not isinstance(exc, ConfigError | UsageError) else "Error"
        if args.json:
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), file=stdout)
        print(f"{kind}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
