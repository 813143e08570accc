"""A resident who lost a wallet gets balance and this year's earnings moved to a new one."""

import brownie
from brownie import web3
from conftest import CAP, err, job, year_start


def test_recover_moves_balance_and_earnings(funded, recovery, minter, resident, outsider):
    year = funded.currentYear()
    tx = funded.recoverWallet(resident, outsider, {"from": recovery})
    assert funded.balanceOf(resident) == 0
    assert funded.balanceOf(outsider) == 100_00
    assert funded.earnedIn(outsider, year) == 100_00
    # This year's figure moved: it is the replacement's now (see `earnedIn`).
    assert funded.earnedIn(resident, year) == 0
    assert funded.isRetired(resident)
    assert funded.totalSupply() == 150_00
    ev = tx.events["WalletRecovered"]
    assert (ev["lost"], ev["replacement"], ev["amount"]) == (resident, outsider, 100_00)
    ev = tx.events["EarningsCarried"]
    assert (ev["lost"], ev["replacement"], ev["year"], ev["amount"]) == (
        resident,
        outsider,
        year,
        100_00,
    )


def test_new_wallet_cannot_reset_the_cap(funded, recovery, minter, resident, outsider):
    funded.rewardJob(job("k-1"), resident, CAP - 100_00, {"from": minter})
    funded.recoverWallet(resident, outsider, {"from": recovery})
    with brownie.reverts(err("HeitjeYearlyCapExceeded", outsider, CAP, 1, CAP)):
        funded.rewardJob(job("k-2"), outsider, 1, {"from": minter})


def test_retired_wallet_is_closed(funded, recovery, minter, manager, resident, outsider, merchant):
    funded.pay(merchant, 10_00, b"bon", {"from": resident})
    funded.recoverWallet(resident, outsider, {"from": recovery})
    with brownie.reverts(err("HeitjeWalletRetired", resident)):
        funded.rewardJob(job("k-1"), resident, 1_00, {"from": minter})
    with brownie.reverts(err("HeitjeWalletRetired", resident)):
        funded.refund(resident, 1_00, b"bon", {"from": merchant})
    with brownie.reverts(err("HeitjeWalletRetired", resident)):
        funded.addMerchant(resident, {"from": manager})
    with brownie.reverts(err("HeitjeWalletRetired", resident)):
        funded.recoverWallet(resident, outsider, {"from": recovery})


def test_recover_empty_wallet(token, recovery, resident, outsider):
    tx = token.recoverWallet(resident, outsider, {"from": recovery})
    assert tx.events["WalletRecovered"]["amount"] == 0
    assert "EarningsCarried" not in tx.events
    assert token.isRetired(resident)


def test_recover_is_recovery_role_only(funded, admin, resident, outsider):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", admin, funded.RECOVERY_ROLE())):
        funded.recoverWallet(resident, outsider, {"from": admin})


def test_recover_merchant_reverts(funded, recovery, merchant, outsider):
    with brownie.reverts(err("HeitjeNotResident", merchant)):
        funded.recoverWallet(merchant, outsider, {"from": recovery})


def test_recover_to_merchant_reverts(funded, recovery, resident, merchant):
    with brownie.reverts(err("HeitjeNotResident", merchant)):
        funded.recoverWallet(resident, merchant, {"from": recovery})


def test_recover_to_used_wallet_reverts(funded, recovery, resident, resident2):
    with brownie.reverts(err("HeitjeReplacementInUse", resident2, 50_00, 50_00)):
        funded.recoverWallet(resident, resident2, {"from": recovery})


def test_recover_to_itself_or_zero_reverts(funded, recovery, resident):
    with brownie.reverts(err("HeitjeInvalidReplacement", resident)):
        funded.recoverWallet(resident, resident, {"from": recovery})
    with brownie.reverts(err("HeitjeInvalidReplacement", "0x" + "00" * 20)):
        funded.recoverWallet(resident, "0x" + "00" * 20, {"from": recovery})


