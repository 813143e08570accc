"""Fraud signals: not failures but "look at this". A signal breaks no rule of the scheme; it
points the auditor at a pattern worth a question, names the records behind it and says the
threshold it used, so the auditor can judge it and set the threshold otherwise.

From the chain (kept during the auditor's one pass, no extra calls to the node):

- fast_cap: a resident reaches most of the yearly cap from one issuer (minter) within a few
  days of that issuer's first reward to them that year;
- refund_loops: a resident and a shop pass the same amounts back and forth (a payment, then a
  refund of exactly that amount), again and again;
- shop_overredeem: a shop redeemed more than it received in payments, net of its refunds;
- minter_cluster: an issuer's rewards go mostly to a few residents.

From the service's exports (`--claims`, `--jobs`):

- inspector_favours: one inspector approves one resident far more often than that
  inspector's share of all approvals would make expected;
- quick_approval: a job of a sizeable reward (one that takes hours) approved within minutes
  of the claim;
- own_job_approved: a job approved by the staff member who posted it.

The settings are `SignalSettings` (defaults below), given on the command line or in the
config file's `[audit]` section.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from heitje_chain.amounts import eur

DAY = 86400
#: Records kept per signal (all are counted).
SIGNAL_RECORD_LIMIT = 10_000
#: Transactions named per refund loop record.
LOOP_TXS = 10


@dataclass(frozen=True)
class SignalSettings:
    """The thresholds of the signals. Amounts in cents."""

    #: fast_cap: the share of the yearly cap one issuer paid a resident ...
    cap_fraction: float = 0.9
    #: ... within this many days of that issuer's first reward to them that year.
    cap_days: int = 60
    #: refund_loops: refunds returning an earlier payment's exact amount, per resident and shop.
    loop_count: int = 3
    #: shop_overredeem: redeemed beyond payments received net of refunds, at least (cents).
    redeem_excess: int = 1
    #: minter_cluster: the top N residents of an issuer ...
    cluster_top: int = 3
    #: ... received at least this share of its rewards ...
    cluster_share: float = 0.5
    #: ... for issuers with at least this many rewards.
    cluster_min_rewards: int = 20
    #: inspector_favours: approvals of one resident by one inspector, at least ...
    inspector_min: int = 5
    #: ... and this many times that inspector's share of all approvals.
    inspector_factor: float = 3.0
    #: quick_approval: approved within this many minutes of the claim ...
    quick_minutes: int = 30
    #: ... for jobs rewarded with at least this (cents): jobs that take hours.
    quick_min_reward: int = 10_00

    #: The settings the streaming pass depends on (a checkpoint keeps them).
    STREAM = ("cap_fraction", "cap_days")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"the signal setting {f.name} must be a number of 0 or more")
        for name in ("cap_fraction", "cluster_share"):
            if getattr(self, name) > 1:
                raise ValueError(f"the signal setting {name} is a share: between 0 and 1")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str = "") -> SignalSettings:
        """Settings from a mapping (the config file's [audit] section, or options); the
        amounts (redeem_excess, quick_min_reward) in euros there: quick_min_reward = "10.00"."""
        from heitje_chain.amounts import parse_eur

        kwargs: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, value in values.items():
            if value is None:
                continue
            if name not in types:
                raise ValueError(
                    f"{where}unknown signal setting {name!r}; known: {', '.join(cls.names())}"
                )
            if name in ("redeem_excess", "quick_min_reward"):
                if isinstance(value, bool):
                    raise ValueError(f"{where}{name} must be an amount in euros, like 10.00")
                kwargs[name] = parse_eur(str(value), f"{where}{name}", allow_zero=True)
            elif types[name] in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"{where}{name} must be a whole number, not {value!r}")
                kwargs[name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{where}{name} must be a number, not {value!r}")
                kwargs[name] = float(value)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stream(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.STREAM}


@dataclass
class Signal:
    """One signal: what it looks for, its threshold, and the records that show it."""

    name: str
    title: str
    looks_for: str
    threshold: str
    count: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: str = ""
    notes: list[str] = field(default_factory=list)

    def show(self, **record: Any) -> None:
        self.count += 1
        if len(self.records) < SIGNAL_RECORD_LIMIT:
            self.records.append(record)

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else ("look" if self.count else "quiet")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "looks_for": self.looks_for,
            "threshold": self.threshold,
            "status": self.status,
            "shown": self.count,
            "records": self.records,
            "records_listed": len(self.records),
            "notes": self.notes,
            "skipped": self.skipped,
        }


SIGNALS: dict[str, tuple[str, str]] = {
    "fast_cap": (
        "Cap reached fast from one issuer",
        "a resident earned most of the yearly cap from one issuer within a short time of that "
        "issuer's first reward to them that year",
    ),
    "refund_loops": (
        "Payment-and-refund loops",
        "a resident and a shop passing the same amounts back and forth: a payment, then a "
        "refund of exactly that amount, again and again",
    ),
    "shop_overredeem": (
        "Shop redeemed more than it received",
        "a shop that redeemed more Heitjes than it received in payments, net of the refunds "
        "it gave",
    ),
    "minter_cluster": (
        "Issuer's rewards on few residents",
        "an issuer whose rewards go mostly to a handful of residents",
    ),
    "inspector_favours": (
        "Inspector approving one resident often",
        "one inspector approving the same resident far more often than that inspector's "
        "share of all approvals makes expected (from the claims export)",
    ),
    "quick_approval": (
        "Approved within minutes of the claim",
        "a job of a reward that takes hours of work approved within minutes of the resident "
        "claiming it (from the claims export)",
    ),
    "own_job_approved": (
        "Job posted and approved by the same person",
        "a claim approved by the staff member who posted the job (from the claims and jobs "
        "exports)",
    ),
}


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def thresholds(s: SignalSettings) -> dict[str, str]:
    """Each signal's threshold in words (the numbers are in the report's settings too)."""
    return {
        "fast_cap": f"one issuer paid {_pct(s.cap_fraction)} of the cap or more within "
        f"{s.cap_days} days of its first reward to the resident that year "
        "(cap_fraction, cap_days)",
        "refund_loops": f"{s.loop_count} or more refunds returning an earlier payment's exact "
        "amount, for one resident and one shop (loop_count)",
        "shop_overredeem": f"redeemed at least {eur(s.redeem_excess)} more than the payments "
        "received minus the refunds given (redeem_excess)",
        "minter_cluster": f"the top {s.cluster_top} residents received {_pct(s.cluster_share)} "
        f"or more of an issuer's rewards, for issuers with {s.cluster_min_rewards} rewards or "
        "more (cluster_top, cluster_share, cluster_min_rewards)",
        "inspector_favours": f"{s.inspector_min} or more approvals of one resident by one "
        f"inspector, and that inspector's share of the resident's approvals at least "
        f"{s.inspector_factor:g} times the inspector's share of all approvals "
        "(inspector_min, inspector_factor)",
        "quick_approval": f"approved within {s.quick_minutes} minutes of the claim, for jobs "
        f"rewarded with {eur(s.quick_min_reward)} or more (quick_minutes, quick_min_reward)",
        "own_job_approved": "any approval by the staff member who posted the job",
    }


def new_signals(settings: SignalSettings) -> dict[str, Signal]:
    words = thresholds(settings)
    return {name: Signal(name, title, text, words[name]) for name, (title, text) in SIGNALS.items()}


# ------------------------------------------------------------------ during the pass


class SignalTracker:
    """What the on-chain signals remember during the auditor's pass. The auditor calls
    `reward`, `payment`, `refund`, `redemption` and `recovery`; `fast_cap` is judged as it
    goes (it depends on when), the others at the end (`chain_signals`)."""

    def __init__(self, settings: SignalSettings | None = None) -> None:
        self.settings = settings or SignalSettings()
        self._fraction = self.settings.cap_fraction
        self._window = self.settings.cap_days * DAY
        self.fast_cap: list[dict[str, Any]] = []
        # resident -> minter -> [year, first time, first block, first tx, cents, rewards, shown]
        self.issued: dict[str, dict[str, list[Any]]] = {}
        # resident+merchant -> [{amount: open payments}, loops, cents, payments, txs]
        self.loops: dict[str, list[Any]] = {}
        self.refunded: dict[str, int] = {}  # merchant -> cents refunded
        self.redeemed: dict[str, list[Any]] = {}  # merchant -> [cents, [redemption ids]]
        self.by_minter: dict[str, dict[str, int]] = {}  # minter -> resident -> cents
        self.rewards_of: dict[str, int] = {}  # minter -> rewards

    def reward(
        self,
        resident: str,
        minter: str,
        amount: int,
        year: int,
        cap: int,
        block: int,
        tx: str,
        log_index: int,
        timestamp: int,
    ) -> None:
        of_resident = self.issued.get(resident)
        if of_resident is None:
            of_resident = self.issued[resident] = {}
        entry = of_resident.get(minter)
        if entry is None or entry[0] != year:
            entry = of_resident[minter] = [year, timestamp, block, tx, 0, 0, False]
        entry[4] += amount
        entry[5] += 1
        if not entry[6] and entry[4] >= self._fraction * cap and cap > 0:
            if timestamp - entry[1] <= self._window:
                entry[6] = True
                self._fast(resident, minter, entry, cap, block, tx, log_index, timestamp)
        minted = self.by_minter.get(minter)
        if minted is None:
            minted = self.by_minter[minter] = {}
        minted[resident] = minted.get(resident, 0) + amount
        self.rewards_of[minter] = self.rewards_of.get(minter, 0) + 1

    def _fast(
        self,
        resident: str,
        minter: str,
        entry: list[Any],
        cap: int,
        block: int,
        tx: str,
        log_index: int,
        timestamp: int,
    ) -> None:
        if len(self.fast_cap) >= SIGNAL_RECORD_LIMIT:
            return
        days = round((timestamp - entry[1]) / DAY, 1)
        self.fast_cap.append(
            {
                "block": block,
                "tx": tx,
                "log_index": log_index,
                "resident": resident,
                "minter": minter,
                "year": entry[0],
                "earned": entry[4],
                "cap": cap,
                "rewards": entry[5],
                "days": days,
                "first_block": entry[2],
                "first_tx": entry[3],
                "problem": f"{eur(entry[4])} of the cap of {eur(cap)} in {entry[0]} from one "
                f"issuer, in {days} days",
            }
        )

    def payment(self, resident: str, merchant: str, amount: int, block: int, tx: str) -> None:
        key = resident + merchant
        entry = self.loops.get(key)
        if entry is None:
            entry = self.loops[key] = [{}, 0, 0, 0, []]
        open_payments: dict[int, int] = entry[0]
        open_payments[amount] = open_payments.get(amount, 0) + 1
        entry[3] += 1

    def refund(self, merchant: str, resident: str, amount: int, block: int, tx: str) -> None:
        self.refunded[merchant] = self.refunded.get(merchant, 0) + amount
        entry = self.loops.get(resident + merchant)
        if entry is None:
            return
        open_payments: dict[int, int] = entry[0]
        left = open_payments.get(amount, 0)
        if left:
            if left == 1:
                del open_payments[amount]
            else:
                open_payments[amount] = left - 1
            entry[1] += 1
            entry[2] += amount
            if len(entry[4]) < LOOP_TXS:
                entry[4].append([block, tx])

    def redemption(self, merchant: str, amount: int, rid: int) -> None:
        entry = self.redeemed.get(merchant)
        if entry is None:
            entry = self.redeemed[merchant] = [0, []]
        entry[0] += amount
        entry[1].append(rid)

    def recovery(self, lost: str, replacement: str, year: int) -> None:
        """This year's earnings per issuer follow the resident to the new wallet."""
        moved = self.issued.pop(lost, None)
        if moved:
            kept = {m: e for m, e in moved.items() if e[0] == year}
            if kept:
                self.issued.setdefault(replacement, {}).update(kept)

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> dict[str, Any]:
        return {
            "settings": self.settings.stream(),
            "fast_cap": self.fast_cap,
            "issued": self.issued,
            "loops": {
                k: [{str(a): n for a, n in v[0].items()}, *v[1:]] for k, v in self.loops.items()
            },
            "refunded": self.refunded,
            "redeemed": self.redeemed,
            "by_minter": self.by_minter,
            "rewards_of": self.rewards_of,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any], settings: SignalSettings) -> SignalTracker:
        saved = data["settings"]
        if saved != settings.stream():
            raise ValueError(
                "the checkpoint was made with other signal settings "
                + ", ".join(f"{k} = {v}" for k, v in saved.items())
                + "; use those, or audit from the start (without the checkpoint)"
            )
        t = cls(settings)
        t.fast_cap = data["fast_cap"]
        t.issued = data["issued"]
        t.loops = {
            k: [{int(a): n for a, n in v[0].items()}, *v[1:]] for k, v in data["loops"].items()
        }
        t.refunded = data["refunded"]
        t.redeemed = data["redeemed"]
        t.by_minter = data["by_minter"]
        t.rewards_of = data["rewards_of"]
        return t


