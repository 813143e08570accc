"""The contract client against a real anvil: every operation, every read, every typed error
the contract raises through the client (with its decoded values), idempotent rewards, and bad
input refused before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_utils import keccak

from heitje_chain.amounts import MAX_CENTS
from heitje_chain.client import (
    HeitjeClient,
    Redemption,
    RewardRow,
    check_job_id,
    job_id,
    reference32,
    role_id,
    text_of,
)
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.errors import (
    AdminRuleViolation,
    AlreadyMerchant,
    ConfigError,
    EmptyBatch,
    HeitjeError,
    InsufficientAllowance,
    InsufficientBalance,
    InvalidAddress,
    InvalidAmount,
    InvalidJobId,
    InvalidReference,
    InvalidReplacement,
    JobAlreadyRewarded,
    LengthMismatch,
    MerchantToMerchant,
    MintAllowanceExceeded,
    MissingRole,
    NotMerchant,
    NotPaused,
    NotResident,
    Paused,
    RedemptionAlreadyPaid,
    Refused,
    ReplacementInUse,
    ResidentBalance,
    UnknownRedemption,
    WalletRetired,
    YearlyCapExceeded,
)
from heitje_chain.keys import LocalSigner

World = Any  # conftest.World (not imported: conftest modules are not importable by name)

CAP = 1_500_00
BUDGET = 100_000_00
ZERO = "0x" + "00" * 20
MINTER_ROLE = keccak(text="MINTER_ROLE")
CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # the EIP-55 example
WRONG_CHECKSUM = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # one letter's case changed


# ====================================================================== reads


def test_token_reads(heitje: World) -> None:
    c = heitje.client
    assert c.name() == "Heerlens Heitje"
    assert c.symbol() == "HEITJE"
    assert c.decimals() == 2
    assert c.total_supply() == 0
    assert c.yearly_cap() == CAP
    assert 2025 <= c.current_year() <= 2100
    assert c.paused() is False
    assert c.redemption_count() == 0
    assert c.redemptions() == []
    assert c.default_admin() == heitje.admin.address
    assert c.chain_id == heitje.deployment.chain_id == heitje.rpc.chain_id()
    assert c.address == heitje.deployment.address
    assert c.deployment_block == heitje.deployment.block > 0


def test_role_reads(heitje: World) -> None:
    c = heitje.client
    assert c.has_role("admin", heitje.admin.address)
    assert c.has_role("minter", heitje.job_office.address)
    assert c.has_role("MINTER_ROLE", heitje.partner.address)
    assert c.has_role("merchant-manager", heitje.merchant_manager.address)
    assert c.has_role("treasurer", heitje.treasurer.address)
    assert c.has_role("pauser", heitje.pauser.address)
    assert c.has_role("recovery", heitje.recovery.address)
    assert not c.has_role("minter", heitje.outsider.address)
    assert not c.has_role("admin", heitje.job_office.address)
    assert c.mint_allowance(heitje.job_office.address) == BUDGET
    assert c.mint_allowance(heitje.outsider.address) == 0


def test_account_reads(heitje: World) -> None:
    c = heitje.client
    merchant, resident = heitje.merchants[0].address, heitje.residents[0].address
    assert c.is_merchant(merchant) and not c.is_merchant(resident)
    assert not c.is_former_merchant(merchant)
    assert not c.is_retired(resident)
    assert c.balance(resident) == 0
    assert c.earned_this_year(resident) == 0
    assert c.room_under_cap(resident) == CAP
    # lower-case addresses are accepted and mean the same account
    assert c.is_merchant(merchant.lower())


def test_reads_at_an_earlier_block(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    heitje.fund(resident, 500)
    before = heitje.block()
    heitje.fund(resident, 700)
    assert c.balance(resident) == 1200
    assert c.balance(resident, block=before) == 500
    assert c.total_supply(block=before) == 500
    assert c.total_supply(block="latest") == 1200


def test_role_id() -> None:
    assert role_id("admin") == bytes(32)
    assert role_id(" Minter ") == MINTER_ROLE
    assert role_id("minter_role") == MINTER_ROLE
    assert role_id("merchant-manager") == keccak(text="MERCHANT_MANAGER_ROLE")
    with pytest.raises(ValueError, match="unknown role"):
        role_id("superuser")


def test_job_id_and_references() -> None:
    assert job_id("job-1") == keccak(text="job-1")
    assert job_id("  job-1 ") == job_id("job-1")
    assert check_job_id(job_id("a")) == job_id("a")
    assert check_job_id("0x" + job_id("a").hex()) == job_id("a")
    assert reference32("R-1") == b"R-1".ljust(32, b"\0")
    assert text_of(reference32(" R-1 ")) == "R-1"
    assert text_of(reference32("x" * 32)) == "x" * 32
    assert text_of(reference32("café")) == "café"


# ====================================================================== rewards


def test_reward_job_pays(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    result = c.reward_job(heitje.job_office, "job-1", resident, 1250)
    assert result.status == "paid"
    assert result.job_id == job_id("job-1")
    assert result.resident == resident and result.cents == 1250
    assert result.tx_hash and result.block_number == heitje.block()
    assert result.paid_to is None and result.matches_earlier is None
    assert c.balance(resident) == 1250
    assert c.total_supply() == 1250
    assert c.earned_this_year(resident) == 1250
    assert c.earned_in(resident, c.current_year() - 1) == 0
    assert c.room_under_cap(resident) == CAP - 1250
    assert c.mint_allowance(heitje.job_office.address) == BUDGET - 1250
    assert c.is_rewarded(job_id("job-1"))
    assert not c.is_rewarded(job_id("job-2"))
    assert c.rewarded_many([job_id("job-1"), job_id("job-2")]) == [True, False]
    event = c.find_reward(job_id("job-1"))
    assert event is not None
    assert event.args == {
        "jobId": job_id("job-1"),
        "resident": resident,
        "minter": heitje.job_office.address,
        "amount": 1250,
    }
    assert event.tx_hash == result.tx_hash
    assert c.find_reward(job_id("job-2")) is None


def test_reward_job_with_a_32_byte_id(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    jid = keccak(b"external id 7")
    result = c.reward_job(heitje.partner, jid, resident, 300)
    assert result.status == "paid" and result.job_id == jid
    assert c.is_rewarded(jid)
    assert c.mint_allowance(heitje.partner.address) == BUDGET - 300


def test_reward_job_twice_pays_once(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    first = c.reward_job(heitje.job_office, "job-1", resident, 1000)
    nonce = heitje.nonce(heitje.job_office)
    again = c.reward_job(heitje.job_office, "job-1", resident, 1000)
    assert again.status == "already_paid"
    assert again.paid_to == resident and again.paid_cents == 1000
    assert again.matches_earlier is True
    assert again.tx_hash == first.tx_hash and again.block_number == first.block_number
    assert "paid before" in again.reason
    assert heitje.nonce(heitje.job_office) == nonce  # nothing sent
    assert c.balance(resident) == 1000 and c.total_supply() == 1000
    # Another minter can't pay it again either
    other = c.reward_job(heitje.partner, "job-1", resident, 1000)
    assert other.status == "already_paid"
    assert c.total_supply() == 1000


def test_reward_job_again_for_another_resident_says_the_earlier_differs(heitje: World) -> None:
    c = heitje.client
    first, second = heitje.residents[0].address, heitje.residents[1].address
    c.reward_job(heitje.job_office, "job-1", first, 1000)
    again = c.reward_job(heitje.job_office, "job-1", second, 1000)
    assert again.status == "already_paid"
    assert again.paid_to == first and again.paid_cents == 1000
    assert again.matches_earlier is False
    assert "NOT the resident or amount" in again.reason
    assert first in again.reason and "EUR 10.00" in again.reason
    other_amount = c.reward_job(heitje.job_office, "job-1", first, 999)
    assert other_amount.matches_earlier is False
    assert c.balance(second) == 0 and c.total_supply() == 1000


def test_reward_job_paid_meanwhile_is_already_paid(
    heitje: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job is paid between the check and the send (another office): the contract's
    JobAlreadyRewarded becomes `already_paid`, not an error."""
    c, resident = heitje.client, heitje.residents[0].address
    c.reward_job(heitje.partner, "job-1", resident, 400)
    real, asked = c.is_rewarded, []

    def is_rewarded(jid: bytes) -> bool:  # not at the check before the send; then it is
        asked.append(jid)
        return len(asked) > 1 and real(jid)

    monkeypatch.setattr(c, "is_rewarded", is_rewarded)
    nonce = heitje.nonce(heitje.job_office)
    result = c.reward_job(heitje.job_office, "job-1", resident, 400)
    assert result.status == "already_paid" and result.matches_earlier is True
    assert heitje.nonce(heitje.job_office) == nonce
    assert c.total_supply() == 400


