"""Fixtures for the Heitje contract tests (brownie on the embedded anvil).

Every role is a separate account, as in production. `fn_isolation` reverts the chain after
each test, so every test starts from the deployment below.
"""

from __future__ import annotations

import calendar

import pytest
from brownie.exceptions import decode_typed_error
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak

CAP = 1_500_00  # the default yearly cap, in cents
ADMIN_DELAY = 3 * 24 * 3600  # three days for a default-admin handover
ZERO = "0x" + "00" * 20

# The contract's custom errors and their argument types: expected revert messages are built
# from these, so every revert is checked for its exact error AND arguments.
ERRORS: dict[str, list[str]] = {
    "HeitjeNotMerchant": ["address"],
    "HeitjeNotResident": ["address"],
    "HeitjeMerchantToMerchant": ["address", "address"],
    "HeitjeAlreadyMerchant": ["address"],
    "HeitjeResidentBalance": ["address", "uint256"],
    "HeitjeWalletRetired": ["address"],
    "HeitjeJobAlreadyRewarded": ["bytes32"],
    "HeitjeInvalidJobId": ["bytes32"],
    "HeitjeInvalidAmount": ["uint256"],
    "HeitjeMintAllowanceExceeded": ["address", "uint256", "uint256"],
    "HeitjeYearlyCapExceeded": ["address", "uint256", "uint256", "uint256"],
    "HeitjeLengthMismatch": ["uint256", "uint256", "uint256"],
    "HeitjeEmptyBatch": [],
    "HeitjeUnknownRedemption": ["uint256"],
    "HeitjeRedemptionAlreadyPaid": ["uint256", "bytes32"],
    "HeitjeInvalidReference": [],
    "HeitjeReplacementInUse": ["address", "uint256", "uint256"],
    "HeitjeInvalidReplacement": ["address"],
    "HeitjeSpenderRetired": ["address", "address"],
    "HeitjeSpenderFormerMerchant": ["address", "address"],
    # OpenZeppelin's
    "AccessControlUnauthorizedAccount": ["address", "bytes32"],
    "AccessControlEnforcedDefaultAdminRules": [],
    "AccessControlEnforcedDefaultAdminDelay": ["uint48"],
    "AccessControlInvalidDefaultAdmin": ["address"],
    "AccessControlBadConfirmation": [],
    "EnforcedPause": [],
    "ExpectedPause": [],
    "ERC20InsufficientBalance": ["address", "uint256", "uint256"],
    "ERC20InsufficientAllowance": ["address", "uint256", "uint256"],
    "ERC20InvalidReceiver": ["address"],
    "ERC20InvalidSender": ["address"],
    "ERC20InvalidSpender": ["address"],
}


def err(name: str, *args: object) -> str:
    """The revert message brownie shows for custom error `name` with exactly these arguments."""
    types = ERRORS[name]
    assert len(types) == len(args), f"{name} takes {len(types)} arguments"
    selector = function_signature_to_4byte_selector(f"{name}({','.join(types)})")
    values = [str(a) if t == "address" else a for t, a in zip(types, args, strict=True)]
    data = "0x" + (selector + encode(types, values)).hex()
    return decode_typed_error(data)


def job(ref: str) -> bytes:
    """A job id as the service makes it: the hash of the job's reference."""
    return keccak(text=ref)


def year_start(year: int) -> int:
    """Unix time of 1 January `year`, 00:00:00 UTC."""
    return calendar.timegm((year, 1, 1, 0, 0, 0))


@pytest.fixture(autouse=True)
def isolation(fn_isolation: None) -> None:
    pass


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def minter(accounts):
    """The municipality's job office."""
    return accounts[1]


@pytest.fixture(scope="module")
def partner(accounts):
    """A partner organisation that posts jobs within its own budget."""
    return accounts[2]


@pytest.fixture(scope="module")
def manager(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def treasurer(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def pauser(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def recovery(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def merchant(accounts):
    return accounts[7]


@pytest.fixture(scope="module")
def merchant2(accounts):
    return accounts[8]


@pytest.fixture(scope="module")
def resident(accounts):
    return accounts[9]


@pytest.fixture(scope="module")
def resident2(accounts):
    return accounts[10]


@pytest.fixture(scope="module")
def outsider(accounts):
    """An account with no role, used to check that every role is enforced."""
    return accounts[11]


@pytest.fixture(scope="module")
def token(
    Heitje, admin, minter, partner, manager, treasurer, pauser, recovery, merchant, merchant2
):
    t = Heitje.deploy("Heerlens Heitje", "HEITJE", ADMIN_DELAY, admin, {"from": admin})
    t.grantRole(t.MINTER_ROLE(), minter, {"from": admin})
    t.grantRole(t.MINTER_ROLE(), partner, {"from": admin})
    t.grantRole(t.MERCHANT_MANAGER_ROLE(), manager, {"from": admin})
    t.grantRole(t.TREASURER_ROLE(), treasurer, {"from": admin})
    t.grantRole(t.PAUSER_ROLE(), pauser, {"from": admin})
    t.grantRole(t.RECOVERY_ROLE(), recovery, {"from": admin})
    t.setMintAllowance(minter, 10_000_00, {"from": admin})
    t.setMintAllowance(partner, 1_000_00, {"from": admin})
    t.addMerchant(merchant, {"from": manager})
    t.addMerchant(merchant2, {"from": manager})
    return t


@pytest.fixture
def funded(token, minter, resident, resident2):
    """The two residents hold EUR 100.00 and EUR 50.00, earned for two jobs."""
    token.rewardJob(job("fixture-1"), resident, 100_00, {"from": minter})
    token.rewardJob(job("fixture-2"), resident2, 50_00, {"from": minter})
    return token
