"""The service's own records as the auditor's exports (heitje_chain.audit.exports), read from
the database instead of CSV files: the claims (who approved them, when), the jobs (their
neighbourhood, who posted them). The auditor's page (its fraud signals) and the public ledger
page (the rewards per neighbourhood) audit the chain with them, exactly as `heitje audit
--claims claims.csv --jobs jobs.csv` does with the files the staff lists export."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Claim, Job, Resident, Reward
from heitje_chain.audit import Exports
from heitje_chain.audit.exports import ClaimRow


def _time(moment: datetime | None) -> str:
    """As the CSV export writes it (ISO 8601, UTC)."""
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def service_exports(session: Session) -> Exports:
    """Claims by on-chain job id, jobs' neighbourhoods and posters, streamed from the
    database."""
    claims: dict[bytes, ClaimRow] = {}
    rows = (
        select(
            Claim.id,
            Claim.job_id,
            Claim.status,
            Job.reward_cents,
            Reward.status,
            Job.neighbourhood,
            Resident.pseudonym,
            Claim.decided_by,
            Claim.claimed_at,
            Claim.decided_at,
        )
        .join(Job, Claim.job_id == Job.id)
        .join(Resident, Claim.resident_id == Resident.id)
        .outerjoin(Reward, Reward.claim_id == Claim.id)
        .order_by(Claim.id)
    )
    for (
        claim,
        job,
        status,
        cents,
        payment,
        place,
        pseudonym,
        by,
        claimed,
        decided,
    ) in session.execute(rows).yield_per(2000):
        row = ClaimRow(
            claim=int(claim),
            job=int(job),
            status=str(status),
            cents=int(cents),
            payment=str(payment or ""),
            source=f"the service's database, claim {claim}",
            neighbourhood=str(place),
            resident=str(pseudonym),
            decided_by="" if by is None else str(by),
            claimed_at=_time(claimed),
            decided_at=_time(decided),
        )
        claims[row.job_id] = row
    jobs: dict[int, str] = {}
    posted_by: dict[int, str] = {}
    for job, place, poster in session.execute(
        select(Job.id, Job.neighbourhood, Job.created_by)
    ).yield_per(2000):
        jobs[int(job)] = str(place)
        posted_by[int(job)] = str(poster)
    return Exports(claims=claims, jobs=jobs, posted_by=posted_by, files=["the service's database"])
