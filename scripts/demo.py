"""The Heitje story, played once on the embedded chain and told in plain words.

    brownie run scripts/demo.py --network <development network>

The municipality of Heerlen deploys its Heitje, gives its job office and a partner
organisation a budget, whitelists three merchants, rewards residents for neighbourhood jobs,
and the residents spend their Heitjes; a merchant redeems and the treasurer pays out; a lost
wallet is recovered. Actions the rules forbid are tried too, and shown as refused, with the
contract's reason. Every balance is checked against what the story expects, so the script
stops with an error (and brownie exits non-zero) the moment anything unexpected happens.

Amounts are integers of cents throughout (1 Heitje = EUR 1.00); never floats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from brownie import accounts, web3
from brownie.exceptions import VirtualMachineError
from brownie.network.contract import ContractTx, ProjectContract
from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address

from scripts.deploy import HeitjeRoles, Signer, deploy_heitje

JOB_OFFICE_BUDGET = 5_000_00  # cents: EUR 5,000.00
PARTNER_BUDGET = 1_000_00  # cents: EUR 1,000.00


class DemoError(RuntimeError):
    """Something happened that the story did not expect."""


# ------------------------------------------------------------------ small helpers


def eur(cents: int) -> str:
    """Format integer cents as euros: 1250 -> 'EUR 12.50', 500000 -> 'EUR 5,000.00'."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"EUR {sign}{whole:,}.{rest:02d}"


def ref32(text: str) -> bytes:
    """A short reference (receipt number, bank reference) as a bytes32: ASCII, zero-padded."""
    raw = text.encode("ascii")
    if not 0 < len(raw) <= 32:
        raise ValueError(f"reference {text!r} must be 1..32 ASCII characters")
    return raw.ljust(32, b"\0")


def text32(value: Any) -> str:
    """The text of a bytes32 reference made by `ref32`."""
    return bytes(value).rstrip(b"\0").decode("ascii", errors="replace")


def job_id(reference: str) -> bytes:
    """The on-chain job id: keccak-256 of the job's reference string (no personal data)."""
    return bytes(web3.keccak(text=reference))


def spare_accounts(count: int, first: int, funder: Signer) -> list[Signer]:
    """`count` signing accounts for merchants and residents: the local unlocked accounts from
    index `first` on, topped up with freshly generated local accounts (given a little ETH in
    case the chain charges gas) when the chain has fewer."""
    found: list[Signer] = [accounts[i] for i in range(first, min(len(accounts), first + count))]
    while len(found) < count:
        account = accounts.add()
        funder.transfer(account, "1 ether", silent=True)
        found.append(account)
    return found


# ------------------------------------------------------------------ the story's bookkeeping


