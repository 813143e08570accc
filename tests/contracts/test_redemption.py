"""Merchants redeem Heitjes for euros; the treasurer records each payout once."""

import brownie
import pytest
from conftest import err


def ref(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


@pytest.fixture
def shop(funded, resident, merchant):
    """`merchant` holds EUR 60.00 in payments."""
    funded.pay(merchant, 60_00, ref("bon-1"), {"from": resident})
    return funded


def test_redeem_burns_and_numbers(shop, merchant):
    tx = shop.redeem(25_00, {"from": merchant})
    assert tx.return_value == 1
    assert shop.balanceOf(merchant) == 35_00
    assert shop.totalSupply() == 150_00 - 25_00
    ev = tx.events["RedemptionRequested"]
    assert (ev["id"], ev["merchant"], ev["amount"]) == (1, merchant, 25_00)
    assert tx.events["Transfer"]["to"] == "0x" + "00" * 20
    assert tuple(shop.redemption(1)) == (merchant, 25_00, False, "0x" + "00" * 32)
    assert shop.redemptionCount() == 1


def test_redemption_ids_count_up(shop, merchant):
    assert shop.redeem(1_00, {"from": merchant}).return_value == 1
    assert shop.redeem(2_00, {"from": merchant}).return_value == 2
    assert shop.redemptionCount() == 2


def test_removed_merchant_can_redeem(shop, manager, merchant):
    shop.removeMerchant(merchant, {"from": manager})
    shop.redeem(60_00, {"from": merchant})
    assert shop.balanceOf(merchant) == 0


def test_resident_cannot_redeem(shop, resident):
    with brownie.reverts(err("HeitjeNotMerchant", resident)):
        shop.redeem(1_00, {"from": resident})


def test_redeem_more_than_balance_reverts(shop, merchant):
    with brownie.reverts(err("ERC20InsufficientBalance", merchant, 60_00, 60_01)):
        shop.redeem(60_01, {"from": merchant})


def test_redeem_zero_reverts(shop, merchant):
    with brownie.reverts(err("HeitjeInvalidAmount", 0)):
        shop.redeem(0, {"from": merchant})


def test_confirm_payout(shop, merchant, treasurer):
    shop.redeem(25_00, {"from": merchant})
    tx = shop.confirmPayout(1, ref("NL-SEPA-2026-000123"), {"from": treasurer})
    assert tuple(shop.redemption(1)) == (
        merchant,
        25_00,
        True,
        "0x" + ref("NL-SEPA-2026-000123").hex(),
    )
    ev = tx.events["RedemptionPaid"]
    assert (ev["id"], ev["paymentReference"]) == (1, "0x" + ref("NL-SEPA-2026-000123").hex())


def test_confirm_payout_only_once(shop, merchant, treasurer):
    shop.redeem(25_00, {"from": merchant})
    shop.confirmPayout(1, ref("bank-1"), {"from": treasurer})
    with brownie.reverts(err("HeitjeRedemptionAlreadyPaid", 1, ref("bank-1"))):
        shop.confirmPayout(1, ref("bank-2"), {"from": treasurer})


def test_confirm_unknown_redemption_reverts(shop, treasurer):
    with brownie.reverts(err("HeitjeUnknownRedemption", 1)):
        shop.confirmPayout(1, ref("bank-1"), {"from": treasurer})
    with brownie.reverts(err("HeitjeUnknownRedemption", 0)):
        shop.confirmPayout(0, ref("bank-1"), {"from": treasurer})


def test_confirm_payout_needs_a_reference(shop, merchant, treasurer):
    shop.redeem(25_00, {"from": merchant})
    with brownie.reverts(err("HeitjeInvalidReference")):
        shop.confirmPayout(1, b"\x00" * 32, {"from": treasurer})


def test_confirm_payout_is_treasurer_only(shop, merchant, admin):
    shop.redeem(25_00, {"from": merchant})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", admin, shop.TREASURER_ROLE())):
        shop.confirmPayout(1, ref("bank-1"), {"from": admin})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", merchant, shop.TREASURER_ROLE())):
        shop.confirmPayout(1, ref("bank-1"), {"from": merchant})


def test_unknown_redemption_read_reverts(shop):
    with brownie.reverts(err("HeitjeUnknownRedemption", 7)):
        shop.redemption(7)