def chain_signals(
    tracker: SignalTracker, received: dict[str, list[int]], signals: dict[str, Signal]
) -> None:
    """The on-chain signals at the end of the pass. `received`: merchant -> [payments,
    cents] (the auditor's payments per merchant)."""
    s = tracker.settings
    for record in tracker.fast_cap:
        signals["fast_cap"].show(**record)
    signals["fast_cap"].notes.append(
        f"{sum(map(len, tracker.issued.values()))} pairs of resident and issuer followed"
    )
    loops = signals["refund_loops"]
    for key, (_open, count, cents, payments, txs) in tracker.loops.items():
        if count >= s.loop_count and count > 0:
            loops.show(
                block=txs[0][0] if txs else None,
                resident=key[:42],
                merchant=key[42:],
                loops=count,
                amount=cents,
                payments=payments,
                txs=" ".join(tx for _b, tx in txs),
                problem=f"{count} payments refunded to the cent ({eur(cents)}) between one "
                "resident and one shop",
            )
    over = signals["shop_overredeem"]
    for merchant, (redeemed, ids) in tracker.redeemed.items():
        got = received.get(merchant, [0, 0])[1]
        back = tracker.refunded.get(merchant, 0)
        excess = redeemed - (got - back)
        if excess >= max(1, s.redeem_excess):
            over.show(
                merchant=merchant,
                received=got,
                refunded=back,
                redeemed=redeemed,
                excess=excess,
                redemptions=" ".join(str(i) for i in ids[:50]),
                problem=f"redeemed {eur(redeemed)}, received {eur(got)} in payments and "
                f"refunded {eur(back)}: {eur(excess)} more than it took in",
            )
    cluster = signals["minter_cluster"]
    for minter, residents in tracker.by_minter.items():
        rewards = tracker.rewards_of.get(minter, 0)
        total = sum(residents.values())
        if rewards < s.cluster_min_rewards or total <= 0 or s.cluster_top < 1:
            continue
        top = sorted(residents.items(), key=lambda kv: -kv[1])[: s.cluster_top]
        top_cents = sum(c for _r, c in top)
        share = top_cents / total
        if share >= s.cluster_share:
            from heitje_chain.audit.stream import checksum

            cluster.show(
                minter=minter,
                rewards=rewards,
                residents=len(residents),
                amount=total,
                top_amount=top_cents,
                share=round(share, 3),
                top_residents="; ".join(f"{checksum(r)} {eur(c)}" for r, c in top),
                problem=f"{_pct(share)} of the issuer's {eur(total)} went to "
                f"{len(top)} of its {len(residents)} residents",
            )