class Story:
    """The deployed token, who is who, and the balances the story expects."""

    def __init__(self, token: ProjectContract, roles: HeitjeRoles) -> None:
        self.token = token
        self.roles = roles
        self.names: dict[str, str] = {}
        self.expected: dict[str, int] = {}
        self.year: int = token.currentYear()
        self.errors = self._error_abis(token.abi)

    # --- naming

    def name(self, account: Signer | str, label: str) -> None:
        self.names[to_checksum_address(str(account))] = label

    def who(self, account: Signer | str) -> str:
        address = to_checksum_address(str(account))
        return self.names.get(address, address)

    # --- transactions

    def send(self, method: ContractTx, *args: Any, sender: Signer) -> Any:
        tx = method(*args, {"from": sender}, silent=True)
        if tx.status != 1:
            raise DemoError(f"{method._name} failed: {tx.revert_msg}")
        return tx

    def refused(
        self,
        what: str,
        method: ContractTx,
        *args: Any,
        sender: Signer,
        expect: str,
    ) -> None:
        """Try an action the rules forbid; show the contract's refusal in plain words."""
        print(f"   Attempt: {what}")
        try:
            method(*args, {"from": sender}, silent=True)
        except VirtualMachineError as exc:
            name, values = self._replay_revert(method, args, sender)
            if name != expect or not str(exc.revert_msg).startswith(expect):
                raise DemoError(f"expected {expect}, the contract said: {exc.revert_msg}") from exc
            shown = ", ".join(
                f"{k}={'0x' + bytes(x).hex() if isinstance(x, bytes) else x}"
                for k, x in values.items()
            )
            message = f"{name}({shown})"
            print(f"     REFUSED. Contract says: {message}")
            print(f"     In plain words: {self.explain(name, values)}")
            return
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
            actual = self.token.balanceOf(address)
            if actual != cents:
                raise DemoError(
                    f"{self.who(address)} holds {eur(actual)}, the story expects {eur(cents)}"
                )

    def balance(self, account: Signer) -> str:
        return eur(self.token.balanceOf(account))

    # --- revert reasons

    @staticmethod
    def _error_abis(abi: Sequence[dict[str, Any]]) -> dict[bytes, tuple[str, list[str], list[str]]]:
        errors = {}
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [i["type"] for i in item["inputs"]]
            signature = f"{item['name']}({','.join(types)})"
            selector = bytes(web3.keccak(text=signature))[:4]
            errors[selector] = (item["name"], [i["name"] for i in item["inputs"]], types)
        return errors

    def _replay_revert(
        self, method: ContractTx, args: Sequence[Any], sender: Signer
    ) -> tuple[str, dict[str, Any]]:
        """Replay the refused call with eth_call to read the raw revert data, and decode the
        custom error with the token's ABI (brownie's message shows it only as text)."""
        call = {"from": str(sender.address), "to": self.token.address}
        call["data"] = method.encode_input(*args)
        response = web3.provider.make_request("eth_call", [call, "latest"])  # type: ignore[arg-type]
        error = response.get("error") or {}
        data = error.get("data")
        if isinstance(data, dict):  # some nodes nest it
            data = data.get("data")
        if not isinstance(data, str) or len(data) < 10:
            raise DemoError(f"the replayed call did not revert with an error: {response}")
        raw = bytes.fromhex(data.removeprefix("0x"))
        if raw[:4] not in self.errors:
            raise DemoError(f"unknown revert data {data}")
        name, names, types = self.errors[raw[:4]]
        return name, dict(zip(names, abi_decode(types, raw[4:]), strict=True))

    def explain(self, name: str, v: dict[str, Any]) -> str:
        w = self.who
        reasons: dict[str, Callable[[], str]] = {
            "HeitjeNotMerchant": lambda: (
                f"{w(v['account'])} is not a whitelisted merchant. Residents can spend "
                "Heitjes only at local merchants on the list, not pass them to each other."
            ),
            "HeitjeMerchantToMerchant": lambda: (
                f"{w(v['from'])} is a merchant and {w(v['to'])} is one too; merchants do not "
                "pay each other in Heitjes (they redeem with the municipality instead)."
            ),
            "HeitjeYearlyCapExceeded": lambda: (
                f"{w(v['resident'])} already earned {eur(v['earned'])} this year; "
                f"{eur(v['amount'])} more would go past the yearly cap of {eur(v['cap'])}."
            ),
            "HeitjeJobAlreadyRewarded": lambda: (
                f"job {'0x' + bytes(v['jobId']).hex()} was already paid; a job id pays out "
                "once, ever, so a retried reward cannot pay twice."
            ),
            "HeitjeMintAllowanceExceeded": lambda: (
                f"{w(v['minter'])} has {eur(v['allowance'])} of budget left, "
                f"and this reward needs {eur(v['needed'])}."
            ),
            "HeitjeWalletRetired": lambda: (
                f"{w(v['account'])} was recovered to a new wallet and is retired: "
                "it can no longer send or receive Heitjes."
            ),
        }
        explain = reasons.get(name)
        if explain is None:
            args = ", ".join(f"{k}={val}" for k, val in v.items())
            return f"{name}({args})"
        return explain()


# ------------------------------------------------------------------ the story


