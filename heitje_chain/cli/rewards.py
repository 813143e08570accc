"""`heitje reward`: paying residents for approved jobs, one or a CSV file of them."""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from heitje_chain.amounts import eur, parse_eur
from heitje_chain.cli.common import Context, UsageError, money, write_csv
from heitje_chain.client import RewardResult, RewardRow
from heitje_chain.errors import HeitjeError
from heitje_chain.keys import check_address

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
