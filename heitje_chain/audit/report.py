"""The audit's result: the checks that need the whole ledger (supply identities, the
reconciliation with the service's exports), the figures, and the report in its forms: a
terminal summary, JSON for machines and one CSV file per check and table.

Amounts are cents in the JSON report and euros (two decimals, columns named `*_eur`) in the
CSV files. Every report names the block and block hash it was computed at.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from heitje_chain.amounts import cents_to_decimal, eur
from heitje_chain.audit.checks import MERCHANT, RECORD_LIMIT, Auditor, Check
from heitje_chain.audit.exports import ClaimRow, PayoutRow
from heitje_chain.audit.signals import (
    SignalSettings,
    chain_signals,
    export_signals,
    new_signals,
)
from heitje_chain.audit.stream import Head, OnChain, checksum
from heitje_chain.spreadsheet import safe_cell

REPORT_FORMAT = 1
#: Keys of records and tables that hold amounts (cents).
AMOUNT_KEYS = frozenset(
    {
        "amount",
        "balance",
        "allowance",
        "earned",
        "earned_before",
        "cap",
        "carried",
        "left_behind",
        "on_chain",
        "computed",
        "service",
        "minted",
        "allowance_left",
        "cents",
        "expected",
        "difference",
        "received",
        "refunded",
        "redeemed",
        "excess",
        "top_amount",
        "reward",
    }
)
ADDRESS_KEYS = frozenset(
    {
        "account",
        "to",
        "from",
        "resident",
        "minter",
        "merchant",
        "lost",
        "replacement",
        "by",
        "new_admin",
        "actor",
    }
)
DAY = 86400


@dataclass
class Exports:
    """The service's exports to reconcile against (None: not given)."""

    claims: dict[bytes, ClaimRow] | None = None
    jobs: dict[int, str] | None = None
    payouts: dict[int, PayoutRow] | None = None
    posted_by: dict[int, str] | None = None  # job -> staff member who posted it
    files: list[str] = field(default_factory=list)


@lru_cache(maxsize=65536)
def _address(value: str) -> str:
    return checksum(value)


def _pretty(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _address(v) if k in ADDRESS_KEYS and isinstance(v, str) and len(v) == 42 else v
        for k, v in record.items()
    }


def _iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ checks at the end


def supply_check(a: Auditor, on_chain: OnChain) -> Check:
    check = Check(
        "supply",
        "Supply identities",
        "total supply (the node's, at the audited block) == supply from the events (mints - "
        "burns) == sum of balances == rewards (JobRewarded) - redemptions "
        "(RedemptionRequested); each holder's balance as the node holds it == its balance "
        "from the events; no balance below zero",
    )
    supply = a.minted - a.burned
    total = sum(a.balances.values())
    identities = [
        ("sum of balances == supply from mints and burns", total, supply),
        ("minted == rewarded in JobRewarded events", a.minted, a.rewards),
        ("burned == redeemed in RedemptionRequested events", a.burned, a.redeemed),
        ("supply == rewards - redemptions", supply, a.rewards - a.redeemed),
    ]
    if on_chain.total_supply is not None:
        identities.insert(
            0, ("the node's totalSupply == supply from the events", on_chain.total_supply, supply)
        )
    for identity, left, right in identities:
        if left != right:
            check.fail(
                identity=identity,
                on_chain=left,
                computed=right,
                difference=left - right,
                problem=f"{identity} does not hold: {eur(left)} vs {eur(right)}",
            )
    for account, balance in a.balances.items():
        if balance < 0:
            check.fail(account=account, computed=balance, problem="a balance below zero")
    if on_chain.balances is not None:
        for account, held in on_chain.balances.items():
            computed = a.balances.get(account, 0)
            if held != computed:
                check.fail(
                    account=account,
                    on_chain=held,
                    computed=computed,
                    difference=held - computed,
                    problem="the node's balance differs from the events'",
                )
        check.notes.append(f"{len(on_chain.balances)} balances compared with the node's")
    if on_chain.note:
        check.notes.append(on_chain.note)
    check.notes.append(
        f"supply {eur(supply)} = rewards {eur(a.rewards)} - redemptions {eur(a.redeemed)}; "
        f"{sum(1 for b in a.balances.values() if b > 0)} holders"
    )
    return check


