"""Each check fails on a ledger that breaks its rule, and names the offending records.

The ledgers are written with FaultyHeitje (contracts/FaultyHeitje.sol), which emits Heitje's
events but checks nothing. Every test starts from a legitimate set-up (`setup_roles`) and a
legitimate operation or two, so the failures named are exactly the broken ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from audit_ledgers import (
    Faulty,
    check,
    deploy_faulty,
    failed,
    job,
    problems,
    reward,
    setup_roles,
    word,
)

from heitje_chain.audit import Auditor
from heitje_chain.client import role_id
from heitje_chain.rpc import Rpc


def test_the_legitimate_start_passes(faulty: Faulty) -> None:
    """The faulty contract used rightly gives a clean ledger: the checks below fail only
    because of what each test breaks."""
    setup_roles(faulty)
    reward(faulty, 1, "anna", 10_00)
    faulty.send(
        "pay(address,address,uint256,bytes32)",
        faulty.who("anna"),
        faulty.who("shop"),
        4_00,
        word("R-1"),
        by="anna",
    )
    report = faulty.audit()
    assert failed(report) == set(), report["checks"]


def test_mints_without_reward_twice_by_outsider_beyond_budget(faulty: Faulty) -> None:
    setup_roles(faulty, budget=50_00)
    anna = faulty.who("anna")
    reward(faulty, 1, "anna", 10_00)
    bare = faulty.send("mint(address,uint256)", anna, 5_00)
    twice = reward(faulty, 1, "anna", 10_00)
    outsider = reward(faulty, 2, "anna", 1_00, minter="mallory")
    faulty.send("pause()", by="pauser")
    paused = reward(faulty, 4, "anna", 1_00)
    faulty.send("unpause()", by="pauser")
    shop_mint = reward(faulty, 5, "shop", 1_00)
    beyond = reward(faulty, 3, "anna", 29_00)  # 10 + 10 + 1 + 1 of 50 used: 28 left
    report = faulty.audit()
    assert "mints" in failed(report)
    by_tx = {(r["tx"], r["problem"].split(" (")[0]) for r in check(report, "mints")["records"]}
    assert by_tx == {
        (bare, "Heitjes minted without a JobRewarded event"),
        (twice, "a job id rewarded a second time"),
        (outsider, "rewarded by an account without the minter role"),
        (outsider, "beyond the minter's allowance"),  # an outsider has no budget either
        (beyond, "beyond the minter's allowance"),
        (paused, "a reward while paused"),
        (shop_mint, "minted to a merchant, not a resident"),
    }
    twice_record = next(r for r in check(report, "mints")["records"] if r["tx"] == twice)
    assert twice_record["job_id"] == "0x" + job(1).hex()
    # The unexplained mint also breaks the supply identity minted == rewarded.
    assert "supply" in failed(report)
    assert any("minted == rewarded" in p for p in problems(report, "supply"))


def test_yearly_cap_per_calendar_year_and_recovery_that_resets_it(
    fresh_rpc: Rpc, faulty_artifact: dict[str, Any]
) -> None:
    f = deploy_faulty(fresh_rpc, faulty_artifact)  # an anvil of its own: the clock moves
    setup_roles(f)
    f.send("setYearlyCap(uint256)", 100_00)

    def at(when: str) -> None:
        stamp = int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp())
        f.rpc.call("evm_setNextBlockTimestamp", [stamp])

    at("2031-12-31T23:59:00")
    reward(f, "a", "anna", 90_00)
    at("2032-01-01T00:01:00")
    reward(f, "b", "anna", 90_00)  # a new calendar year (UTC): within the cap
    at("2032-03-01T10:00:00")
    over = reward(f, "c", "anna", 20_00)  # 90 + 20 > 100 in 2032
    # A recovery that does not carry anna's 110 earned in 2032 to her new wallet ...
    at("2032-03-02T10:00:00")
    recovery = f.send(
        "recover(address,address,uint256,uint256)",
        f.who("anna"),
        f.who("anna-new"),
        2032,
        0,
        by="recovery",
    )
    # ... lets her earn again: the auditor counts her earnings for the new wallet.
    at("2032-03-03T10:00:00")
    again = reward(f, "d", "anna-new", 5_00)
    report = f.audit()
    cap = check(report, "yearly_cap")
    assert cap["status"] == "FAIL"
    assert [(r["tx"], r["resident"], r["year"]) for r in cap["records"]] == [
        (over, f.who("anna"), 2032),
        (again, f.who("anna-new"), 2032),
    ]
    assert cap["records"][1]["earned_before"] == 110_00
    rec = check(report, "recoveries")["records"]
    assert [(r["tx"], r["problem"]) for r in rec] == [
        (recovery, "the recovery did not carry this year's earnings along")
    ]
    assert rec[0]["earned"] == 110_00 and rec[0]["carried"] == 0
    highest = report["figures"]["yearly_cap"]["highest_per_year"]
    assert highest["2031"]["earned"] == 90_00
    assert highest["2032"]["earned"] == 115_00  # anna's, in her new wallet


def test_payments_only_to_merchants_no_resident_to_resident(faulty: Faulty) -> None:
    setup_roles(faulty)
    anna, bob, shop, shop2 = (faulty.who(n) for n in ("anna", "bob", "shop", "shop2"))
    reward(faulty, 1, "anna", 50_00)
    pay = "pay(address,address,uint256,bytes32)"
    ok = faulty.send(pay, anna, shop, 10_00, word("R-1"))
    to_bob = faulty.send(pay, anna, bob, 5_00, word("R-2"))  # bob is no merchant
    plain = faulty.send("move(address,address,uint256)", anna, bob, 1_00)
    between_shops = faulty.send("move(address,address,uint256)", shop, shop2, 1_00)
    faulty.send("removeMerchant(address)", shop2, by="manager")
    to_removed = faulty.send(pay, anna, shop2, 2_00, word("R-3"))
    overspend = faulty.send("move(address,address,uint256)", bob, shop, 100_00)
    report = faulty.audit()
    records = check(report, "payments")["records"]
    found = {(r["tx"], r["problem"]) for r in records}
    assert found == {
        (to_bob, "a resident-to-resident transfer"),
        (plain, "a resident-to-resident transfer"),
        (between_shops, "a merchant-to-merchant transfer"),
        (to_removed, "a payment to a removed merchant"),
        (overspend, "an account sent more than it held"),
    }
    assert ok not in {r["tx"] for r in records}
    named = next(r for r in records if r["tx"] == to_bob)
    assert (named["from"], named["to"], named["amount"]) == (anna, bob, 5_00)


def test_redemptions_are_burns_by_merchants(faulty: Faulty) -> None:
    setup_roles(faulty)
    anna, shop = faulty.who("anna"), faulty.who("shop")
    reward(faulty, 1, "anna", 50_00)
    faulty.send("pay(address,address,uint256,bytes32)", anna, shop, 30_00, word("R"))
    redeem = "redeem(uint256,address,uint256)"
    faulty.send(redeem, 1, shop, 10_00)
    by_resident = faulty.send(redeem, 2, anna, 5_00)
    bare_burn = faulty.send("burn(address,uint256)", shop, 1_00)
    jump = faulty.send(redeem, 7, shop, 1_00)
    reused = faulty.send(redeem, 7, shop, 1_00)
    faulty.send("confirmPayout(uint256,bytes32)", 1, word("SEPA-1"), by="treasurer")
    again = faulty.send("confirmPayout(uint256,bytes32)", 1, word("SEPA-1b"), by="treasurer")
    unknown = faulty.send("confirmPayout(uint256,bytes32)", 99, word("SEPA-9"), by="treasurer")
    report = faulty.audit()
    found = {
        (r["tx"], r["problem"].split(" (first")[0]) for r in check(report, "redemptions")["records"]
    }
    assert found == {
        (by_resident, "a burn by a resident, not a (former) merchant"),
        (bare_burn, "Heitjes burned without a RedemptionRequested event"),
        (jump, "redemption numbers jump from 2 to 7"),
        (reused, "a redemption number used twice"),
        (again, "a second payout"),
        (unknown, "a payout of a redemption that does not exist"),
    }
    summary = report["figures"]["redemption_summary"]
    assert summary["paid"] == 1 and summary["unpaid"] == 2  # nos. 2 and 7


def test_admin_actions_by_accounts_without_the_role(faulty: Faulty) -> None:
    setup_roles(faulty)
    faulty.who("mallory")
    listed = faulty.send("addMerchant(address)", faulty.who("fake-shop"), by="mallory")
    granted = faulty.send(
        "grantRole(bytes32,address)", role_id("minter"), faulty.who("mallory"), by="mallory"
    )
    budget = faulty.send(
        "setMintAllowance(address,uint256)", faulty.who("mallory"), 10**9, by="mallory"
    )
    paid = faulty.send("confirmPayout(uint256,bytes32)", 1, word("X"), by="manager")
    # The admin takes the treasurer's role away; a payout the ex-treasurer records afterwards
    # is an action without the role *at that moment*.
    faulty.send("revokeRole(bytes32,address)", role_id("treasurer"), faulty.who("treasurer"))
    late = faulty.send("pause()", by="treasurer")
    report = faulty.audit()
    records = check(report, "roles")["records"]
    found = {(r["tx"], r["action"], r["by"], r["needs"]) for r in records}
    mallory, manager, treasurer = (faulty.who(n) for n in ("mallory", "manager", "treasurer"))
    assert found == {
        (listed, "merchant added", mallory, "merchant-manager"),
        (granted, "role granted", mallory, "admin"),
        (budget, "minter allowance set", mallory, "admin"),
        (paid, "payout recorded", manager, "treasurer"),
        (late, "paused", treasurer, "pauser"),
    }
    history = report["tables"]["role_history"]
    held = [h for h in history if h["role"] == "treasurer"]
    assert held[0]["revoked_block"] is not None


def test_supply_differs_from_the_node(faulty: Faulty) -> None:
    """Heitjes created without any event: the node's total supply and the holder's balance
    differ from what the events add up to."""
    setup_roles(faulty)
    anna = faulty.who("anna")
    reward(faulty, 1, "anna", 10_00)
    faulty.send("ghostMint(address,uint256)", anna, 7_00)
    report = faulty.audit()
    assert failed(report) == {"supply"}
    records = check(report, "supply")["records"]
    assert {
        "identity": "the node's totalSupply == supply from the events",
        "on_chain": 17_00,
        "computed": 10_00,
    }.items() <= records[0].items()
    holder = next(r for r in records if r.get("account") == anna)
    assert (holder["on_chain"], holder["computed"]) == (17_00, 10_00)


def test_event_without_token_movement(faulty: Faulty) -> None:
    """A JobRewarded with no Heitjes minted behind it is named, and the identity rewards -
    redemptions == supply breaks."""
    setup_roles(faulty)
    reward(faulty, 1, "anna", 10_00)
    fake = faulty.send(
        "announceReward(bytes32,address,address,uint256)",
        job(2),
        faulty.who("anna"),
        faulty.who("minter"),
        99_00,
    )
    report = faulty.audit()
    records = check(report, "mints")["records"]
    assert [(r["tx"], r["problem"]) for r in records] == [
        (fake, "a reward event with no matching token movement in its transaction")
    ]
    assert any("supply == rewards - redemptions" in p for p in problems(report, "supply"))


def test_offending_records_are_capped_but_counted(monkeypatch: object) -> None:
    import heitje_chain.audit.checks as checks

    monkeypatch.setattr(checks, "RECORD_LIMIT", 3)  # type: ignore[attr-defined]
    a = Auditor()
    for i in range(5):
        a.checks["payments"].fail(problem=f"x{i}")
    assert a.checks["payments"].count == 5
    assert len(a.checks["payments"].records) == 3


def test_listing_a_resident_with_earned_heitjes_but_not_a_shop_holding_refunds(
    faulty: Faulty,
) -> None:
    """A wallet that holds a resident's Heitjes (rewarded, a recovery's replacement, or
    minted to without a reward) may not be listed as a merchant; a shop's new wallet whose
    only Heitjes came as refunds (dust) may, as the contract allows."""
    setup_roles(faulty)
    anna, shop = faulty.who("anna"), faulty.who("shop")
    pay = "pay(address,address,uint256,bytes32)"
    refund = "refund(address,address,uint256,bytes32)"
    reward(faulty, 1, "anna", 10_00)
    faulty.send(pay, anna, shop, 4_00, word("R-1"))
    # dust refunded to two new shops' wallets, and a refund to the rewarded resident
    faulty.send(refund, shop, faulty.who("bakery"), 1, word("dust"))
    faulty.send(refund, shop, faulty.who("florist"), 2, word("dust"))
    faulty.send(refund, shop, anna, 1_00, word("R-1"))
    # a replacement with no earnings to carry, and a wallet minted to without a reward
    reward(faulty, 2, "bob", 3_00)
    faulty.send(
        "recover(address,address,uint256,uint256)", faulty.who("bob"), faulty.who("bob2"), 0, 0
    )
    faulty.send("mint(address,uint256)", faulty.who("carl"), 50)
    add = "addMerchant(address)"
    listed = {
        name: faulty.send(add, faulty.who(name), by="manager") for name in ("bakery", "florist")
    }
    earned = faulty.send(add, anna, by="manager")
    replacement = faulty.send(add, faulty.who("bob2"), by="manager")
    minted = faulty.send(add, faulty.who("carl"), by="manager")
    report = faulty.audit()
    records = [
        r
        for r in check(report, "payments")["records"]
        if r["problem"].startswith("a resident holding Heitjes was listed")
    ]
    assert {(r["tx"], r["account"], r["amount"]) for r in records} == {
        (earned, anna, 7_00),
        (replacement, faulty.who("bob2"), 3_00),
        (minted, faulty.who("carl"), 50),
    }
    assert not {r["tx"] for r in check(report, "payments")["records"]} & set(listed.values())
