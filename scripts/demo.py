"""The Heitje story, played once on the embedded chain and told in plain words.

    brownie run scripts/demo.py --network <development network>

The municipality of Heerlen deploys its Heitje, gives its job office and a partner
organisation a budget, whitelists three merchants, rewards residents for neighbourhood jobs,
and the residents spend their Heitjes; a merchant redeems and the treasurer pays out; a lost
wallet is recovered. Actions the rules forbid are tried too, and shown as refused, with the
contract's reason. Every balance is checked against what the story expects, so the script
stops with an error (and brownie exits non-zero) the moment anything unexpected happens.

Every action goes through the runtime library (`heitje_chain.client.HeitjeClient`), and every
refusal arrives as the library's typed exception (`NotMerchant`, `YearlyCapExceeded`, ...),
decoded and explained by the library. Merchants and residents are anvil's dev accounts 7..15.

Amounts are integers of cents throughout (1 Heitje = EUR 1.00); never floats.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from heitje_chain.amounts import eur
from heitje_chain.client import HeitjeClient, RewardRow, job_id, text_of
from heitje_chain.errors import (
    JobAlreadyRewarded,
    MerchantToMerchant,
    MintAllowanceExceeded,
    NotMerchant,
    Refused,
    WalletRetired,
    YearlyCapExceeded,
)
from heitje_chain.keys import Signer
from heitje_chain.tx import Receipt
from scripts.deploy import HeitjeRoles, deploy_heitje, dev_signer, heitje_client, is_embedded_chain

JOB_OFFICE_BUDGET = 5_000_00  # cents: EUR 5,000.00
PARTNER_BUDGET = 1_000_00  # cents: EUR 1,000.00

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")


class DemoError(RuntimeError):
    """Something happened that the story did not expect."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoError(what)


def show(value: object) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


# ------------------------------------------------------------------ the story's bookkeeping


class Story:
    """The client, who is who, and the balances the story expects."""

    def __init__(self, client: HeitjeClient, roles: HeitjeRoles) -> None:
        self.client = client
        self.roles = roles
        self.names: dict[str, str] = {}
        self.expected: dict[str, int] = {}
        self.year: int = client.current_year()

    # --- naming

    def name(self, account: Signer, label: str) -> None:
        self.names[str(account.address)] = label

    def who(self, account: Signer | str) -> str:
        address = account if isinstance(account, str) else str(account.address)
        return self.names.get(address, address)

    def plain(self, text: str) -> str:
        """A library message with the story's names for the addresses, as a sentence."""
        text = ADDRESS.sub(lambda m: self.who(m.group(0)), text)
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")

    # --- refusals

    def refused(self, what: str, action: Callable[[], object], expect: type[Refused]) -> None:
        """Try an action the rules forbid; show the library's typed refusal in plain words."""
        print(f"   Attempt: {what}")
        try:
            action()
        except expect as exc:
            shown = ", ".join(f"{k}={show(v)}" for k, v in exc.values.items())
            print(f"     REFUSED. Contract says: {exc.error}({shown})")
            print(f"     In plain words: {self.plain(str(exc))}")
            return
        except Refused as exc:
            raise DemoError(f"expected {expect.error_name}, the library said: {exc!r}") from exc
        raise DemoError(f"the contract accepted what the rules forbid: {what}")

    # --- balances

    def move(self, frm: Signer | None, to: Signer | None, cents: int) -> None:
        if frm is not None:
            key = str(frm.address)
            self.expected[key] = self.expected.get(key, 0) - cents
        if to is not None:
            key = str(to.address)
            self.expected[key] = self.expected.get(key, 0) + cents

    def check_balances(self) -> None:
        for address, cents in self.expected.items():
            actual = self.client.balance(address)
            expect(
                actual == cents,
                f"{self.who(address)} holds {eur(actual)}, the story expects {eur(cents)}",
            )

    def balance(self, account: Signer) -> str:
        return eur(self.client.balance(str(account.address)))


# ------------------------------------------------------------------ the story


