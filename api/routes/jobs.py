"""The job workflow: post, claim, mark done, approve or reject. Approval records the reward
in the outbox in the same transaction; the reward worker pays it on-chain."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from api.audit import record
from api.db import Database
from api.deps import ChainDep, DatabaseDep, SessionDep, SettingsDep, UserDep, require
from api.errors import ApiError
from api.export import Format, Lang, Limit, Offset, listing
from api.models import Claim, ClaimPhoto, Issuer, Job, Resident, Reward, User, now
from api.photos import MAX_BYTES, PhotoError, PhotoTooLarge, clean_photo
from api.routes.places import neighbourhood
from api.schemas import (
    ClaimDone,
    ClaimPublic,
    Decision,
    Id,
    JobCreate,
    JobPublic,
    Money,
    Page,
    PhotoInfo,
)
from heitje_chain.client import job_id

router = APIRouter(tags=["jobs"])
Poster = Annotated[User, Depends(require("issuer", "admin"))]
ResidentUser = Annotated[User, Depends(require("resident"))]
Inspector = Annotated[User, Depends(require("inspector"))]

TAKEN = ("claimed", "done", "approved")


def reward_reference(job_id: int, claim_id: int) -> str:
    """The text whose keccak-256 is the reward's on-chain job id: one per claim, no personal
    data."""
    return f"heitje/job-{job_id}/claim-{claim_id}"


def expire_claims(session: Session) -> None:
    """Claims not marked done by the job's deadline expire (their place frees up)."""
    overdue = select(Job.id).where(Job.deadline < date.today())
    session.execute(
        update(Claim)
        .where(Claim.status == "claimed", Claim.job_id.in_(overdue))
        .values(status="expired")
    )


def expire_due(db: Database) -> None:
    """Expire overdue claims before a read, in a write session of its own and only when there
    is one (a cheap read first): so lists stay reads, and never wait for SQLite's write lock."""
    with db.lookup() as session:
        due = session.scalar(
            select(Claim.id)
            .join(Job, Claim.job_id == Job.id)
            .where(Claim.status == "claimed", Job.deadline < date.today())
            .limit(1)
        )
    if due is not None:
        with db.session(write=True) as session:
            expire_claims(session)


def _places_taken(session: Session, job_id: int) -> int:
    return (
        session.scalar(select(func.count()).where(Claim.job_id == job_id, Claim.status.in_(TAKEN)))
        or 0
    )


#: The places taken on a job, as a column of a query over jobs (one query for a whole page).
_TAKEN_COUNT = (
    select(func.count())
    .where(Claim.job_id == Job.id, Claim.status.in_(TAKEN))
    .correlate(Job)
    .scalar_subquery()
)


def _job_out(job: Job, taken: int) -> JobPublic:
    return JobPublic(
        id=job.id,
        issuer=job.issuer.name,
        title=job.title,
        description=job.description,
        neighbourhood=job.neighbourhood,
        reward=Money.of(job.reward_cents),
        deadline=job.deadline,
        places=job.places,
        places_left=max(0, job.places - taken),
        status=job.status,
        created_by=job.created_by,
    )


def _photo_info(photo: ClaimPhoto | None) -> PhotoInfo | None:
    if photo is None:
        return None
    return PhotoInfo(
        content_type=photo.content_type,
        size=photo.size,
        sha256=photo.sha256,
        url=f"/claims/{photo.claim_id}/photo",
    )


def claim_out(claim: Claim) -> ClaimPublic:
    reward = claim.reward
    return ClaimPublic(
        id=claim.id,
        job_id=claim.job_id,
        job_title=claim.job.title,
        resident=claim.resident.pseudonym,
        status=claim.status,
        note=claim.note,
        reason=claim.reason,
        reward=Money.of(claim.job.reward_cents),
        neighbourhood=claim.job.neighbourhood,
        payment=reward.status if reward else None,
        chain_job_id="0x" + job_id(reward.reference).hex() if reward else None,
        payment_error=reward.last_error if reward else None,
        tx_hash=reward.tx_hash if reward else None,
        photo=_photo_info(claim.photo),
        claimed_at=claim.claimed_at,
        done_at=claim.done_at,
        decided_at=claim.decided_at,
        decided_by=claim.decided_by,
    )


