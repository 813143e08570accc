"""Merchants, payments, refunds and the transfer rules in `_update`."""

import brownie
from conftest import ZERO, err


def ref(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


# -------------------------------------------------------------------------- merchants


def test_add_merchant(token, manager, outsider):
    tx = token.addMerchant(outsider, {"from": manager})
    assert token.isMerchant(outsider)
    assert tx.events["MerchantAdded"]["merchant"] == outsider


def test_add_merchant_is_manager_only(token, admin, outsider):
    with brownie.reverts(
        err("AccessControlUnauthorizedAccount", admin, token.MERCHANT_MANAGER_ROLE())
    ):
        token.addMerchant(outsider, {"from": admin})


def test_add_merchant_twice_reverts(token, manager, merchant):
    with brownie.reverts(err("HeitjeAlreadyMerchant", merchant)):
        token.addMerchant(merchant, {"from": manager})


def test_add_zero_address_reverts(token, manager):
    with brownie.reverts(err("ERC20InvalidReceiver", ZERO)):
        token.addMerchant(ZERO, {"from": manager})


def test_resident_with_balance_cannot_become_merchant(funded, manager, resident):
    with brownie.reverts(err("HeitjeResidentBalance", resident, 100_00)):
        funded.addMerchant(resident, {"from": manager})


def test_remove_merchant(token, manager, merchant):
    tx = token.removeMerchant(merchant, {"from": manager})
    assert not token.isMerchant(merchant)
    assert token.isFormerMerchant(merchant)
    assert tx.events["MerchantRemoved"]["merchant"] == merchant


def test_remove_non_merchant_reverts(token, manager, outsider, merchant):
    with brownie.reverts(err("HeitjeNotMerchant", outsider)):
        token.removeMerchant(outsider, {"from": manager})
    token.removeMerchant(merchant, {"from": manager})
    with brownie.reverts(err("HeitjeNotMerchant", merchant)):
        token.removeMerchant(merchant, {"from": manager})


def test_remove_merchant_is_manager_only(token, outsider, merchant):
    with brownie.reverts(
        err("AccessControlUnauthorizedAccount", outsider, token.MERCHANT_MANAGER_ROLE())
    ):
        token.removeMerchant(merchant, {"from": outsider})


def test_former_merchant_can_be_added_again(funded, manager, merchant, resident):
    funded.removeMerchant(merchant, {"from": manager})
    funded.addMerchant(merchant, {"from": manager})
    funded.pay(merchant, 1_00, ref("bon"), {"from": resident})
    assert funded.balanceOf(merchant) == 1_00


# -------------------------------------------------------------------------- payments


def test_pay_moves_funds_and_emits_payment(funded, resident, merchant):
    tx = funded.pay(merchant, 12_50, ref("bon-0042"), {"from": resident})
    assert funded.balanceOf(resident) == 87_50
    assert funded.balanceOf(merchant) == 12_50
    ev = tx.events["Payment"]
    assert (ev["from"], ev["merchant"], ev["amount"]) == (resident, merchant, 12_50)
    assert ev["receipt"] == "0x" + ref("bon-0042").hex()
    assert tx.events["Transfer"]["value"] == 12_50


def test_plain_transfer_to_merchant_is_a_payment(funded, resident, merchant):
    funded.transfer(merchant, 5_00, {"from": resident})
    assert funded.balanceOf(merchant) == 5_00


def test_pay_non_merchant_reverts(funded, resident, resident2):
    with brownie.reverts(err("HeitjeNotMerchant", resident2)):
        funded.pay(resident2, 1_00, ref("x"), {"from": resident})


def test_pay_zero_reverts(funded, resident, merchant):
    with brownie.reverts(err("HeitjeInvalidAmount", 0)):
        funded.pay(merchant, 0, ref("x"), {"from": resident})


def test_pay_more_than_balance_reverts(funded, resident, merchant):
    with brownie.reverts(err("ERC20InsufficientBalance", resident, 100_00, 100_01)):
        funded.pay(merchant, 100_01, ref("x"), {"from": resident})


def test_resident_to_resident_transfer_reverts(funded, resident, resident2):
    with brownie.reverts(err("HeitjeNotMerchant", resident2)):
        funded.transfer(resident2, 1_00, {"from": resident})
    assert funded.balanceOf(resident2) == 50_00


def test_pay_former_merchant_reverts(funded, manager, resident, merchant):
    funded.removeMerchant(merchant, {"from": manager})
    with brownie.reverts(err("HeitjeNotMerchant", merchant)):
        funded.pay(merchant, 1_00, ref("x"), {"from": resident})
    with brownie.reverts(err("HeitjeNotMerchant", merchant)):
        funded.transfer(merchant, 1_00, {"from": resident})


def test_merchant_to_merchant_transfer_reverts(funded, resident, merchant, merchant2):
    funded.pay(merchant, 10_00, ref("x"), {"from": resident})
    with brownie.reverts(err("HeitjeMerchantToMerchant", merchant, merchant2)):
        funded.transfer(merchant2, 1_00, {"from": merchant})
    with brownie.reverts(err("HeitjeMerchantToMerchant", merchant, merchant2)):
        funded.pay(merchant2, 1_00, ref("x"), {"from": merchant})


def test_transfer_to_the_contract_reverts(funded, resident):
    with brownie.reverts(err("HeitjeNotMerchant", funded.address)):
        funded.transfer(funded.address, 1_00, {"from": resident})


# -------------------------------------------------------------------------- refunds


def test_merchant_refunds_resident(funded, resident, merchant):
    funded.pay(merchant, 10_00, ref("bon-1"), {"from": resident})
    tx = funded.refund(resident, 4_00, ref("bon-1"), {"from": merchant})
    assert funded.balanceOf(resident) == 94_00
    assert funded.balanceOf(merchant) == 6_00
    ev = tx.events["Refund"]
    assert (ev["merchant"], ev["to"], ev["amount"]) == (merchant, resident, 4_00)


def test_refund_by_plain_transfer(funded, resident, resident2, merchant):
    funded.pay(merchant, 10_00, ref("bon-1"), {"from": resident})
    funded.transfer(resident2, 3_00, {"from": merchant})
    assert funded.balanceOf(resident2) == 53_00


def test_former_merchant_can_still_refund(funded, manager, resident, merchant):
    funded.pay(merchant, 10_00, ref("bon-1"), {"from": resident})
    funded.removeMerchant(merchant, {"from": manager})
    funded.refund(resident, 10_00, ref("bon-1"), {"from": merchant})
    assert funded.balanceOf(resident) == 100_00


def test_refund_by_resident_reverts(funded, resident, resident2):
    with brownie.reverts(err("HeitjeNotMerchant", resident)):
        funded.refund(resident2, 1_00, ref("x"), {"from": resident})


def test_refund_to_merchant_reverts(funded, resident, merchant, merchant2):
    funded.pay(merchant, 10_00, ref("x"), {"from": resident})
    with brownie.reverts(err("HeitjeMerchantToMerchant", merchant, merchant2)):
        funded.refund(merchant2, 1_00, ref("x"), {"from": merchant})


def test_refund_zero_reverts(funded, resident, merchant):
    with brownie.reverts(err("HeitjeInvalidAmount", 0)):
        funded.refund(resident, 0, ref("x"), {"from": merchant})


# -------------------------------------------------------------------------- transferFrom


def test_transfer_from_applies_rules_to_from_and_to(
    funded, resident, resident2, merchant, outsider
):
    funded.approve(outsider, 20_00, {"from": resident})
    # The spender is an outsider; what counts is from (a resident) and to (a merchant).
    funded.transferFrom(resident, merchant, 5_00, {"from": outsider})
    assert funded.balanceOf(merchant) == 5_00
    with brownie.reverts(err("HeitjeNotMerchant", resident2)):
        funded.transferFrom(resident, resident2, 5_00, {"from": outsider})
    with brownie.reverts(err("HeitjeNotMerchant", outsider)):
        funded.transferFrom(resident, outsider, 5_00, {"from": outsider})
    assert funded.allowance(resident, outsider) == 15_00


def test_merchant_as_spender_cannot_move_resident_to_resident(
    funded, resident, resident2, merchant
):
    funded.approve(merchant, 20_00, {"from": resident})
    with brownie.reverts(err("HeitjeNotMerchant", resident2)):
        funded.transferFrom(resident, resident2, 5_00, {"from": merchant})


def test_transfer_from_needs_allowance(funded, resident, merchant, outsider):
    with brownie.reverts(err("ERC20InsufficientAllowance", outsider, 0, 1_00)):
        funded.transferFrom(resident, merchant, 1_00, {"from": outsider})