def reconcile_jobs(a: Auditor, claims: dict[bytes, ClaimRow] | None) -> Check:
    check = Check(
        "reconcile_jobs",
        "Approved jobs vs rewards on-chain",
        "every claim the service approved was rewarded on-chain under its job id, with the "
        "same amount; every reward on-chain belongs to an approved claim in the export",
    )
    if claims is None:
        check.skipped = "no claims export given (--claims FILE)"
        return check
    approved = 0
    for jid, row in claims.items():
        paid = a.jobs.get(jid)
        record = {
            "job_id": "0x" + jid.hex(),
            "claim": row.claim,
            "job": row.job,
            "status": row.status,
            "service": row.cents,
            "source": row.source,
        }
        if row.status == "approved":
            approved += 1
            if paid is None:
                check.fail(
                    **record,
                    on_chain=None,
                    payment=row.payment,
                    problem="approved in the service, not rewarded on-chain"
                    + (f" (the service says: {row.payment})" if row.payment else ""),
                )
            elif paid != row.cents:
                check.fail(
                    **record,
                    on_chain=paid,
                    problem="rewarded on-chain with another amount than the service approved",
                )
        elif paid is not None:
            check.fail(
                **record,
                on_chain=paid,
                problem=f"rewarded on-chain, but the claim is {row.status!r} in the service",
            )
    for jid, paid in a.jobs.items():
        if jid not in claims:
            check.fail(
                job_id="0x" + jid.hex(),
                on_chain=paid,
                service=None,
                problem="rewarded on-chain, not in the service's claims export",
            )
    check.notes.append(
        f"{approved} approved claims in the export; {len(a.jobs)} job ids rewarded on-chain"
    )
    return check


def reconcile_payouts(a: Auditor, payouts: dict[int, PayoutRow] | None) -> Check:
    check = Check(
        "reconcile_payouts",
        "Payouts vs the service's export",
        "every redemption on-chain is in the service's export and the other way round, with "
        "the same amount, the same paid state and the same bank reference",
    )
    if payouts is None:
        check.skipped = "no redemptions export given (--payouts FILE)"
        return check
    for rid, row in payouts.items():
        found = a.redemptions.get(rid)
        record = {"id": rid, "source": row.source, "service": row.cents}
        if found is None:
            check.fail(**record, problem="in the service's export, not on-chain")
            continue
        _m, cents, _b, _t, _tx, paid_block, _pt, reference = found
        if cents != row.cents:
            check.fail(**record, on_chain=cents, problem="amounts differ")
        if row.paid and paid_block is None:
            check.fail(
                **record,
                reference=row.reference,
                problem="paid according to the service, no payout recorded on-chain",
            )
        elif paid_block is not None and not row.paid:
            check.fail(
                **record,
                reference=reference,
                problem="payout recorded on-chain, open according to the service",
            )
        elif row.paid and reference != row.reference:
            check.fail(
                **record,
                reference=reference,
                service_reference=row.reference,
                problem="the bank references differ",
            )
    for rid, found in a.redemptions.items():
        if rid not in payouts:
            check.fail(
                id=rid,
                merchant=found[0],
                on_chain=found[1],
                reference=found[7],
                paid_block=found[5],
                problem="on-chain, missing from the service's export",
            )
    check.notes.append(f"{len(payouts)} redemptions in the export, {len(a.redemptions)} on-chain")
    return check


# ------------------------------------------------------------------ the report


