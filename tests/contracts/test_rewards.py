"""Minting happens only as a job reward, once per job id, within the minter's budget."""

import brownie
from conftest import CAP, ZERO, err, job


def test_reward_mints_to_resident_and_emits(token, minter, resident):
    tx = token.rewardJob(job("klus-1"), resident, 25_00, {"from": minter})
    assert token.balanceOf(resident) == 25_00
    assert token.totalSupply() == 25_00
    assert token.isRewarded(job("klus-1"))
    ev = tx.events["JobRewarded"]
    assert ev["jobId"] == "0x" + job("klus-1").hex()
    assert (ev["resident"], ev["minter"], ev["amount"]) == (resident, minter, 25_00)
    assert tx.events["Transfer"]["from"] == ZERO


def test_reward_uses_up_the_minters_allowance(token, minter, resident):
    token.rewardJob(job("klus-1"), resident, 25_00, {"from": minter})
    assert token.mintAllowance(minter) == 10_000_00 - 25_00


def test_reward_counts_to_this_years_earnings(token, minter, resident):
    token.rewardJob(job("klus-1"), resident, 25_00, {"from": minter})
    assert token.earnedIn(resident, token.currentYear()) == 25_00
    assert token.earnedIn(resident, token.currentYear() - 1) == 0


def test_job_rewarded_only_once(token, minter, resident):
    token.rewardJob(job("klus-1"), resident, 25_00, {"from": minter})
    with brownie.reverts(err("HeitjeJobAlreadyRewarded", job("klus-1"))):
        token.rewardJob(job("klus-1"), resident, 25_00, {"from": minter})


def test_job_rewarded_only_once_across_minters(token, minter, partner, resident, resident2):
    token.rewardJob(job("klus-1"), resident, 25_00, {"from": minter})
    with brownie.reverts(err("HeitjeJobAlreadyRewarded", job("klus-1"))):
        token.rewardJob(job("klus-1"), resident2, 10_00, {"from": partner})


def test_reward_needs_minter_role(token, outsider, resident):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", outsider, token.MINTER_ROLE())):
        token.rewardJob(job("klus-1"), resident, 25_00, {"from": outsider})


def test_admin_is_not_a_minter(token, admin, resident):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", admin, token.MINTER_ROLE())):
        token.rewardJob(job("klus-1"), resident, 25_00, {"from": admin})


def test_reward_above_allowance_reverts(token, partner, resident):
    with brownie.reverts(err("HeitjeMintAllowanceExceeded", partner, 1_000_00, 1_000_01)):
        token.rewardJob(job("klus-1"), resident, 1_000_01, {"from": partner})


def test_allowance_runs_out(token, admin, partner, resident, resident2):
    token.setMintAllowance(partner, 30_00, {"from": admin})
    token.rewardJob(job("klus-1"), resident, 20_00, {"from": partner})
    with brownie.reverts(err("HeitjeMintAllowanceExceeded", partner, 10_00, 10_01)):
        token.rewardJob(job("klus-2"), resident2, 10_01, {"from": partner})
    token.rewardJob(job("klus-2"), resident2, 10_00, {"from": partner})
    assert token.mintAllowance(partner) == 0


def test_minter_without_allowance_cannot_reward(token, admin, outsider, resident):
    token.grantRole(token.MINTER_ROLE(), outsider, {"from": admin})
    with brownie.reverts(err("HeitjeMintAllowanceExceeded", outsider, 0, 1)):
        token.rewardJob(job("klus-1"), resident, 1, {"from": outsider})


def test_revoked_minter_cannot_reward(token, admin, partner, resident):
    token.revokeRole(token.MINTER_ROLE(), partner, {"from": admin})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", partner, token.MINTER_ROLE())):
        token.rewardJob(job("klus-1"), resident, 1_00, {"from": partner})


def test_set_mint_allowance_replaces_and_emits(token, admin, partner):
    tx = token.setMintAllowance(partner, 7_00, {"from": admin})
    assert token.mintAllowance(partner) == 7_00
    ev = tx.events["MintAllowanceSet"]
    assert (ev["minter"], ev["allowance"]) == (partner, 7_00)


def test_set_mint_allowance_is_admin_only(token, minter, partner):
    with brownie.reverts(
        err("AccessControlUnauthorizedAccount", minter, token.DEFAULT_ADMIN_ROLE())
    ):
        token.setMintAllowance(minter, 10**12, {"from": minter})


def test_zero_reward_reverts(token, minter, resident):
    with brownie.reverts(err("HeitjeInvalidAmount", 0)):
        token.rewardJob(job("klus-1"), resident, 0, {"from": minter})


def test_zero_job_id_reverts(token, minter, resident):
    with brownie.reverts(err("HeitjeInvalidJobId", b"\x00" * 32)):
        token.rewardJob(b"\x00" * 32, resident, 1_00, {"from": minter})


