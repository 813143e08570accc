"""`heitje balance`, `redeem`, `payout`: balances, redemptions and the treasurer's payouts."""

from __future__ import annotations

import argparse
from typing import Any

from heitje_chain.amounts import eur
from heitje_chain.cli.common import Context, UsageError, money

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