def build_report(
    a: Auditor,
    head: Head,
    on_chain: OnChain,
    exports: Exports,
    *,
    origin: str,
    resumed_from: int | None = None,
    settings: SignalSettings | None = None,
) -> dict[str, Any]:
    """The whole report as a JSON-ready dict."""
    settings = settings or a.signals.settings
    signals = new_signals(settings)
    chain_signals(a.signals, a.payments_by_merchant, signals)
    export_signals(exports.claims, exports.posted_by, a.jobs, settings, signals)
    checks = [supply_check(a, on_chain), *a.checks.values()]
    checks.append(reconcile_jobs(a, exports.claims))
    checks.append(reconcile_payouts(a, exports.payouts))
    redemption_figures = _redemption_figures(a, head)
    red = a.checks["redemptions"]
    summary_notes = [
        f"{redemption_figures['paid']} paid ({eur(redemption_figures['paid_cents'])}), "
        f"{redemption_figures['unpaid']} unpaid ({eur(redemption_figures['unpaid_cents'])})"
    ]
    oldest = redemption_figures["oldest_unpaid"]
    if oldest:
        summary_notes.append(
            f"oldest unpaid: no. {oldest['id']}, {eur(oldest['amount'])}, waiting "
            f"{oldest['age_days']} days"
        )
    red = Check(
        red.name,
        red.title,
        red.verifies,
        red.count,
        red.records,
        [*red.notes, *summary_notes],
        red.skipped,
    )
    checks = [red if c.name == "redemptions" else c for c in checks]
    supply = a.minted - a.burned
    unpaid = redemption_figures["unpaid_cents"]
    neighbourhoods, residents_by_place = _by_neighbourhood(a, exports)
    figures: dict[str, Any] = {
        "supply": supply,
        "rewards": a.rewards,
        "redemptions": a.redeemed,
        "holders": sum(1 for b in a.balances.values() if b > 0),
        "residents_rewarded": len(a.earned),
        "merchants": sum(1 for status in a.status.values() if status == MERCHANT),
        "job_ids_rewarded": len(a.jobs),
        "liability": {
            "circulating": supply,
            "unpaid_redemptions": unpaid,
            "total": supply + unpaid,
        },
        "redemption_summary": redemption_figures,
        "minters": [
            {"minter": _address(m), "minted": cents, "allowance_left": a.allowance.get(m, 0)}
            for m, cents in sorted(a.minted_by.items(), key=lambda kv: -kv[1])
        ],
        "yearly_cap": {
            "cap": a.cap,
            "history": [_pretty(c) for c in a.caps],
            "highest_per_year": {
                str(y): {"earned": v[0], "resident": _address(v[1])}
                for y, v in sorted(a.year_max.items())
            },
        },
        "supply_by_day": [
            [datetime.fromtimestamp(d * DAY, UTC).date().isoformat(), v]
            for d, v in sorted(a.supply_by_day.items())
        ],
        "rewards_by_month": dict(sorted(a.rewards_by_month.items())),
        "rewards_by_neighbourhood": neighbourhoods,
        "residents_by_neighbourhood": residents_by_place,
        "payments_by_merchant": [
            {"merchant": _address(m), "count": v[0], "amount": v[1]}
            for m, v in sorted(a.payments_by_merchant.items(), key=lambda kv: -kv[1][1])
        ],
        "refunds": {"count": a.refunds[0], "amount": a.refunds[1]},
        "recoveries": a.recoveries,
        "paused": a.paused,
    }
    report = {
        "heitje_audit": REPORT_FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "source": origin,
        "chain_id": head.chain_id,
        "contract": _address(head.contract),
        "from_block": head.from_block,
        "block": head.block,
        "block_hash": head.block_hash,
        "block_time": _iso(head.timestamp),
        "resumed_from_checkpoint_block": resumed_from,
        "exports": exports.files,
        "events": a.events,
        "event_counts": dict(sorted(a.counts.items())),
        "passed": all(c.passed or c.skipped for c in checks),
        "checks": [_check_out(c) for c in checks],
        "signals": [_signal_out(s) for s in signals.values()],
        "signal_settings": settings.to_dict(),
        "figures": figures,
        "tables": {
            "role_history": _role_history(a),
            "admin_actions": [_pretty(r) for r in a.actions],
            "redemption_list": _redemption_list(a, head),
        },
    }
    return report


def _check_out(check: Check) -> dict[str, Any]:
    data = check.to_dict()
    data["records"] = [_pretty(r) for r in check.records]
    if check.count > len(check.records):
        data["notes"] = [
            *data["notes"],
            f"only the first {RECORD_LIMIT} offending records are listed",
        ]
    return data


def _signal_out(signal: Any) -> dict[str, Any]:
    data: dict[str, Any] = signal.to_dict()
    data["records"] = [_pretty(r) for r in signal.records]
    return data