def main() -> None:
    print("=" * 78)
    print("'t Heerlens Heitje: one round of the community currency, on a local chain")
    print("=" * 78)

    # 1. Deployment and budgets
    token, roles = deploy_heitje(
        job_office_budget=JOB_OFFICE_BUDGET, partner_budget=PARTNER_BUDGET, silent=True
    )
    s = Story(token, roles)
    labels = {
        "admin": "Gemeente Heerlen (admin)",
        "job_office": "Job office, Gemeente Heerlen",
        "partner": "Partner organisation (welfare)",
        "merchant_manager": "Merchant manager, Gemeente Heerlen",
        "treasurer": "Treasurer, Gemeente Heerlen",
        "pauser": "Pauser, Gemeente Heerlen",
        "recovery": "Wallet recovery desk, Gemeente Heerlen",
    }
    for role, account in roles.items():
        s.name(account, labels[role])
    print(f"\n1. The municipality deploys {token.name()} ({token.symbol()}) at {token.address}.")
    print(f"   Each role has its own key; the calendar year on the chain is {s.year}.")
    for role, account in roles.items():
        print(f"   {labels[role]:<40} {account.address}")
    print(f"   Yearly earnings cap per resident: {eur(token.yearlyCap())}.")
    for minter in (roles.job_office, roles.partner):
        print(f"   Budget of the {s.who(minter)}: {eur(token.mintAllowance(minter))}.")
    if token.mintAllowance(roles.job_office) != JOB_OFFICE_BUDGET:
        raise DemoError("the job office's budget was not set")
    if token.mintAllowance(roles.partner) != PARTNER_BUDGET:
        raise DemoError("the partner's budget was not set")

    # Merchants and residents (after the seven role accounts).
    people = spare_accounts(9, first=len(labels), funder=roles.admin)
    bakery, bike_shop, greengrocer = people[0:3]
    anouk, bram, fatima, sjef, noor = people[3:8]
    fatima_new = people[8]
    s.name(bakery, "Bakkerij Schandelen")
    s.name(bike_shop, "Fietsenmaker Grasbroek")
    s.name(greengrocer, "Groenteboer Meezenbroek")
    s.name(anouk, "Anouk (Schandelen)")
    s.name(bram, "Bram (Grasbroek)")
    s.name(fatima, "Fatima (Meezenbroek)")
    s.name(sjef, "Sjef (Heerlerheide)")
    s.name(noor, "Noor (Zeswegen)")
    s.name(fatima_new, "Fatima's new wallet")

    # 2. Merchants
    print("\n2. The merchant manager whitelists three local merchants.")
    for merchant in (bakery, bike_shop, greengrocer):
        s.send(token.addMerchant, merchant, sender=roles.merchant_manager)
        if not token.isMerchant(merchant):
            raise DemoError(f"{s.who(merchant)} is not on the whitelist")
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
        jid = job_id(reference)
        tx = s.send(token.rewardJob, jid, resident, cents, sender=roles.job_office)
        event = tx.events["JobRewarded"]
        if event["resident"] != resident.address or event["amount"] != cents:
            raise DemoError(f"unexpected JobRewarded event {event}")
        s.move(None, resident, cents)
        print(f"   {eur(cents):>12} to {s.who(resident)} for job '{reference}'")
        print(f"                job id = keccak('{reference}') = 0x{jid.hex()}")
    s.check_balances()

    # 4. A batch of rewards by the partner organisation
    print("\n4. The partner organisation rewards three jobs in one batch (rewardJobs).")
    batch = [
        (f"WLZ-{s.year}-0101 helping at the food bank, Heerlerheide", sjef, 20_00),
        (f"WLZ-{s.year}-0102 walking elderly to the market, Zeswegen", noor, 12_50),
        (f"WLZ-{s.year}-0103 weeding the community garden, Schandelen", anouk, 10_00),
    ]
    tx = s.send(
        token.rewardJobs,
        [job_id(ref) for ref, _, _ in batch],
        [resident for _, resident, _ in batch],
        [cents for _, _, cents in batch],
        sender=roles.partner,
    )
    if len(tx.events["JobRewarded"]) != len(batch):
        raise DemoError("the batch did not reward every job")
    for reference, resident, cents in batch:
        s.move(None, resident, cents)
        print(f"   {eur(cents):>12} to {s.who(resident)} for job '{reference}'")
        print(f"                job id = 0x{job_id(reference).hex()}")
    print(f"   One transaction, {tx.gas_used:,} gas for {len(batch)} jobs.")
    s.check_balances()
    for minter in (roles.job_office, roles.partner):
        print(f"   Budget left to the {s.who(minter)}: {eur(token.mintAllowance(minter))}.")

    # 5. Payments
    print("\n5. Residents pay at the merchants, each payment with its receipt number.")
    payments = [
        (anouk, bakery, 6_40, "BAKKERIJ-SCH-000123", "bread and a vlaai"),
        (bram, bike_shop, 27_50, "FIETS-GB-0042", "a new chain and an inner tube"),
        (fatima, greengrocer, 8_75, "GROENTE-MZB-7781", "vegetables for the week"),
        (sjef, greengrocer, 11_20, "GROENTE-MZB-7782", "fruit and potatoes"),
        (noor, bakery, 3_95, "BAKKERIJ-SCH-000124", "a krentenbol and coffee"),
    ]
    for resident, merchant, cents, receipt, goods in payments:
        tx = s.send(token.pay, merchant, cents, ref32(receipt), sender=resident)
        event = tx.events["Payment"]
        if text32(event["receipt"]) != receipt or event["amount"] != cents:
            raise DemoError(f"unexpected Payment event {event}")
        s.move(resident, merchant, cents)
        print(
            f"   {s.who(resident):<22} pays {s.who(merchant):<24} {eur(cents):>11} "
            f"for {goods} (receipt {text32(event['receipt'])})"
        )
    s.check_balances()

    # 6. A refund
    print("\n6. A refund.")
    cents, receipt = 7_50, "FIETS-GB-0042 retour"
    tx = s.send(token.refund, bram, cents, ref32(receipt), sender=bike_shop)
    s.move(bike_shop, bram, cents)
    print(
        f"   {s.who(bike_shop)} did not need the inner tube after all and refunds "
        f"{s.who(bram)} {eur(cents)} (reference {text32(tx.events['Refund']['receipt'])})."
    )
    print(f"   {s.who(bram)} now holds {s.balance(bram)}.")
    s.check_balances()

    # 7. What the rules refuse
    print("\n7. Things the rules do not allow; the contract refuses each one.")
    s.refused(
        f"{s.who(anouk)} sends EUR 5.00 to her neighbour {s.who(bram)}",
        token.transfer,
        bram,
        5_00,
        sender=anouk,
        expect="HeitjeNotMerchant",
    )
    s.refused(
        f"{s.who(bakery)} pays {s.who(greengrocer)} EUR 10.00 in Heitjes",
        token.transfer,
        greengrocer,
        10_00,
        sender=bakery,
        expect="HeitjeMerchantToMerchant",
    )
    big_job = f"HRL-{s.year}-0004 clearing the Zeswegen allotments (whole season)"
    s.refused(
        f"the job office rewards {s.who(noor)} EUR 1,495.00 for '{big_job}'",
        token.rewardJob,
        job_id(big_job),
        noor,
        1_495_00,
        sender=roles.job_office,
        expect="HeitjeYearlyCapExceeded",
    )
    s.refused(
        f"after a crash, the job office retries the reward for '{first_job[0]}'",
        token.rewardJob,
        job_id(first_job[0]),
        first_job[1],
        first_job[2],
        sender=roles.job_office,
        expect="HeitjeJobAlreadyRewarded",
    )
    s.refused(
        "the partner organisation rewards EUR 1,000.00 for one job",
        token.rewardJob,
        job_id(f"WLZ-{s.year}-0104 one very large job"),
        sjef,
        1_000_00,
        sender=roles.partner,
        expect="HeitjeMintAllowanceExceeded",
    )
    s.check_balances()
    print("   Balances are unchanged by the refused attempts.")

    # 8. Redemption and payout
    print("\n8. A merchant redeems Heitjes for euros; the treasurer records the payout.")
    cents = token.balanceOf(greengrocer)
    tx = s.send(token.redeem, cents, sender=greengrocer)
    s.move(greengrocer, None, cents)
    redemption_id = tx.events["RedemptionRequested"]["id"]
    print(
        f"   {s.who(greengrocer)} redeems its {eur(cents)}: the Heitjes are burned, "
        f"redemption no. {redemption_id}."
    )
    bank_reference = f"SEPA NL-{s.year}-000817"
    s.send(token.confirmPayout, redemption_id, ref32(bank_reference), sender=roles.treasurer)
    merchant, amount, paid, reference = token.redemption(redemption_id)
    if merchant != greengrocer.address or amount != cents or not paid:
        raise DemoError(f"redemption {redemption_id} reads back wrong")
    print(
        f"   The {s.who(roles.treasurer)} transfers {eur(amount)} to the merchant's bank "
        f"account and records it on-chain: paid = {paid}, bank reference '{text32(reference)}'."
    )
    s.check_balances()

    # 9. Wallet recovery
    print("\n9. Fatima lost her phone; the recovery desk moves her wallet to a new one.")
    balance_before = token.balanceOf(fatima)
    earned_before = token.earnedIn(fatima, s.year)
    print(
        f"   Before: old wallet holds {eur(balance_before)}, earned {eur(earned_before)} "
        f"in {s.year}; new wallet holds {s.balance(fatima_new)}."
    )
    tx = s.send(token.recoverWallet, fatima, fatima_new, sender=roles.recovery)
    s.move(fatima, fatima_new, balance_before)
    moved = tx.events["WalletRecovered"]["amount"]
    carried = tx.events["EarningsCarried"]["amount"]
    if moved != balance_before or carried != earned_before:
        raise DemoError("the recovery moved the wrong amounts")
    if token.earnedIn(fatima_new, s.year) != earned_before or not token.isRetired(fatima):
        raise DemoError("the recovery did not carry the earnings or retire the old wallet")
    print(
        f"   After: new wallet holds {s.balance(fatima_new)} and has earned "
        f"{eur(token.earnedIn(fatima_new, s.year))} in {s.year} (so the cap cannot be reset); "
        f"the old wallet holds {s.balance(fatima)} and is retired."
    )
    s.name(fatima, "Fatima's lost wallet")
    s.refused(
        f"someone uses the lost phone to pay {s.who(bakery)} EUR 1.00",
        token.pay,
        bakery,
        1_00,
        ref32("BAKKERIJ-SCH-000125"),
        sender=fatima,
        expect="HeitjeWalletRetired",
    )
    cents, receipt = 3_00, "BAKKERIJ-SCH-000126"
    s.send(token.pay, bakery, cents, ref32(receipt), sender=fatima_new)
    s.move(fatima_new, bakery, cents)
    print(f"   With the new wallet Fatima pays {s.who(bakery)} {eur(cents)} (receipt {receipt}).")
    s.check_balances()

    # 10. The ledger
    print_ledger(s)