@router.post("/jobs", response_model=JobPublic, status_code=201)
def post_job(
    body: JobCreate, user: Poster, session: SessionDep, settings: SettingsDep
) -> JobPublic:
    """Post a job. An issuer posts for its own organisation; an admin names the issuer."""
    issuer_id = user.issuer_id if user.role == "issuer" else body.issuer_id
    if user.role == "issuer" and body.issuer_id not in (None, user.issuer_id):
        raise ApiError(403, "other_issuer", "you can post jobs only for your own organisation")
    issuer = session.get(Issuer, issuer_id) if issuer_id is not None else None
    if issuer is None:
        raise ApiError(422, "issuer_needed", "say which issuer pays this job (issuer_id)")
    if body.deadline < date.today():
        raise ApiError(422, "deadline_passed", "the deadline is in the past")
    job = Job(
        issuer_id=issuer.id,
        title=body.title,
        description=body.description,
        neighbourhood=neighbourhood(settings, body.neighbourhood),
        reward_cents=int(body.reward),  # validated into cents
        deadline=body.deadline,
        places=body.places,
        created_by=user.id,
    )
    session.add(job)
    session.flush()
    record(session, user, "job.post", f"job:{job.id}", title=job.title, cents=job.reward_cents)
    return _job_out(job, _places_taken(session, job.id))


@router.get("/jobs", response_model=Page[JobPublic])
def list_jobs(
    db: DatabaseDep,
    session: SessionDep,
    _: UserDep,
    neighbourhood: str | None = None,
    status: Annotated[str, Query(pattern="^(open|closed|cancelled|all)$")] = "open",
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[JobPublic] | Response:
    """Jobs, newest first; by default the open ones. `?format=csv` for a spreadsheet."""
    expire_due(db)
    # joined, not select-in: one query instead of two, a quarter less work per page
    query = select(Job, _TAKEN_COUNT).options(joinedload(Job.issuer, innerjoin=True))
    if status != "all":
        query = query.where(Job.status == status)
    if neighbourhood:
        query = query.where(Job.neighbourhood == neighbourhood)
    return listing(
        session, query.order_by(Job.id.desc()), _job_out,
        name="jobs", offset=offset, limit=limit, format=format, lang=lang,
    )  # fmt: skip


@router.get("/jobs/{job_id}", response_model=JobPublic)
def get_job(job_id: Id, session: SessionDep, _: UserDep) -> JobPublic:
    job = session.get(Job, job_id)
    if job is None:
        raise ApiError(404, "no_job", f"there is no job {job_id}")
    return _job_out(job, _places_taken(session, job.id))


def _own_job(session: Session, job_id: int, user: User) -> Job:
    job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None or (user.role == "issuer" and job.issuer_id != user.issuer_id):
        raise ApiError(404, "no_job", f"your organisation has no job {job_id}")
    if job.status != "open":
        raise ApiError(409, "job_closed", f"this job is {job.status} already")
    return job


@router.post("/jobs/{job_id}/close", response_model=JobPublic)
def close_job(job_id: Id, user: Poster, session: SessionDep) -> JobPublic:
    """Take no more claims for this job (e.g. enough people signed up). Residents who claimed
    it finish it as usual, and their work is inspected and paid."""
    job = _own_job(session, job_id, user)
    job.status = "closed"
    record(session, user, "job.close", f"job:{job.id}", title=job.title)
    return _job_out(job, _places_taken(session, job.id))


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: Id, body: Decision, user: Poster, session: SessionDep) -> JobPublic:
    """Call the job off, with a reason: no more claims, and claims not yet marked done are
    cancelled (they free the residents' room under the cap). Work already reported done still
    goes to the inspector."""
    job = _own_job(session, job_id, user)
    if not body.reason:
        raise ApiError(422, "reason_needed", "say why the job is called off (reason)")
    job.status = "cancelled"
    cancelled = session.execute(
        update(Claim)
        .where(Claim.job_id == job.id, Claim.status == "claimed")
        .values(status="cancelled", reason=body.reason, decided_at=now(), decided_by=user.id)
    ).rowcount  # type: ignore[attr-defined]
    record(
        session, user, "job.cancel", f"job:{job.id}", title=job.title, reason=body.reason,
        claims_cancelled=cancelled,
    )  # fmt: skip
    return _job_out(job, _places_taken(session, job.id))


