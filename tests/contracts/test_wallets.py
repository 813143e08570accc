"""What an ordinary Ethereum wallet does with Heitje (the plain ERC-20 calls), and the rules
added for it: zero-amount transfers refused, allowances no longer usable by a retired wallet
or a former merchant, and onboarding that dust refunds cannot block."""

import brownie
from brownie import web3
from conftest import ZERO, err, job, year_start


def ref(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


# -------------------------------------------------------------------------- plain ERC-20


def test_metadata_a_wallet_reads(token):
    assert token.name() == "Heerlens Heitje"
    assert token.symbol() == "HEITJE"
    assert token.decimals() == 2
    assert token.totalSupply() == 0


def test_wallet_pays_a_merchant_with_plain_transfer(funded, resident, merchant):
    tx = funded.transfer(merchant, 12_34, {"from": resident})
    assert tx.return_value is True
    assert funded.balanceOf(resident) == 100_00 - 12_34
    assert funded.balanceOf(merchant) == 12_34
    ev = tx.events["Transfer"]
    assert (ev["from"], ev["to"], ev["value"]) == (resident, merchant, 12_34)
    assert "Payment" not in tx.events  # a wallet's payment: no receipt
    assert funded.totalSupply() == 150_00


def test_approve_then_transfer_from_to_a_merchant(funded, resident, merchant, outsider):
    tx = funded.approve(outsider, 30_00, {"from": resident})
    assert tx.return_value is True
    ev = tx.events["Approval"]
    assert (ev["owner"], ev["spender"], ev["value"]) == (resident, outsider, 30_00)
    assert funded.allowance(resident, outsider) == 30_00
    tx = funded.transferFrom(resident, merchant, 10_00, {"from": outsider})
    assert tx.return_value is True
    assert funded.allowance(resident, outsider) == 20_00
    assert funded.balanceOf(merchant) == 10_00
    assert funded.balanceOf(resident) == 90_00


def test_merchant_pulls_an_approved_payment_itself(funded, resident, merchant):
    funded.approve(merchant, 5_00, {"from": resident})
    funded.transferFrom(resident, merchant, 5_00, {"from": merchant})
    assert funded.balanceOf(merchant) == 5_00
    assert funded.allowance(resident, merchant) == 0


def test_approving_zero_withdraws_an_allowance(funded, resident, merchant, outsider):
    funded.approve(outsider, 30_00, {"from": resident})
    tx = funded.approve(outsider, 0, {"from": resident})
    assert tx.events["Approval"]["value"] == 0
    assert funded.allowance(resident, outsider) == 0
    with brownie.reverts(err("ERC20InsufficientAllowance", outsider, 0, 1_00)):
        funded.transferFrom(resident, merchant, 1_00, {"from": outsider})


def test_approve_zero_spender_reverts(funded, resident):
    # OpenZeppelin's rule, unchanged (the library decodes it as InvalidAddress).
    with brownie.reverts(err("ERC20InvalidSpender", ZERO)):
        funded.approve(ZERO, 1_00, {"from": resident})


# -------------------------------------------------------------------------- zero amounts


def test_zero_transfer_to_merchant_reverts(funded, resident, merchant):
    with brownie.reverts(err("HeitjeInvalidAmount", 0)):
        funded.transfer(merchant, 0, {"from": resident})
    assert funded.balanceOf(merchant) == 0


def test_zero_transfer_from_needs_no_allowance_but_is_refused(funded, resident, merchant, outsider):
    # Without the rule anyone could log a zero "payment" from any resident: a zero
    # transferFrom passes the allowance check with no allowance at all.
    assert funded.allowance(resident, outsider) == 0
    with brownie.reverts(err("HeitjeInvalidAmount", 0)):
        funded.transferFrom(resident, merchant, 0, {"from": outsider})


def test_zero_refund_by_plain_transfer_reverts(funded, resident, merchant):
    funded.pay(merchant, 1_00, ref("bon"), {"from": resident})
    with brownie.reverts(err("HeitjeInvalidAmount", 0)):
        funded.transfer(resident, 0, {"from": merchant})


def test_zero_transfer_to_a_non_merchant_names_the_recipient(funded, resident, resident2):
    # The rules on who may pay whom come first: the answer says what is wrong with it.
    with brownie.reverts(err("HeitjeNotMerchant", resident2)):
        funded.transfer(resident2, 0, {"from": resident})


def test_zero_transfer_is_refused_while_paused_as_paused(funded, pauser, resident, merchant):
    funded.pause({"from": pauser})
    with brownie.reverts(err("EnforcedPause")):
        funded.transfer(merchant, 0, {"from": resident})


# -------------------------------------------------------------------------- allowances


def test_retired_wallet_cannot_spend_an_allowance(
    funded, recovery, resident, resident2, merchant, outsider
):
    # resident2 allowed `resident` to pay shops for them; `resident` is lost and recovered.
    funded.approve(resident, 20_00, {"from": resident2})
    funded.transferFrom(resident2, merchant, 1_00, {"from": resident})
    funded.recoverWallet(resident, outsider, {"from": recovery})
    with brownie.reverts(err("HeitjeSpenderRetired", resident, resident2)):
        funded.transferFrom(resident2, merchant, 5_00, {"from": resident})
    assert funded.allowance(resident2, resident) == 19_00
    assert funded.balanceOf(resident2) == 49_00
    # The replacement holds no allowance of its own, and the owner can still pay.
    with brownie.reverts(err("ERC20InsufficientAllowance", outsider, 0, 5_00)):
        funded.transferFrom(resident2, merchant, 5_00, {"from": outsider})
    funded.transfer(merchant, 5_00, {"from": resident2})


def test_retired_wallet_cannot_spend_an_allowance_of_a_merchant(
    funded, recovery, resident, resident2, merchant, outsider
):
    # A merchant's allowance (to refund through) is no use to a retired wallet either.
    funded.pay(merchant, 10_00, ref("bon"), {"from": resident2})
    funded.approve(resident, 10_00, {"from": merchant})
    funded.recoverWallet(resident, outsider, {"from": recovery})
    with brownie.reverts(err("HeitjeSpenderRetired", resident, merchant)):
        funded.transferFrom(merchant, resident2, 1_00, {"from": resident})


def test_retired_wallet_as_owner_is_refused_first(funded, recovery, resident, merchant, outsider):
    funded.approve(outsider, 20_00, {"from": resident})
    funded.recoverWallet(resident, outsider, {"from": recovery})
    with brownie.reverts(err("HeitjeWalletRetired", resident)):
        funded.transferFrom(resident, merchant, 1_00, {"from": outsider})
    with brownie.reverts(err("HeitjeWalletRetired", resident)):
        funded.transferFrom(resident, merchant, 0, {"from": outsider})


def test_former_merchant_cannot_spend_an_allowance(funded, manager, resident, merchant, merchant2):
    funded.approve(merchant, 20_00, {"from": resident})
    funded.transferFrom(resident, merchant, 2_00, {"from": merchant})
    funded.removeMerchant(merchant, {"from": manager})
    # Neither to itself (it can no longer be paid anyway) nor to a shop that still is one.
    with brownie.reverts(err("HeitjeSpenderFormerMerchant", merchant, resident)):
        funded.transferFrom(resident, merchant2, 2_00, {"from": merchant})
    with brownie.reverts(err("HeitjeSpenderFormerMerchant", merchant, resident)):
        funded.transferFrom(resident, merchant, 2_00, {"from": merchant})
    assert funded.allowance(resident, merchant) == 18_00
    # Listed again, it may use the allowance again.
    funded.addMerchant(merchant, {"from": manager})
    funded.transferFrom(resident, merchant2, 2_00, {"from": merchant})
    assert funded.balanceOf(merchant2) == 2_00


def test_former_merchant_still_refunds_and_redeems_its_own(
    funded, manager, resident, merchant, outsider
):
    funded.pay(merchant, 10_00, ref("bon"), {"from": resident})
    funded.removeMerchant(merchant, {"from": manager})
    funded.transfer(resident, 3_00, {"from": merchant})  # a refund by plain transfer
    funded.redeem(5_00, {"from": merchant})
    # ... and a resident it allowed may still refund for it: only a closed spender is refused.
    funded.approve(outsider, 2_00, {"from": merchant})
    funded.transferFrom(merchant, resident, 2_00, {"from": outsider})
    assert funded.balanceOf(merchant) == 0
    assert funded.balanceOf(resident) == 95_00


def test_current_merchant_spender_still_subject_to_the_recipient_rule(
    funded, resident, resident2, merchant
):
    funded.approve(merchant, 20_00, {"from": resident})
    with brownie.reverts(err("HeitjeNotMerchant", resident2)):
        funded.transferFrom(resident, resident2, 5_00, {"from": merchant})


def test_allowance_is_checked_before_the_spender(funded, manager, resident, merchant, merchant2):
    # OpenZeppelin's transferFrom spends the allowance before it moves anything: a former
    # merchant without an allowance hears that first.
    funded.removeMerchant(merchant, {"from": manager})
    with brownie.reverts(err("ERC20InsufficientAllowance", merchant, 0, 1_00)):
        funded.transferFrom(resident, merchant2, 1_00, {"from": merchant})


# -------------------------------------------------------------------------- onboarding


def test_dust_refund_cannot_block_onboarding(funded, manager, resident, merchant, outsider):
    # A merchant refunds 1 cent to the address a new shop is about to be listed with.
    funded.pay(merchant, 10_00, ref("bon"), {"from": resident})
    funded.refund(outsider, 1, ref("dust"), {"from": merchant})
    funded.transfer(outsider, 2, {"from": merchant})  # by plain transfer too
    tx = funded.addMerchant(outsider, {"from": manager})
    assert tx.events["MerchantAdded"]["merchant"] == outsider
    assert funded.isMerchant(outsider)
    # The dust is now the new shop's, redeemable like any merchant funds.
    assert funded.balanceOf(outsider) == 3
    funded.redeem(3, {"from": outsider})
    assert funded.totalSupply() == 150_00 - 3


def test_dust_from_a_former_merchant_cannot_block_onboarding(
    funded, manager, resident, merchant, outsider
):
    funded.pay(merchant, 10_00, ref("bon"), {"from": resident})
    funded.removeMerchant(merchant, {"from": manager})
    funded.refund(outsider, 1, ref("dust"), {"from": merchant})
    funded.addMerchant(outsider, {"from": manager})
    assert funded.isMerchant(outsider)


def test_rewarded_resident_with_a_balance_still_cannot_become_merchant(
    funded, manager, resident, merchant
):
    # Some of its Heitjes are earnings: refused, even when refunds came on top.
    funded.pay(merchant, 100_00, ref("bon"), {"from": resident})
    funded.refund(resident, 40_00, ref("bon"), {"from": merchant})
    with brownie.reverts(err("HeitjeResidentBalance", resident, 40_00)):
        funded.addMerchant(resident, {"from": manager})


def test_rewarded_resident_who_spent_everything_can_become_merchant(
    funded, manager, resident, merchant
):
    funded.pay(merchant, 100_00, ref("bon"), {"from": resident})
    funded.addMerchant(resident, {"from": manager})
    assert funded.isMerchant(resident)


def test_replacement_wallet_counts_as_earned(funded, manager, recovery, resident, outsider):
    # A replacement holds a resident's Heitjes, also when nothing was earned this year.
    funded.recoverWallet(resident, outsider, {"from": recovery})
    with brownie.reverts(err("HeitjeResidentBalance", outsider, 100_00)):
        funded.addMerchant(outsider, {"from": manager})


def test_replacement_without_earnings_this_year_counts_as_earned(
    token, manager, minter, recovery, resident, outsider
):
    # The lost wallet earned in an earlier year only, so nothing is carried: its replacement
    # still holds a resident's Heitjes and is refused.
    year = token.currentYear()
    token.rewardJob(job("w-old"), resident, 20_00, {"from": minter})
    web3.provider.make_request("evm_setNextBlockTimestamp", [year_start(year + 1) + 10])
    tx = token.recoverWallet(resident, outsider, {"from": recovery})
    assert "EarningsCarried" not in tx.events
    assert token.earnedIn(outsider, year + 1) == 0
    with brownie.reverts(err("HeitjeResidentBalance", outsider, 20_00)):
        token.addMerchant(outsider, {"from": manager})
