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
from datetime import timedelta

from sqlalchemy import or_, select

from api.chain import ChainAccess
from api.db import Database
from api.models import Reward, now
from api.settle import settle_stale
from heitje_chain.client import RewardRow
from heitje_chain.errors import (
    ChainUnavailable,
    HeitjeError,
    MintAllowanceExceeded,
    Paused,
    TransactionFailed,
    WalletRetired,
)

log = logging.getLogger(__name__)

#: Refusals that staff can lift (raise the budget, unpause, finish a wallet recovery, which
#: points the pending reward at the new wallet): retried later.
_WAIT_FOR_STAFF = (Paused, MintAllowanceExceeded, WalletRetired)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** min(attempts, 12), 3600))


class RewardWorker:
    """Pays pending rewards every `interval` seconds; every `settle_interval` seconds it also
    settles payments and refunds left `sending` for longer than `settle_after` (api.settle)."""

    settle_interval = 30.0
    settle_after = timedelta(minutes=2)

    def __init__(self, db: Database, chain: ChainAccess, interval: float = 1.0) -> None:
        self.db = db
        self.chain = chain
        self.interval = interval
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
            settled += self._pay(key, rows)
        return settled

    def _pay(self, key: str, rows: list[tuple[int, str, str, int]]) -> int:
        try:
            signer = self.chain.role_signer(key)
            results = self.chain.client.reward_jobs(
                signer,
                [RewardRow(reference, address, cents) for _, reference, address, cents in rows],
            )
        except (ChainUnavailable, TransactionFailed, HeitjeError) as exc:
            log.warning("rewards of %s not sent (%s); trying again later", key, exc)
            self._postpone([rid for rid, *_ in rows], str(exc))
            return 0
        if os.environ.get("HEITJE_API_FAULT") == "exit-after-mint":
            # Fault injection for the crash tests: die after the chain took the rewards and
            # before the database notes them (never set in normal operation).
            log.error("HEITJE_API_FAULT=exit-after-mint: exiting now")
            os._exit(70)
        settled = 0
        with self.db.session() as session:
            for (rid, *_), result in zip(rows, results, strict=True):
                reward = session.get(Reward, rid)
                if reward is None or reward.status != "pending":
                    continue
                reward.attempts += 1
                if result.status == "paid" or (
                    result.status == "already_paid" and result.matches_earlier is not False
                ):
                    reward.status, reward.tx_hash, reward.paid_at = "paid", result.tx_hash, now()
                    reward.last_error = None
                    settled += 1
                elif isinstance(result.error, _WAIT_FOR_STAFF | TransactionFailed) or (
                    result.error is None and result.status == "refused"
                ):
                    reward.last_error = result.reason
                    reward.next_attempt_at = now() + backoff(reward.attempts)
                else:
                    reward.status, reward.last_error = "refused", result.reason
                    settled += 1
        return settled

    def _postpone(self, ids: list[int], reason: str) -> None:
        with self.db.session() as session:
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
        settled_at = 0.0
        while not self._stop.is_set():
            try:
                busy = self.run_once()
                if time.monotonic() - settled_at >= self.settle_interval:
                    settled_at = time.monotonic()
                    busy += settle_stale(self.db, self.chain, self.settle_after)
            except Exception:  # the worker must not die: log and go on
                log.exception("reward worker round failed")
                busy = 0
            if not busy:
                self._stop.wait(self.interval)
