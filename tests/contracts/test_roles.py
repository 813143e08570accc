"""Role administration, the delayed default-admin handover, and pause."""

import brownie
from brownie import chain
from conftest import ADMIN_DELAY, err, job
from eth_utils import keccak


def test_deployment(token, admin):
    assert token.name() == "Heerlens Heitje"
    assert token.symbol() == "HEITJE"
    assert token.decimals() == 2
    assert token.totalSupply() == 0
    assert token.defaultAdmin() == admin
    assert token.defaultAdminDelay() == ADMIN_DELAY
    assert token.paused() is False


def test_roles_are_distinct_hashes(token):
    names = [
        "MINTER_ROLE",
        "MERCHANT_MANAGER_ROLE",
        "TREASURER_ROLE",
        "PAUSER_ROLE",
        "RECOVERY_ROLE",
    ]
    for name in names:
        assert getattr(token, name)() == "0x" + keccak(text=name).hex()


def test_each_role_is_held_by_its_own_account(
    token, minter, partner, manager, treasurer, pauser, recovery, admin
):
    assert token.hasRole(token.MINTER_ROLE(), minter)
    assert token.hasRole(token.MINTER_ROLE(), partner)
    assert token.hasRole(token.MERCHANT_MANAGER_ROLE(), manager)
    assert token.hasRole(token.TREASURER_ROLE(), treasurer)
    assert token.hasRole(token.PAUSER_ROLE(), pauser)
    assert token.hasRole(token.RECOVERY_ROLE(), recovery)
    for role in [
        "MINTER_ROLE",
        "MERCHANT_MANAGER_ROLE",
        "TREASURER_ROLE",
        "PAUSER_ROLE",
        "RECOVERY_ROLE",
    ]:
        assert not token.hasRole(getattr(token, role)(), admin)


def test_grant_and_revoke_emit(token, admin, outsider):
    tx = token.grantRole(token.TREASURER_ROLE(), outsider, {"from": admin})
    assert tx.events["RoleGranted"]["account"] == outsider
    tx = token.revokeRole(token.TREASURER_ROLE(), outsider, {"from": admin})
    assert tx.events["RoleRevoked"]["account"] == outsider
    assert not token.hasRole(token.TREASURER_ROLE(), outsider)


def test_only_admin_grants(token, minter, outsider):
    with brownie.reverts(
        err("AccessControlUnauthorizedAccount", minter, token.DEFAULT_ADMIN_ROLE())
    ):
        token.grantRole(token.MINTER_ROLE(), outsider, {"from": minter})


def test_admin_role_cannot_be_granted_directly(token, admin, outsider):
    with brownie.reverts(err("AccessControlEnforcedDefaultAdminRules")):
        token.grantRole(token.DEFAULT_ADMIN_ROLE(), outsider, {"from": admin})


def test_role_holder_can_renounce(token, treasurer):
    token.renounceRole(token.TREASURER_ROLE(), treasurer, {"from": treasurer})
    assert not token.hasRole(token.TREASURER_ROLE(), treasurer)


def test_admin_handover_waits_for_the_delay(token, admin, outsider):
    token.beginDefaultAdminTransfer(outsider, {"from": admin})
    pending, schedule = token.pendingDefaultAdmin()
    assert pending == outsider
    with brownie.reverts(err("AccessControlEnforcedDefaultAdminDelay", schedule)):
        token.acceptDefaultAdminTransfer({"from": outsider})
    chain.sleep(ADMIN_DELAY + 1)
    chain.mine()
    token.acceptDefaultAdminTransfer({"from": outsider})
    assert token.defaultAdmin() == outsider
    assert token.hasRole(token.DEFAULT_ADMIN_ROLE(), outsider)
    assert not token.hasRole(token.DEFAULT_ADMIN_ROLE(), admin)
    token.setYearlyCap(1_000_00, {"from": outsider})


def test_only_pending_admin_accepts(token, admin, outsider, minter):
    token.beginDefaultAdminTransfer(outsider, {"from": admin})
    chain.sleep(ADMIN_DELAY + 1)
    chain.mine()
    with brownie.reverts(err("AccessControlInvalidDefaultAdmin", minter)):
        token.acceptDefaultAdminTransfer({"from": minter})


def test_admin_handover_can_be_cancelled(token, admin, outsider):
    token.beginDefaultAdminTransfer(outsider, {"from": admin})
    token.cancelDefaultAdminTransfer({"from": admin})
    chain.sleep(ADMIN_DELAY + 1)
    chain.mine()
    with brownie.reverts(err("AccessControlInvalidDefaultAdmin", outsider)):
        token.acceptDefaultAdminTransfer({"from": outsider})
    assert token.defaultAdmin() == admin


# -------------------------------------------------------------------------- pause


def test_pause_and_unpause_emit(token, pauser):
    tx = token.pause({"from": pauser})
    assert token.paused()
    assert tx.events["Paused"]["account"] == pauser
    tx = token.unpause({"from": pauser})
    assert not token.paused()
    assert tx.events["Unpaused"]["account"] == pauser


def test_pause_is_pauser_only(token, admin):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", admin, token.PAUSER_ROLE())):
        token.pause({"from": admin})


def test_pause_twice_reverts(token, pauser):
    token.pause({"from": pauser})
    with brownie.reverts(err("EnforcedPause")):
        token.pause({"from": pauser})
    token.unpause({"from": pauser})
    with brownie.reverts(err("ExpectedPause")):
        token.unpause({"from": pauser})


def test_pause_stops_rewards_payments_refunds_redemptions(
    funded, pauser, minter, resident, merchant
):
    funded.pay(merchant, 20_00, b"bon", {"from": resident})
    funded.pause({"from": pauser})
    with brownie.reverts(err("EnforcedPause")):
        funded.rewardJob(job("k-9"), resident, 1_00, {"from": minter})
    with brownie.reverts(err("EnforcedPause")):
        funded.rewardJobs([job("k-9")], [resident], [1_00], {"from": minter})
    with brownie.reverts(err("EnforcedPause")):
        funded.pay(merchant, 1_00, b"bon", {"from": resident})
    with brownie.reverts(err("EnforcedPause")):
        funded.transfer(merchant, 1_00, {"from": resident})
    with brownie.reverts(err("EnforcedPause")):
        funded.refund(resident, 1_00, b"bon", {"from": merchant})
    with brownie.reverts(err("EnforcedPause")):
        funded.redeem(1_00, {"from": merchant})
    funded.unpause({"from": pauser})
    funded.redeem(1_00, {"from": merchant})


def test_pause_leaves_administration_working(
    funded, pauser, admin, manager, treasurer, resident, merchant, outsider
):
    funded.pay(merchant, 20_00, b"bon", {"from": resident})
    funded.redeem(5_00, {"from": merchant})
    funded.pause({"from": pauser})
    funded.confirmPayout(1, b"bank-1", {"from": treasurer})
    funded.addMerchant(outsider, {"from": manager})
    funded.setYearlyCap(1_000_00, {"from": admin})
    funded.setMintAllowance(outsider, 0, {"from": admin})
    assert funded.redemption(1)[2] is True