def test_reward_to_zero_address_reverts(token, minter):
    with brownie.reverts(err("ERC20InvalidReceiver", ZERO)):
        token.rewardJob(job("klus-1"), ZERO, 1_00, {"from": minter})


def test_reward_to_merchant_reverts(token, minter, merchant):
    with brownie.reverts(err("HeitjeNotResident", merchant)):
        token.rewardJob(job("klus-1"), merchant, 1_00, {"from": minter})


def test_reward_to_former_merchant_reverts(token, minter, manager, merchant):
    token.removeMerchant(merchant, {"from": manager})
    with brownie.reverts(err("HeitjeNotResident", merchant)):
        token.rewardJob(job("klus-1"), merchant, 1_00, {"from": minter})


def test_failed_reward_changes_nothing(token, minter, merchant):
    with brownie.reverts():
        token.rewardJob(job("klus-1"), merchant, 1_00, {"from": minter})
    assert not token.isRewarded(job("klus-1"))
    assert token.mintAllowance(minter) == 10_000_00
    assert token.totalSupply() == 0


def test_huge_amount_reverts_cleanly(token, admin, minter, resident):
    token.setMintAllowance(minter, 2**256 - 1, {"from": admin})
    with brownie.reverts(err("HeitjeYearlyCapExceeded", resident, 0, 2**256 - 1, CAP)):
        token.rewardJob(job("klus-1"), resident, 2**256 - 1, {"from": minter})


# -------------------------------------------------------------------------- batches


def test_batch_rewards_every_job(token, minter, resident, resident2):
    ids = [job("b-1"), job("b-2"), job("b-3")]
    tx = token.rewardJobs(
        ids, [resident, resident2, resident], [10_00, 20_00, 5_00], {"from": minter}
    )
    assert token.balanceOf(resident) == 15_00
    assert token.balanceOf(resident2) == 20_00
    assert all(token.isRewarded(i) for i in ids)
    assert token.mintAllowance(minter) == 10_000_00 - 35_00
    assert len(tx.events["JobRewarded"]) == 3
    assert [e["jobId"] for e in tx.events["JobRewarded"]] == ["0x" + i.hex() for i in ids]


def test_batch_is_all_or_nothing(token, minter, resident, resident2):
    token.rewardJob(job("b-2"), resident2, 1_00, {"from": minter})
    with brownie.reverts(err("HeitjeJobAlreadyRewarded", job("b-2"))):
        token.rewardJobs(
            [job("b-1"), job("b-2")], [resident, resident2], [10_00, 20_00], {"from": minter}
        )
    assert not token.isRewarded(job("b-1"))
    assert token.balanceOf(resident) == 0
    assert token.mintAllowance(minter) == 10_000_00 - 1_00


def test_batch_with_repeated_job_id_reverts(token, minter, resident):
    with brownie.reverts(err("HeitjeJobAlreadyRewarded", job("b-1"))):
        token.rewardJobs(
            [job("b-1"), job("b-1")], [resident, resident], [1_00, 1_00], {"from": minter}
        )


def test_batch_length_mismatch_reverts(token, minter, resident):
    with brownie.reverts(err("HeitjeLengthMismatch", 2, 1, 2)):
        token.rewardJobs([job("b-1"), job("b-2")], [resident], [1_00, 1_00], {"from": minter})
    with brownie.reverts(err("HeitjeLengthMismatch", 1, 1, 0)):
        token.rewardJobs([job("b-1")], [resident], [], {"from": minter})


def test_empty_batch_reverts(token, minter):
    with brownie.reverts(err("HeitjeEmptyBatch")):
        token.rewardJobs([], [], [], {"from": minter})


def test_batch_allowance_covers_the_sum(token, admin, partner, resident, resident2):
    token.setMintAllowance(partner, 25_00, {"from": admin})
    with brownie.reverts(err("HeitjeMintAllowanceExceeded", partner, 5_00, 10_00)):
        token.rewardJobs(
            [job("b-1"), job("b-2")], [resident, resident2], [20_00, 10_00], {"from": partner}
        )
    assert token.mintAllowance(partner) == 25_00


def test_batch_checks_the_cap_across_entries(token, minter, resident):
    with brownie.reverts(err("HeitjeYearlyCapExceeded", resident, 1_000_00, 600_00, CAP)):
        token.rewardJobs(
            [job("b-1"), job("b-2")], [resident, resident], [1_000_00, 600_00], {"from": minter}
        )


def test_batch_needs_minter_role(token, outsider, resident):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", outsider, token.MINTER_ROLE())):
        token.rewardJobs([job("b-1")], [resident], [1_00], {"from": outsider})


def test_batch_to_merchant_reverts(token, minter, resident, merchant):
    with brownie.reverts(err("HeitjeNotResident", merchant)):
        token.rewardJobs(
            [job("b-1"), job("b-2")], [resident, merchant], [1_00, 1_00], {"from": minter}
        )
