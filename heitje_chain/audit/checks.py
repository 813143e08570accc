"""The auditor's rules: one pass over the raw logs, in chain order, keeping only the state the
rules need (balances, account status, this year's earnings per resident, job ids, open
redemptions, role holders) and naming every record that breaks a rule.

Nothing here trusts the contract: the auditor replays what the events say and checks it
against the rules of the scheme (DESIGN.md), so a faulty or compromised contract, or a
tampered ledger export, shows up as failed checks with the offending records.

A transaction's `Transfer` logs are matched with the event that explains them (`JobRewarded`,
`Payment`, `Refund`, `WalletRecovered`, `RedemptionRequested`) when the transaction ends;
only then is each transfer judged, so a wallet recovery (the one allowed move between two
residents) is told apart from a resident paying a resident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from heitje_chain.amounts import eur
from heitje_chain.artifacts import load_artifact
from heitje_chain.audit.signals import SignalSettings, SignalTracker
from heitje_chain.client import ROLE_IDS, ROLES
from heitje_chain.events import EventDecoder

ZERO = "0x" + "0" * 40
ZERO_WORD = "0x" + "0" * 64
#: Offending records kept per check (all are counted); the rest are summarised.
RECORD_LIMIT = 10_000
#: The cap a deployment starts with, if its `YearlyCapSet` is missing from the ledger.
DEFAULT_YEARLY_CAP = 1_500_00

RESIDENT, MERCHANT, FORMER, RETIRED = 0, 1, 2, 3
STATUS = ("resident", "merchant", "former merchant", "retired wallet")

_ROLE_NAME = {"0x" + rid.hex(): name for name, rid in ROLE_IDS.items()}
_CLI_ROLE = {contract: cli for cli, contract in ROLES.items()}
ADMIN = "0x" + ROLE_IDS["DEFAULT_ADMIN_ROLE"].hex()
MINTER = "0x" + ROLE_IDS["MINTER_ROLE"].hex()
MERCHANT_MANAGER = "0x" + ROLE_IDS["MERCHANT_MANAGER_ROLE"].hex()
TREASURER = "0x" + ROLE_IDS["TREASURER_ROLE"].hex()
PAUSER = "0x" + ROLE_IDS["PAUSER_ROLE"].hex()
RECOVERY = "0x" + ROLE_IDS["RECOVERY_ROLE"].hex()


def role_label(role: str) -> str:
    """'minter', 'admin', ... for a role id (hex), or the hex when unknown."""
    name = _ROLE_NAME.get(role)
    return _CLI_ROLE.get(name, name) if name else role


def topics() -> dict[str, str]:
    """Event name -> topic0 (hex) of the Heitje contract."""
    return EventDecoder(load_artifact().abi).topics


@dataclass
class Check:
    """One rule: what it verifies, and the records that break it."""

    name: str
    title: str
    verifies: str
    count: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str = ""

    def fail(self, **record: Any) -> None:
        self.count += 1
        if len(self.records) < RECORD_LIMIT:
            self.records.append(record)

    @property
    def passed(self) -> bool:
        return not self.skipped and self.count == 0

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else ("pass" if self.count == 0 else "FAIL")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "verifies": self.verifies,
            "status": self.status,
            "passed": self.passed,
            "offending": self.count,
            "records": self.records,
            "records_listed": len(self.records),
            "notes": self.notes,
            "skipped": self.skipped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        return cls(
            data["name"],
            data["title"],
            data["verifies"],
            int(data["offending"]),
            list(data["records"]),
            list(data["notes"]),
            str(data.get("skipped", "")),
        )


STREAM_CHECKS: tuple[tuple[str, str, str], ...] = (
    (
        "mints",
        "Every mint is a job reward",
        "every minted Heitje is a JobRewarded with a job id never rewarded before, sent by an "
        "account holding the minter role, within that minter's allowance in force at the "
        "time, to a resident, and not while paused",
    ),
    (
        "yearly_cap",
        "Yearly earnings cap",
        "no resident earned more than the cap in force in any calendar year (UTC); a "
        "recovered wallet's earnings count for its replacement",
    ),
    (
        "recoveries",
        "Wallet recoveries",
        "a recovery moved the lost wallet's whole balance to an unused resident wallet, "
        "carried this year's earnings along (EarningsCarried), and the lost wallet was never "
        "used again",
    ),
    (
        "payments",
        "Payments and refunds",
        "every transfer is a resident paying an address that was a merchant at that block, or "
        "a (former) merchant refunding a resident, or a recovery; no resident-to-resident or "
        "merchant-to-merchant transfer; no payment or refund while paused; no resident funds "
        "turned into merchant funds by listing a resident as a merchant",
    ),
    (
        "redemptions",
        "Redemptions and payouts",
        "every burn is a numbered redemption by a current or former merchant; redemption "
        "numbers run 1, 2, 3, ...; a payout is recorded once, for an existing redemption",
    ),
    (
        "roles",
        "Roles and admin actions",
        "every admin action (roles, budgets, cap, merchants, payouts, recoveries, pause) was "
        "sent by an account holding the role it needs at that moment",
    ),
)


@dataclass
class Transfer:
    """A `Transfer` log of the transaction being read, and what explains it."""

    frm: str
    to: str
    value: int
    frm_status: int
    to_status: int
    log_index: int
    companion: str = ""


class Auditor:
    """Feed it raw logs in chain order (`feed`); `finish` settles what waits for the end."""

    def __init__(self, settings: SignalSettings | None = None) -> None:
        self.checks: dict[str, Check] = {n: Check(n, t, v) for n, t, v in STREAM_CHECKS}
        #: what the fraud signals remember (heitje_chain.audit.signals)
        self.signals = SignalTracker(settings)
        # position
        self.block = -1
        self.timestamp = 0
        self.tx = ""
        self.log_index = 0
        self.events = 0
        self.counts: dict[str, int] = {}
        self.first_block: int | None = None
        # token
        self.balances: dict[str, int] = {}
        self.status: dict[str, int] = {}
        self.minted = 0
        self.burned = 0
        self.rewards = 0
        self.redeemed = 0
        self.paused = False
        # rewards
        self.jobs: dict[bytes, int] = {}  # job id -> cents rewarded
        self.allowance: dict[str, int] = {}
        self.minted_by: dict[str, int] = {}
        self.cap: int | None = None
        self.caps: list[dict[str, Any]] = []
        self.earned: dict[str, list[int]] = {}  # resident -> [year, cents]
        self.year_max: dict[int, list[Any]] = {}  # year -> [cents, resident, residents]
        # redemptions: id -> [merchant, cents, block, time, tx, paid block, paid time, ref]
        self.redemptions: dict[int, list[Any]] = {}
        self.redemption_count = 0
        # roles
        self.holders: dict[str, set[str]] = {}
        self.role_events: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.unresolved: list[tuple[int, str, list[str] | None]] = []  # action, role, holders
        self.admin_tx = ""  # the deployment transaction (first admin grant)
        self.scheduled_admin = ""
        # figures for the report
        self.supply_by_day: dict[int, int] = {}
        self.rewards_by_month: dict[str, int] = {}
        self.payments_by_merchant: dict[str, list[int]] = {}  # merchant -> [count, cents]
        self.refunds = [0, 0]
        self.recoveries = 0
        # the transaction being read
        self._txq: list[Transfer] = []
        self._carry: list[dict[str, Any]] = []
        self._day = -1
        self._month_cache: dict[int, tuple[int, str]] = {}
        t = topics()
        self._handlers: dict[str, Callable[[list[str], str], None]] = {
            t["Transfer"]: self._transfer,
            t["JobRewarded"]: self._job_rewarded,
            t["Payment"]: self._payment,
            t["Refund"]: self._refund,
            t["RedemptionRequested"]: self._redemption_requested,
            t["RedemptionPaid"]: self._redemption_paid,
            t["WalletRecovered"]: self._wallet_recovered,
            t["EarningsCarried"]: self._earnings_carried,
            t["MerchantAdded"]: self._merchant_added,
            t["MerchantRemoved"]: self._merchant_removed,
            t["MintAllowanceSet"]: self._allowance_set,
            t["YearlyCapSet"]: self._cap_set,
            t["Paused"]: self._paused,
            t["Unpaused"]: self._unpaused,
            t["RoleGranted"]: self._role_granted,
            t["RoleRevoked"]: self._role_revoked,
            t["RoleAdminChanged"]: self._role_admin_changed,
            t["DefaultAdminTransferScheduled"]: self._admin_scheduled,
            t["DefaultAdminTransferCanceled"]: self._admin_action("admin handover cancelled"),
            t["DefaultAdminDelayChangeScheduled"]: self._admin_action("admin delay change"),
            t["DefaultAdminDelayChangeCanceled"]: self._admin_action(
                "admin delay change cancelled"
            ),
            t["Approval"]: self._ignore,
        }
        self._names = {topic: name for name, topic in t.items()}

    # ------------------------------------------------------------------ reading

    def feed(self, logs: Iterable[dict[str, Any]]) -> None:
        """Read raw logs (JSON-RPC form) in chain order."""
        handlers = self._handlers
        counts = self.counts
        names = self._names
        for log in logs:
            tx = log["transactionHash"]
            if tx != self.tx:
                if self._txq or self._carry:
                    self._end_tx()
                self.tx = tx
                block = int(log["blockNumber"], 16)
                if block != self.block:
                    self._new_block(block, int(log["blockTimestamp"], 16))
            self.log_index = int(log["logIndex"], 16)
            topic_list = log["topics"]
            topic0 = topic_list[0].lower() if topic_list else ""
            handler = handlers.get(topic0)
            self.events += 1
            name = names.get(topic0, "unknown")
            counts[name] = counts.get(name, 0) + 1
            if handler is not None:
                handler(topic_list, log["data"])

    def _new_block(self, block: int, timestamp: int) -> None:
        if self.first_block is None:
            self.first_block = block
        day = timestamp // 86400
        if day != self._day:
            if self._day >= 0:
                self.supply_by_day[self._day] = self.minted - self.burned
            self._day = day
        self.block = block
        self.timestamp = timestamp

    def _year_month(self) -> tuple[int, str]:
        day = self.timestamp // 86400
        found = self._month_cache.get(day)
        if found is None:
            moment = datetime.fromtimestamp(day * 86400, UTC)
            found = (moment.year, f"{moment.year:04d}-{moment.month:02d}")
            self._month_cache[day] = found
        return found

    def _where(self) -> dict[str, Any]:
        return {"block": self.block, "tx": self.tx, "log_index": self.log_index}

    # ------------------------------------------------------------------ token movements

    def _transfer(self, topic: list[str], data: str) -> None:
        frm = "0x" + topic[1][26:].lower()
        to = "0x" + topic[2][26:].lower()
        value = int(data, 16)
        balances = self.balances
        status = self.status
        if frm == ZERO:
            self.minted += value
        else:
            left = balances.get(frm, 0) - value
            if left < 0:
                self.checks["payments"].fail(
                    **self._where(),
                    problem="an account sent more than it held",
                    account=frm,
                    balance=left + value,
                    amount=value,
                )
            balances[frm] = left
        if to == ZERO:
            self.burned += value
        else:
            balances[to] = balances.get(to, 0) + value
        self._txq.append(
            Transfer(frm, to, value, status.get(frm, 0), status.get(to, 0), self.log_index)
        )

    def _match(self, frm: str, to: str, value: int, kind: str, check: str) -> bool:
        """Pair an event with the not yet explained `Transfer` of its transaction."""
        for entry in reversed(self._txq):
            if not entry.companion and entry.frm == frm and entry.to == to and entry.value == value:
                entry.companion = kind
                return True
        self.checks[check].fail(
            **self._where(),
            problem=f"a {kind} event with no matching token movement in its transaction",
            **{"from": frm, "to": to, "amount": value},
        )
        return False

    def _end_tx(self) -> None:
        """Judge the transfers of the transaction just read."""
        checks = self.checks
        for t in self._txq:
            where = {"block": self.block, "tx": self.tx, "log_index": t.log_index}
            if t.frm == ZERO:
                if t.companion != "reward":
                    checks["mints"].fail(
                        **where,
                        problem="Heitjes minted without a JobRewarded event",
                        to=t.to,
                        amount=t.value,
                    )
                    self.earned.setdefault(t.to, [0, 0])  # not refunds (`_merchant_added`)
                if t.to_status != RESIDENT:
                    checks["mints"].fail(
                        **where,
                        problem=f"minted to a {STATUS[t.to_status]}, not a resident",
                        to=t.to,
                        amount=t.value,
                    )
            elif t.to == ZERO:
                if t.companion != "redemption":
                    checks["redemptions"].fail(
                        **where,
                        problem="Heitjes burned without a RedemptionRequested event",
                        account=t.frm,
                        amount=t.value,
                    )
                if t.frm_status not in (MERCHANT, FORMER):
                    checks["redemptions"].fail(
                        **where,
                        problem=f"a burn by a {STATUS[t.frm_status]}, not a (former) merchant",
                        account=t.frm,
                        amount=t.value,
                    )
            elif t.companion == "recovery":
                continue  # judged by _wallet_recovered
            else:
                self._judge_move(t, where)
        self._txq.clear()
        for carry in self._carry:
            if carry["expected"] != carry["carried"]:
                checks["recoveries"].fail(
                    block=carry["block"],
                    tx=carry["tx"],
                    log_index=carry["log_index"],
                    problem="the recovery did not carry this year's earnings along"
                    if carry["carried"] == 0
                    else "the recovery carried other earnings than the lost wallet had",
                    lost=carry["lost"],
                    replacement=carry["replacement"],
                    year=carry["year"],
                    earned=carry["expected"],
                    carried=carry["carried"],
                )
        self._carry.clear()

    def _judge_move(self, t: Transfer, where: dict[str, Any]) -> None:
        fs, ts = t.frm_status, t.to_status
        payments = self.checks["payments"]
        record = {**where, "from": t.frm, "to": t.to, "amount": t.value}
        if fs == RETIRED or ts == RETIRED:
            payments.fail(**record, problem="a retired (recovered) wallet was used")
        elif fs == RESIDENT:
            if ts == MERCHANT:
                if self.paused:
                    payments.fail(**record, problem="a payment while paused")
                stats = self.payments_by_merchant.setdefault(t.to, [0, 0])
                stats[0] += 1
                stats[1] += t.value
                self.signals.payment(t.frm, t.to, t.value, self.block, self.tx)
            elif ts == RESIDENT:
                payments.fail(**record, problem="a resident-to-resident transfer")
            else:
                payments.fail(**record, problem="a payment to a removed merchant")
        elif ts in (MERCHANT, FORMER):
            payments.fail(**record, problem="a merchant-to-merchant transfer")
        else:
            if self.paused:
                payments.fail(**record, problem="a refund while paused")
            self.refunds[0] += 1
            self.refunds[1] += t.value
            self.signals.refund(t.frm, t.to, t.value, self.block, self.tx)

    # ------------------------------------------------------------------ rewards

    def _job_rewarded(self, topic: list[str], data: str) -> None:
        job = topic[1].lower()
        resident = "0x" + topic[2][26:].lower()
        minter = "0x" + topic[3][26:].lower()
        amount = int(data, 16)
        mints = self.checks["mints"]
        self._match(ZERO, resident, amount, "reward", "mints")
        jid = bytes.fromhex(job[2:])
        record = {
            **self._where(),
            "job_id": job,
            "resident": resident,
            "minter": minter,
            "amount": amount,
        }
        if jid in self.jobs:
            mints.fail(**record, problem="a job id rewarded a second time")
        elif job == ZERO_WORD:
            mints.fail(**record, problem="a job id of zero")
        self.jobs[jid] = self.jobs.get(jid, 0) + amount
        if minter not in self.holders.get(MINTER, ()):
            mints.fail(**record, problem="rewarded by an account without the minter role")
        left = self.allowance.get(minter, 0)
        if amount > left:
            mints.fail(
                **record,
                problem=f"beyond the minter's allowance ({eur(left)} left)",
                allowance=left,
            )
        self.allowance[minter] = max(0, left - amount)
        self.minted_by[minter] = self.minted_by.get(minter, 0) + amount
        if self.paused:
            mints.fail(**record, problem="a reward while paused")
        year, month = self._year_month()
        earned = self.earned.get(resident)
        if earned is None or earned[0] != year:
            earned = [year, 0]
            self.earned[resident] = earned
        cap = DEFAULT_YEARLY_CAP if self.cap is None else self.cap
        if earned[1] + amount > cap:
            self.checks["yearly_cap"].fail(
                **self._where(),
                resident=resident,
                year=year,
                earned_before=earned[1],
                amount=amount,
                cap=cap,
                job_id=job,
                problem=f"{eur(earned[1] + amount)} earned in {year}, above the cap of {eur(cap)}",
            )
        earned[1] += amount
        self._note_year(year, earned[1], resident)
        self.signals.reward(
            resident,
            minter,
            amount,
            year,
            cap,
            self.block,
            self.tx,
            self.log_index,
            self.timestamp,
        )
        self.rewards += amount
        self.rewards_by_month[month] = self.rewards_by_month.get(month, 0) + amount

    def _note_year(self, year: int, cents: int, resident: str) -> None:
        top = self.year_max.get(year)
        if top is None:
            self.year_max[year] = [cents, resident]
        elif cents > top[0]:
            top[0], top[1] = cents, resident

    def _allowance_set(self, topic: list[str], data: str) -> None:
        minter = "0x" + topic[1][26:].lower()
        self.allowance[minter] = int(data, 16)
        self._action("minter allowance set", ADMIN, minter=minter, allowance=int(data, 16))

    def _cap_set(self, topic: list[str], data: str) -> None:
        self.cap = int(data, 16)
        self.caps.append({"block": self.block, "tx": self.tx, "cap": self.cap})
        self._action("yearly cap set", ADMIN, cap=self.cap)

    # ------------------------------------------------------------------ payments

    def _payment(self, topic: list[str], data: str) -> None:
        frm = "0x" + topic[1][26:].lower()
        merchant = "0x" + topic[2][26:].lower()
        self._match(frm, merchant, int(data[2:66], 16), "payment", "payments")

    def _refund(self, topic: list[str], data: str) -> None:
        merchant = "0x" + topic[1][26:].lower()
        to = "0x" + topic[2][26:].lower()
        self._match(merchant, to, int(data[2:66], 16), "refund", "payments")

    def _merchant_added(self, topic: list[str], data: str) -> None:
        merchant = "0x" + topic[1][26:].lower()
        before = self.status.get(merchant, RESIDENT)
        # A wallet never rewarded and never a replacement (not in `earned`) can only hold
        # refunds, which were merchant funds already: listing it is how dust refunds cannot
        # block a shop's onboarding (the contract's `addMerchant` allows it too).
        if before == RESIDENT and self.balances.get(merchant, 0) > 0 and merchant in self.earned:
            self.checks["payments"].fail(
                **self._where(),
                account=merchant,
                amount=self.balances[merchant],
                problem="a resident holding Heitjes was listed as a merchant (its resident "
                "Heitjes became redeemable)",
            )
        if before == RETIRED:
            self.checks["payments"].fail(
                **self._where(),
                account=merchant,
                amount=0,
                problem="a retired (recovered) wallet was listed as a merchant",
            )
        self.status[merchant] = MERCHANT
        self._action("merchant added", MERCHANT_MANAGER, merchant=merchant)

    def _merchant_removed(self, topic: list[str], data: str) -> None:
        merchant = "0x" + topic[1][26:].lower()
        if self.status.get(merchant, RESIDENT) == MERCHANT:
            self.status[merchant] = FORMER
        self._action("merchant removed", MERCHANT_MANAGER, merchant=merchant)

    # ------------------------------------------------------------------ recovery

    def _wallet_recovered(self, topic: list[str], data: str) -> None:
        lost = "0x" + topic[1][26:].lower()
        replacement = "0x" + topic[2][26:].lower()
        amount = int(data, 16)
        check = self.checks["recoveries"]
        record = {**self._where(), "lost": lost, "replacement": replacement, "amount": amount}
        self._match(lost, replacement, amount, "recovery", "recoveries")
        lost_status = self.status.get(lost, RESIDENT)
        new_status = self.status.get(replacement, RESIDENT)
        if lost_status != RESIDENT:
            check.fail(**record, problem=f"the lost wallet was a {STATUS[lost_status]}")
        if new_status != RESIDENT:
            check.fail(**record, problem=f"the replacement was a {STATUS[new_status]}")
        if self.balances.get(lost, 0) != 0:
            check.fail(
                **record,
                left_behind=self.balances.get(lost, 0),
                problem="part of the lost wallet's balance was left behind",
            )
        if self.balances.get(replacement, 0) != amount:
            check.fail(**record, problem="the replacement wallet was not empty")
        year, _ = self._year_month()
        lost_earned = self.earned.get(lost)
        expected = lost_earned[1] if lost_earned and lost_earned[0] == year else 0
        new_earned = self.earned.get(replacement)
        if new_earned and new_earned[0] == year and new_earned[1]:
            check.fail(
                **record,
                problem="the replacement had earnings this year already",
                earned=new_earned[1],
            )
        # The resident's earnings follow them, whatever the events say: the cap check then
        # catches a cap reset by a recovery that did not carry them.
        if expected:
            carried_to = self.earned.setdefault(replacement, [year, 0])
            if carried_to[0] != year:
                carried_to[:] = [year, 0]
            carried_to[1] += expected
            assert lost_earned is not None
            lost_earned[1] = 0
        else:
            # Its Heitjes are a resident's even with nothing to carry (see `_merchant_added`).
            self.earned.setdefault(replacement, [year, 0])
        self._carry.append(
            {
                **self._where(),
                "lost": lost,
                "replacement": replacement,
                "year": year,
                "expected": expected,
                "carried": 0,
            }
        )
        self.signals.recovery(lost, replacement, year)
        self.status[lost] = RETIRED
        self.recoveries += 1
        self._action(
            "wallet recovered", RECOVERY, lost=lost, replacement=replacement, amount=amount
        )

    def _earnings_carried(self, topic: list[str], data: str) -> None:
        lost = "0x" + topic[1][26:].lower()
        replacement = "0x" + topic[2][26:].lower()
        year = int(topic[3], 16)
        amount = int(data, 16)
        for carry in self._carry:
            if carry["lost"] == lost and carry["replacement"] == replacement:
                carry["carried"] += amount
                if year != carry["year"]:
                    carry["carried"] = -1  # the wrong year carries nothing for this one
                return
        self.checks["recoveries"].fail(
            **self._where(),
            lost=lost,
            replacement=replacement,
            year=year,
            amount=amount,
            problem="earnings carried without a wallet recovery in the same transaction",
        )

    # ------------------------------------------------------------------ redemptions

    def _redemption_requested(self, topic: list[str], data: str) -> None:
        rid = int(topic[1], 16)
        merchant = "0x" + topic[2][26:].lower()
        amount = int(data, 16)
        check = self.checks["redemptions"]
        self._match(merchant, ZERO, amount, "redemption", "redemptions")
        record = {**self._where(), "id": rid, "merchant": merchant, "amount": amount}
        if rid in self.redemptions:
            check.fail(**record, problem="a redemption number used twice")
        elif rid != self.redemption_count + 1:
            check.fail(
                **record, problem=f"redemption numbers jump from {self.redemption_count} to {rid}"
            )
        if self.paused:
            check.fail(**record, problem="a redemption while paused")
        self.redemption_count = max(self.redemption_count, rid)
        if rid not in self.redemptions:
            self.redemptions[rid] = [
                merchant,
                amount,
                self.block,
                self.timestamp,
                self.tx,
                None,
                None,
                "",
            ]
        self.redeemed += amount
        self.signals.redemption(merchant, amount, rid)

    def _redemption_paid(self, topic: list[str], data: str) -> None:
        rid = int(topic[1], 16)
        reference = bytes.fromhex(data[2:66]).rstrip(b"\0").decode("utf-8", "replace")
        check = self.checks["redemptions"]
        found = self.redemptions.get(rid)
        record = {**self._where(), "id": rid, "reference": reference}
        if found is None:
            check.fail(**record, problem="a payout of a redemption that does not exist")
        elif found[5] is not None:
            check.fail(
                **record,
                problem=f"a second payout (first at block {found[5]}, reference {found[7]!r})",
            )
        else:
            found[5], found[6], found[7] = self.block, self.timestamp, reference
        if not reference:
            check.fail(**record, problem="a payout without a bank reference")
        self._action("payout recorded", TREASURER, id=rid, reference=reference)

    # ------------------------------------------------------------------ roles and pause

    def _paused(self, topic: list[str], data: str) -> None:
        self.paused = True
        self._action("paused", PAUSER, actor="0x" + data[26:66].lower())

    def _unpaused(self, topic: list[str], data: str) -> None:
        self.paused = False
        self._action("unpaused", PAUSER, actor="0x" + data[26:66].lower())

    def _role_granted(self, topic: list[str], data: str) -> None:
        self._role_change(topic, granted=True)

    def _role_revoked(self, topic: list[str], data: str) -> None:
        self._role_change(topic, granted=False)

    def _role_change(self, topic: list[str], granted: bool) -> None:
        role = topic[1].lower()
        account = "0x" + topic[2][26:].lower()
        sender = "0x" + topic[3][26:].lower()
        holders = self.holders.setdefault(role, set())
        allowed = ""
        if role == ADMIN and granted and not self.holders.get(ADMIN) and not self.admin_tx:
            allowed = "deployment"
            self.admin_tx = self.tx
        elif role == ADMIN and self.scheduled_admin == sender:
            allowed = "admin handover accepted"
        elif not granted and sender == account:
            allowed = "renounced"
        self.role_events.append(
            {
                **self._where(),
                "role": role_label(role),
                "account": account,
                "change": "granted" if granted else "revoked",
                "by": sender,
            }
        )
        self._action(
            f"role {'granted' if granted else 'revoked'}",
            ADMIN,
            actor=sender,
            allowed=allowed,
            role=role_label(role),
            account=account,
        )
        if granted:
            holders.add(account)
        else:
            holders.discard(account)
        if role == ADMIN and granted and account == self.scheduled_admin:
            self.scheduled_admin = ""

    def _role_admin_changed(self, topic: list[str], data: str) -> None:
        self._action(
            "role's admin role changed",
            ADMIN,
            role=role_label(topic[1].lower()),
            new_admin_role=role_label(topic[3].lower()),
        )

    def _admin_scheduled(self, topic: list[str], data: str) -> None:
        self.scheduled_admin = "0x" + topic[1][26:].lower()
        self._action("admin handover scheduled", ADMIN, new_admin=self.scheduled_admin)

    def _admin_action(self, what: str) -> Callable[[list[str], str], None]:
        def handle(topic: list[str], data: str) -> None:
            if what == "admin handover cancelled":
                self.scheduled_admin = ""
            self._action(what, ADMIN)

        return handle

    def _ignore(self, topic: list[str], data: str) -> None:
        return None

    def _action(
        self, what: str, needs: str, *, actor: str = "", allowed: str = "", **details: Any
    ) -> None:
        """An admin action, to be checked against the holders of `role` at this moment (the
        sender is looked up at the end when the event does not name it)."""
        row: dict[str, Any] = {
            **self._where(),
            "action": what,
            "needs": role_label(needs),
            "by": actor,
            **details,
        }
        index = len(self.actions)
        self.actions.append(row)
        holders: list[str] | None = sorted(self.holders.get(needs, ()))
        if allowed or (self.tx == self.admin_tx and self.admin_tx):
            row["allowed"] = allowed or "deployment"
            holders = None  # allowed without the role; only who sent it is looked up
        if not actor:
            self.unresolved.append((index, needs, holders))
        elif holders is not None:
            self._judge_action(row, holders)

    def _judge_action(self, row: dict[str, Any], holders: list[str]) -> None:
        if row["by"] not in holders:
            self.checks["roles"].fail(
                **{k: row[k] for k in ("block", "tx", "log_index", "action", "by", "needs")},
                problem=f"{row['action']} by {row['by'] or 'an unknown sender'}, who did not "
                f"hold the {row['needs']} role then",
            )

    def resolve_senders(self, senders: Callable[[Iterable[str]], dict[str, str]]) -> None:
        """Look up who sent the admin actions whose events do not say, and judge them."""
        if not self.unresolved:
            return
        found = senders(self.actions[i]["tx"] for i, _, _ in self.unresolved)
        for index, _role, holders in self.unresolved:
            row = self.actions[index]
            row["by"] = found.get(row["tx"], "")
            if holders is not None:
                self._judge_action(row, holders)
        self.unresolved.clear()

    def end(self) -> None:
        """The last transaction is complete (call when the logs end, before reporting)."""
        if self._txq or self._carry:
            self._end_tx()
        if self._day >= 0:
            self.supply_by_day[self._day] = self.minted - self.burned

    # ------------------------------------------------------------------ state (checkpoints)

    _PLAIN = (
        "block",
        "timestamp",
        "tx",
        "events",
        "counts",
        "first_block",
        "balances",
        "status",
        "minted",
        "burned",
        "rewards",
        "redeemed",
        "paused",
        "allowance",
        "minted_by",
        "cap",
        "caps",
        "earned",
        "redemption_count",
        "role_events",
        "actions",
        "admin_tx",
        "scheduled_admin",
        "rewards_by_month",
        "payments_by_merchant",
        "refunds",
        "recoveries",
        "_day",
    )

    def state(self) -> dict[str, Any]:
        """Everything needed to carry on after the last block read (JSON-ready)."""
        if self._txq or self._carry or self.unresolved:
            raise RuntimeError("finish the transaction and resolve senders before saving")
        data = {name: getattr(self, name) for name in self._PLAIN}
        data["jobs"] = {k.hex(): v for k, v in self.jobs.items()}
        data["year_max"] = {str(k): v for k, v in self.year_max.items()}
        data["redemptions"] = {str(k): v for k, v in self.redemptions.items()}
        data["holders"] = {k: sorted(v) for k, v in self.holders.items()}
        data["supply_by_day"] = {str(k): v for k, v in self.supply_by_day.items()}
        data["checks"] = [c.to_dict() for c in self.checks.values()]
        data["signals"] = self.signals.state()
        return data

    @classmethod
    def from_state(cls, data: dict[str, Any], settings: SignalSettings | None = None) -> Auditor:
        settings = settings or SignalSettings()
        auditor = cls(settings)
        for name in cls._PLAIN:
            setattr(auditor, name, data[name])
        auditor.jobs = {bytes.fromhex(k): v for k, v in data["jobs"].items()}
        auditor.year_max = {int(k): v for k, v in data["year_max"].items()}
        auditor.redemptions = {int(k): v for k, v in data["redemptions"].items()}
        auditor.holders = {k: set(v) for k, v in data["holders"].items()}
        auditor.supply_by_day = {int(k): v for k, v in data["supply_by_day"].items()}
        auditor.checks = {c["name"]: Check.from_dict(c) for c in data["checks"]}
        auditor.signals = SignalTracker.from_state(data["signals"], settings)
        return auditor