def main() -> None:
    expect(is_embedded_chain(), "the demo plays on a development network (--network anvil)")
    print("=" * 78)
    print("'t Heerlens Heitje: one round of the community currency, on a local chain")
    print("=" * 78)

    # 1. Deployment and budgets
    token, roles = deploy_heitje(
        job_office_budget=JOB_OFFICE_BUDGET, partner_budget=PARTNER_BUDGET, silent=True
    )
    client = heitje_client(token)
    s = Story(client, roles)
    labels = {
        "admin": "Gemeente Heerlen (admin)",
        "job_office": "Job office, Gemeente Heerlen",
        "partner": "Partner organisation (welfare)",
        "merchant_manager": "Merchant manager, Gemeente Heerlen",
        "treasurer": "Treasurer, Gemeente Heerlen",
        "pauser": "Pauser, Gemeente Heerlen",
        "recovery": "Wallet recovery desk, Gemeente Heerlen",
    }
    for role, signer in roles.items():
        s.name(signer, labels[role])
    print(f"\n1. The municipality deploys {client.name()} ({client.symbol()}) at {client.address}.")
    print(f"   Each role has its own key; the calendar year on the chain is {s.year}.")
    for role, signer in roles.items():
        print(f"   {labels[role]:<40} {signer.address}")
    print(f"   Yearly earnings cap per resident: {eur(client.yearly_cap())}.")
    for minter, budget in ((roles.job_office, JOB_OFFICE_BUDGET), (roles.partner, PARTNER_BUDGET)):
        allowance = client.mint_allowance(str(minter.address))
        print(f"   Budget of the {s.who(minter)}: {eur(allowance)}.")
        expect(allowance == budget, f"the budget of the {s.who(minter)} was not set")

    # Merchants and residents: anvil's dev accounts after the seven role accounts.
    people = {
        "bakery": "Bakkerij Schandelen",
        "bike_shop": "Fietsenmaker Grasbroek",
        "greengrocer": "Groenteboer Meezenbroek",
        "anouk": "Anouk (Schandelen)",
        "bram": "Bram (Grasbroek)",
        "fatima": "Fatima (Meezenbroek)",
        "sjef": "Sjef (Heerlerheide)",
        "noor": "Noor (Zeswegen)",
        "fatima_new": "Fatima's new wallet",
    }
    signers = {key: dev_signer(key) for key in people}
    for key, label in people.items():
        s.name(signers[key], label)
    bakery, bike_shop, greengrocer = signers["bakery"], signers["bike_shop"], signers["greengrocer"]
    anouk, bram, fatima = signers["anouk"], signers["bram"], signers["fatima"]
    sjef, noor, fatima_new = signers["sjef"], signers["noor"], signers["fatima_new"]

    # 2. Merchants
    print("\n2. The merchant manager whitelists three local merchants.")
    for merchant in (bakery, bike_shop, greengrocer):
        client.add_merchant(roles.merchant_manager, merchant.address)
        expect(client.is_merchant(merchant.address), f"{s.who(merchant)} is not on the whitelist")
        print(f"   + {s.who(merchant):<26} {merchant.address}")

    # 3. Rewards, one by one, by the job office
    print("\n3. The job office rewards approved neighbourhood jobs (one transaction each).")
    jobs = [
        (f"HRL-{s.year}-0001 litter picking, Schandelerboord", anouk, 25_00),
        (f"HRL-{s.year}-0002 painting playground benches, Grasbroek", bram, 40_00),
        (f"HRL-{s.year}-0003 reading to children, library Meezenbroek", fatima, 15_00),
    ]
    first_job = jobs[0]
    for reference, resident, cents in jobs:
        result = client.reward_job(roles.job_office, reference, resident.address, cents)
        event = client.find_reward(result.job_id)
        expect(
            result.status == "paid"
            and event is not None
            and event.args["resident"] == resident.address
            and event.args["amount"] == cents,
            f"unexpected reward {result} (event {event})",
        )
        s.move(None, resident, cents)
        print(f"   {eur(cents):>12} to {s.who(resident)} for job '{reference}'")
        print(f"                job id = keccak('{reference}') = 0x{result.job_id.hex()}")
    s.check_balances()

    # 4. A batch of rewards by the partner organisation
    print("\n4. The partner organisation rewards three jobs in one batch (rewardJobs).")
    batch = [
        (f"WLZ-{s.year}-0101 helping at the food bank, Heerlerheide", sjef, 20_00),
        (f"WLZ-{s.year}-0102 walking elderly to the market, Zeswegen", noor, 12_50),
        (f"WLZ-{s.year}-0103 weeding the community garden, Schandelen", anouk, 10_00),
    ]
    results = client.reward_jobs(
        roles.partner, [RewardRow(ref, resident.address, cents) for ref, resident, cents in batch]
    )
    expect(
        all(r.status == "paid" for r in results) and len({r.tx_hash for r in results}) == 1,
        f"the batch did not reward every job in one transaction: {results}",
    )
    for reference, resident, cents in batch:
        s.move(None, resident, cents)
        print(f"   {eur(cents):>12} to {s.who(resident)} for job '{reference}'")
        print(f"                job id = 0x{job_id(reference).hex()}")
    receipt = Receipt.from_rpc(client.rpc.call("eth_getTransactionReceipt", [results[0].tx_hash]))
    print(f"   One transaction, {receipt.gas_used:,} gas for {len(batch)} jobs.")
    s.check_balances()
    for minter in (roles.job_office, roles.partner):
        left = client.mint_allowance(str(minter.address))
        print(f"   Budget left to the {s.who(minter)}: {eur(left)}.")

    # 5. Payments
    print("\n5. Residents pay at the merchants, each payment with its receipt number.")
    payments = [
        (anouk, bakery, 6_40, "BAKKERIJ-SCH-000123", "bread and a vlaai"),
        (bram, bike_shop, 27_50, "FIETS-GB-0042", "a new chain and an inner tube"),
        (fatima, greengrocer, 8_75, "GROENTE-MZB-7781", "vegetables for the week"),
        (sjef, greengrocer, 11_20, "GROENTE-MZB-7782", "fruit and potatoes"),
        (noor, bakery, 3_95, "BAKKERIJ-SCH-000124", "a krentenbol and coffee"),
    ]
    for resident, merchant, cents, receipt_no, goods in payments:
        event = client.pay(resident, merchant.address, cents, receipt_no).event("Payment")
        shown_receipt = text_of(event.args["receipt"])
        expect(
            shown_receipt == receipt_no and event.args["amount"] == cents,
            f"unexpected Payment event {event}",
        )
        s.move(resident, merchant, cents)
        print(
            f"   {s.who(resident):<22} pays {s.who(merchant):<24} {eur(cents):>11} "
            f"for {goods} (receipt {shown_receipt})"
        )
    s.check_balances()

    # 6. A refund
    print("\n6. A refund.")
    cents, receipt_no = 7_50, "FIETS-GB-0042 retour"
    event = client.refund(bike_shop, bram.address, cents, receipt_no).event("Refund")
    s.move(bike_shop, bram, cents)
    print(
        f"   {s.who(bike_shop)} did not need the inner tube after all and refunds "
        f"{s.who(bram)} {eur(cents)} (reference {text_of(event.args['receipt'])})."
    )
    print(f"   {s.who(bram)} now holds {s.balance(bram)}.")
    s.check_balances()

    # 7. What the rules refuse
    print("\n7. Things the rules do not allow; the contract refuses each one.")
    s.refused(
        f"{s.who(anouk)} sends EUR 5.00 to her neighbour {s.who(bram)}",
        lambda: client.transact(anouk, "transfer", bram.address, 5_00),
        NotMerchant,
    )
    s.refused(
        f"{s.who(bakery)} pays {s.who(greengrocer)} EUR 10.00 in Heitjes",
        lambda: client.transact(bakery, "transfer", greengrocer.address, 10_00),
        MerchantToMerchant,
    )
    big_job = f"HRL-{s.year}-0004 clearing the Zeswegen allotments (whole season)"
    s.refused(
        f"the job office rewards {s.who(noor)} EUR 1,495.00 for '{big_job}'",
        lambda: client.reward_job(roles.job_office, big_job, noor.address, 1_495_00),
        YearlyCapExceeded,
    )
    reference, resident, cents = first_job
    s.refused(
        f"after a crash, the job office retries the reward for '{reference}'",
        lambda: client.transact(
            roles.job_office, "rewardJob", job_id(reference), resident.address, cents
        ),
        JobAlreadyRewarded,
    )
    retry = client.reward_job(roles.job_office, reference, resident.address, cents)
    expect(
        retry.status == "already_paid" and retry.matches_earlier is True,
        f"the library's retry was not recognised as already paid: {retry}",
    )
    print(
        "     Through heitje_chain the retry is simply reported as already paid, to "
        f"{s.who(retry.paid_to or '')}, {eur(retry.paid_cents or 0)}; nothing is sent."
    )
    s.refused(
        "the partner organisation rewards EUR 1,000.00 for one job",
        lambda: client.reward_job(
            roles.partner, f"WLZ-{s.year}-0104 one very large job", sjef.address, 1_000_00
        ),
        MintAllowanceExceeded,
    )
    s.check_balances()
    print("   Balances are unchanged by the refused attempts.")

    # 8. Redemption and payout
    print("\n8. A merchant redeems Heitjes for euros; the treasurer records the payout.")
    cents = client.balance(greengrocer.address)
    redemption = client.redeem(greengrocer, cents)
    s.move(greengrocer, None, cents)
    print(
        f"   {s.who(greengrocer)} redeems its {eur(cents)}: the Heitjes are burned, "
        f"redemption no. {redemption.id}."
    )
    bank_reference = f"SEPA NL-{s.year}-000817"
    client.confirm_payout(roles.treasurer, redemption.id, bank_reference)
    paid = client.redemption(redemption.id)
    expect(
        paid.merchant == greengrocer.address
        and paid.cents == cents
        and paid.paid
        and paid.payment_reference == bank_reference,
        f"redemption {redemption.id} reads back wrong: {paid}",
    )
    print(
        f"   The {s.who(roles.treasurer)} transfers {eur(paid.cents)} to the merchant's bank "
        f"account and records it on-chain: paid = {paid.paid}, bank reference "
        f"'{paid.payment_reference}'."
    )
    s.check_balances()

    # 9. Wallet recovery
    print("\n9. Fatima lost her phone; the recovery desk moves her wallet to a new one.")
    balance_before = client.balance(fatima.address)
    earned_before = client.earned_in(fatima.address, s.year)
    print(
        f"   Before: old wallet holds {eur(balance_before)}, earned {eur(earned_before)} "
        f"in {s.year}; new wallet holds {s.balance(fatima_new)}."
    )
    done = client.recover_wallet(roles.recovery, fatima.address, fatima_new.address)
    s.move(fatima, fatima_new, balance_before)
    expect(
        done.event("WalletRecovered").args["amount"] == balance_before
        and done.event("EarningsCarried").args["amount"] == earned_before,
        "the recovery moved the wrong amounts",
    )
    earned_new = client.earned_in(fatima_new.address, s.year)
    expect(
        earned_new == earned_before and client.is_retired(fatima.address),
        "the recovery did not carry the earnings or retire the old wallet",
    )
    print(
        f"   After: new wallet holds {s.balance(fatima_new)} and has earned "
        f"{eur(earned_new)} in {s.year} (so the cap cannot be reset); "
        f"the old wallet holds {s.balance(fatima)} and is retired."
    )
    s.name(fatima, "Fatima's old wallet")
    s.refused(
        f"someone uses the lost phone to pay {s.who(bakery)} EUR 1.00",
        lambda: client.pay(fatima, bakery.address, 1_00, "BAKKERIJ-SCH-000125"),
        WalletRetired,
    )
    cents, receipt_no = 3_00, "BAKKERIJ-SCH-000126"
    client.pay(fatima_new, bakery.address, cents, receipt_no)
    s.move(fatima_new, bakery, cents)
    print(
        f"   With the new wallet Fatima pays {s.who(bakery)} {eur(cents)} (receipt {receipt_no})."
    )
    s.check_balances()

    # 10. The ledger
    print_ledger(s)


