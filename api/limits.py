"""Limits on attempts: sign-ins per account and per client address, wallet challenges,
sign-ups and reset codes per client address.

The counters live in the database (`rate_limits`), so every process of the service counts
together. Each attempt is counted *before* it is tried, by one guarded `UPDATE ... RETURNING`
that either starts a new window or adds one to the current one; parallel attempts therefore
each see their own count and none slips through. Over the limit the answer is
`429 too_many_attempts` with `Retry-After` (seconds until the window ends).

A limit is written `HITS/SECONDS` in the settings (api/settings.py), e.g. `5/900`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, Engine, case, delete, event, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from api.db import holds_connection
from api.errors import ApiError
from api.models import RateLimit, now

_TABLE = RateLimit


@dataclass(frozen=True)
class Limit:
    hits: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`HITS/SECONDS`, e.g. `5/900`; ValueError for anything else."""
        hits, _, seconds = text.strip().partition("/")
        if not (hits.isdigit() and seconds.isdigit()) or int(hits) < 1 or int(seconds) < 1:
            raise ValueError(f"{text!r} is not HITS/SECONDS (e.g. 5/900)")
        return cls(int(hits), int(seconds))

    def __str__(self) -> str:
        return f"{self.hits}/{self.seconds}"


class Throttled(ApiError):
    """Too many attempts: 429 with Retry-After."""

    def __init__(self, retry_after: float, what: str) -> None:
        seconds = max(1, math.ceil(retry_after))
        wait = f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
        super().__init__(
            429,
            "too_many_attempts",
            f"too many {what}; wait {wait} and try again",
            {"retry_after": seconds},
        )
        self.retry_after = seconds


def install(app: FastAPI) -> None:
    """Answer Throttled with its Retry-After header (in the usual error shape)."""

    @app.exception_handler(Throttled)
    async def throttled(_: Request, exc: Throttled) -> JSONResponse:
        return JSONResponse(
            {"error": exc.code, "message": exc.message, "details": exc.details},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )


def client_address(request: Request) -> str:
    """The client's address (behind a proxy: what uvicorn took from X-Forwarded-For for the
    proxies it trusts, see its --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


class Limiter:
    """Counts attempts in transactions of its own (committed whatever becomes of the request).

    With the request's `session`: a request that is not a GET holds SQLite's write lock from
    its session's first query on (api.db), so a count written beside it would wait for that
    lock. Attempts are therefore counted before the session is used (`hit` refuses
    otherwise), and what is written after (`clear`, `forgive`, `after`) waits until the
    request's transaction has ended, committed or rolled back."""

    def __init__(self, engine: Engine, session: Session | None = None) -> None:
        self.engine = engine
        self.session = session

    def after(self, work: Callable[[Connection], object]) -> None:
        """Run `work` in a transaction of its own: now, or once the request's transaction
        has ended (see the class)."""
        session = self.session
        if session is None or not holds_connection(session):
            with self.engine.begin() as connection:
                work(connection)
            return

        pending = [work]  # run once; the listener stays with this request's session

        def run(_: Session, transaction: SessionTransaction) -> None:
            if transaction.parent is None and pending:  # the request's own transaction
                with self.engine.begin() as connection:
                    pending.pop()(connection)

        event.listen(session, "after_transaction_end", run)

    def hit(self, key: str, limit: Limit) -> float | None:
        """Count one attempt under `key`. Returns the seconds to wait when the attempt is over
        the limit (it must then be refused), else None. Commits on its own, so the count
        stays when the request fails."""
        if self.session is not None and holds_connection(self.session):
            raise RuntimeError("count an attempt before the request's session is used")
        moment = now()
        ends = moment + timedelta(seconds=limit.seconds)
        fresh = _TABLE.window_ends <= moment
        count = (
            update(_TABLE)
            .where(_TABLE.key == key)
            .values(
                hits=case((fresh, 1), else_=_TABLE.hits + 1),
                window_ends=case((fresh, ends), else_=_TABLE.window_ends),
            )
            .returning(_TABLE.hits, _TABLE.window_ends)
        )
        for _ in range(3):
            with self.engine.begin() as connection:
                row = connection.execute(count).first()
            if row is not None:
                hits, window_ends = int(row[0]), row[1]
                break
            try:
                with self.engine.begin() as connection:
                    connection.execute(insert(_TABLE).values(key=key, hits=1, window_ends=ends))
                    # tidy up windows that ended a day ago
                    connection.execute(
                        delete(_TABLE).where(_TABLE.window_ends < moment - timedelta(days=1))
                    )
            except IntegrityError:
                continue  # another process made the row first: count in it
            hits, window_ends = 1, ends
            break
        else:  # pragma: no cover - three lost races in a row
            raise ApiError(503, "busy", "the service is busy; try again in a moment")
        if hits > limit.hits:
            return _seconds_until(window_ends, moment)
        return None

    def check(self, key: str, limit: Limit, what: str) -> None:
        """Count one attempt; Throttled when it is over the limit."""
        wait = self.hit(key, limit)
        if wait is not None:
            raise Throttled(wait, what)

    def forgive(self, key: str) -> None:
        """Take back one counted attempt (it succeeded)."""
        self.after(
            lambda connection: connection.execute(
                update(_TABLE)
                .where(_TABLE.key == key, _TABLE.hits > 0)
                .values(hits=_TABLE.hits - 1)
            )
        )

    def clear(self, key: str) -> None:
        """Forget every counted attempt under `key` (e.g. an account after a good sign-in)."""
        self.after(lambda connection: connection.execute(delete(_TABLE).where(_TABLE.key == key)))


def _seconds_until(moment: datetime, since: datetime) -> float:
    if moment.tzinfo is None:  # SQLite keeps no zone; every moment here is UTC
        moment = moment.replace(tzinfo=since.tzinfo)
    return max(1.0, (moment - since).total_seconds())