def _redemption_figures(a: Auditor, head: Head) -> dict[str, Any]:
    paid = unpaid = paid_cents = unpaid_cents = 0
    oldest: list[Any] | None = None
    oldest_id = 0
    lead_days: list[float] = []
    for rid, r in a.redemptions.items():
        if r[5] is None:
            unpaid += 1
            unpaid_cents += r[1]
            if oldest is None or r[2] < oldest[2]:
                oldest, oldest_id = r, rid
        else:
            paid += 1
            paid_cents += r[1]
            lead_days.append(round((r[6] - r[3]) / DAY, 2))
    return {
        "paid": paid,
        "paid_cents": paid_cents,
        "unpaid": unpaid,
        "unpaid_cents": unpaid_cents,
        "oldest_unpaid": None
        if oldest is None
        else {
            "id": oldest_id,
            "merchant": _address(oldest[0]),
            "amount": oldest[1],
            "requested_block": oldest[2],
            "requested_at": _iso(oldest[3]),
            "age_days": round((head.timestamp - oldest[3]) / DAY, 1),
        },
        "lead_time_days": {
            "count": len(lead_days),
            "median": statistics.median(lead_days) if lead_days else None,
            "max": max(lead_days) if lead_days else None,
            "values": lead_days if len(lead_days) <= 100_000 else [],
        },
    }


def _redemption_list(a: Auditor, head: Head) -> list[dict[str, Any]]:
    rows = []
    for rid, (merchant, cents, block, at, tx, paid_block, paid_at, ref) in sorted(
        a.redemptions.items()
    ):
        rows.append(
            {
                "id": rid,
                "merchant": _address(merchant),
                "amount": cents,
                "block": block,
                "requested_at": _iso(at),
                "tx": tx,
                "paid": paid_block is not None,
                "paid_block": paid_block,
                "paid_at": _iso(paid_at),
                "reference": ref,
                "waiting_days": round(((paid_at if paid_at else head.timestamp) - at) / DAY, 2),
            }
        )
    return rows


def _role_history(a: Auditor) -> list[dict[str, Any]]:
    """Who held which role when: one row per holding, from its grant to its revocation."""
    rows: list[dict[str, Any]] = []
    open_rows: dict[tuple[str, str], dict[str, Any]] = {}
    for e in a.role_events:
        key = (e["role"], e["account"])
        if e["change"] == "granted":
            if key in open_rows:
                continue
            row = {
                "role": e["role"],
                "account": _address(e["account"]),
                "granted_block": e["block"],
                "granted_tx": e["tx"],
                "granted_by": _address(e["by"]),
                "revoked_block": None,
                "revoked_tx": None,
                "revoked_by": None,
            }
            open_rows[key] = row
            rows.append(row)
        elif key in open_rows:
            row = open_rows.pop(key)
            row |= {
                "revoked_block": e["block"],
                "revoked_tx": e["tx"],
                "revoked_by": _address(e["by"]),
            }
    return rows


def _by_neighbourhood(
    a: Auditor, exports: Exports
) -> tuple[dict[str, int] | None, dict[str, int] | None]:
    """The rewards per neighbourhood (of the job), and how many residents received them
    there (None when the claims export does not name its residents)."""
    claims = exports.claims
    if claims is None or (
        exports.jobs is None and not any(r.neighbourhood for r in claims.values())
    ):
        return None, None
    jobs = exports.jobs or {}
    totals: dict[str, int] = {}
    people: dict[str, set[str]] = {}
    named = True
    for jid, row in claims.items():
        paid = a.jobs.get(jid)
        if paid is not None:
            place = row.neighbourhood or jobs.get(row.job, "(neighbourhood not exported)")
            totals[place] = totals.get(place, 0) + paid
            people.setdefault(place, set()).add(row.resident)
            named = named and bool(row.resident)
    ordered = dict(sorted(totals.items(), key=lambda kv: -kv[1]))
    return ordered, {k: len(people[k]) for k in ordered} if named else None


# ------------------------------------------------------------------ output


