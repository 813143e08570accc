"""The statistics office's export: per neighbourhood and month, jobs posted, claimed and done,
residents taking part, Heitjes earned and spent; cells of fewer than 5 residents suppressed;
no pseudonymous id or address in it. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, date, datetime

from support.service import PASSWORD, Service, finished_claim, post_job, setup_people

from api.models import Claim, Job, Payment, Resident, Reward

MARCH = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)


def open_shop(s: Service, admin: dict[str, str]) -> dict[str, object]:
    body = {
        "name": "Bakkerij Musschemig",
        "neighbourhood": "Musschemig",
        "iban": "NL91ABNA0417164300",
        "password": PASSWORD,
    }
    shop = s.call("POST", "/merchants", {}, 201, json=body)
    s.call("POST", f"/merchants/{shop['id']}/approve", admin)
    return dict(shop)


def test_participation_per_neighbourhood_and_month(service: Service) -> None:
    s = service
    p = setup_people(s)
    # Through the real workflow: R-0001 (Grasbroek) does a job in Schandelen, is paid, pays.
    claim = finished_claim(s, p, post_job(s, p, reward="20"))
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    assert s.pay_rewards() == 1
    shop = open_shop(s, p.admin)
    payment = {
        "merchant_code": shop["code"],
        "amount": "5",
        "receipt": "B-1",
        "request_id": "stats-0001",
    }
    assert s.call("POST", "/payments", p.resident, 201, json=payment)["status"] == "paid"
    # Six residents of Musschemig in March: each claims and finishes a job there, is paid
    # 10.00 and spends 4.00 of which 1.00 is refunded.
    with s.app.state.db.session() as session:
        job = Job(
            issuer_id=p.issuer_id,
            title="Snow",
            description="Clear the paths",
            neighbourhood="Musschemig",
            reward_cents=10_00,
            deadline=date(2026, 3, 31),
            places=6,
            created_by=1,
            created_at=MARCH,
        )
        session.add(job)
        session.flush()
        for i in range(6):
            resident = Resident(
                pseudonym=f"M-{i:04d}",
                neighbourhood="Musschemig",
                address="0x" + secrets.token_hex(20),
                custodial=True,
            )
            session.add(resident)
            session.flush()
            done = Claim(
                job_id=job.id,
                resident_id=resident.id,
                status="approved",
                claimed_at=MARCH,
                done_at=MARCH,
            )
            session.add(done)
            session.flush()
            session.add(
                Reward(
                    claim_id=done.id,
                    reference=f"heitje/job-{job.id}/claim-{done.id}",
                    resident_address=resident.address,
                    cents=10_00,
                    issuer_key="job-office",
                    status="paid",
                    paid_at=MARCH,
                )
            )
            session.add(
                Payment(
                    resident_id=resident.id,
                    merchant_id=shop["id"],
                    cents=4_00,
                    receipt=f"M-{i}",
                    request_id=f"stats-m-{i}",
                    status="paid",
                    refunded_cents=1_00,
                    created_at=MARCH,
                )
            )
    rows = s.call("GET", "/statistics/participation", p.admin)
    by_cell = {(r["neighbourhood"], r["month"]): r for r in rows}
    march = by_cell[("Musschemig", "2026-03")]
    assert march == {
        "neighbourhood": "Musschemig",
        "month": "2026-03",
        "jobs_posted": 1,
        "jobs_claimed": 6,
        "jobs_done": 6,
        "residents": 6,
        "earned": "60.00",
        "spent": "18.00",
        "suppressed": False,
    }
    now = f"{datetime.now(UTC):%Y-%m}"
    # R-0001 alone in Grasbroek this month: suppressed, only jobs posted could show.
    alone = by_cell[("Grasbroek", now)]
    assert alone["suppressed"] is True
    assert [alone[k] for k in ("jobs_claimed", "jobs_done", "residents", "earned", "spent")] == [
        None
    ] * 5
    # The job R-0001 did is counted where the job is: posted in Schandelen; no residents there.
    schandelen = by_cell[("Schandelen", now)]
    assert (schandelen["jobs_posted"], schandelen["residents"], schandelen["suppressed"]) == (
        1,
        0,
        False,
    )

    answer = s.http.get("/statistics/participation?format=csv&lang=en", headers=p.admin)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(table[0]) == [
        "neighbourhood",
        "month",
        "jobs_posted",
        "jobs_claimed",
        "jobs_done",
        "residents",
        "earned",
        "spent",
        "suppressed",
    ]
    assert len(table) == len(rows)
    for secret in ("R-0001", "M-0000", "0x", shop["code"], "Bakkerij"):
        assert str(secret) not in answer.text


def test_participation_is_for_admins_and_auditors_only(service: Service) -> None:
    s = service
    p = setup_people(s)
    s.call(
        "POST",
        "/staff",
        p.admin,
        201,
        json={"username": "aud", "password": PASSWORD, "role": "auditor"},
    )
    auditor = s.login("aud", PASSWORD)
    assert s.call("GET", "/statistics/participation", auditor) == []  # nothing done yet
    for who in (p.resident, p.inspector, p.issuer):
        s.call("GET", "/statistics/participation", who, 403)
    s.call("GET", "/statistics/participation", {}, 401)