@router.post("/jobs/{job_id}/claim", response_model=ClaimPublic, status_code=201)
def claim_job(job_id: Id, user: ResidentUser, db: DatabaseDep, chain: ChainDep) -> ClaimPublic:
    """Claim a place on an open job. Refused when no place is left, the deadline has passed,
    or the reward would take the resident over this year's cap (counting rewards not yet
    paid and jobs already claimed).

    The chain is read first, with no connection held; then the job's and the resident's rows
    are locked (SQLite: the write lock; PostgreSQL: `FOR UPDATE`, job first), so parallel
    claims can neither fill a job beyond its places nor take a resident over the cap."""
    assert user.resident_id is not None
    return claim_for(db, chain, user.resident_id, job_id, mine=True)


def claim_for(
    db: Database, chain: ChainDep, resident_id: int, job_id: int, mine: bool = False,
    by: User | None = None,
) -> ClaimPublic:  # fmt: skip
    """Claim a place on job `job_id` for the resident (see `claim_job`): by the resident
    (`mine`), or by the desk for a resident who is there (`by`, written to the audit log in
    the same transaction)."""
    you = "you have" if mine else "this resident has"
    with db.session() as session:
        resident = session.get(Resident, resident_id)
        if resident is None or resident.retired:
            raise ApiError(403, "no_wallet", "this account's wallet was retired; sign in again")
        if not mine and not resident.custodial:
            raise ApiError(
                409, "own_wallet", "this resident has a wallet of their own: they claim jobs "
                "themselves",
            )  # fmt: skip
        address = resident.address
    client = chain.client
    room, cap, year = client.room_under_cap(address), client.yearly_cap(), client.current_year()
    with db.session(write=True) as session:
        expire_claims(session)
        job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None:
            raise ApiError(404, "no_job", f"there is no job {job_id}")
        resident = session.scalar(
            select(Resident).where(Resident.id == resident_id).with_for_update()
        )
        if resident is None or resident.retired or resident.address != address:
            raise ApiError(409, "wallet_changed", "your wallet changed a moment ago; try again")
        if job.status != "open" or job.deadline < date.today():
            raise ApiError(409, "job_closed", "this job is no longer open")
        if _places_taken(session, job.id) >= job.places:
            raise ApiError(409, "job_full", "all places on this job are taken")
        if session.scalar(
            select(Claim.id).where(
                Claim.job_id == job.id, Claim.resident_id == resident.id, Claim.status.in_(TAKEN)
            )
        ):
            raise ApiError(409, "already_claimed", f"{you} a place on this job already")
        approved = Claim.status == "approved"
        open_claims = Claim.status.in_(("claimed", "done"))
        unpaid = _cents(
            session, resident.id, open_claims | (approved & (Reward.status == "pending"))
        )
        # What the service paid this year, for the chain's figure may be a moment old.
        this_year = Reward.paid_at >= datetime(year, 1, 1, tzinfo=UTC)
        paid = _cents(session, resident.id, approved & (Reward.status == "paid") & this_year)
        left = min(room, cap - paid) - unpaid
        if job.reward_cents > left:
            raise ApiError(
                409,
                "over_yearly_cap",
                f"this job would take {'you' if mine else 'the resident'} over the yearly "
                f"cap: {'you' if mine else 'they'} may still earn "
                f"{Money.of(max(0, left)).eur} euro this year (counting jobs you "
                f"claimed), and this job pays {Money.of(job.reward_cents).eur}",
                {"room": left, "reward": job.reward_cents},
            )
        claim = Claim(job_id=job.id, resident_id=resident.id)
        session.add(claim)
        session.flush()
        if by is not None:
            record(session, by, "desk.claim", f"claim:{claim.id}", job=job.id,
                   resident=resident.pseudonym)  # fmt: skip
        return claim_out(claim)