def print_ledger(s: Story) -> None:
    """All balances, the supply, rewards minus redemptions, and the checks that they agree."""
    token = s.token
    role_addresses = {str(account.address) for _, account in s.roles.items()}
    holders = [address for address in s.expected if address not in role_addresses]

    # Totals as an auditor reads them: from the chain's own events since the deployment.
    start = token.tx.block_number
    rewarded = token.events.get_sequence(start, event_type="JobRewarded")
    redemptions = token.events.get_sequence(start, event_type="RedemptionRequested")
    rewards = sum(e.args["amount"] for e in rewarded)
    redeemed = sum(e.args["amount"] for e in redemptions)
    ever_held = set()
    for e in token.events.get_sequence(start, event_type="Transfer"):
        ever_held.update({e.args["from"], e.args["to"]})
    ever_held.discard("0x0000000000000000000000000000000000000000")
    if ever_held - set(holders):
        raise DemoError(f"Heitjes went to accounts outside the story: {ever_held - set(holders)}")

    print("\n10. The ledger at the end of the story.")
    width = max(len(s.who(a)) for a in holders)
    rule = f"   {'-' * width}  {'-' * 42}  {'-' * 13}"
    print(f"   {'holder':<{width}}  {'address':<42}  {'balance':>13}")
    print(rule)
    total = 0
    for address in holders:
        balance = token.balanceOf(address)
        total += balance
        print(f"   {s.who(address):<{width}}  {address:<42}  {eur(balance):>13}")
    print(rule)
    supply = token.totalSupply()
    rows = [
        ("sum of balances", total),
        ("total supply", supply),
        (f"rewards ({len(rewarded)} jobs, JobRewarded events)", rewards),
        (f"redemptions ({len(redemptions)}, RedemptionRequested events)", -redeemed),
        ("rewards minus redemptions", rewards - redeemed),
    ]
    for label, cents in rows:
        print(f"   {label:<{width + 44}}  {eur(cents):>13}")

    checks = [
        (f"total supply {eur(supply)} == sum of balances {eur(total)}", supply == total),
        (
            f"total supply {eur(supply)} == rewards minus redemptions {eur(rewards - redeemed)}",
            supply == rewards - redeemed,
        ),
    ]
    print()
    for text, ok in checks:
        print(f"   Check: {text}: {'OK' if ok else 'MISMATCH'}")
    if not all(ok for _, ok in checks):
        raise DemoError("the ledger does not add up")
    print("\nThe story ran to the end as expected.")
