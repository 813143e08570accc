"""Annual statements (jaaropgave) in the service: a resident's statement computed from the
chain by heitje_chain.statements (the one implementation), given as a PDF, a printable page
or JSON, with the names the service knows beside the chain's hashes (the job's title, the
issuer's and the shop's names: printed labels, no part of the digest), and the public
verification of a statement.

Computing a statement reads the contract's events of the whole ledger: the service keeps the
statements it computed (per year, wallet and block) in a small cache, and lets only a few
computations run at once, so that the public verification page, which anyone may open, cannot
keep the node busy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.chain import ChainAccess
from api.errors import ApiError
from api.models import Issuer, Job, Merchant, Reward
from api.settings import Settings
from heitje_chain.audit import AuditInputError, rpc_source
from heitje_chain.client import job_id
from heitje_chain.errors import HeitjeError
from heitje_chain.statement_pdf import render_pdf, verify_url
from heitje_chain.statements import Verification, compute, render, verify

StatementFormat = Literal["pdf", "html", "json"]

#: Statements kept (per year, wallet and block), and computations at once.
KEPT = 256
AT_ONCE = 2
#: Seconds a request waits for a free computation before it is told to try again.
WAIT = 30.0


class StatementStore:
    """The statements computed so far, and the gate that lets AT_ONCE computations run."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[int, str, int], dict[str, Any] | None] = OrderedDict()
        self._lock = threading.Lock()
        self._gate = threading.BoundedSemaphore(AT_ONCE)
        self.computed = 0  # how many times the chain was read (for the tests)

    def get(
        self, chain: ChainAccess, settings: Settings, year: int, address: str, block: int | None
    ) -> dict[str, Any] | None:
        """The statement of `address` (any of its wallets) for `year` at `block` (default:
        the last final block), or None when the chain has no rewards for it that year."""
        config = settings.chain
        client = chain.client
        if block is None:
            block = client.ledger(config.log_range, config.final_depth).head()
        key = (year, address.lower(), block)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        if not self._gate.acquire(timeout=WAIT):
            raise ApiError(
                503,
                "busy",
                "many statements are being computed right now; try again in a minute",
            )
        try:
            with self._lock:  # another request may have computed it meanwhile
                if key in self._kept:
                    return self._kept[key]
            source = _source(chain, settings, block)
            if year > datetime.fromtimestamp(source.head.timestamp, UTC).year:
                raise ApiError(
                    422,
                    "year_not_reached",
                    f"the chain at block {block} has not reached {year}",
                    {"year": year, "block": block},
                )
            # Under the wallet used now, whichever of the resident's wallets was given.
            found = next(iter(compute(source, year, [address]).values()), None)
            self.computed += 1
            with self._lock:
                self._kept[key] = found
                while len(self._kept) > KEPT:
                    self._kept.popitem(last=False)
            return found
        finally:
            self._gate.release()

    def verify(self, chain: ChainAccess, settings: Settings, given: dict[str, Any]) -> Verification:
        """`given` (a whole statement) recomputed at its block and compared."""
        try:
            block = int(given["block"])
        except (KeyError, TypeError, ValueError):
            return Verification(False, ["this is not a Heitje statement"], None, [])
        if not self._gate.acquire(timeout=WAIT):
            raise ApiError(503, "busy", "many statements are being checked; try again in a minute")
        try:
            return verify(_source(chain, settings, block), given)
        finally:
            self._gate.release()


def _source(chain: ChainAccess, settings: Settings, block: int) -> Any:
    config = settings.chain
    try:
        return rpc_source(
            chain.client, block, max_range=config.log_range, confirmations=config.final_depth
        )
    except AuditInputError as exc:
        raise ApiError(422, "block_not_on_chain", str(exc), {"block": block}) from None
    except HeitjeError as exc:
        raise ApiError(503, "chain_unavailable", f"the chain cannot be read now: {exc}") from None


def check_year(year: int) -> int:
    this_year = datetime.now(UTC).year
    if not 2000 <= year <= this_year:
        raise ApiError(
            422,
            "bad_year",
            f"a statement is of a calendar year from 2000 to {this_year}, not {year}",
            {"year": year},
        )
    return year


def labels(session: Session, chain: ChainAccess, statement: dict[str, Any]) -> dict[str, str]:
    """The names the service knows for the statement's job ids, issuers and shops."""
    found: dict[str, str] = {}
    wanted = {r["job_id"].lower() for r in statement["rewards"]}
    if wanted:
        for reference, title in session.execute(
            select(Reward.reference, Job.title)
            .join(Reward.claim)
            .join(Job)
            .where(Reward.resident_address.in_(statement["wallets"]))
        ):
            jid = "0x" + job_id(str(reference)).hex()
            if jid in wanted:
                found[jid] = str(title)
    for name, key in session.execute(select(Issuer.name, Issuer.key_name)):
        try:
            found[chain.keys.address(chain.settings.chain.key_name(str(key))).lower()] = str(name)
        except (HeitjeError, OSError, ValueError):
            continue  # a key not on this server: the address alone is printed
    shops = {r["merchant"] for r in [*statement["payments"], *statement["refunds"]]}
    if shops:
        for address, name in session.execute(
            select(Merchant.address, Merchant.name).where(Merchant.address.in_(shops))
        ):
            found[str(address).lower()] = str(name)
    return found


def site_of(settings: Settings, request: Request) -> str:
    """The address people open the web app at (HEITJE_API_PUBLIC_URL, else this request's)."""
    return settings.public_url or str(request.base_url).rstrip("/")


def statement_answer(
    statement: dict[str, Any],
    format: StatementFormat,
    lang: str,
    site: str,
    names: dict[str, str],
) -> Response:
    """The statement as a PDF download, a printable page or JSON (with its verification
    address)."""
    url = verify_url(site, statement)
    stem = f"jaaropgave-{statement['year']}-{statement['address']}"
    if format == "pdf":
        return Response(
            render_pdf(statement, lang, url, names),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{stem}.pdf"'},
        )
    if format == "html":
        return Response(
            render(statement, lang),
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{stem}.html"',
                "X-Content-Type-Options": "nosniff",
            },
        )
    import json

    return Response(
        json.dumps({**statement, "verify_url": url, "labels": names}, default=str),
        media_type="application/json",
    )
