"""Reconciliation with the service's exports: approved claims against the rewards on-chain,
redemptions and their payouts against the chain, every difference named in both directions."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from audit_ledgers import World, check

from heitje_chain.audit import Exports
from heitje_chain.audit.exports import read_claims, read_jobs, read_payouts, reward_reference
from heitje_chain.audit.stream import AuditInputError
from heitje_chain.client import job_id


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def claim(
    claim_id: int, job: int, status: str, reward: str, payment: str = "paid"
) -> dict[str, Any]:
    """A row as GET /claims?format=csv writes it (ClaimPublic's fields)."""
    return {
        "id": claim_id,
        "job_id": job,
        "job_title": "Litter picking",
        "resident": "R-0001",
        "status": status,
        "note": "",
        "reason": "",
        "reward": reward,
        "payment": payment,
        "payment_error": "",
        "tx_hash": "",
        "claimed_at": "2026-05-01T10:00:00Z",
        "done_at": "",
        "decided_at": "",
    }


def redemption(rid: int, amount: str, paid: bool, reference: str) -> dict[str, Any]:
    """A row as GET /redemptions?format=csv writes it (RedemptionPublic's fields)."""
    return {
        "id": rid,
        "merchant": "Bakkerij",
        "merchant_code": "BAK1",
        "iban": "NL91ABNA0417164300",
        "amount": amount,
        "paid": paid,
        "bank_reference": reference,
    }


def test_the_reference_is_the_services() -> None:
    from api.routes.jobs import reward_reference as service_reference

    assert reward_reference(12, 345) == service_reference(12, 345)


@pytest.fixture
def paid(world: World) -> World:
    """Three claims rewarded under the service's job ids, one reward from elsewhere (a CSV
    through `heitje reward`), two redemptions of which no. 1 is paid out."""
    c, r = world.client, world.residents
    c.reward_job(world.job_office, reward_reference(10, 1), r[0].address, 12_50)
    c.reward_job(world.job_office, reward_reference(10, 2), r[1].address, 12_50)
    c.reward_job(world.job_office, reward_reference(11, 3), r[2].address, 8_00)
    c.reward_job(world.job_office, "HRL-2026-0001", r[3].address, 5_00)
    shop = world.merchants[0]
    c.pay(r[0], shop.address, 12_00, "R-1")
    c.redeem(shop, 5_00)
    c.redeem(shop, 4_00)
    c.confirm_payout(world.treasurer, 1, "SEPA-0001")
    return world


def test_matching_exports_pass(paid: World, tmp_path: Path) -> None:
    claims = write(
        tmp_path / "claims.csv",
        [
            claim(1, 10, "approved", "12.50"),
            claim(2, 10, "approved", "12.50"),
            claim(3, 11, "approved", "8.00"),
            claim(4, 11, "rejected", "8.00", payment=""),
        ],
    )
    jobs = write(
        tmp_path / "jobs.csv",
        [{"id": 10, "neighbourhood": "Schandelen"}, {"id": 11, "neighbourhood": "Grasbroek"}],
    )
    payouts = write(
        tmp_path / "redemptions.csv",
        [redemption(1, "5.00", True, "SEPA-0001"), redemption(2, "4.00", False, "")],
    )
    exports = Exports(read_claims([claims]), read_jobs([jobs]), read_payouts([payouts]))
    report = paid.audit(exports=exports)
    jobs_check = check(report, "reconcile_jobs")
    # Only the reward paid outside the service is a difference.
    assert [(r["job_id"], r["problem"]) for r in jobs_check["records"]] == [
        (
            "0x" + job_id("HRL-2026-0001").hex(),
            "rewarded on-chain, not in the service's claims export",
        )
    ]
    assert check(report, "reconcile_payouts")["status"] == "pass"
    assert report["figures"]["rewards_by_neighbourhood"] == {"Schandelen": 25_00, "Grasbroek": 8_00}


def test_differences_both_ways(paid: World, tmp_path: Path) -> None:
    claims = write(
        tmp_path / "claims.csv",
        [
            claim(1, 10, "approved", "12.50"),
            claim(2, 10, "approved", "15.00"),  # the chain paid 12.50
            claim(3, 11, "rejected", "8.00", payment=""),  # yet rewarded on-chain
            claim(5, 12, "approved", "9.00", payment="pending"),  # not on-chain
        ],
    )
    payouts = write(
        tmp_path / "redemptions.csv",
        [
            redemption(2, "4.00", True, "SEPA-0002"),  # paid in the service, not on-chain
            redemption(3, "1.00", False, ""),  # not on-chain at all; no. 1 is missing here
        ],
    )
    report = paid.audit(exports=Exports(read_claims([claims]), None, read_payouts([payouts])))
    found = {(r.get("claim"), r["problem"]) for r in check(report, "reconcile_jobs")["records"]}
    assert found == {
        (2, "rewarded on-chain with another amount than the service approved"),
        (3, "rewarded on-chain, but the claim is 'rejected' in the service"),
        (5, "approved in the service, not rewarded on-chain (the service says: pending)"),
        (None, "rewarded on-chain, not in the service's claims export"),
    }
    two = next(r for r in check(report, "reconcile_jobs")["records"] if r.get("claim") == 2)
    assert (two["on_chain"], two["service"]) == (12_50, 15_00)
    assert two["job_id"] == "0x" + job_id(reward_reference(10, 2)).hex()
    payout_records = check(report, "reconcile_payouts")["records"]
    assert {(r["id"], r["problem"]) for r in payout_records} == {
        (1, "on-chain, missing from the service's export"),
        (2, "paid according to the service, no payout recorded on-chain"),
        (3, "in the service's export, not on-chain"),
    }
    missing = next(r for r in payout_records if r["id"] == 1)
    assert missing["reference"] == "SEPA-0001"
    assert report["passed"] is False


def test_bad_exports_are_refused_plainly(tmp_path: Path) -> None:
    wrong = write(tmp_path / "jobs.csv", [{"id": 1, "neighbourhood": "Palemig"}])
    with pytest.raises(AuditInputError, match="not the service's claims export"):
        read_claims([wrong])
    bad = write(tmp_path / "claims.csv", [claim(1, 10, "approved", "12,5x")])
    with pytest.raises(AuditInputError, match=r"claims\.csv, line 2"):
        read_claims([bad])
    with pytest.raises(AuditInputError, match="cannot read"):
        read_payouts([tmp_path / "nothing.csv"])


def test_the_services_chain_job_id_and_neighbourhood_columns(paid: World, tmp_path: Path) -> None:
    """The claims export names each claim's on-chain job id and the job's neighbourhood: the
    auditor checks the id is the claim's and counts rewards per neighbourhood from it."""
    row = claim(1, 10, "approved", "12.50") | {
        "neighbourhood": "Palemig",
        "chain_job_id": "0x" + job_id(reward_reference(10, 1)).hex(),
    }
    claims = write(tmp_path / "claims.csv", [row])
    report = paid.audit(exports=Exports(read_claims([claims])))
    assert report["figures"]["rewards_by_neighbourhood"] == {"Palemig": 12_50}
    forged = write(tmp_path / "forged.csv", [row | {"chain_job_id": "0x" + "00" * 32}])
    with pytest.raises(AuditInputError, match="is not the hash of 'heitje/job-10/claim-1'"):
        read_claims([forged])