def summary(report: dict[str, Any], limit: int = 5) -> str:
    """The terminal summary: one line per check, a few offending records each."""
    f = report["figures"]
    lines = [
        f"Heitje audit of {report['contract']} on chain {report['chain_id']}, at block "
        f"{report['block']} ({report['block_time']})",
        f"  block hash {report['block_hash']}",
        f"  {report['events']:,} events read from block {report['from_block']} ({report['source']})"
        + (
            f"; resumed from the checkpoint at block {report['resumed_from_checkpoint_block']}"
            if report["resumed_from_checkpoint_block"] is not None
            else ""
        ),
        "",
    ]
    for c in report["checks"]:
        mark = {"pass": " pass ", "FAIL": " FAIL ", "skipped": " ---- "}[c["status"]]
        head = f"[{mark}] {c['title']}"
        if c["status"] == "FAIL":
            head += f": {c['offending']} offending record(s)"
        elif c["skipped"]:
            head += f" (skipped: {c['skipped']})"
        lines.append(head)
        for record in c["records"][:limit]:
            lines.append("         " + _record_line(record))
        if c["offending"] > limit:
            lines.append(f"         ... and {c['offending'] - limit} more (see the CSV files)")
        for note in c["notes"]:
            lines.append(f"         {note}")
    lines += ["", "Signals (not failures: patterns to look at, with their thresholds):"]
    for s in report.get("signals", []):
        mark = {"look": " LOOK ", "quiet": " ---- ", "skipped": " ---- "}[s["status"]]
        head = f"[{mark}] {s['title']}"
        if s["status"] == "look":
            head += f": {s['shown']} record(s)"
        elif s["skipped"]:
            head += f" (skipped: {s['skipped']})"
        lines.append(head)
        lines.append(f"         threshold: {s['threshold']}")
        for record in s["records"][:limit]:
            lines.append("         " + _record_line(record))
        if s["shown"] > limit:
            lines.append(f"         ... and {s['shown'] - limit} more (see the CSV files)")
    liability = f["liability"]
    lines += [
        "",
        f"Supply {eur(f['supply'])}; rewards {eur(f['rewards'])}; redemptions "
        f"{eur(f['redemptions'])}; {f['holders']} holders.",
        f"Euro liability {eur(liability['total'])} = circulating {eur(liability['circulating'])}"
        f" + unpaid redemptions {eur(liability['unpaid_redemptions'])}.",
    ]
    failed = [c for c in report["checks"] if c["status"] == "FAIL"]
    ran = [c for c in report["checks"] if c["status"] != "skipped"]
    lines.append(
        f"Result: {len(failed)} of {len(ran)} checks FAILED."
        if failed
        else f"Result: all {len(ran)} checks passed."
    )
    return "\n".join(lines)


def _record_line(record: dict[str, Any]) -> str:
    where = f"block {record['block']} " if record.get("block") is not None else ""
    rest = ", ".join(
        f"{k} {eur(v) if k in AMOUNT_KEYS and isinstance(v, int) else v}"
        for k, v in record.items()
        if k not in ("block", "problem", "log_index") and v not in (None, "")
    )
    return f"{where}{record.get('problem', '')}: {rest}"


def _csv_value(key: str, value: Any) -> tuple[str, Any]:
    if key in AMOUNT_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return f"{key}_eur", cents_to_decimal(value)  # a number, written as it is
    if key in AMOUNT_KEYS:
        return f"{key}_eur", safe_cell(value)
    return key, safe_cell(value)


def write_csv(path: Path, rows: list[dict[str, Any]], first: tuple[str, ...] = ()) -> None:
    """Rows as CSV; the header is `first`, then every other key in first-seen order."""
    converted = [dict(_csv_value(k, v) for k, v in row.items()) for row in rows]
    fields: list[str] = list(first)
    for row in converted:
        fields.extend(k for k in row if k not in fields)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields or ["none"])
        writer.writeheader()
        writer.writerows(converted)
    os.replace(tmp, path)


def write_report(report: dict[str, Any], folder: Path, lang: str = "nl") -> list[Path]:
    """report.json, one CSV per check (its offending records), per signal (its records) and
    per table, and report.html (in Dutch, or `lang="en"` English)."""
    from heitje_chain.audit.html import render

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    path = folder / "report.json"
    tmp = path.with_name("report.json.tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)
    written.append(path)
    for c in report["checks"]:
        path = folder / f"check-{c['name']}.csv"
        rows = [{"check": c["name"], **r} for r in c["records"]]
        write_csv(path, rows, ("check", "problem", "block", "tx", "log_index"))
        written.append(path)
    for s in report.get("signals", []):
        path = folder / f"signal-{s['name']}.csv"
        rows = [{"signal": s["name"], "threshold": s["threshold"], **r} for r in s["records"]]
        write_csv(path, rows, ("signal", "problem"))
        written.append(path)
    for name, rows in report["tables"].items():
        path = folder / f"{name.replace('_', '-')}.csv"
        write_csv(path, rows)
        written.append(path)
    path = folder / "report.html"
    path.write_text(render(report, lang), encoding="utf-8")
    written.append(path)
    return written