def _cents(session: Session, resident_id: int, condition: Any) -> int:
    """The rewards of a resident's claims that meet `condition`, in cents."""
    return int(  # PostgreSQL sums to a Decimal
        session.scalar(
            select(func.coalesce(func.sum(Job.reward_cents), 0))
            .join(Claim, Claim.job_id == Job.id)
            .outerjoin(Reward, Reward.claim_id == Claim.id)
            .where(Claim.resident_id == resident_id)
            .where(condition)
        )
        or 0
    )


def _own_claim(session: Session, claim_id: int, user: User) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None or claim.resident_id != user.resident_id:
        raise ApiError(404, "no_claim", f"you have no claim {claim_id}")
    return claim


@router.post("/claims/{claim_id}/done", response_model=ClaimPublic)
def mark_done(
    claim_id: Id, body: ClaimDone, user: ResidentUser, session: SessionDep
) -> ClaimPublic:
    """Tell the inspector the job is done, with a note."""
    expire_claims(session)
    return report_done(session, _own_claim(session, claim_id, user), body.note)


def report_done(
    session: Session, claim: Claim, note: str | None, by: User | None = None
) -> ClaimPublic:
    """Mark a claim done with a note (the caller found the claim and expired overdue ones):
    one conditional update, so it can't race a withdrawal or an expiry. `by`: the desk, for
    a resident who is there (in the audit log)."""
    changed = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == "claimed")
        .values(status="done", note=note, done_at=now())
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        session.refresh(claim)
        raise ApiError(409, "not_claimed", f"this claim is {claim.status}, not open")
    session.refresh(claim)
    if by is not None:
        record(session, by, "desk.done", f"claim:{claim.id}", job=claim.job_id)
    return claim_out(claim)


@router.post("/claims/{claim_id}/withdraw", response_model=ClaimPublic)
def withdraw(claim_id: Id, user: ResidentUser, session: SessionDep) -> ClaimPublic:
    """Give a claimed job back (not done after all): its place is free for someone else, and
    its reward no longer counts against the resident's room under the cap. Only while it is
    `claimed`: one conditional update, so it can't race a `done` or an expiry; a claim that
    is no longer claimed is a 409 `not_claimed` and nothing changes."""
    expire_claims(session)
    claim = _own_claim(session, claim_id, user)
    changed = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == "claimed")
        .values(status="withdrawn", decided_at=now())
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(claim)
    if changed != 1:
        raise ApiError(409, "not_claimed", f"this claim is {claim.status}, not open")
    record(session, user, "claim.withdraw", f"claim:{claim.id}", job=claim.job_id)
    return claim_out(claim)


@router.put("/claims/{claim_id}/photo", response_model=ClaimPublic)
def add_photo(
    claim_id: Id,
    photo: Annotated[UploadFile, File(description="a JPEG or PNG photo of the finished job")],
    user: ResidentUser,
    session: SessionDep,
) -> ClaimPublic:
    """Add a photo of the finished job for the inspector (before or after marking it done,
    until it is decided; a new photo replaces the old one). Location, camera and time
    details the phone wrote into the photo are removed before it is kept."""
    claim = _own_claim(session, claim_id, user)
    if claim.status not in ("claimed", "done"):
        raise ApiError(409, "decided", f"this claim is {claim.status}: its photo can't change")
    try:
        cleaned = clean_photo(photo.file.read(MAX_BYTES + 1))
    except PhotoError as exc:
        status = 413 if isinstance(exc, PhotoTooLarge) else 422
        raise ApiError(status, "bad_photo", str(exc)) from None
    stored = claim.photo or ClaimPhoto(claim_id=claim.id)
    stored.content_type = cleaned.content_type
    stored.size = len(cleaned.data)
    stored.sha256 = cleaned.sha256
    stored.data = cleaned.data
    stored.uploaded_at = now()
    session.add(stored)
    session.flush()
    session.refresh(claim)
    return claim_out(claim)