def test_recover_zero_address_reverts(funded, recovery, outsider):
    # Otherwise it would "retire" the zero address and log a mint-like Transfer(0, ...) that
    # is no job reward.
    with brownie.reverts(err("ERC20InvalidSender", "0x" + "00" * 20)):
        funded.recoverWallet("0x" + "00" * 20, outsider, {"from": recovery})


def test_recover_to_retired_wallet_reverts(
    funded, recovery, resident, resident2, outsider, accounts
):
    funded.recoverWallet(outsider, accounts[12], {"from": recovery})
    with brownie.reverts(err("HeitjeWalletRetired", outsider)):
        funded.recoverWallet(resident, outsider, {"from": recovery})


def test_recovery_works_while_paused(funded, pauser, recovery, resident, outsider):
    funded.pause({"from": pauser})
    funded.recoverWallet(resident, outsider, {"from": recovery})
    assert funded.balanceOf(outsider) == 100_00


def test_replacement_keeps_its_earnings_of_earlier_years(
    token, recovery, minter, resident, outsider, merchant
):
    # `outsider` earned last year and spent it all; this year it replaces a lost wallet.
    year = token.currentYear()
    token.rewardJob(job("k-old"), outsider, 40_00, {"from": minter})
    token.pay(merchant, 40_00, b"bon", {"from": outsider})
    web3.provider.make_request("evm_setNextBlockTimestamp", [year_start(year + 1) + 10])
    token.rewardJob(job("k-new"), resident, 30_00, {"from": minter})
    token.recoverWallet(resident, outsider, {"from": recovery})
    assert token.earnedIn(outsider, year) == 40_00
    assert token.earnedIn(outsider, year + 1) == 30_00
    assert token.earnedIn(resident, year + 1) == 0
    assert token.balanceOf(outsider) == 30_00


def test_recovered_wallet_earnings_past_years_stay_this_years_move(
    token, recovery, minter, resident, outsider, merchant
):
    # The lost wallet earned last year and this year; after the recovery last year's figure
    # still reads on it, and this year's reads on the replacement (where the cap counts it).
    year = token.currentYear()
    token.rewardJob(job("k-old"), resident, 40_00, {"from": minter})
    token.pay(merchant, 40_00, b"bon", {"from": resident})
    web3.provider.make_request("evm_setNextBlockTimestamp", [year_start(year + 1) + 10])
    token.rewardJob(job("k-new"), resident, 30_00, {"from": minter})
    tx = token.recoverWallet(resident, outsider, {"from": recovery})
    assert tx.events["EarningsCarried"]["amount"] == 30_00
    assert token.earnedIn(resident, year) == 40_00
    assert token.earnedIn(resident, year + 1) == 0
    assert token.earnedIn(outsider, year) == 0
    assert token.earnedIn(outsider, year + 1) == 30_00
    # Every cent rewarded is counted once over all wallets and years.
    figures = [token.earnedIn(a, y) for a in (resident, outsider) for y in (year, year + 1)]
    assert sum(figures) == 70_00
    # The next year's first reward of the replacement moves its figure to the past years.
    web3.provider.make_request("evm_setNextBlockTimestamp", [year_start(year + 2) + 10])
    token.rewardJob(job("k-next"), outsider, 5_00, {"from": minter})
    assert token.earnedIn(outsider, year + 1) == 30_00
    assert token.earnedIn(outsider, year + 2) == 5_00
    assert token.earnedIn(resident, year) == 40_00
    # The retired wallet's figure cannot grow: it can never be rewarded again.
    with brownie.reverts(err("HeitjeWalletRetired", resident)):
        token.rewardJob(job("k-lost"), resident, 1_00, {"from": minter})


def test_recovery_cap_counts_the_carried_earnings_once(
    funded, recovery, minter, resident, outsider
):
    # 100.00 earned in the lost wallet: the replacement has CAP - 100.00 left, not CAP - 200.00.
    funded.recoverWallet(resident, outsider, {"from": recovery})
    funded.rewardJob(job("k-1"), outsider, CAP - 100_00, {"from": minter})
    assert funded.earnedIn(outsider, funded.currentYear()) == CAP
