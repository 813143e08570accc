"""The public ledger page's figures: what anyone may read without signing in (the council,
journalists, residents), each pinned to the block number and hash it was computed at.

They are the audit's own figures (heitje_chain.audit, run over the chain with the service's
records as its exports, api.service_exports): money in circulation, rewards per month and per
neighbourhood (of the job; cells of too few residents suppressed by api.suppression), the
number of shops, redemptions paid and waiting, the euro liability, and the audit's result
(the checks from the chain; the reconciliation with the service's records is for the
auditor). Nothing about a person is in them: no pseudonym, no address, no record.

The audit reads the whole ledger, so the figures are kept: for `seconds` (the setting
HEITJE_API_PUBLIC_CACHE_SECONDS) nothing is asked of the chain; after that one call asks for
the last final block, and the figures are computed again only when it moved. Requests that
arrive while the figures are being computed wait for that one computation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.chain import ChainAccess
from api.db import Database
from api.service_exports import service_exports
from api.settings import Settings
from api.suppression import MIN_RESIDENTS, hidden_cells
from heitje_chain.audit import audit, rpc_source

#: The audit's checks the public page shows (the chain's own rules).
PUBLIC_CHECKS = ("supply", "mints", "yearly_cap", "recoveries", "payments", "redemptions", "roles")


def figures_of(report: dict[str, Any]) -> dict[str, Any]:
    """The public figures of an audit report (amounts in cents; no personal data)."""
    f = report["figures"]
    red = f["redemption_summary"]
    oldest = red["oldest_unpaid"]
    places = f.get("rewards_by_neighbourhood") or {}
    people = f.get("residents_by_neighbourhood")
    hidden = hidden_cells(people) if people is not None else set(places)
    checks = [
        {"name": c["name"], "status": c["status"], "offending": c["offending"]}
        for c in report["checks"]
        if c["name"] in PUBLIC_CHECKS
    ]
    return {
        "block": report["block"],
        "block_hash": report["block_hash"],
        "block_time": report["block_time"],
        "chain_id": report["chain_id"],
        "contract": report["contract"],
        "circulating": f["supply"],
        "rewards_total": f["rewards"],
        "redemptions_total": f["redemptions"],
        "liability": dict(f["liability"]),
        "shops": f["merchants"],
        "residents_rewarded": f["residents_rewarded"],
        "redemptions": {
            "paid": red["paid"],
            "paid_amount": red["paid_cents"],
            "waiting": red["unpaid"],
            "waiting_amount": red["unpaid_cents"],
            "oldest_waiting_days": oldest["age_days"] if oldest else None,
        },
        "rewards_by_month": [
            {"month": month, "amount": cents} for month, cents in f["rewards_by_month"].items()
        ],
        "rewards_by_neighbourhood": sorted(
            (
                {
                    "neighbourhood": place,
                    "residents": None if place in hidden or people is None else people[place],
                    "amount": None if place in hidden else cents,
                    "suppressed": place in hidden,
                }
                for place, cents in places.items()
            ),
            key=lambda row: str(row["neighbourhood"]),
        ),
        "min_residents": MIN_RESIDENTS,
        "audit": {
            "passed": all(c["status"] != "FAIL" for c in checks),
            "checks": checks,
            "events": report["events"],
        },
    }


def compute_figures(chain: ChainAccess, db: Database, settings: Settings) -> dict[str, Any]:
    """Audit the chain now (at its last final block) and take the public figures."""
    config = settings.chain
    with db.session() as session:
        exports = service_exports(session)
    source = rpc_source(chain.client, max_range=config.log_range, confirmations=config.final_depth)
    return figures_of(audit(source, exports=exports))


class PublicLedger:
    """The public figures, kept for `seconds` and while the chain has no new final block;
    concurrent requests share one computation."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._figures: dict[str, Any] | None = None
        self._checked = 0.0
        self.computations = 0

    def get(self, head: Callable[[], int], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The figures: kept ones while fresh, else `compute()`d again (only if `head()`, the
        last final block, moved since)."""
        with self._lock:
            now = self.clock()
            kept = self._figures
            if kept is not None and now - self._checked < self.seconds:
                return kept
            if kept is not None and head() == kept["block"]:
                self._checked = now
                return kept
            figures = compute()
            figures["computed_at"] = (
                datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            )
            self._figures, self._checked = figures, self.clock()
            self.computations += 1
            return figures
