"""The claims and jobs exports carry what the auditor's fraud signals read: who approved a
claim (decided_by), when it was claimed and decided, and who posted the job (created_by)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from support.service import Service, finished_claim, post_job, setup_people

from heitje_chain.audit.exports import read_claims, read_job_posters
from heitje_chain.audit.signals import SignalSettings, export_signals, new_signals
from heitje_chain.columns import field_of


def rows(text: str) -> list[dict[str, str]]:
    """A CSV export's rows, by the API's field names (the headers are Dutch)."""
    return [{field_of(k): v for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def test_exports_name_the_staff_and_the_auditor_reads_them(
    service: Service, tmp_path: Path
) -> None:
    s = service
    p = setup_people(s)
    job = post_job(s, p, reward="12.50")
    claim = finished_claim(s, p, job)
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    staff = {u["username"]: u["id"] for u in s.call("GET", "/accounts", p.admin)["items"]}

    claims_csv = s.http.get("/claims?format=csv", headers=p.inspector).text
    (row,) = rows(claims_csv)
    assert row["decided_by"] == str(staff["insp"])
    assert row["claimed_at"] and row["decided_at"]
    jobs_csv = s.http.get("/jobs?format=csv&status=all", headers=p.admin).text
    (posted,) = rows(jobs_csv)
    assert posted["created_by"] == str(staff["jo"])

    (tmp_path / "claims.csv").write_text(claims_csv)
    (tmp_path / "jobs.csv").write_text(jobs_csv)
    claims = read_claims([tmp_path / "claims.csv"])
    posters = read_job_posters([tmp_path / "jobs.csv"])
    signals = new_signals(SignalSettings())
    export_signals(claims, posters, {}, SignalSettings(), signals)
    # Claimed, done and approved within seconds: a job of EUR 12.50 approved that fast shows.
    quick = signals["quick_approval"]
    assert quick.count == 1 and quick.records[0]["claim"] == claim["id"]
    assert quick.records[0]["inspector"] == str(staff["insp"])
    # The inspector did not post the job; one inspector, one resident: nothing to see.
    assert (signals["own_job_approved"].status, signals["inspector_favours"].status) == (
        "quiet",
        "quiet",
    )
