"""The reward worker: drives approved rewards from the outbox (`rewards` table) to the chain.

Approval writes the claim's new state and its reward row in one database transaction; this
worker then pays pending rewards in batches. The on-chain job id is the hash of the reward's
reference, so a reward sent twice (a crash after the chain took it and before the database
noted it, two workers, a retry after a timeout) is paid once: the second attempt is reported
as already paid and the row is marked paid.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select

from api.chain import ChainAccess
from api.db import Database
from api.models import Reward, now
from api.payment_index import PaymentIndex
from api.payouts import send_payouts
from api.reconcile import Reconciler
from api.routes.jobs import expire_claims
from api.settle import locked, settle_after, settle_stale
from heitje_chain.client import RewardRow
from heitje_chain.errors import (
    ChainUnavailable,
    MintAllowanceExceeded,
    MissingRole,
    Paused,
    TransactionFailed,
    WalletRetired,
)

log = logging.getLogger(__name__)

#: Refusals that staff can lift (raise the budget, unpause, grant the issuer its minter role,
#: finish a wallet recovery, which points the pending reward at the new wallet), and a chain
#: that did not answer: retried later, with the reason shown. Every other refusal (the yearly
#: cap, an address that is not a resident's, a job id paid to someone else) is final.
WAIT_FOR_STAFF: tuple[type[Exception], ...] = (
    Paused, MintAllowanceExceeded, MissingRole, WalletRetired, TransactionFailed, ChainUnavailable,
)  # fmt: skip


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** min(attempts, 12), 3600))


class RewardWorker:
    """Pays pending rewards every `interval` seconds, each issuer on its own (one issuer's
    refusal never holds up another's), and indexes the payments made from residents' own
    wallets in the new blocks (api.payment_index), so the till shows them within seconds.
    Every `settle_interval` seconds it also settles payments and refunds left `sending`
    (api.settle) and sends payouts waiting to be sent (api.payouts); every
    `reconcile_interval` seconds, and first at start-up, it checks the database against the
    chain (api.reconcile). Each of these runs whatever the others did."""

    settle_interval = 30.0

    def __init__(self, db: Database, chain: ChainAccess, interval: float = 1.0) -> None:
        self.db = db
        self.chain = chain
        self.interval = interval
        self.reconciler = Reconciler(db, chain)
        self.payment_index = PaymentIndex(db, chain)
        self.reconcile_interval = chain.settings.reconcile_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, limit: int = 500) -> int:
        """Pay up to `limit` due rewards; returns how many were settled (paid or refused)."""
        with self.db.session() as session:
            due = session.scalars(
                select(Reward)
                .where(Reward.status == "pending")
                .where(or_(Reward.next_attempt_at.is_(None), Reward.next_attempt_at <= now()))
                .order_by(Reward.id)
                .limit(limit)
            ).all()
            work = [(r.id, r.reference, r.resident_address, r.cents, r.issuer_key) for r in due]
        if not work:
            return 0
        by_issuer: dict[str, list[tuple[int, str, str, int]]] = defaultdict(list)
        for rid, reference, address, cents, key in work:
            by_issuer[key].append((rid, reference, address, cents))
        settled = 0
        for key, rows in by_issuer.items():
            try:
                settled += self._pay(key, rows)
            except Exception as exc:  # this issuer's rewards wait; the others go on
                log.exception("rewards of %s not sent; trying again later", key)
                self._postpone([rid for rid, *_ in rows], f"not sent yet: {exc}")
        return settled

    def _pay(self, key: str, rows: list[tuple[int, str, str, int]]) -> int:
        try:
            signer = self.chain.role_signer(key)
            results = self.chain.client.reward_jobs(
                signer,
                [RewardRow(reference, address, cents) for _, reference, address, cents in rows],
            )
        except Exception as exc:
            log.warning("rewards of %s not sent (%s); trying again later", key, exc)
            self._postpone([rid for rid, *_ in rows], str(exc))
            return 0
        if os.environ.get("HEITJE_API_FAULT") == "exit-after-mint":
            # Fault injection for the crash tests: die after the chain took the rewards and
            # before the database notes them (never set in normal operation).
            log.error("HEITJE_API_FAULT=exit-after-mint: exiting now")
            os._exit(70)
        settled = 0
        with self.db.session(write=True) as session:
            for (rid, *_), result in zip(rows, results, strict=True):
                # read afresh and locked (PostgreSQL): another process's reconciler may have
                # put it back to pending, or another worker noted it, while it was sent
                reward = locked(session, Reward, rid)
                if reward is None or reward.status != "pending":
                    continue
                reward.attempts += 1
                if result.tx_hash is not None and (
                    result.status == "paid"
                    or (result.status == "already_paid" and result.matches_earlier)
                ):  # paid, and the chain says in which transaction
                    reward.status, reward.tx_hash, reward.paid_at = "paid", result.tx_hash, now()
                    reward.block_number, reward.block_hash, reward.final = (
                        result.block_number,
                        None,
                        False,
                    )
                    reward.last_error = None
                    settled += 1
                elif isinstance(result.error, WAIT_FOR_STAFF) or (
                    result.error is None and result.status == "refused"
                ):
                    reward.last_error = result.reason
                    reward.next_attempt_at = now() + backoff(reward.attempts)
                else:
                    reward.status, reward.last_error = "refused", result.reason
                    settled += 1
        return settled

    def _postpone(self, ids: list[int], reason: str) -> None:
        with self.db.session(write=True) as session:
            for rid in ids:
                reward = session.get(Reward, rid)
                if reward is not None and reward.status == "pending":
                    reward.attempts += 1
                    reward.last_error = reason
                    reward.next_attempt_at = now() + backoff(reward.attempts)

    # ------------------------------------------------------------------ background thread

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="reward-worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        settled_at = reconciled_at = -1e9  # both run in the first round, at start-up
        while not self._stop.is_set():
            busy = self._step("paying rewards", self.run_once)
            busy += self._step("indexing payments from own wallets", self.payment_index.run)
            if time.monotonic() - reconciled_at >= self.reconcile_interval:
                reconciled_at = time.monotonic()
                self._step(
                    "reconciling with the chain", lambda: len(self.reconciler.run().repaired)
                )
            if time.monotonic() - settled_at >= self.settle_interval:
                settled_at = time.monotonic()
                self._step("expiring claims", self._expire)
                self._step("settling payments and refunds", lambda: settle_stale(
                    self.db, self.chain, settle_after(self.chain)))  # fmt: skip
                self._step("sending payouts", lambda: send_payouts(
                    self.db, self.chain, settle_after(self.chain)))  # fmt: skip
            if not busy:
                self._stop.wait(self.interval)

    def _step(self, what: str, work: Callable[[], int]) -> int:
        """One part of a round; a failure is logged and the other parts still run."""
        try:
            return work()
        except Exception:  # the worker must not die: log and go on
            log.exception("reward worker: %s failed", what)
            return 0

    def _expire(self) -> int:
        with self.db.session(write=True) as session:
            expire_claims(session)
        return 0
