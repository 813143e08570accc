"""Gas of Heitje's operations next to a plain OpenZeppelin ERC-20 (contracts/test/PlainToken.sol).

    brownie run scripts/gas_benchmark.py --network <development network>

Both tokens are deployed in the same run and every figure is the gasUsed of a transaction
receipt (intrinsic 21,000 and calldata included, as a user pays it). Each pair is measured in
the same storage situation: total supply already non-zero, the sender keeping a balance, the
recipient fresh or not as the row says. The target (from the issue) is each Heitje operation
within 1.3x of its plain counterpart, the one extra storage write for the job id aside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from brownie import PlainToken, accounts, web3
from brownie.network.account import Account
from brownie.network.contract import ProjectContract
from eth_utils import to_checksum_address

from heitje_chain.amounts import MAX_CENTS
from scripts.deploy import deploy_heitje

Signer: TypeAlias = Account

TARGET = 1.3
NEW_SLOT = 22_100  # SSTORE zero -> non-zero (20,000) on a cold slot (2,100), EIP-2929/2200
AMOUNT = 10_00  # EUR 10.00 per reward or mint
SMALL = 1_00  # EUR 1.00 per payment, transfer, redemption or burn
BATCH_SIZES = (10, 100)


@dataclass(frozen=True)
class Row:
    operation: str
    heitje: int  # gasUsed (per job for batches)
    plain: int
    inherent: int  # gas of the new storage slots the rules need and a plain token lacks
    job_id_write: int  # the part of `inherent` that is the job-id write (the exception)

    @property
    def ratio(self) -> float:
        return self.heitje / self.plain

    @property
    def ratio_without_inherent(self) -> float:
        return (self.heitje - self.inherent) / self.plain

    @property
    def ratio_without_job_id(self) -> float:
        return (self.heitje - self.job_id_write) / self.plain


class BenchmarkError(RuntimeError):
    """A measurement was not taken in the storage situation its row claims."""


def require(condition: bool, what: str) -> None:
    if not condition:
        raise BenchmarkError(what)


def fresh_address(label: str) -> str:
    """A deterministic address nobody has used: the last 20 bytes of keccak(label)."""
    return to_checksum_address(bytes(web3.keccak(text=f"heitje-gas-benchmark {label}"))[12:])


def job(label: str) -> bytes:
    return bytes(web3.keccak(text=f"heitje-gas-benchmark job {label}"))


class Bench:
    def __init__(self) -> None:
        # Deployed through heitje_chain; measured with brownie's contract object and accounts
        # (the role keys are fresh; anvil impersonates them for brownie: accounts.at(force=True)).
        self.token, roles = deploy_heitje(job_office_budget=MAX_CENTS, silent=True)
        self.plain: ProjectContract = PlainToken.deploy({"from": accounts[0]}, silent=True)
        self.minter: Signer = accounts.at(roles.job_office.address, force=True)
        self.merchant_manager: Signer = accounts.at(roles.merchant_manager.address, force=True)
        self.jobs = 0
        self.fresh = 0

    def next_job(self) -> bytes:
        self.jobs += 1
        return job(str(self.jobs))

    def next_fresh(self) -> str:
        self.fresh += 1
        address = fresh_address(str(self.fresh))
        require(
            self.token.balanceOf(address) == 0 and self.plain.balanceOf(address) == 0,
            f"{address} is not fresh",
        )
        return address

    def reward(self, resident: Signer | str, amount: int = AMOUNT) -> int:
        tx = self.token.rewardJob(
            self.next_job(), resident, amount, {"from": self.minter}, silent=True
        )
        return int(tx.gas_used)

    def mint(self, to: Signer | str, amount: int = AMOUNT) -> int:
        tx = self.plain.mint(to, amount, {"from": accounts[0]}, silent=True)
        return int(tx.gas_used)


def measure() -> tuple[list[Row], dict[str, int]]:
    b = Bench()
    token, plain = b.token, b.plain
    # Signing accounts after the seven role accounts.
    resident, holder, merchant = accounts[7], accounts[8], accounts[9]
    year = token.currentYear()

    # Warm-up: total supply non-zero in both tokens; a first redemption, so the counter is
    # non-zero (the steady state); a merchant and a plain holder with a balance.
    token.addMerchant(merchant, {"from": b.merchant_manager}, silent=True)
    b.reward(fresh_address("warm-up resident"))
    b.mint(fresh_address("warm-up holder"))
    b.reward(resident, 100_00)
    b.mint(holder, 100_00)
    token.pay(merchant, 50_00, b"\x01" * 32, {"from": resident}, silent=True)
    plain_merchant = fresh_address("plain merchant")
    plain.transfer(plain_merchant, 50_00, {"from": holder}, silent=True)
    token.redeem(SMALL, {"from": merchant}, silent=True)

    rows: list[Row] = []

    # Rewards vs mint, to a fresh address.
    to_heitje, to_plain = b.next_fresh(), b.next_fresh()
    heitje_gas = b.reward(to_heitje)
    plain_fresh = b.mint(to_plain)
    rows.append(
        Row(
            "rewardJob vs mint, to a fresh address",
            heitje_gas,
            plain_fresh,
            2 * NEW_SLOT,  # job id + new year-earnings slot
            NEW_SLOT,
        )
    )

    # Rewards vs mint, to an address that has a balance (Heitje: second reward this year).
    require(
        token.earnedIn(to_heitje, year) == AMOUNT and plain.balanceOf(to_plain) == AMOUNT,
        "the second reward / mint does not go to a holder",
    )
    rows.append(
        Row(
            "rewardJob vs mint, to a holder (2nd reward in year)",
            b.reward(to_heitje),
            b.mint(to_plain),
            NEW_SLOT,  # job id; the earnings slot exists already
            NEW_SLOT,
        )
    )

    # Payments vs transfers, to a merchant / address that already has a balance.
    receipt = bytes(web3.keccak(text="receipt BAKKERIJ-SCH-000123"))
    require(
        token.balanceOf(merchant) > 0 and plain.balanceOf(plain_merchant) > 0,
        "the merchant / plain recipient holds nothing",
    )
    pay = token.pay(merchant, SMALL, receipt, {"from": resident}, silent=True)
    transfer = plain.transfer(plain_merchant, SMALL, {"from": holder}, silent=True)
    rows.append(
        Row("pay vs transfer, to a merchant with a balance", pay.gas_used, transfer.gas_used, 0, 0)
    )

    # ... and to a fresh one (Heitje: whitelisted, but no balance yet).
    new_merchant, new_plain = b.next_fresh(), b.next_fresh()
    token.addMerchant(new_merchant, {"from": b.merchant_manager}, silent=True)
    pay = token.pay(new_merchant, SMALL, receipt, {"from": resident}, silent=True)
    transfer = plain.transfer(new_plain, SMALL, {"from": holder}, silent=True)
    rows.append(
        Row("pay vs transfer, to a fresh merchant/address", pay.gas_used, transfer.gas_used, 0, 0)
    )

    # A wallet's own payment: the plain ERC-20 `transfer` to a merchant with a balance, and
    # `transferFrom` by an approved spender (the allowance left non-zero in both tokens).
    transfer_h = token.transfer(merchant, SMALL, {"from": resident}, silent=True)
    transfer_p = plain.transfer(plain_merchant, SMALL, {"from": holder}, silent=True)
    rows.append(
        Row(
            "transfer vs transfer, to a merchant with a balance",
            transfer_h.gas_used,
            transfer_p.gas_used,
            0,
            0,
        )
    )
    spender = accounts[10]
    token.approve(spender, 10 * SMALL, {"from": resident}, silent=True)
    plain.approve(spender, 10 * SMALL, {"from": holder}, silent=True)
    pulled_h = token.transferFrom(resident, merchant, SMALL, {"from": spender}, silent=True)
    pulled_p = plain.transferFrom(holder, plain_merchant, SMALL, {"from": spender}, silent=True)
    require(
        token.allowance(resident, spender) > 0 and plain.allowance(holder, spender) > 0,
        "the allowance was used up",
    )
    rows.append(
        Row(
            "transferFrom vs transferFrom, to a merchant (spender)",
            pulled_h.gas_used,
            pulled_p.gas_used,
            0,
            0,
        )
    )

    # Redemption vs burn: part of a balance, not the first redemption.
    require(token.redemptionCount() >= 1, "no earlier redemption")
    require(
        token.balanceOf(merchant) > SMALL and plain.balanceOf(holder) > SMALL,
        "the redeemer / burner would not keep a balance",
    )
    redeem = token.redeem(SMALL, {"from": merchant}, silent=True)
    burn = plain.burn(SMALL, {"from": holder}, silent=True)
    rows.append(
        Row(
            "redeem vs burn (not the first redemption)",
            redeem.gas_used,
            burn.gas_used,
            NEW_SLOT,  # the redemption record
            0,
        )
    )

    # Batches, each job to a fresh resident, per job, against one mint to a fresh address.
    for size in BATCH_SIZES:
        residents = [b.next_fresh() for _ in range(size)]
        tx = token.rewardJobs(
            [b.next_job() for _ in range(size)],
            residents,
            [AMOUNT] * size,
            {"from": b.minter},
            silent=True,
        )
        require(len(tx.events["JobRewarded"]) == size, "the batch did not reward every job")
        rows.append(
            Row(
                f"rewardJobs, batch of {size}, per job vs mint (fresh)",
                (tx.gas_used + size // 2) // size,  # per job, rounded
                plain_fresh,
                2 * NEW_SLOT,  # job id + new year-earnings slot, per job
                NEW_SLOT,
            )
        )

    deployments = {
        "Heitje": int(token.tx.gas_used),
        "PlainToken": int(plain.tx.gas_used),
    }
    return rows, deployments


def print_table(rows: list[Row], deployments: dict[str, int]) -> None:
    width = max(len(r.operation) for r in rows)
    header = (
        f"{'operation':<{width}}  {'Heitje gas':>10}  {'plain gas':>9}  {'ratio':>5}  "
        f"{'inherent':>8}  {'ratio without inherent writes':>29}  {'vs 1.3x':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        verdict = "PASS" if r.ratio_without_inherent <= TARGET else "MISS"
        marks = "*" if r.inherent else ""
        print(
            f"{r.operation:<{width}}  {r.heitje:>10,}  {r.plain:>9,}  {r.ratio:>5.2f}  "
            f"{r.inherent:>7,}{marks:1}  {r.ratio_without_inherent:>29.2f}  {verdict:>7}"
        )
    print("-" * len(header))
    print(
        "* 'inherent' is the gas of storage writes the rules need and a plain token does not\n"
        f"  have, each a new storage slot at {NEW_SLOT:,} gas (SSTORE zero -> non-zero, 20,000,\n"
        "  plus the cold-slot access, 2,100), subtracted from the Heitje figure:\n"
        "    rewards:  the job-id write (22,100), plus the per-year earnings slot when it is\n"
        "              new (22,100: first reward of a resident in a year); a second reward in\n"
        "              the same year updates an existing earnings slot, which is NOT subtracted;\n"
        "    redeem:   the redemption record, one new slot (22,100); the redemption counter\n"
        "              update (an existing slot) is NOT subtracted.\n"
        "  Nothing else is subtracted: the role check, the budget (mint allowance) update, the\n"
        "  account-status and pause reads, the extra events (JobRewarded, Payment,\n"
        "  RedemptionRequested) and the extra calldata (job id, receipt) all count.\n"
        "  Batches: gasUsed of one rewardJobs transaction divided by the number of jobs\n"
        "  (one 21,000 intrinsic cost shared), against one plain mint to a fresh address.\n"
        f"  PASS/MISS: 'ratio without inherent writes' against {TARGET}x."
    )
    print()
    print("Issue target read strictly (only the job-id write set aside):")
    for r in rows:
        verdict = "PASS" if r.ratio_without_job_id <= TARGET else "MISS"
        print(f"  {r.operation:<{width}}  {r.ratio_without_job_id:>5.2f}  {verdict}")
    print()
    print(
        "Deployment gas (information): "
        + ", ".join(f"{name} {gas:,}" for name, gas in deployments.items())
    )


def main() -> None:
    rows, deployments = measure()
    print()
    print_table(rows, deployments)
