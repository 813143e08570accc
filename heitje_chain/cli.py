"""`heitje`: the command-line tool for the municipality's staff.

Every command prints plain text by default and JSON with `--json`. Nothing here implements an
operation: each command calls the library (`heitje_chain`), which the API and the brownie
scripts call too.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from heitje_chain.amounts import cents_to_decimal, eur, parse_eur
from heitje_chain.client import ROLES, HeitjeClient, RewardResult, RewardRow, text_of
from heitje_chain.config import (
    ROLE_KEYS,
    Config,
    list_deployments,
    load_config,
    read_deployment,
    write_deployment,
)
from heitje_chain.connect import connect, connect_rpc
from heitje_chain.deploy import DEFAULT_ADMIN_DELAY, check_role_holders, deploy, grant_roles
from heitje_chain.errors import ConfigError, HeitjeError, KeystoreError
from heitje_chain.events import Event
from heitje_chain.keys import (
    KeyStore,
    LocalSigner,
    check_address,
    env_password,
    password_variable,
)
from heitje_chain.ledger import LedgerReader
from heitje_chain.spreadsheet import safe_cell

# ------------------------------------------------------------------ plumbing


class UsageError(HeitjeError, ValueError):
    """The command line asks for something that cannot be done as asked."""


@dataclass
class Context:
    config: Config
    json: bool
    out: TextIO
    err: TextIO
    _client: HeitjeClient | None = None

    @property
    def client(self) -> HeitjeClient:
        if self._client is None:
            self._client = connect(self.config)
        return self._client

    @property
    def keys(self) -> KeyStore:
        return KeyStore(self.config.keystore_dir)

    def signer(self, key: str) -> LocalSigner:
        """The decrypted key `key` (a keystore name); the password comes from the environment
        (HEITJE_PASSWORD_<KEY>, then HEITJE_PASSWORD) or is asked for."""
        name = self.config.key_name(key)
        return self.keys.load(name, password_for(name, self.err))

    def address(self, value: str, what: str) -> str:
        """An address, or the address of the keystore of that name."""
        if value.startswith("0x"):
            return check_address(value, what)
        if self.keys.exists(self.config.key_name(value)):
            return self.keys.address(self.config.key_name(value))
        raise UsageError(f"{what} {value!r} is neither an address (0x...) nor a key name")

    def name_of(self, address: str) -> str:
        """A key name for an address we hold a key for, else the address."""
        for name in self.keys.names():
            try:
                if self.keys.address(name) == address:
                    return f"{address} ({name})"
            except KeystoreError:
                continue
        return address

    def emit(self, data: Any, text: str | Callable[[], str]) -> None:
        if self.json:
            print(json.dumps(data, indent=2, default=_json_default), file=self.out)
        else:
            print(text() if callable(text) else text, file=self.out)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def password_for(name: str, err: TextIO, *, new: bool = False) -> str:
    """The password of key `name`: from HEITJE_PASSWORD_<NAME>, then HEITJE_PASSWORD, else
    asked for in the terminal (twice for a new key, so a typo does not lock it)."""
    variable = password_variable(name)
    from_env = env_password(name)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise KeystoreError(
            f"the password for key {name!r} is needed: set {variable} (or HEITJE_PASSWORD), "
            "or run the command in a terminal to be asked for it"
        )
    if not new:
        return getpass.getpass(f"Password for key {name!r}: ", stream=err)
    first = getpass.getpass(f"New password for key {name!r} (8 characters or more): ", stream=err)
    if getpass.getpass("The same password again: ", stream=err) != first:
        raise KeystoreError("the two passwords differ; nothing was created")
    return first


def money(cents: int) -> dict[str, Any]:
    return {"cents": cents, "eur": str(cents_to_decimal(cents))}


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


# ------------------------------------------------------------------ keys and deploy


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


# ------------------------------------------------------------------ rewards


def read_reward_csv(path: Path) -> list[RewardRow | RewardResult]:
    """The lines of a CSV of approved jobs (columns job, resident, amount in euros), in file
    order: a row to pay, or a refused result for a line that cannot be read."""
    lines: list[RewardRow | RewardResult] = []
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        needed = {"job", "resident", "amount"}
        if reader.fieldnames is None or not needed <= {f.strip() for f in reader.fieldnames}:
            raise UsageError(
                f"{path} needs a header line with the columns job,resident,amount "
                f"(found: {', '.join(reader.fieldnames or []) or 'nothing'})"
            )
        for line, record in enumerate(reader, start=2):
            record = {(k or "").strip(): (v or "").strip() for k, v in record.items()}
            try:
                cents = parse_eur(record["amount"], f"line {line}: amount")
                resident = check_address(record["resident"], f"line {line}: resident")
                if not record["job"]:
                    raise UsageError(f"line {line}: the job reference is empty")
                lines.append(RewardRow(record["job"], resident, cents))
            except (HeitjeError, ValueError) as exc:
                lines.append(
                    RewardResult(
                        record.get("job", ""), b"", record.get("resident", ""), 0, "refused",
                        reason=str(exc),
                    )
                )  # fmt: skip
    return lines


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.active = stream.isatty() and total > 1

    def __call__(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.active:
            filled = int(30 * self.done / max(1, self.total))
            bar = "#" * filled + "-" * (30 - filled)
            print(f"\r  [{bar}] {self.done}/{self.total} jobs", end="", file=self.stream)
            if self.done >= self.total:
                print(file=self.stream)


def cmd_reward(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    minter = ctx.signer(args.as_key or "job-office")
    if args.csv:
        lines = read_reward_csv(Path(args.csv))
        rows = [line for line in lines if isinstance(line, RewardRow)]
        progress = Progress(len(rows), ctx.err)
        paid = iter(client.reward_jobs(minter, rows, batch_size=args.batch_size, progress=progress))
        results = [next(paid) if isinstance(line, RewardRow) else line for line in lines]
    else:
        if not (args.job and args.resident and args.amount is not None):
            raise UsageError("give JOB RESIDENT AMOUNT, or --csv FILE")
        resident = ctx.address(args.resident, "resident")
        results = [client.reward_job(minter, args.job, resident, args.amount)]
    counts = Counter(r.status for r in results)
    total = sum(r.cents for r in results if r.status == "paid")
    data: dict[str, Any] = {
        "paid": counts["paid"],
        "already_paid": counts["already_paid"],
        "refused": counts["refused"],
        "total_paid": money(total),
        "jobs": [
            {
                "job": r.job if isinstance(r.job, str) else "0x" + r.job.hex(),
                "job_id": "0x" + r.job_id.hex() if r.job_id else None,
                "resident": r.resident,
                "amount": money(r.cents),
                "status": r.status,
                "reason": r.reason,
                "tx": r.tx_hash,
            }
            for r in results
        ],
    }
    if args.report:
        write_csv(Path(args.report), data["jobs"])

    def text() -> str:
        lines = []
        for r in results:
            label = {"paid": "PAID", "already_paid": "ALREADY PAID", "refused": "REFUSED"}
            line = f"{label[r.status]:<13} {r.job!s:<32} {eur(r.cents):>12}  {r.resident}"
            if r.reason:
                line += f"\n              {r.reason}"
            if len(results) <= 50 or r.status != "paid":
                lines.append(line)
        lines.append(
            f"Paid {counts['paid']} job(s), {eur(total)} in total; "
            f"{counts['already_paid']} already paid before (skipped); "
            f"{counts['refused']} refused."
        )
        return "\n".join(lines)

    ctx.emit(data, text)
    return 1 if counts["refused"] else 0


# ------------------------------------------------------------------ balances, redemptions


def cmd_balance(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    account = ctx.address(args.account, "account")
    balance = client.balance(account)
    merchant = client.is_merchant(account)
    data: dict[str, Any] = {"account": account, "balance": money(balance), "merchant": merchant}
    lines = [f"{ctx.name_of(account)}", f"  balance: {eur(balance)}"]
    if merchant or client.is_former_merchant(account):
        data["merchant_status"] = "listed" if merchant else "removed"
        lines.append(f"  merchant ({data['merchant_status']})")
    else:
        year = client.current_year()
        earned = client.earned_in(account, year)
        cap = client.yearly_cap()
        data |= {"year": year, "earned": money(earned), "room": money(max(0, cap - earned))}
        lines.append(f"  earned in {year}: {eur(earned)} of the {eur(cap)} yearly cap")
        lines.append(f"  may still earn: {eur(max(0, cap - earned))}")
    if client.is_retired(account):
        data["retired"] = True
        lines.append("  RETIRED: this lost wallet was moved to a new one")
    ctx.emit(data, "\n".join(lines))
    return 0


def cmd_redeem(ctx: Context, args: argparse.Namespace) -> int:
    if not args.as_key:
        raise UsageError("say whose Heitjes to redeem: --as MERCHANT_KEY")
    redemption = ctx.client.redeem(ctx.signer(args.as_key), args.amount)
    ctx.emit(
        {"id": redemption.id, "merchant": redemption.merchant, "amount": money(redemption.cents)},
        f"Redemption no. {redemption.id}: {eur(redemption.cents)} from "
        f"{ctx.name_of(redemption.merchant)}. The treasurer pays it out in euros.",
    )
    return 0


def cmd_payout(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client
    if args.action == "confirm":
        client.confirm_payout(ctx.signer(args.as_key or "treasurer"), args.id, args.reference)
        r = client.redemption(args.id)
        ctx.emit(
            {"id": r.id, "paid": r.paid, "reference": r.payment_reference},
            f"Redemption no. {r.id} ({eur(r.cents)} to {r.merchant}) is recorded as paid, "
            f"bank reference {r.payment_reference!r}.",
        )
        return 0
    rows = [r for r in client.redemptions() if args.all or not r.paid]
    data = [
        {
            "id": r.id,
            "merchant": r.merchant,
            "amount": money(r.cents),
            "paid": r.paid,
            "reference": r.payment_reference,
        }
        for r in rows
    ]
    ctx.emit(
        data,
        lambda: (
            "\n".join(
                f"no. {r.id:<6} {r.merchant}  {eur(r.cents):>14}  "
                + (f"paid, {r.payment_reference}" if r.paid else "OPEN")
                for r in rows
            )
            or "No open redemptions."
        ),
    )
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


# ------------------------------------------------------------------ ledger


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


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.rstrip(b"\0")
        if text and all(32 <= b < 127 for b in text):
            return repr(text_of(value))
        return "0x" + value.hex()
    return str(value)


def write_csv(path: Path, rows: Iterator[dict[str, Any]] | Sequence[dict[str, Any]]) -> int:
    """Write dict rows as CSV (header from the union of keys, in first-seen order)."""
    materialised = list(rows)
    fields: list[str] = []
    for row in materialised:
        for key in row:
            if key not in fields:
                fields.append(key)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in materialised:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    os.replace(tmp, path)
    return len(materialised)


def _cell(value: Any) -> Any:
    if isinstance(value, dict) and "eur" in value:
        return Decimal(value["eur"])  # an amount: a number, written as it is
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return safe_cell(value)


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


# ------------------------------------------------------------------ the parser


def euros(text: str) -> int:
    try:
        return parse_eur(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def euros_or_zero(text: str) -> int:
    try:
        return parse_eur(text, allow_zero=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heitje",
        description=(
            "Heitje: the municipality's tool for its community currency. Amounts are in "
            "euros (1 Heitje = EUR 1.00), written like 12.50. Where a command acts, it uses "
            "one of the municipality's keys; --as KEY picks another than the usual one."
        ),
        epilog="Start with: heitje chain up; heitje deploy --create-keys. "
        "Help on one command: heitje COMMAND --help.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--home", help="the Heitje folder (default: $HEITJE_HOME or ~/.heitje)")
    parser.add_argument("--config", help="a config file (default: <home>/heitje.toml)")
    parser.add_argument(
        "--deployment",
        metavar="NAME",
        help="which municipality's deployment (default: $HEITJE_DEPLOYMENT, else the single "
        "<home>/deployment.json)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, func: Callable[..., int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def as_key(p: argparse.ArgumentParser, usual: str) -> None:
        p.add_argument("--as", dest="as_key", metavar="KEY", help=f"act with this key ({usual})")

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
