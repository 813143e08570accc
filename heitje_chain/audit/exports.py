"""The service's CSV exports the auditor reconciles the chain against (`?format=csv` on the
staff lists): the claims (approved jobs), the jobs (their neighbourhood) and the redemptions
(payouts with the bank's reference). Several files of one kind may be given (the lists are
paged); a row that appears twice counts once. Their column headers may be Dutch (the
service's default) or English (`lang=en`): `heitje_chain.columns`. A text cell's leading
quote (the exports' protection against spreadsheet formulas, `heitje_chain.spreadsheet`) is
removed when read.

The reward of a claim is paid on-chain under the job id keccak("heitje/job-<job>/claim-<claim>")
(the service's `api.routes.jobs.reward_reference`; a test checks that the two agree); where
the export has the `chain_job_id` column, it must be that hash. Its `neighbourhood` column
(or the jobs export) gives the rewards per neighbourhood. The fraud signals read the claims'
`resident`, `decided_by`, `claimed_at` and `decided_at` columns and the jobs' `created_by`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from heitje_chain.amounts import parse_eur
from heitje_chain.audit.stream import AuditInputError
from heitje_chain.client import job_id
from heitje_chain.columns import field_of
from heitje_chain.spreadsheet import plain_cell


def reward_reference(job: int, claim: int) -> str:
    """The reference whose keccak-256 is a service claim's on-chain job id."""
    return f"heitje/job-{job}/claim-{claim}"


@dataclass(frozen=True)
class ClaimRow:
    claim: int
    job: int
    status: str
    cents: int
    payment: str  # the service's view of the reward: pending, paid, refused or empty
    source: str  # file and line
    neighbourhood: str = ""  # the job's, when the export has the column
    # for the fraud signals, when the export has the columns:
    resident: str = ""  # the resident's pseudonym
    decided_by: str = ""  # the staff member (user id) who approved or rejected it
    claimed_at: str = ""
    decided_at: str = ""

    @property
    def job_id(self) -> bytes:
        return job_id(reward_reference(self.job, self.claim))


@dataclass(frozen=True)
class PayoutRow:
    redemption: int
    cents: int
    paid: bool
    reference: str
    merchant: str
    source: str


def _rows(path: Path, needed: set[str], kind: str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise AuditInputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        # Dutch headers (the service's default) read as the API's fields
        reader.fieldnames = [field_of((f or "").strip()) for f in reader.fieldnames or []]
        found = set(reader.fieldnames)
        if not needed <= found:
            raise AuditInputError(
                f"{path} is not the service's {kind} export: it needs the columns "
                f"{', '.join(sorted(needed))} (found: {', '.join(sorted(found)) or 'nothing'})"
            )
        for line, record in enumerate(reader, start=2):
            yield line, {(k or "").strip(): plain_cell(v or "").strip() for k, v in record.items()}


def _int(value: str, where: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise AuditInputError(f"{where}: {what} {value!r} is not a whole number") from None


def _cents(value: str, where: str) -> int:
    try:
        return parse_eur(value, f"{where}: amount", allow_zero=True)
    except ValueError as exc:
        raise AuditInputError(str(exc)) from None


def read_claims(paths: Iterable[Path]) -> dict[bytes, ClaimRow]:
    """Claims by on-chain job id, from the claims exports (GET /claims?format=csv)."""
    out: dict[bytes, ClaimRow] = {}
    for path in paths:
        for line, r in _rows(path, {"id", "job_id", "status", "reward"}, "claims"):
            where = f"{path.name}, line {line}"
            row = ClaimRow(
                claim=_int(r["id"], where, "claim id"),
                job=_int(r["job_id"], where, "job id"),
                status=r["status"],
                cents=_cents(r["reward"], where),
                payment=r.get("payment", ""),
                source=where,
                neighbourhood=r.get("neighbourhood", ""),
                resident=r.get("resident", ""),
                decided_by=r.get("decided_by", ""),
                claimed_at=r.get("claimed_at", ""),
                decided_at=r.get("decided_at", ""),
            )
            given = r.get("chain_job_id", "")
            if given and given.lower() != "0x" + row.job_id.hex():
                raise AuditInputError(
                    f"{where}: chain_job_id {given} is not the hash of "
                    f"{reward_reference(row.job, row.claim)!r}; the export is not the service's"
                )
            out[row.job_id] = row
    return out


def read_jobs(paths: Iterable[Path]) -> dict[int, str]:
    """Job id -> neighbourhood, from the jobs exports (GET /jobs?status=all&format=csv)."""
    out: dict[int, str] = {}
    for path in paths:
        for line, r in _rows(path, {"id", "neighbourhood"}, "jobs"):
            out[_int(r["id"], f"{path.name}, line {line}", "job id")] = r["neighbourhood"]
    return out


def read_job_posters(paths: Iterable[Path]) -> dict[int, str]:
    """Job id -> the staff member (user id) who posted it, from the jobs exports' created_by
    column (empty when the export has no such column)."""
    out: dict[int, str] = {}
    for path in paths:
        for line, r in _rows(path, {"id", "neighbourhood"}, "jobs"):
            if r.get("created_by"):
                out[_int(r["id"], f"{path.name}, line {line}", "job id")] = r["created_by"]
    return out


def read_payouts(paths: Iterable[Path]) -> dict[int, PayoutRow]:
    """Redemptions by number, from the redemptions exports (GET /redemptions?format=csv)."""
    out: dict[int, PayoutRow] = {}
    for path in paths:
        for line, r in _rows(path, {"id", "amount", "paid", "bank_reference"}, "redemptions"):
            where = f"{path.name}, line {line}"
            paid = r["paid"].lower()
            if paid not in ("true", "false", "1", "0", "yes", "no"):
                raise AuditInputError(f"{where}: paid {r['paid']!r} is not true or false")
            row = PayoutRow(
                redemption=_int(r["id"], where, "redemption number"),
                cents=_cents(r["amount"], where),
                paid=paid in ("true", "1", "yes"),
                reference=r["bank_reference"],
                merchant=r.get("merchant", ""),
                source=where,
            )
            out[row.redemption] = row
    return out