def print_ledger(s: Story) -> None:
    """All balances, the supply, rewards minus redemptions, and the checks that they agree."""
    client = s.client
    role_addresses = {str(signer.address) for _, signer in s.roles.items()}
    holders = [address for address in s.expected if address not in role_addresses]

    # Totals as an auditor reads them: from the chain's own events since the deployment.
    ledger = client.ledger()
    totals = ledger.totals_at()
    counts = {"JobRewarded": 0, "RedemptionRequested": 0}
    for event in ledger.events(end=totals.block, names=list(counts)):
        counts[event.name] += 1
    outside = set(ledger.balances_at(totals.block)) - set(holders)
    expect(not outside, f"Heitjes went to accounts outside the story: {outside}")

    print("\n10. The ledger at the end of the story.")
    width = max(len(s.who(a)) for a in holders)
    rule = f"   {'-' * width}  {'-' * 42}  {'-' * 13}"
    print(f"   {'holder':<{width}}  {'address':<42}  {'balance':>13}")
    print(rule)
    total = 0
    for address in holders:
        balance = client.balance(address)
        total += balance
        print(f"   {s.who(address):<{width}}  {address:<42}  {eur(balance):>13}")
    print(rule)
    supply = client.total_supply()
    net = totals.rewards - totals.redemptions
    rows = [
        ("sum of balances", total),
        ("total supply", supply),
        (f"rewards ({counts['JobRewarded']} jobs, JobRewarded events)", totals.rewards),
        (
            f"redemptions ({counts['RedemptionRequested']}, RedemptionRequested events)",
            -totals.redemptions,
        ),
        ("rewards minus redemptions", net),
    ]
    for label, cents in rows:
        print(f"   {label:<{width + 44}}  {eur(cents):>13}")

    checks = [
        (f"total supply {eur(supply)} == sum of balances {eur(total)}", supply == total),
        (
            f"total supply {eur(supply)} == rewards minus redemptions {eur(net)}",
            supply == net,
        ),
        (
            f"total supply {eur(supply)} == mints minus burns in the ledger {eur(totals.supply)}",
            supply == totals.supply,
        ),
    ]
    print()
    for text, ok in checks:
        print(f"   Check: {text}: {'OK' if ok else 'MISMATCH'}")
    expect(all(ok for _, ok in checks), "the ledger does not add up")
    print("\nThe story ran to the end as expected.")