@router.get(
    "/claims/{claim_id}/photo",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def get_photo(claim_id: Id, user: UserDep, session: SessionDep) -> Response:
    """The photo of a finished job: for the resident who did it, inspectors and admins."""
    if user.role == "resident":
        _own_claim(session, claim_id, user)
    elif user.role not in ("inspector", "admin"):
        raise ApiError(403, "wrong_role", "job photos are for the resident, inspectors and admins")
    photo = session.get(ClaimPhoto, claim_id)
    if photo is None:
        raise ApiError(404, "no_photo", f"claim {claim_id} has no photo")
    return Response(
        photo.data,
        media_type=photo.content_type,
        headers={
            "Content-Disposition": f'inline; filename="claim-{claim_id}.{photo.content_type[6:]}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cache-Control": "private, max-age=3600",
            "ETag": f'"{photo.sha256}"',
        },
    )


@router.get("/claims", response_model=Page[ClaimPublic])
def list_claims(
    user: UserDep,
    db: DatabaseDep,
    session: SessionDep,
    status: Annotated[
        str | None,
        Query(pattern="^(claimed|done|approved|rejected|expired|cancelled|withdrawn)$"),
    ] = None,
    offset: Offset = 0,
    limit: Limit = 50,
    format: Format = "json",
    lang: Lang = "nl",
) -> Page[ClaimPublic] | Response:
    """Residents see their own claims; inspectors and admins all of them (the inspection
    queue is `?status=done`)."""
    if user.role not in ("resident", "inspector", "admin"):
        raise ApiError(403, "wrong_role", "claims are for residents, inspectors and admins")
    expire_due(db)
    query = select(Claim)
    if user.role == "resident":
        query = query.where(Claim.resident_id == user.resident_id)
    if status:
        query = query.where(Claim.status == status)
    return listing(
        session, query.order_by(Claim.id), claim_out,
        name="claims", offset=offset, limit=limit, format=format, lang=lang,
    )  # fmt: skip


def _decide(session: Session, claim_id: int, user: User, status: str, reason: str | None) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise ApiError(404, "no_claim", f"there is no claim {claim_id}")
    # One conditional update: of two inspectors deciding at once, exactly one gets a row.
    changed = session.execute(
        update(Claim)
        .where(Claim.id == claim_id, Claim.status == "done")
        .values(status=status, reason=reason, decided_at=now(), decided_by=user.id)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(claim)
    if changed != 1:
        raise ApiError(
            409, "not_waiting", f"this claim is {claim.status}, not waiting for inspection"
        )
    return claim


@router.post("/claims/{claim_id}/approve", response_model=ClaimPublic)
def approve(claim_id: Id, body: Decision, user: Inspector, session: SessionDep) -> ClaimPublic:
    """Approve a finished job: the reward is recorded now and paid on-chain by the worker."""
    claim = _decide(session, claim_id, user, "approved", body.reason or None)
    job = claim.job
    session.add(
        Reward(
            claim_id=claim.id,
            reference=reward_reference(job.id, claim.id),
            resident_address=claim.resident.address,
            cents=job.reward_cents,
            issuer_key=job.issuer.key_name,
        )
    )
    session.flush()
    session.refresh(claim)
    record(session, user, "claim.approve", f"claim:{claim.id}", job=job.id, cents=job.reward_cents)
    return claim_out(claim)


@router.post("/claims/{claim_id}/reject", response_model=ClaimPublic)
def reject(claim_id: Id, body: Decision, user: Inspector, session: SessionDep) -> ClaimPublic:
    """Reject a finished job, with the reason the resident will see."""
    if not body.reason:
        raise ApiError(422, "reason_needed", "say why the job is rejected")
    claim = _decide(session, claim_id, user, "rejected", body.reason)
    record(session, user, "claim.reject", f"claim:{claim.id}", reason=body.reason)
    return claim_out(claim)