# ------------------------------------------------------------------ from the service's exports


def parse_time(text: str) -> datetime | None:
    """A time from an export (ISO 8601; without a zone it is UTC), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def export_signals(
    claims: dict[bytes, Any] | None,
    posted_by: dict[int, str] | None,
    rewarded: dict[bytes, int],
    settings: SignalSettings,
    signals: dict[str, Signal],
) -> None:
    """The signals from the service's claims (and jobs) exports; `rewarded`: job id on-chain
    -> cents, to say whether each claim named was paid."""
    s = settings
    favours, quick, own = (
        signals["inspector_favours"],
        signals["quick_approval"],
        signals["own_job_approved"],
    )
    if claims is None:
        for signal in (favours, quick, own):
            signal.skipped = "no claims export given (--claims FILE)"
        return
    approved = [row for row in claims.values() if row.status == "approved"]
    with_inspector = [row for row in approved if row.decided_by]
    if approved and not with_inspector:
        favours.skipped = own.skipped = (
            "the claims export has no decided_by column (export it again from a current service)"
        )
    if posted_by is None:
        own.skipped = own.skipped or "no jobs export given (--jobs FILE)"
    elif not posted_by:
        own.skipped = own.skipped or (
            "the jobs export has no created_by column (export it again from a current service)"
        )

    def base(row: Any) -> dict[str, Any]:
        paid = rewarded.get(row.job_id)
        return {
            "claim": row.claim,
            "job": row.job,
            "resident": row.resident,
            "inspector": row.decided_by,
            "reward": row.cents,
            "job_id": "0x" + row.job_id.hex(),
            "on_chain": paid,
            "source": row.source,
        }

    # inspector_favours
    if not favours.skipped:
        per_inspector: dict[str, int] = {}
        per_resident: dict[str, int] = {}
        pairs: dict[tuple[str, str], list[int]] = {}
        for row in with_inspector:
            per_inspector[row.decided_by] = per_inspector.get(row.decided_by, 0) + 1
            per_resident[row.resident] = per_resident.get(row.resident, 0) + 1
            pairs.setdefault((row.decided_by, row.resident), []).append(row.claim)
        total = len(with_inspector)
        for (inspector, resident), claim_ids in sorted(pairs.items()):
            count = len(claim_ids)
            overall = per_inspector[inspector] / total
            share = count / per_resident[resident]
            if count >= max(1, s.inspector_min) and share >= s.inspector_factor * overall:
                favours.show(
                    inspector=inspector,
                    resident=resident,
                    approvals=count,
                    resident_approvals=per_resident[resident],
                    share=round(share, 3),
                    inspector_share=round(overall, 3),
                    claims=" ".join(str(c) for c in claim_ids[:50]),
                    problem=f"inspector {inspector} approved {count} of resident {resident}'s "
                    f"{per_resident[resident]} approved claims ({_pct(share)}), while approving "
                    f"{_pct(overall)} of all claims",
                )
        favours.notes.append(
            f"{total} approved claims with their inspector, {len(per_inspector)} inspectors"
        )
    # quick_approval
    timed = 0
    for row in approved:
        claimed, decided = parse_time(row.claimed_at), parse_time(row.decided_at)
        if claimed is None or decided is None:
            continue
        timed += 1
        minutes = (decided - claimed).total_seconds() / 60
        if row.cents >= s.quick_min_reward and minutes <= s.quick_minutes:
            quick.show(
                **base(row),
                claimed_at=row.claimed_at,
                decided_at=row.decided_at,
                minutes=round(minutes, 1),
                problem=f"a job of {eur(row.cents)} approved {round(minutes, 1)} minutes after "
                "it was claimed",
            )
    if approved and not timed:
        quick.skipped = (
            "the claims export has no claimed_at and decided_at times (export it again from "
            "a current service)"
        )
    else:
        quick.notes.append(f"{timed} approved claims with both times")
    # own_job_approved
    if not own.skipped and posted_by:
        for row in with_inspector:
            poster = posted_by.get(row.job)
            if poster and poster == row.decided_by:
                own.show(
                    **base(row),
                    posted_by=poster,
                    decided_at=row.decided_at,
                    problem=f"staff member {poster} posted job {row.job} and approved its "
                    f"claim {row.claim}",
                )
