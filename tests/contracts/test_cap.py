"""The yearly earnings cap per resident, per calendar year in UTC."""

import brownie
import pytest
from brownie import chain, web3
from conftest import CAP, err, job, year_start


def next_block_at(timestamp: int) -> None:
    """Mine the next transaction's block at exactly `timestamp`."""
    web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])


def test_default_cap_is_1500_euros(token):
    assert token.yearlyCap() == CAP == token.DEFAULT_YEARLY_CAP()


def test_reward_up_to_the_cap_is_fine(token, minter, resident):
    token.rewardJob(job("k-1"), resident, CAP - 1, {"from": minter})
    token.rewardJob(job("k-2"), resident, 1, {"from": minter})
    assert token.earnedIn(resident, token.currentYear()) == CAP


def test_reward_over_the_cap_reverts(token, minter, resident):
    token.rewardJob(job("k-1"), resident, 1_400_00, {"from": minter})
    with brownie.reverts(err("HeitjeYearlyCapExceeded", resident, 1_400_00, 100_01, CAP)):
        token.rewardJob(job("k-2"), resident, 100_01, {"from": minter})
    assert not token.isRewarded(job("k-2"))


def test_cap_is_per_resident(token, minter, resident, resident2):
    token.rewardJob(job("k-1"), resident, CAP, {"from": minter})
    token.rewardJob(job("k-2"), resident2, CAP, {"from": minter})
    assert token.totalSupply() == 2 * CAP


def test_spending_does_not_make_room_under_the_cap(token, minter, resident, merchant):
    token.rewardJob(job("k-1"), resident, CAP, {"from": minter})
    token.pay(merchant, CAP, b"bon-1", {"from": resident})
    with brownie.reverts(err("HeitjeYearlyCapExceeded", resident, CAP, 1, CAP)):
        token.rewardJob(job("k-2"), resident, 1, {"from": minter})


def test_set_yearly_cap(token, admin, minter, resident):
    tx = token.setYearlyCap(1_800_00, {"from": admin})
    assert token.yearlyCap() == 1_800_00
    assert tx.events["YearlyCapSet"]["cap"] == 1_800_00
    token.rewardJob(job("k-1"), resident, 1_800_00, {"from": minter})


def test_lowered_cap_below_earnings_stops_further_rewards(token, admin, minter, resident):
    token.rewardJob(job("k-1"), resident, 1_000_00, {"from": minter})
    token.setYearlyCap(500_00, {"from": admin})
    with brownie.reverts(err("HeitjeYearlyCapExceeded", resident, 1_000_00, 1, 500_00)):
        token.rewardJob(job("k-2"), resident, 1, {"from": minter})
    assert token.balanceOf(resident) == 1_000_00  # nothing taken away


def test_set_yearly_cap_is_admin_only(token, minter):
    with brownie.reverts(
        err("AccessControlUnauthorizedAccount", minter, token.DEFAULT_ADMIN_ROLE())
    ):
        token.setYearlyCap(1, {"from": minter})


def test_zero_cap_reverts(token, admin):
    with brownie.reverts(err("HeitjeInvalidAmount", 0)):
        token.setYearlyCap(0, {"from": admin})


def test_new_year_opens_a_new_cap(token, minter, resident):
    year = token.currentYear()
    boundary = year_start(year + 1)
    next_block_at(boundary - 2)  # 31 December, 23:59:58 UTC
    tx = token.rewardJob(job("k-1"), resident, CAP, {"from": minter})
    assert chain[tx.block_number].timestamp == boundary - 2
    assert token.earnedIn(resident, year) == CAP
    # Pinned too: unpinned, the refused attempt's block can fall into the new year.
    next_block_at(boundary - 1)  # 31 December, 23:59:59 UTC
    with brownie.reverts(err("HeitjeYearlyCapExceeded", resident, CAP, 1, CAP)):
        token.rewardJob(job("k-2"), resident, 1, {"from": minter})

    next_block_at(boundary)  # 1 January, 00:00:00 UTC
    tx = token.rewardJob(job("k-2"), resident, CAP, {"from": minter})
    assert chain[tx.block_number].timestamp == boundary
    assert token.currentYear() == year + 1
    assert token.earnedIn(resident, year + 1) == CAP
    assert token.earnedIn(resident, year) == CAP
    assert token.balanceOf(resident) == 2 * CAP


@pytest.mark.parametrize(
    ("timestamp", "year"),
    [
        (0, 1970),
        (year_start(2000) - 1, 1999),
        (year_start(2000), 2000),  # leap year divisible by 400
        (year_start(2024) + 59 * 86400, 2024),  # 29 February 2024
        (year_start(2026) - 1, 2025),
        (year_start(2026), 2026),
        (year_start(2027) - 1, 2026),
        (year_start(2100) + 365 * 86400 - 1, 2100),  # 2100 is not a leap year
        (year_start(2101), 2101),
        (year_start(2400) + 366 * 86400 - 1, 2400),  # 2400 is
        (year_start(9999), 9999),
    ],
)
def test_year_of_timestamp(token, timestamp, year):
    assert token.yearOf(timestamp) == year


def test_year_of_matches_python_for_many_timestamps(token):
    import random
    import time

    rng = random.Random(2021)
    for _ in range(200):
        t = rng.randrange(0, year_start(3000))
        assert token.yearOf(t) == time.gmtime(t).tm_year, t


def test_absurd_cap_reverts(token, admin):
    with brownie.reverts(err("HeitjeInvalidAmount", 2**128)):
        token.setYearlyCap(2**128, {"from": admin})
    token.setYearlyCap(2**128 - 1, {"from": admin})