def test_already_paid_always_names_its_transaction(
    heitje: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain says the job is paid but the node's logs do not show it (yet): a reward
    mined between a log query and the state read, or a node still indexing. That is refused
    for now, nothing sent, and never `already_paid` without the transaction (the worker
    would note it paid with none). Asked again, it is already paid with its transaction."""
    c, resident = heitje.client, heitje.residents[0].address
    first = c.reward_job(heitje.partner, "job-1", resident, 400)
    real = c.find_reward
    monkeypatch.setattr(c, "find_reward", lambda jid: None)
    nonce = heitje.nonce(heitje.job_office)
    result = c.reward_job(heitje.job_office, "job-1", resident, 400)
    assert result.status == "refused" and result.tx_hash is None and result.error is None
    assert "nothing was sent" in result.reason
    [batched] = c.reward_jobs(heitje.job_office, [RewardRow("job-1", resident, 400)])
    assert batched.status == "refused" and batched.tx_hash is None
    assert heitje.nonce(heitje.job_office) == nonce
    monkeypatch.setattr(c, "find_reward", real)
    again = c.reward_job(heitje.job_office, "job-1", resident, 400)
    assert again.status == "already_paid" and again.tx_hash == first.tx_hash
    assert c.total_supply() == 400


def test_reward_jobs_mix(heitje: World) -> None:
    c = heitje.client
    r = [s.address for s in heitje.residents]
    merchant = heitje.merchants[0].address
    c.reward_job(heitje.job_office, "paid-before", r[0], 50)
    bytes_id = keccak(b"external-9")
    rows: list[Any] = [
        RewardRow("a", r[0], 100),  # 0 good
        RewardRow("b", r[1], 200),  # 1 good
        RewardRow("a", r[2], 100),  # 2 duplicate of row 0
        RewardRow("paid-before", r[0], 50),  # 3 already paid on-chain
        RewardRow("c", r[3], CAP + 1),  # 4 over the yearly cap
        RewardRow("d", "0x1234", 100),  # 5 bad address
        RewardRow("e", r[0], 1.5),  # type: ignore[arg-type]  # 6 bad amount
        RewardRow("f", r[0], 0),  # 7 zero
        RewardRow("g", merchant, 100),  # 8 a merchant is not a resident
        RewardRow("h", r[2], 300),  # 9 good
        RewardRow(bytes_id, r[3], 400),  # 10 good, by 32-byte id
        RewardRow("", r[0], 100),  # 11 no job reference
        RewardRow(bytes(32), r[0], 100),  # 12 zero job id
        RewardRow("k", r[1], 100_000),  # 13 good: r1 then has 100,200 earned
        RewardRow("l", r[1], 60_000),  # 14 together with 13 over the cap
        RewardRow("m", r[0], True),  # 15 bool amount
    ]
    supply = c.total_supply()
    ticks: list[int] = []
    results = c.reward_jobs(heitje.job_office, rows, batch_size=3, progress=ticks.append)
    assert sum(ticks) == len(rows)
    assert [x.status for x in results] == [
        "paid",
        "paid",
        "refused",
        "already_paid",
        "refused",
        "refused",
        "refused",
        "refused",
        "refused",
        "paid",
        "paid",
        "refused",
        "refused",
        "paid",
        "refused",
        "refused",
    ]
    assert [x.job for x in results] == [row.job for row in rows]
    for i in (0, 1, 9, 10, 13):
        assert results[i].tx_hash and results[i].block_number
        assert c.is_rewarded(results[i].job_id)
    assert "twice" in results[2].reason and "position 1" in results[2].reason
    assert results[3].paid_to == r[0] and results[3].matches_earlier is True
    assert isinstance(results[4].error, YearlyCapExceeded)
    assert results[4].error.values == {"resident": r[3], "earned": 0, "amount": CAP + 1, "cap": CAP}
    assert isinstance(results[5].error, InvalidAddress)
    assert isinstance(results[6].error, InvalidAmount)
    assert isinstance(results[7].error, InvalidAmount)
    assert isinstance(results[8].error, NotResident)
    assert results[8].error.values == {"account": merchant}
    assert isinstance(results[11].error, InvalidJobId)
    assert isinstance(results[12].error, InvalidJobId)
    assert isinstance(results[14].error, YearlyCapExceeded)
    assert results[14].error.values["earned"] == 100_200
    assert isinstance(results[15].error, InvalidAmount)
    for i in (2, 4, 5, 6, 7, 8, 11, 12, 14, 15):
        assert results[i].reason
        assert results[i].tx_hash is None
    assert c.balance(r[0]) == 50 + 100
    assert c.balance(r[1]) == 200 + 100_000
    assert c.balance(r[2]) == 300
    assert c.balance(r[3]) == 400
    assert c.total_supply() == supply + 100 + 200 + 300 + 400 + 100_000
    assert c.mint_allowance(heitje.job_office.address) == BUDGET - 50 - 101_000

    # The same rows again: nothing is paid twice.
    supply = c.total_supply()
    again = c.reward_jobs(heitje.job_office, rows, batch_size=3)
    assert c.total_supply() == supply
    assert [x.status for x in again] == [
        "already_paid" if x.status == "paid" else x.status for x in results
    ]
    for i in (0, 1, 3, 9, 10, 13):
        assert again[i].matches_earlier is True
        assert again[i].tx_hash == (results[i].tx_hash)


def test_reward_jobs_all_good_in_one_batch(heitje: World) -> None:
    c = heitje.client
    rows = [RewardRow(f"job-{i}", heitje.residents[i % 4].address, 10 + i) for i in range(20)]
    nonce = heitje.nonce(heitje.job_office)
    results = c.reward_jobs(heitje.job_office, rows)
    assert {x.status for x in results} == {"paid"}
    assert len({x.tx_hash for x in results}) == 1  # one rewardJobs transaction
    assert heitje.nonce(heitje.job_office) == nonce + 1
    assert c.total_supply() == sum(10 + i for i in range(20))


def test_reward_jobs_empty_and_bad_batch_size(heitje: World) -> None:
    c = heitje.client
    with heitje.unchanged():
        assert c.reward_jobs(heitje.job_office, []) == []
        for size in (0, 501, -1):
            with pytest.raises(ValueError, match="batch_size"):
                c.reward_jobs(heitje.job_office, [], batch_size=size)


def test_reward_jobs_by_a_key_without_the_role(heitje: World) -> None:
    rows = [RewardRow("x", heitje.residents[0].address, 100)]
    with heitje.unchanged():
        results = heitje.client.reward_jobs(heitje.outsider, rows)
    assert results[0].status == "refused"
    assert isinstance(results[0].error, MissingRole)


def test_reward_jobs_over_the_budget(heitje: World) -> None:
    c = heitje.client
    c.set_mint_allowance(heitje.admin, heitje.partner.address, 250)
    rows = [RewardRow(f"j{i}", heitje.residents[i].address, 100) for i in range(3)]
    results = c.reward_jobs(heitje.partner, rows)
    assert [x.status for x in results] == ["paid", "paid", "refused"]
    assert isinstance(results[2].error, MintAllowanceExceeded)
    assert results[2].error.values == {
        "minter": heitje.partner.address,
        "allowance": 50,
        "needed": 100,
    }
    assert c.total_supply() == 200


# ====================================================================== merchants


def test_add_and_remove_merchant(heitje: World) -> None:
    c, manager = heitje.client, heitje.merchant_manager
    shop = heitje.outsider.address
    done = c.add_merchant(manager, shop)
    assert done.event("MerchantAdded").args == {"merchant": shop}
    assert c.is_merchant(shop)
    done = c.remove_merchant(manager, shop)
    assert done.event("MerchantRemoved").args == {"merchant": shop}
    assert not c.is_merchant(shop) and c.is_former_merchant(shop)
    c.add_merchant(manager, shop)  # a former merchant may come back
    assert c.is_merchant(shop) and not c.is_former_merchant(shop)
    with pytest.raises(LookupError, match="no Payment event"):
        done.event("Payment")


def test_typed_error_already_merchant(heitje: World) -> None:
    shop = heitje.merchants[0].address
    with heitje.unchanged(), pytest.raises(AlreadyMerchant) as exc:
        heitje.client.add_merchant(heitje.merchant_manager, shop)
    assert exc.value.values == {"account": shop}
    assert exc.value.error == "HeitjeAlreadyMerchant"
    assert shop in str(exc.value)


def test_typed_error_resident_balance(heitje: World) -> None:
    resident = heitje.residents[0].address
    heitje.fund(resident, 321)
    with heitje.unchanged(), pytest.raises(ResidentBalance) as exc:
        heitje.client.add_merchant(heitje.merchant_manager, resident)
    assert exc.value.values == {"account": resident, "balance": 321}
    assert "EUR 3.21" in str(exc.value)


def test_typed_error_not_merchant_on_remove(heitje: World) -> None:
    resident = heitje.residents[0].address
    with heitje.unchanged(), pytest.raises(NotMerchant) as exc:
        heitje.client.remove_merchant(heitje.merchant_manager, resident)
    assert exc.value.values == {"account": resident}


def test_typed_error_invalid_receiver_on_zero_merchant(heitje: World) -> None:
    with heitje.unchanged(), pytest.raises(InvalidAddress) as exc:
        heitje.client.transact(heitje.merchant_manager, "addMerchant", ZERO)
    assert exc.value.error == "ERC20InvalidReceiver"
    assert exc.value.values == {"receiver": ZERO}


# ====================================================================== payments and refunds


def test_pay_and_refund(heitje: World) -> None:
    c = heitje.client
    resident, shop = heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 1000)
    done = c.pay(resident, shop.address, 250, "RCPT-1")
    assert done.event("Payment").args == {
        "from": resident.address,
        "merchant": shop.address,
        "amount": 250,
        "receipt": reference32("RCPT-1"),
    }
    transfer = done.event("Transfer").args
    assert (transfer["from"], transfer["to"], transfer["value"]) == (
        resident.address,
        shop.address,
        250,
    )
    assert c.balance(resident.address) == 750 and c.balance(shop.address) == 250
    done = c.refund(shop, resident.address, 100, "RCPT-1")
    assert done.event("Refund").args == {
        "merchant": shop.address,
        "to": resident.address,
        "amount": 100,
        "receipt": reference32("RCPT-1"),
    }
    assert c.balance(resident.address) == 850 and c.balance(shop.address) == 150
    assert c.total_supply() == 1000
    # paying does not count as earning
    assert c.earned_this_year(resident.address) == 1000


def test_submit_pay_pipelined(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[1]
    heitje.fund(resident, 100)
    txs = [c.submit_pay(resident, shop.address, 10, f"R{i}") for i in range(5)]
    assert [tx.nonce for tx in txs] == list(range(5))
    for tx in txs:
        assert c.result(tx).event("Payment").args["amount"] == 10
    assert c.balance(shop.address) == 50


def test_former_merchant_refunds_and_redeems_but_is_not_paid(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 1000)
    c.pay(resident, shop.address, 600, "R1")
    c.remove_merchant(heitje.merchant_manager, shop.address)
    with heitje.unchanged(), pytest.raises(NotMerchant) as exc:
        c.pay(resident, shop.address, 1, "R2")
    assert exc.value.values == {"account": shop.address}
    c.refund(shop, resident.address, 100, "R1")
    redemption = c.redeem(shop, 500)
    assert redemption.cents == 500 and redemption.merchant == shop.address
    assert c.balance(shop.address) == 0


def test_typed_error_not_merchant_paying_a_resident(heitje: World) -> None:
    alice, bob = heitje.residents[0], heitje.residents[1]
    heitje.fund(alice, 500)
    with heitje.unchanged(), pytest.raises(NotMerchant) as exc:
        heitje.client.pay(alice, bob.address, 100, "gift")
    assert exc.value.values == {"account": bob.address}
    assert "not a whitelisted merchant" in str(exc.value)
    assert isinstance(exc.value, PermissionError)


def test_typed_error_not_merchant_refunding(heitje: World) -> None:
    alice, bob = heitje.residents[0], heitje.residents[1]
    heitje.fund(alice, 500)
    with heitje.unchanged(), pytest.raises(NotMerchant) as exc:
        heitje.client.refund(alice, bob.address, 100, "R1")
    assert exc.value.values == {"account": alice.address}


def test_typed_error_merchant_to_merchant(heitje: World) -> None:
    shop, other = heitje.merchants[0], heitje.merchants[1]
    heitje.fund(heitje.residents[0], 500)
    heitje.client.pay(heitje.residents[0], shop.address, 500, "R1")
    with heitje.unchanged(), pytest.raises(MerchantToMerchant) as exc:
        heitje.client.refund(shop, other.address, 100, "R1")
    assert exc.value.values == {"from": shop.address, "to": other.address}


def test_typed_error_insufficient_balance_on_pay(heitje: World) -> None:
    resident, shop = heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 500)
    with heitje.unchanged(), pytest.raises(InsufficientBalance) as exc:
        heitje.client.pay(resident, shop.address, 501, "R1")
    assert exc.value.values == {"sender": resident.address, "balance": 500, "needed": 501}
    assert "EUR 5.00" in str(exc.value) and "EUR 5.01" in str(exc.value)


def test_typed_error_invalid_amount_from_the_contract(heitje: World) -> None:
    resident, shop = heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 500)
    with heitje.unchanged(), pytest.raises(InvalidAmount) as exc:
        heitje.client.transact(resident, "pay", shop.address, 0, reference32("R"))
    assert exc.value.error == "HeitjeInvalidAmount"
    assert exc.value.values == {"amount": 0}


def test_typed_errors_erc20_allowance_and_spender(heitje: World) -> None:
    c, alice, bob = heitje.client, heitje.residents[0], heitje.residents[1]
    heitje.fund(alice, 500)
    shop = heitje.merchants[0].address
    with heitje.unchanged(), pytest.raises(InsufficientAllowance) as exc:
        c.transact(bob, "transferFrom", alice.address, shop, 100)
    assert exc.value.values == {"spender": bob.address, "allowance": 0, "needed": 100}
    with heitje.unchanged(), pytest.raises(InvalidAddress) as exc2:
        c.transact(alice, "approve", ZERO, 100)
    assert exc2.value.error == "ERC20InvalidSpender"
    assert exc2.value.values == {"spender": ZERO}


# ====================================================================== redemptions


def test_redeem_and_confirm_payout(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    shop2 = heitje.merchants[1]
    heitje.fund(resident, 1000)
    c.pay(resident, shop.address, 700, "R1")
    c.pay(resident, shop2.address, 300, "R2")
    first = c.redeem(shop, 400)
    assert first == Redemption(1, shop.address, 400, False, "")
    second = c.redeem(shop2, 300)
    assert second.id == 2
    assert c.redemption_count() == 2
    assert c.balance(shop.address) == 300 and c.total_supply() == 300
    assert c.redemption(1) == first
    done = c.confirm_payout(heitje.treasurer, 1, "BANK-2024-001")
    assert done.event("RedemptionPaid").args == {
        "id": 1,
        "paymentReference": reference32("BANK-2024-001"),
    }
    assert c.redemption(1) == Redemption(1, shop.address, 400, True, "BANK-2024-001")
    assert c.redemptions() == [c.redemption(1), Redemption(2, shop2.address, 300, False, "")]
    assert c.redemptions(2) == [Redemption(2, shop2.address, 300, False, "")]
    assert c.redemptions(1, 1) == [c.redemption(1)]


def test_typed_error_redemption_already_paid(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 100)
    c.pay(resident, shop.address, 100, "R1")
    c.redeem(shop, 100)
    c.confirm_payout(heitje.treasurer, 1, "BANK-1")
    with heitje.unchanged(), pytest.raises(RedemptionAlreadyPaid) as exc:
        c.confirm_payout(heitje.treasurer, 1, "BANK-2")
    assert exc.value.values == {"id": 1, "paymentReference": reference32("BANK-1")}
    assert "'BANK-1'" in str(exc.value)
    assert c.redemption(1).payment_reference == "BANK-1"


def test_typed_error_unknown_redemption(heitje: World) -> None:
    c = heitje.client
    with heitje.unchanged(), pytest.raises(UnknownRedemption) as exc:
        c.confirm_payout(heitje.treasurer, 99, "BANK-1")
    assert exc.value.values == {"id": 99}
    with pytest.raises(UnknownRedemption) as exc2:
        c.redemption(5)  # a read: eth_call reverts with the same typed error
    assert exc2.value.values == {"id": 5}
    assert isinstance(exc2.value, LookupError)
    with pytest.raises(UnknownRedemption):
        c.redemptions(1, 2)


def test_typed_error_invalid_reference_from_the_contract(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 100)
    c.pay(resident, shop.address, 100, "R1")
    c.redeem(shop, 100)
    with heitje.unchanged(), pytest.raises(InvalidReference) as exc:
        c.transact(heitje.treasurer, "confirmPayout", 1, bytes(32))
    assert exc.value.error == "HeitjeInvalidReference"


def test_typed_error_resident_cannot_redeem(heitje: World) -> None:
    resident = heitje.residents[0]
    heitje.fund(resident, 100)
    with heitje.unchanged(), pytest.raises(NotMerchant) as exc:
        heitje.client.redeem(resident, 50)
    assert exc.value.values == {"account": resident.address}


def test_typed_error_redeem_more_than_held(heitje: World) -> None:
    shop = heitje.merchants[0]
    with heitje.unchanged(), pytest.raises(InsufficientBalance) as exc:
        heitje.client.redeem(shop, 1)
    assert exc.value.values == {"sender": shop.address, "balance": 0, "needed": 1}


# ====================================================================== recovery


def test_recover_wallet(heitje: World) -> None:
    c, lost, new = heitje.client, heitje.residents[0].address, heitje.residents[1].address
    heitje.fund(lost, 800)
    done = c.recover_wallet(heitje.recovery, lost, new)
    assert done.event("WalletRecovered").args == {
        "lost": lost,
        "replacement": new,
        "amount": 800,
    }
    carried = done.event("EarningsCarried").args
    assert carried == {"lost": lost, "replacement": new, "year": c.current_year(), "amount": 800}
    assert c.balance(lost) == 0 and c.balance(new) == 800
    assert c.is_retired(lost) and not c.is_retired(new)
    assert c.earned_this_year(new) == 800 and c.earned_this_year(lost) == 0
    assert c.room_under_cap(new) == CAP - 800
    assert c.total_supply() == 800


def test_typed_errors_after_recovery(heitje: World) -> None:
    c, lost, new = heitje.client, heitje.residents[0], heitje.residents[1].address
    heitje.fund(lost, 100)
    c.recover_wallet(heitje.recovery, lost.address, new)
    with heitje.unchanged(), pytest.raises(WalletRetired) as exc:
        c.reward_job(heitje.job_office, "late job", lost.address, 100)
    assert exc.value.values == {"account": lost.address}
    with heitje.unchanged(), pytest.raises(WalletRetired) as exc:
        c.pay(lost, heitje.merchants[0].address, 1, "R")
    assert exc.value.values == {"account": lost.address}
    with heitje.unchanged(), pytest.raises(WalletRetired) as exc:
        c.add_merchant(heitje.merchant_manager, lost.address)
    assert exc.value.values == {"account": lost.address}
    with heitje.unchanged(), pytest.raises(WalletRetired) as exc:
        c.recover_wallet(heitje.recovery, lost.address, heitje.residents[2].address)
    assert exc.value.values == {"account": lost.address}
    with heitje.unchanged(), pytest.raises(WalletRetired) as exc:
        c.recover_wallet(heitje.recovery, heitje.residents[2].address, lost.address)
    assert exc.value.values == {"account": lost.address}


def test_typed_error_replacement_in_use(heitje: World) -> None:
    c, lost, new = heitje.client, heitje.residents[0].address, heitje.residents[1].address
    heitje.fund(lost, 100)
    heitje.fund(new, 250)
    with heitje.unchanged(), pytest.raises(ReplacementInUse) as exc:
        c.recover_wallet(heitje.recovery, lost, new)
    assert exc.value.values == {"replacement": new, "balance": 250, "earned": 250}


def test_typed_error_not_resident_in_recovery(heitje: World) -> None:
    c, shop, resident = heitje.client, heitje.merchants[0].address, heitje.residents[0].address
    with heitje.unchanged(), pytest.raises(NotResident) as exc:
        c.recover_wallet(heitje.recovery, shop, resident)
    assert exc.value.values == {"account": shop}
    with heitje.unchanged(), pytest.raises(NotResident) as exc:
        c.recover_wallet(heitje.recovery, resident, shop)
    assert exc.value.values == {"account": shop}


def test_typed_error_invalid_replacement_from_the_contract(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    with heitje.unchanged(), pytest.raises(InvalidReplacement) as exc:
        c.transact(heitje.recovery, "recoverWallet", resident, resident)
    assert exc.value.values == {"replacement": resident}
    with heitje.unchanged(), pytest.raises(InvalidReplacement) as exc:
        c.transact(heitje.recovery, "recoverWallet", resident, ZERO)
    assert exc.value.values == {"replacement": ZERO}
    with heitje.unchanged(), pytest.raises(InvalidAddress) as exc2:
        c.transact(heitje.recovery, "recoverWallet", ZERO, resident)
    assert exc2.value.error == "ERC20InvalidSender"
    assert exc2.value.values == {"sender": ZERO}


# ====================================================================== budget and cap


def test_set_mint_allowance(heitje: World) -> None:
    c, minter = heitje.client, heitje.partner.address
    done = c.set_mint_allowance(heitje.admin, minter, 12345)
    assert done.event("MintAllowanceSet").args == {"minter": minter, "allowance": 12345}
    assert c.mint_allowance(minter) == 12345
    c.set_mint_allowance(heitje.admin, minter, 0)  # withdrawing a budget
    assert c.mint_allowance(minter) == 0


def test_typed_error_mint_allowance_exceeded(heitje: World) -> None:
    c, minter = heitje.client, heitje.partner
    c.set_mint_allowance(heitje.admin, minter.address, 500)
    heitje.client.reward_job(minter, "j1", heitje.residents[0].address, 200)
    with heitje.unchanged(), pytest.raises(MintAllowanceExceeded) as exc:
        c.reward_job(minter, "j2", heitje.residents[0].address, 301)
    assert exc.value.values == {"minter": minter.address, "allowance": 300, "needed": 301}
    assert "EUR 3.00" in str(exc.value) and "EUR 3.01" in str(exc.value)
    assert c.reward_job(minter, "j2", heitje.residents[0].address, 300).status == "paid"
    assert c.mint_allowance(minter.address) == 0


def test_set_yearly_cap_and_typed_error_yearly_cap_exceeded(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    heitje.fund(resident, 900)
    done = c.set_yearly_cap(heitje.admin, 1000)
    assert done.event("YearlyCapSet").args == {"cap": 1000}
    assert c.yearly_cap() == 1000
    assert c.room_under_cap(resident) == 100
    with heitje.unchanged(), pytest.raises(YearlyCapExceeded) as exc:
        c.reward_job(heitje.job_office, "j", resident, 101)
    assert exc.value.values == {"resident": resident, "earned": 900, "amount": 101, "cap": 1000}
    assert "EUR 9.00" in str(exc.value) and "EUR 10.00" in str(exc.value)
    heitje.fund(resident, 100)
    assert c.room_under_cap(resident) == 0
    c.set_yearly_cap(heitje.admin, 500)  # lowered below what was earned
    assert c.room_under_cap(resident) == 0
    with heitje.unchanged(), pytest.raises(YearlyCapExceeded) as exc:
        c.reward_job(heitje.job_office, "j2", resident, 1)
    assert exc.value.values["earned"] == 1000 and exc.value.values["cap"] == 500


def test_typed_error_invalid_amount_for_a_huge_cap(heitje: World) -> None:
    with heitje.unchanged(), pytest.raises(InvalidAmount) as exc:
        heitje.client.transact(heitje.admin, "setYearlyCap", 2**128)
    assert exc.value.values == {"amount": 2**128}


# ====================================================================== batch errors


def test_typed_error_job_already_rewarded_via_transact(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    jid = job_id("job-1")
    c.transact(heitje.job_office, "rewardJob", jid, resident, 100)
    with heitje.unchanged(), pytest.raises(JobAlreadyRewarded) as exc:
        c.transact(heitje.partner, "rewardJob", jid, resident, 100)
    assert exc.value.values == {"jobId": jid}
    assert jid.hex() in str(exc.value)
    # inside one batch as well
    with heitje.unchanged(), pytest.raises(JobAlreadyRewarded) as exc:
        j2 = job_id("job-2")
        c.transact(heitje.job_office, "rewardJobs", [j2, j2], [resident] * 2, [1, 1])
    assert exc.value.values == {"jobId": j2}


def test_typed_error_invalid_job_id_via_transact(heitje: World) -> None:
    resident = heitje.residents[0].address
    with heitje.unchanged(), pytest.raises(InvalidJobId) as exc:
        heitje.client.transact(heitje.job_office, "rewardJob", bytes(32), resident, 100)
    assert exc.value.error == "HeitjeInvalidJobId"
    assert exc.value.values == {"jobId": bytes(32)}


def test_typed_error_not_resident_on_reward(heitje: World) -> None:
    shop = heitje.merchants[0].address
    with heitje.unchanged(), pytest.raises(NotResident) as exc:
        heitje.client.reward_job(heitje.job_office, "j", shop, 100)
    assert exc.value.values == {"account": shop}


def test_typed_errors_batch_shape(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    with heitje.unchanged(), pytest.raises(LengthMismatch) as exc:
        c.transact(heitje.job_office, "rewardJobs", [job_id("a")], [resident] * 2, [1, 2, 3])
    assert exc.value.values == {"jobIds": 1, "residents": 2, "amounts": 3}
    with heitje.unchanged(), pytest.raises(EmptyBatch):
        c.transact(heitje.job_office, "rewardJobs", [], [], [])


# ====================================================================== roles and pause


def test_grant_and_revoke_role(heitje: World) -> None:
    c, someone = heitje.client, heitje.outsider.address
    done = c.grant_role(heitje.admin, "treasurer", someone)
    args = done.event("RoleGranted").args
    assert args["account"] == someone and args["role"] == keccak(text="TREASURER_ROLE")
    assert c.has_role("treasurer", someone)
    c.revoke_role(heitje.admin, "TREASURER_ROLE", someone)
    assert not c.has_role("treasurer", someone)


@pytest.mark.parametrize(
    ("who", "call", "role"),
    [
        ("outsider", lambda w, s: w.client.reward_job(s, "j", w.residents[0].address, 1), "MINTER"),
        ("job_office", lambda w, s: w.client.set_mint_allowance(s, s.address, 1), "DEFAULT_ADMIN"),
        ("job_office", lambda w, s: w.client.set_yearly_cap(s, 1), "DEFAULT_ADMIN"),
        ("treasurer", lambda w, s: w.client.pause(s), "PAUSER"),
        ("merchant_manager", lambda w, s: w.client.confirm_payout(s, 1, "B"), "TREASURER"),
        (
            "pauser",
            lambda w, s: w.client.add_merchant(s, w.residents[0].address),
            "MERCHANT_MANAGER",
        ),
        (
            "admin",
            lambda w, s: w.client.recover_wallet(s, w.residents[0].address, w.residents[1].address),
            "RECOVERY",
        ),
        ("recovery", lambda w, s: w.client.grant_role(s, "minter", s.address), "DEFAULT_ADMIN"),
        ("admin", lambda w, s: w.client.unpause(s), "PAUSER"),
    ],
)
def test_typed_error_missing_role(
    heitje: World, who: str, call: Callable[[World, Any], object], role: str
) -> None:
    signer = getattr(heitje, who)
    with heitje.unchanged(), pytest.raises(MissingRole) as exc:
        call(heitje, signer)
    needed = bytes(32) if role == "DEFAULT_ADMIN" else keccak(text=f"{role}_ROLE")
    assert exc.value.values == {"account": signer.address, "neededRole": needed}
    assert f"{role}_ROLE" in str(exc.value) and signer.address in str(exc.value)


def test_default_admin_is_not_granted_or_revoked(heitje: World) -> None:
    c = heitje.client
    with heitje.unchanged(), pytest.raises(Refused, match="two steps"):
        c.grant_role(heitje.admin, "admin", heitje.outsider.address)
    with heitje.unchanged(), pytest.raises(Refused, match="two steps"):
        c.revoke_role(heitje.admin, "admin", heitje.admin.address)
    with heitje.unchanged(), pytest.raises(AdminRuleViolation) as exc:
        c.transact(heitje.admin, "grantRole", bytes(32), heitje.outsider.address)
    assert exc.value.error == "AccessControlEnforcedDefaultAdminRules"


def test_typed_errors_admin_rules(heitje: World) -> None:
    c = heitje.client
    with heitje.unchanged(), pytest.raises(AdminRuleViolation) as exc:
        c.transact(heitje.job_office, "renounceRole", MINTER_ROLE, heitje.partner.address)
    assert exc.value.error == "AccessControlBadConfirmation"
    with heitje.unchanged(), pytest.raises(AdminRuleViolation) as exc:
        c.transact(heitje.admin, "renounceRole", bytes(32), heitje.admin.address)
    assert exc.value.error == "AccessControlEnforcedDefaultAdminDelay"
    assert exc.value.values == {"schedule": 0}
    with heitje.unchanged(), pytest.raises(InvalidAddress) as exc2:
        c.transact(heitje.outsider, "acceptDefaultAdminTransfer")
    assert exc2.value.error == "AccessControlInvalidDefaultAdmin"
    assert exc2.value.values == {"defaultAdmin": heitje.outsider.address}


def test_pause_and_unpause(heitje: World) -> None:
    c, pauser = heitje.client, heitje.pauser
    resident, shop = heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 1000)
    c.pay(resident, shop.address, 500, "R1")
    done = c.pause(pauser)
    assert done.event("Paused").args == {"account": pauser.address}
    assert c.paused() is True
    blocked: list[Callable[[], object]] = [
        lambda: c.reward_job(heitje.job_office, "j", resident.address, 1),
        lambda: c.pay(resident, shop.address, 1, "R2"),
        lambda: c.refund(shop, resident.address, 1, "R1"),
        lambda: c.redeem(shop, 1),
        lambda: c.pause(pauser),
    ]
    for operation in blocked:
        with heitje.unchanged(), pytest.raises(Paused) as exc:
            operation()
        assert exc.value.error == "EnforcedPause" and exc.value.values == {}
    # repairs still work while paused
    c.add_merchant(heitje.merchant_manager, heitje.outsider.address)
    c.recover_wallet(heitje.recovery, resident.address, heitje.residents[1].address)
    assert c.balance(heitje.residents[1].address) == 500
    done = c.unpause(pauser)
    assert done.event("Unpaused").args == {"account": pauser.address}
    assert c.paused() is False
    with heitje.unchanged(), pytest.raises(NotPaused) as exc2:
        c.unpause(pauser)
    assert exc2.value.error == "ExpectedPause"
    c.pay(heitje.residents[1], shop.address, 1, "R3")


def test_confirm_payout_while_paused(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 100)
    c.pay(resident, shop.address, 100, "R1")
    c.redeem(shop, 100)
    c.pause(heitje.pauser)
    c.confirm_payout(heitje.treasurer, 1, "BANK-9")
    assert c.redemption(1).paid


# ====================================================================== bad input, nothing sent

BAD_ADDRESSES = [
    "0x1234",
    "0x" + "zz" * 20,
    CHECKSUMMED + "00",
    CHECKSUMMED[2:],  # no 0x
    WRONG_CHECKSUM,
    ZERO,
    "",
    " " + CHECKSUMMED,
    None,
    123,
    b"\x01" * 20,
]
BAD_CENTS = [1.5, 100.0, -1, 0, True, False, None, "100", MAX_CENTS + 1]
BAD_REFERENCES = ["", "   ", "x" * 33, "€" * 11, None, 7]
BAD_REDEMPTION_IDS = [0, -1, True, 1.0, "1", None, 2**64]


def _address_cases() -> list[tuple[str, Callable[[World, Any], object]]]:
    ops: list[tuple[str, Callable[[World, Any], object]]] = [
        ("reward_job", lambda w, a: w.client.reward_job(w.job_office, "j", a, 1)),
        ("add_merchant", lambda w, a: w.client.add_merchant(w.merchant_manager, a)),
        ("remove_merchant", lambda w, a: w.client.remove_merchant(w.merchant_manager, a)),
        ("pay", lambda w, a: w.client.pay(w.residents[0], a, 1, "R")),
        ("submit_pay", lambda w, a: w.client.submit_pay(w.residents[0], a, 1, "R")),
        ("refund", lambda w, a: w.client.refund(w.merchants[0], a, 1, "R")),
        (
            "recover_lost",
            lambda w, a: w.client.recover_wallet(w.recovery, a, w.residents[1].address),
        ),
        (
            "recover_new",
            lambda w, a: w.client.recover_wallet(w.recovery, w.residents[1].address, a),
        ),
        ("set_mint_allowance", lambda w, a: w.client.set_mint_allowance(w.admin, a, 1)),
        ("grant_role", lambda w, a: w.client.grant_role(w.admin, "minter", a)),
        ("revoke_role", lambda w, a: w.client.revoke_role(w.admin, "minter", a)),
        ("balance", lambda w, a: w.client.balance(a)),
        ("earned_this_year", lambda w, a: w.client.earned_this_year(a)),
        ("room_under_cap", lambda w, a: w.client.room_under_cap(a)),
        ("mint_allowance", lambda w, a: w.client.mint_allowance(a)),
        ("is_merchant", lambda w, a: w.client.is_merchant(a)),
        ("has_role", lambda w, a: w.client.has_role("minter", a)),
    ]
    return ops


@pytest.mark.parametrize(
    ("name", "operation"), _address_cases(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_bad_addresses_refused_before_sending(
    heitje: World, name: str, operation: Callable[[World, Any], object]
) -> None:
    heitje.fund(heitje.residents[0], 100)
    with heitje.unchanged():
        for address in BAD_ADDRESSES:
            with pytest.raises(InvalidAddress) as exc:
                operation(heitje, address)
            assert isinstance(exc.value, ValueError)


def test_bad_address_messages(heitje: World) -> None:
    c = heitje.client
    with pytest.raises(InvalidAddress, match="wrong checksum"):
        c.balance(WRONG_CHECKSUM)
    with pytest.raises(InvalidAddress, match="zero address"):
        c.balance(ZERO)
    with pytest.raises(InvalidAddress, match="not an Ethereum address"):
        c.balance("0x1234")


def test_reward_jobs_bad_addresses_are_refused_rows(heitje: World) -> None:
    rows = [RewardRow(f"j{i}", a, 100) for i, a in enumerate(BAD_ADDRESSES)]  # type: ignore[arg-type]
    with heitje.unchanged():
        results = heitje.client.reward_jobs(heitje.job_office, rows)
    assert all(r.status == "refused" for r in results)
    assert all(isinstance(r.error, InvalidAddress) for r in results)


@pytest.mark.parametrize(
    ("name", "operation"),
    [
        (
            "reward_job",
            lambda w, v: w.client.reward_job(w.job_office, "j", w.residents[1].address, v),
        ),
        ("pay", lambda w, v: w.client.pay(w.residents[0], w.merchants[0].address, v, "R")),
        (
            "submit_pay",
            lambda w, v: w.client.submit_pay(w.residents[0], w.merchants[0].address, v, "R"),
        ),
        ("refund", lambda w, v: w.client.refund(w.merchants[0], w.residents[0].address, v, "R")),
        ("redeem", lambda w, v: w.client.redeem(w.merchants[0], v)),
        ("set_yearly_cap", lambda w, v: w.client.set_yearly_cap(w.admin, v)),
        (
            "set_mint_allowance",
            lambda w, v: w.client.set_mint_allowance(w.admin, w.partner.address, v),
        ),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_bad_amounts_refused_before_sending(
    heitje: World, name: str, operation: Callable[[World, Any], object]
) -> None:
    heitje.fund(heitje.residents[0], 1000)
    heitje.client.pay(heitje.residents[0], heitje.merchants[0].address, 500, "R0")
    with heitje.unchanged():
        for value in BAD_CENTS:
            if name == "set_mint_allowance" and value == 0 and not isinstance(value, bool):
                continue  # a zero budget is allowed (test_zero_budget_is_allowed)
            with pytest.raises(InvalidAmount) as exc:
                operation(heitje, value)
            assert exc.value.values["amount"] is value


def test_zero_budget_is_allowed(heitje: World) -> None:
    heitje.client.set_mint_allowance(heitje.admin, heitje.partner.address, 0)
    assert heitje.client.mint_allowance(heitje.partner.address) == 0


def test_reward_jobs_bad_amounts_are_refused_rows(heitje: World) -> None:
    resident = heitje.residents[0].address
    rows = [RewardRow(f"j{i}", resident, v) for i, v in enumerate(BAD_CENTS)]  # type: ignore[arg-type]
    with heitje.unchanged():
        results = heitje.client.reward_jobs(heitje.job_office, rows)
    assert all(r.status == "refused" for r in results)
    assert all(isinstance(r.error, InvalidAmount) for r in results)


@pytest.mark.parametrize(
    ("name", "operation"),
    [
        ("pay", lambda w, v: w.client.pay(w.residents[0], w.merchants[0].address, 1, v)),
        (
            "submit_pay",
            lambda w, v: w.client.submit_pay(w.residents[0], w.merchants[0].address, 1, v),
        ),
        ("refund", lambda w, v: w.client.refund(w.merchants[0], w.residents[0].address, 1, v)),
        ("confirm_payout", lambda w, v: w.client.confirm_payout(w.treasurer, 1, v)),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_bad_references_refused_before_sending(
    heitje: World, name: str, operation: Callable[[World, Any], object]
) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 100)
    c.pay(resident, shop.address, 50, "R0")
    c.redeem(shop, 10)
    with heitje.unchanged():
        for value in BAD_REFERENCES:
            with pytest.raises(InvalidReference) as exc:
                operation(heitje, value)
            assert isinstance(exc.value, ValueError)


def test_longest_reference_is_accepted(heitje: World) -> None:
    c, resident, shop = heitje.client, heitje.residents[0], heitje.merchants[0]
    heitje.fund(resident, 100)
    ref = "R" * 32
    assert c.pay(resident, shop.address, 1, ref).event("Payment").args["receipt"] == ref.encode()
    assert c.pay(resident, shop.address, 1, "€" * 10).event("Payment").args["receipt"] == (
        ("€" * 10).encode().ljust(32, b"\0")
    )


BAD_JOBS: list[object] = [
    "",
    "   ",
    bytes(32),
    b"short",
    b"\x01" * 33,
    123,
    None,
    bytearray(b"\x01" * 32),
]


def test_bad_job_ids_refused_before_sending(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    with heitje.unchanged():
        for job in BAD_JOBS:
            with pytest.raises(InvalidJobId):
                c.reward_job(heitje.job_office, job, resident, 100)
        for value in (bytes(32), "0x" + "00" * 32, "0x" + "zz" * 32, "0x12", 5, b"x"):
            with pytest.raises(InvalidJobId):
                c.is_rewarded(value)
        rows = [RewardRow(job, resident, 100) for job in BAD_JOBS]  # type: ignore[arg-type]
        results = c.reward_jobs(heitje.job_office, rows)
    assert all(r.status == "refused" and isinstance(r.error, InvalidJobId) for r in results)


def test_bad_redemption_ids_refused_before_sending(heitje: World) -> None:
    c = heitje.client
    with heitje.unchanged():
        for value in BAD_REDEMPTION_IDS:
            with pytest.raises(ValueError, match="not a redemption number"):
                c.confirm_payout(heitje.treasurer, value, "BANK")
            with pytest.raises(ValueError, match="not a redemption number"):
                c.redemption(value)


def test_bad_redemption_id_is_a_heitje_error(heitje: World) -> None:
    with pytest.raises(HeitjeError):
        heitje.client.confirm_payout(heitje.treasurer, 0, "BANK")


def test_unknown_role_is_a_heitje_error(heitje: World) -> None:
    with pytest.raises(HeitjeError):
        heitje.client.grant_role(heitje.admin, "superuser", heitje.outsider.address)


def test_other_bad_input_refused_before_sending(heitje: World) -> None:
    c, resident = heitje.client, heitje.residents[0].address
    with heitje.unchanged():
        for role in ("superuser", "", "minters"):
            with pytest.raises(ValueError, match="unknown role"):
                c.grant_role(heitje.admin, role, resident)
            with pytest.raises(ValueError, match="unknown role"):
                c.revoke_role(heitje.admin, role, resident)
            with pytest.raises(ValueError, match="unknown role"):
                c.has_role(role, resident)
        for year in (1969, 10000, True, "2024", 2024.0, None):
            with pytest.raises(ValueError, match="not a calendar year"):
                c.earned_in(resident, year)
        for same in (resident, resident.lower()):
            with pytest.raises(InvalidAddress, match="must differ"):
                c.recover_wallet(heitje.recovery, resident, same)


def test_client_refuses_a_bad_contract_address(heitje: World) -> None:
    for address in ("0x1234", WRONG_CHECKSUM, ZERO):
        with pytest.raises(InvalidAddress):
            HeitjeClient(heitje.rpc, address)


# ====================================================================== deployment


def test_grant_roles_grants_once(heitje: World) -> None:
    c, admin = heitje.client, heitje.admin
    new_office, new_pauser = LocalSigner.create(), LocalSigner.create()
    holders = {
        "job-office": new_office.address,
        "pauser": new_pauser.address,
        "admin": ZERO[:-1] + "1",
    }
    nonce = heitje.nonce(admin)
    assert grant_roles(c, admin, holders) == {"job-office": "minter", "pauser": "pauser"}
    assert heitje.nonce(admin) == nonce + 2
    assert c.has_role("minter", new_office.address) and c.has_role("pauser", new_pauser.address)
    with heitje.unchanged():  # every key holds its role already: nothing is sent
        assert grant_roles(c, admin, holders) == {"job-office": "minter", "pauser": "pauser"}
        with pytest.raises(ConfigError, match="own key"):
            grant_roles(c, admin, {"treasurer": new_office.address, "pauser": new_office.address})
        with pytest.raises(InvalidAddress):
            grant_roles(c, admin, {"treasurer": "0x1234"})


def test_deploy_refuses_bad_settings(heitje: World) -> None:
    with heitje.unchanged():
        for kwargs in ({"name": " "}, {"symbol": ""}, {"admin_delay": -1}, {"admin_delay": 2**48}):
            with pytest.raises(ConfigError):
                deploy(heitje.rpc, heitje.admin, **kwargs)


def test_deploy_record(heitje: World) -> None:
    d = heitje.deployment
    assert d.chain_id == heitje.rpc.chain_id()
    assert (d.name, d.symbol) == ("Heerlens Heitje", "HEITJE")
    receipt = heitje.rpc.call("eth_getTransactionReceipt", [d.tx_hash])
    assert int(receipt["blockNumber"], 16) == d.block
    assert receipt["contractAddress"].lower() == d.address.lower()
    assert heitje.client.default_admin() == heitje.admin.address
    assert heitje.rpc.code_at(d.address)
