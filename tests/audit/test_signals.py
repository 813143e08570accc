"""Fraud signals: each shows on a ledger written to show it, names its records, stays quiet
below its threshold, and none shows on a clean ledger (test_clean.py). They are not failures:
a ledger with signals still passes its checks.

The on-chain ledgers are written with FaultyHeitje (tests/audit/contracts), the signals from
the service's exports with CSV files as the service writes them (ClaimPublic's and
JobPublic's fields, tests/api/test_audit_export_columns.py checks the service writes them).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from audit_ledgers import Faulty, World, deploy_faulty, failed, reward, setup_roles, word

from heitje_chain.audit import Exports, SignalSettings, summary, write_report
from heitje_chain.audit.exports import read_claims, read_job_posters, read_jobs, reward_reference
from heitje_chain.rpc import Rpc


def signal(report: dict[str, Any], name: str) -> dict[str, Any]:
    for item in report["signals"]:
        if item["name"] == name:
            return dict(item)
    raise KeyError(name)


def shown(report: dict[str, Any]) -> set[str]:
    return {s["name"] for s in report["signals"] if s["status"] == "look"}


def at(f: Faulty, when: str) -> None:
    stamp = int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp())
    f.rpc.call("evm_setNextBlockTimestamp", [stamp])


# ------------------------------------------------------------------ from the chain


def test_fast_cap_from_one_issuer(fresh_rpc: Rpc, faulty_artifact: dict[str, Any]) -> None:
    f = deploy_faulty(fresh_rpc, faulty_artifact)  # its own anvil: the clock moves
    setup_roles(f)
    f.grant("minter", "partner")
    f.send("setMintAllowance(address,uint256)", f.who("partner"), 100_000_00)
    f.send("setYearlyCap(uint256)", 100_00)
    # anna: 90 of the 100 cap from the minter within 10 days.
    at(f, "2032-02-01T10:00:00")
    first = reward(f, "a1", "anna", 40_00)
    at(f, "2032-02-11T10:00:00")
    reached = reward(f, "a2", "anna", 50_00)
    # bob: 90 from the minter too, but over 70 days.
    at(f, "2032-02-12T10:00:00")
    reward(f, "b1", "bob", 45_00)
    at(f, "2032-04-22T10:00:00")
    reward(f, "b2", "bob", 45_00)
    # cora: 95 in a day, but from two issuers (50 + 45): no one issuer paid 90%.
    at(f, "2032-04-23T10:00:00")
    reward(f, "c1", "cora", 50_00)
    reward(f, "c2", "cora", 45_00, minter="partner")
    # dora: 50 from the minter, then a recovery that carries her earnings; 40 more to her new
    # wallet: her earnings per issuer follow her.
    reward(f, "d1", "dora", 50_00)
    f.send(
        "recover(address,address,uint256,uint256)",
        f.who("dora"),
        f.who("dora-new"),
        2032,
        50_00,
        by="recovery",
    )
    carried = reward(f, "d2", "dora-new", 40_00)
    report = f.audit()
    assert failed(report) == set()  # a signal is not a failure
    fast = signal(report, "fast_cap")
    assert fast["status"] == "look"
    assert [(r["resident"], r["tx"]) for r in fast["records"]] == [
        (f.who("anna"), reached),
        (f.who("dora-new"), carried),
    ]
    anna = fast["records"][0]
    assert (anna["minter"], anna["year"], anna["earned"], anna["cap"]) == (
        f.who("minter"),
        2032,
        90_00,
        100_00,
    )
    assert (anna["first_tx"], anna["days"], anna["rewards"]) == (first, 10.0, 2)
    assert "60 days" in fast["threshold"] and "90%" in fast["threshold"]
    # The thresholds: bob's 70 days show with 75 days; anna's 10 days not with 9.
    wide = f.audit(settings=SignalSettings(cap_days=75))
    assert f.who("bob") in {r["resident"] for r in signal(wide, "fast_cap")["records"]}
    narrow = f.audit(settings=SignalSettings(cap_days=9))
    assert f.who("anna") not in {r["resident"] for r in signal(narrow, "fast_cap")["records"]}
    # ... and cora's 50 of 100 from one issuer shows at a share of 50%.
    half = f.audit(settings=SignalSettings(cap_fraction=0.5))
    assert f.who("cora") in {r["resident"] for r in signal(half, "fast_cap")["records"]}


def test_refund_loops_between_one_resident_and_one_shop(faulty: Faulty) -> None:
    setup_roles(faulty)
    anna, bob, shop, shop2 = (faulty.who(n) for n in ("anna", "bob", "shop", "shop2"))
    reward(faulty, 1, "anna", 100_00)
    reward(faulty, 2, "bob", 100_00)
    pay, refund = "pay(address,address,uint256,bytes32)", "refund(address,address,uint256,bytes32)"
    back = []
    for i in range(3):  # anna and shop: 3 x pay 20.00 and get exactly 20.00 back
        faulty.send(pay, anna, shop, 20_00, word(f"R-{i}"))
        back.append(faulty.send(refund, shop, anna, 20_00, word(f"B-{i}")))
    # bob and shop2: two loops only, and a partial refund that is no loop.
    for i in range(2):
        faulty.send(pay, bob, shop2, 10_00, word(f"S-{i}"))
        faulty.send(refund, shop2, bob, 10_00, word(f"T-{i}"))
    faulty.send(pay, bob, shop2, 30_00, word("S-x"))
    faulty.send(refund, shop2, bob, 5_00, word("T-x"))
    # A refund to another resident than the payer is no loop of that pair.
    faulty.send(pay, anna, shop2, 7_00, word("U"))
    faulty.send(refund, shop2, bob, 7_00, word("V"))
    report = faulty.audit()
    assert failed(report) == set()
    loops = signal(report, "refund_loops")
    assert [(r["resident"], r["merchant"], r["loops"], r["amount"]) for r in loops["records"]] == [
        (anna, shop, 3, 60_00)
    ]
    assert loops["records"][0]["txs"].split() == back
    lower = faulty.audit(settings=SignalSettings(loop_count=2))
    pairs = {
        (r["resident"], r["merchant"], r["loops"]) for r in signal(lower, "refund_loops")["records"]
    }
    assert pairs == {(anna, shop, 3), (bob, shop2, 2)}


def test_shop_redeeming_more_than_it_received(faulty: Faulty) -> None:
    setup_roles(faulty)
    anna, shop, shop2 = faulty.who("anna"), faulty.who("shop"), faulty.who("shop2")
    reward(faulty, 1, "anna", 100_00)
    pay = "pay(address,address,uint256,bytes32)"
    faulty.send(pay, anna, shop, 10_00, word("R-1"))
    faulty.send("refund(address,address,uint256,bytes32)", shop, anna, 2_00, word("B-1"))
    faulty.send(pay, anna, shop2, 5_00, word("R-2"))
    faulty.send("ghostMint(address,uint256)", shop, 20_00)  # Heitjes from nowhere
    faulty.send("redeem(uint256,address,uint256)", 1, shop, 9_00)  # took in 10 - 2 = 8
    faulty.send("redeem(uint256,address,uint256)", 2, shop2, 5_00)  # all it took in
    report = faulty.audit()
    over = signal(report, "shop_overredeem")
    (record,) = over["records"]
    assert (record["merchant"], record["received"], record["refunded"]) == (shop, 10_00, 2_00)
    assert (record["redeemed"], record["excess"], record["redemptions"]) == (9_00, 1_00, "1")
    # The threshold: an excess of EUR 1.00 shows from 1.00, not from 1.01.
    assert (
        signal(faulty.audit(settings=SignalSettings(redeem_excess=1_00)), "shop_overredeem")[
            "shown"
        ]
        == 1
    )
    assert (
        signal(faulty.audit(settings=SignalSettings(redeem_excess=1_01)), "shop_overredeem")[
            "status"
        ]
        == "quiet"
    )


def test_minter_rewards_clustered_on_few_residents(faulty: Faulty) -> None:
    setup_roles(faulty)
    faulty.grant("minter", "partner")
    faulty.send("setMintAllowance(address,uint256)", faulty.who("partner"), 100_000_00)
    for i in range(4):  # the minter: 4 x 20.00 to anna, 1.00 to 4 others
        reward(faulty, f"a{i}", "anna", 20_00)
    for name in ("bob", "cora", "dirk", "emma"):
        reward(faulty, f"m-{name}", name, 1_00)
    for i, name in enumerate(("bob", "cora", "dirk", "emma", "finn", "gert", "hans", "ilse")):
        reward(faulty, f"p{i}", name, 5_00, minter="partner")  # spread evenly
    settings = SignalSettings(cluster_min_rewards=8, cluster_top=1, cluster_share=0.8)
    report = faulty.audit(settings=settings)
    cluster = signal(report, "minter_cluster")
    (record,) = cluster["records"]
    assert (record["minter"], record["rewards"], record["residents"]) == (
        faulty.who("minter"),
        8,
        5,
    )
    assert (record["amount"], record["top_amount"], record["share"]) == (84_00, 80_00, 0.952)
    assert faulty.who("anna") in record["top_residents"]
    # The partner's top 3 got 3 of 8 equal rewards: 37.5%, shown at 0.375, not above.
    spread = faulty.audit(settings=SignalSettings(cluster_min_rewards=8, cluster_share=0.375))
    assert {r["minter"] for r in signal(spread, "minter_cluster")["records"]} == {
        faulty.who("minter"),
        faulty.who("partner"),
    }
    above = faulty.audit(settings=SignalSettings(cluster_min_rewards=8, cluster_share=0.38))
    assert {r["minter"] for r in signal(above, "minter_cluster")["records"]} == {
        faulty.who("minter")
    }
    # Too few rewards (the default: 20) to judge.
    assert signal(faulty.audit(), "minter_cluster")["status"] == "quiet"


# ------------------------------------------------------------------ from the service's exports


def claim_row(
    claim: int,
    job: int,
    resident: str,
    inspector: int | str,
    claimed: str,
    decided: str,
    reward: str = "12.50",
    status: str = "approved",
) -> dict[str, Any]:
    """A row as GET /claims?format=csv writes it (ClaimPublic's fields)."""
    return {
        "id": claim,
        "job_id": job,
        "job_title": "Zwerfafval prikken",
        "resident": resident,
        "status": status,
        "note": "",
        "reason": "",
        "reward": reward,
        "neighbourhood": "Schandelen",
        "payment": "paid",
        "chain_job_id": "",
        "payment_error": "",
        "tx_hash": "",
        "claimed_at": claimed,
        "done_at": decided,
        "decided_at": decided,
        "decided_by": inspector,
    }


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


DAY1, HOURS_LATER = "2026-05-01T09:00:00", "2026-05-01T14:00:00"


@pytest.fixture
def service_ledger(world: World, tmp_path: Path) -> tuple[World, Path, Path]:
    """Claims of the service rewarded on-chain, and their exports:

    - inspector 7 approves resident R-1 six times (of R-1's 7 approvals, 86%) and no one else:
      6 of the 22 approvals overall (27%), so 3.14 times its share;
    - claim 30 (EUR 25.00) approved 4 minutes after it was claimed, claim 31 (EUR 5.00) too,
      claim 32 (EUR 25.00) after 45 minutes;
    - job 40 posted by staff member 9, who approved its claim 40.
    """
    rows = []
    claim = 0
    for _ in range(6):
        claim += 1
        rows.append(claim_row(claim, claim, "R-1", 7, DAY1, HOURS_LATER))
    claim += 1
    rows.append(claim_row(claim, claim, "R-1", 8, DAY1, HOURS_LATER))
    for resident, inspector, times in (
        ("R-2", 8, 2),
        ("R-3", 8, 2),
        ("R-4", 9, 2),
        ("R-5", 9, 2),
        ("R-6", 9, 3),
    ):
        for _ in range(times):
            claim += 1
            rows.append(claim_row(claim, claim, resident, inspector, DAY1, HOURS_LATER))
    rows += [
        claim_row(30, 30, "R-7", 8, "2026-05-02T10:00:00Z", "2026-05-02T10:04:00Z", "25.00"),
        claim_row(31, 31, "R-7", 8, "2026-05-02T10:00:00Z", "2026-05-02T10:04:00Z", "5.00"),
        claim_row(32, 32, "R-7", 8, "2026-05-02T10:00:00Z", "2026-05-02T10:45:00Z", "25.00"),
        claim_row(40, 40, "R-8", 9, DAY1, HOURS_LATER),
        claim_row(41, 41, "R-8", 9, DAY1, DAY1, status="rejected"),  # not an approval
    ]
    c, r = world.client, world.residents
    for row in rows:
        if row["status"] == "approved":
            cents = int(row["reward"].replace(".", ""))
            c.reward_job(
                world.job_office, reward_reference(row["job_id"], row["id"]), r[0].address, cents
            )
    jobs = [{"id": row["job_id"], "neighbourhood": "Schandelen", "created_by": 3} for row in rows]
    jobs[-2]["created_by"] = 9  # job 40
    jobs[-1]["created_by"] = 9  # job 41: posted by 9, rejected by 9: no signal
    return world, write(tmp_path / "claims.csv", rows), write(tmp_path / "jobs.csv", jobs)


def exports_of(claims: Path, jobs: Path | None) -> Exports:
    return Exports(
        claims=read_claims([claims]),
        jobs=read_jobs([jobs]) if jobs else None,
        posted_by=read_job_posters([jobs]) if jobs else None,
    )


def test_signals_from_the_service_exports(service_ledger: tuple[World, Path, Path]) -> None:
    world, claims, jobs = service_ledger
    report = world.audit(exports=exports_of(claims, jobs))
    assert report["passed"], summary(report)
    favours = signal(report, "inspector_favours")
    (record,) = favours["records"]
    assert (record["inspector"], record["resident"], record["approvals"]) == ("7", "R-1", 6)
    assert (record["resident_approvals"], record["claims"]) == (7, "1 2 3 4 5 6")
    assert (record["share"], record["inspector_share"]) == (0.857, 0.273)
    quick = signal(report, "quick_approval")
    assert [(r["claim"], r["minutes"], r["reward"]) for r in quick["records"]] == [(30, 4.0, 25_00)]
    assert quick["records"][0]["on_chain"] == 25_00  # the reward was paid on-chain
    own = signal(report, "own_job_approved")
    assert [(r["claim"], r["job"], r["posted_by"]) for r in own["records"]] == [(40, 40, "9")]

    # Thresholds: R-1's share is 3.14 times inspector 7's: quiet at a factor of 3.2, and
    # quiet when 7 approvals are needed (there are 6).
    def favours_at(**settings: Any) -> str:
        again = world.audit(exports=exports_of(claims, jobs), settings=SignalSettings(**settings))
        return str(signal(again, "inspector_favours")["status"])

    assert favours_at(inspector_factor=3.1) == "look"
    assert favours_at(inspector_factor=3.2) == "quiet"
    assert favours_at(inspector_min=7) == "quiet"
    low = world.audit(
        exports=exports_of(claims, jobs),
        settings=SignalSettings(quick_minutes=45, quick_min_reward=5_00),
    )
    assert {r["claim"] for r in signal(low, "quick_approval")["records"]} == {30, 31, 32}


def test_export_signals_are_skipped_without_the_exports_or_their_columns(
    service_ledger: tuple[World, Path, Path], tmp_path: Path
) -> None:
    world, claims, _jobs = service_ledger
    plain = world.audit()
    for name in ("inspector_favours", "quick_approval", "own_job_approved"):
        assert "no claims export" in signal(plain, name)["skipped"]
    # An export of an older service: no decided_by, no times.
    rows = list(csv.DictReader(claims.open()))
    for row in rows:
        del row["decided_by"], row["claimed_at"], row["decided_at"], row["done_at"]
    old = write(tmp_path / "old-claims.csv", rows)
    report = world.audit(exports=exports_of(old, None))
    assert "no decided_by column" in signal(report, "inspector_favours")["skipped"]
    assert "no claimed_at and decided_at" in signal(report, "quick_approval")["skipped"]
    assert signal(report, "own_job_approved")["skipped"]
    from heitje_chain.audit.html import render

    dutch = render(report)
    assert "overgeslagen: de claims-export heeft geen kolom decided_by" in dutch
    assert "overgeslagen: de claims-export heeft geen tijden claimed_at en decided_at" in dutch
    assert "export it again" not in dutch


def test_signals_in_every_form_of_the_report(
    service_ledger: tuple[World, Path, Path], tmp_path: Path
) -> None:
    world, claims, jobs = service_ledger
    report = world.audit(exports=exports_of(claims, jobs))
    text = summary(report)
    assert "Signals (not failures" in text
    assert "[ LOOK ] Inspector approving one resident often: 1 record(s)" in text
    assert "[ ---- ] Payment-and-refund loops" in text
    assert "threshold: 5 or more approvals of one resident by one inspector" in text
    assert "Result: all 8 checks passed." in text  # payouts: no export
    written = {p.name for p in write_report(report, tmp_path / "en", "en")}
    assert {"signal-inspector_favours.csv", "signal-quick_approval.csv"} <= written
    with (tmp_path / "en" / "signal-quick_approval.csv").open() as handle:
        (row,) = csv.DictReader(handle)
    assert (row["claim"], row["reward_eur"], row["minutes"]) == ("30", "25.00", "4.0")
    assert "quick_minutes" in row["threshold"]
    saved = json.loads((tmp_path / "en" / "report.json").read_text())
    assert saved["signal_settings"] == SignalSettings().to_dict()
    assert signal(saved, "own_job_approved")["shown"] == 1
    html = (tmp_path / "en" / "report.html").read_text()
    assert (
        "Job posted and approved by the same person" in html
        and "id='signal-own_job_approved'" in html
    )
    write_report(report, tmp_path / "nl")
    dutch = (tmp_path / "nl" / "report.html").read_text()
    assert "Klus geplaatst en goedgekeurd door dezelfde persoon" in dutch
    assert "binnen 30 minuten na de claim" in dutch
    assert "<th>inspecteur</th>" in dutch and "<th>inspector</th>" in html


def test_settings_are_checked() -> None:
    assert SignalSettings.from_mapping({"quick_min_reward": "12.50", "cap_days": 10}) == (
        SignalSettings(quick_min_reward=12_50, cap_days=10)
    )
    for bad in (
        {"cap_fraction": 1.5},
        {"loop_count": 2.5},
        {"cap_days": -1},
        {"quick_min_reward": "1.234"},
        {"nonsense": 1},
        {"loop_count": True},
        {"inspector_factor": float("nan")},
        {"cluster_share": float("inf")},
    ):
        with pytest.raises(ValueError):
            SignalSettings.from_mapping(bad)


def test_an_incremental_audit_gives_the_same_signals(faulty: Faulty, tmp_path: Path) -> None:
    """Signals that span the checkpoint (loops before and after it, a shop's takings before
    and its redemption after) come out as in one full audit."""
    setup_roles(faulty)
    anna, shop = faulty.who("anna"), faulty.who("shop")
    reward(faulty, 1, "anna", 100_00)
    pay, refund = "pay(address,address,uint256,bytes32)", "refund(address,address,uint256,bytes32)"
    for i in range(2):
        faulty.send(pay, anna, shop, 10_00, word(f"R-{i}"))
        faulty.send(refund, shop, anna, 10_00, word(f"B-{i}"))
    checkpoint = tmp_path / "audit.ckpt"
    first = faulty.audit(checkpoint=checkpoint)
    assert signal(first, "refund_loops")["status"] == "quiet"  # two loops so far
    faulty.send(pay, anna, shop, 10_00, word("R-2"))
    faulty.send(refund, shop, anna, 10_00, word("B-2"))
    faulty.send("ghostMint(address,uint256)", shop, 5_00)
    faulty.send("redeem(uint256,address,uint256)", 1, shop, 5_00)
    resumed = faulty.audit(checkpoint=checkpoint)
    assert resumed["resumed_from_checkpoint_block"] == first["block"]
    full = faulty.audit()
    assert resumed["signals"] == full["signals"]
    assert shown(full) == {"refund_loops", "shop_overredeem"}
    # A checkpoint of other settings judged while reading is refused.
    from heitje_chain.audit import AuditInputError

    with pytest.raises(AuditInputError, match="other signal settings"):
        faulty.audit(checkpoint=checkpoint, settings=SignalSettings(cap_fraction=0.5))


def test_a_checkpoint_from_before_the_signals_is_refused_plainly(
    faulty: Faulty, tmp_path: Path
) -> None:
    import gzip

    from heitje_chain.audit import AuditInputError

    setup_roles(faulty)
    checkpoint = tmp_path / "audit.ckpt"
    faulty.audit(checkpoint=checkpoint)
    with gzip.open(checkpoint, "rt") as handle:
        data = json.load(handle)
    del data["state"]["signals"]
    with gzip.open(checkpoint, "wt") as handle:
        json.dump(data, handle)
    with pytest.raises(AuditInputError, match="without the fraud signals: audit from the start"):
        faulty.audit(checkpoint=checkpoint)


def test_the_config_file_knows_every_setting() -> None:
    from heitje_chain.config import _SECTIONS

    assert _SECTIONS["audit"] == set(SignalSettings.names())
