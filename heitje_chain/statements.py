"""Annual earnings statements (jaaropgave): per resident and calendar year (UTC), every reward
(when, which job, which issuer, how much), the year's total against the cap, and what was
spent, computed from the chain's events alone and pinned to a block number and hash, so that
anyone can recompute a statement and see whether it is true.

    from heitje_chain.statements import compute, verify
    from heitje_chain.audit import rpc_source
    statements = compute(rpc_source(client), 2026)      # {address: statement dict}
    verify(rpc_source(client, at=statement["block"]), statement).matches

A resident whose wallet was recovered (WalletRecovered, EarningsCarried) has one statement,
under the wallet they use now: the rewards, payments and refunds of every wallet they had
count for the year (each row names its wallet), as the contract counts the cap.

The chain is read once, in ranges (`heitje_chain.audit.stream`), from a node or from a
ledger export; nothing else is asked of the node.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from heitje_chain.amounts import eur
from heitje_chain.audit.checks import DEFAULT_YEARLY_CAP, ZERO, topics
from heitje_chain.audit.stream import Head, LogSource
from heitje_chain.audit.stream import checksum as _checksum

STATEMENT_FORMAT = 1
#: Keys of a statement that are not recomputed (when it was made, by whom).
VOLATILE = ("generated_at",)


@lru_cache(maxsize=65536)
def checksum(address: str) -> str:
    return _checksum(address)


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _year_of(timestamp: int) -> int:
    return datetime.fromtimestamp(timestamp, UTC).year


def _text(word: str) -> str:
    return bytes.fromhex(word).rstrip(b"\0").decode("utf-8", "replace")


@dataclass
class _Person:
    """One resident's year, across the wallets they had."""

    wallets: list[str]
    rewards: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    recoveries: list[dict[str, Any]] = field(default_factory=list)


class _Reader:
    """One pass over the logs, keeping the given year's rows per wallet."""

    def __init__(self, year: int) -> None:
        self.year = year
        self.rows: dict[str, dict[str, list[dict[str, Any]]]] = {}  # wallet -> kind -> rows
        self.successor: dict[str, str] = {}  # lost wallet -> replacement
        self.cap = DEFAULT_YEARLY_CAP
        self.cap_of_year: int | None = None  # the cap in force at the end of the year
        t = topics()
        self.handlers = {
            t["JobRewarded"]: self._reward,
            t["Payment"]: self._payment,
            t["Refund"]: self._refund,
            t["WalletRecovered"]: self._recovered,
            t["EarningsCarried"]: self._carried,
            t["YearlyCapSet"]: self._cap,
        }
        self.block = 0
        self.timestamp = 0
        self.time = ""
        self.in_year = False
        self.after_year = False

    def feed(self, logs: Iterable[dict[str, Any]]) -> None:
        handlers = self.handlers
        for log in logs:
            topic_list = log["topics"]
            handler = handlers.get(topic_list[0].lower()) if topic_list else None
            if handler is None:
                continue
            block = int(log["blockNumber"], 16)
            if block != self.block:
                self.block = block
                self.timestamp = int(log["blockTimestamp"], 16)
                self.time = _iso(self.timestamp)
                year = _year_of(self.timestamp)
                self.in_year = year == self.year
                if year > self.year and not self.after_year:
                    self.after_year = True
                    self.cap_of_year = self.cap
            handler(topic_list, log["data"], log)

    def _where(self, log: dict[str, Any]) -> dict[str, Any]:
        return {"time": self.time, "block": self.block, "tx": log["transactionHash"]}

    def _add(self, wallet: str, kind: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(wallet, {}).setdefault(kind, []).append(row)

    def _reward(self, topic: list[str], data: str, log: dict[str, Any]) -> None:
        if not self.in_year:
            return
        resident = "0x" + topic[2][26:].lower()
        self._add(
            resident,
            "rewards",
            {
                **self._where(log),
                "job_id": topic[1].lower(),
                "minter": checksum("0x" + topic[3][26:].lower()),
                "amount": int(data, 16),
                "wallet": checksum(resident),
            },
        )

    def _payment(self, topic: list[str], data: str, log: dict[str, Any]) -> None:
        if not self.in_year:
            return
        payer = "0x" + topic[1][26:].lower()
        self._add(
            payer,
            "payments",
            {
                **self._where(log),
                "merchant": checksum("0x" + topic[2][26:].lower()),
                "amount": int(data[2:66], 16),
                "receipt": _text(data[66:130]),
                "wallet": checksum(payer),
            },
        )

    def _refund(self, topic: list[str], data: str, log: dict[str, Any]) -> None:
        if not self.in_year:
            return
        to = "0x" + topic[2][26:].lower()
        self._add(
            to,
            "refunds",
            {
                **self._where(log),
                "merchant": checksum("0x" + topic[1][26:].lower()),
                "amount": int(data[2:66], 16),
                "receipt": _text(data[66:130]),
                "wallet": checksum(to),
            },
        )

    def _recovered(self, topic: list[str], data: str, log: dict[str, Any]) -> None:
        lost = "0x" + topic[1][26:].lower()
        replacement = "0x" + topic[2][26:].lower()
        if lost != ZERO and replacement != ZERO:
            self.successor[lost] = replacement
        if self.in_year:
            self._add(
                replacement,
                "recoveries",
                {
                    **self._where(log),
                    "lost": checksum(lost),
                    "replacement": checksum(replacement),
                    "amount": int(data, 16),
                    "carried": 0,
                },
            )

    def _carried(self, topic: list[str], data: str, log: dict[str, Any]) -> None:
        replacement = "0x" + topic[2][26:].lower()
        found = self.rows.get(replacement, {}).get("recoveries", [])
        if found and found[-1]["tx"] == log["transactionHash"]:
            found[-1]["carried"] += int(data, 16)

    def _cap(self, topic: list[str], data: str, log: dict[str, Any]) -> None:
        self.cap = int(data, 16)

    def current(self, wallet: str) -> str:
        """The wallet a resident uses now: the end of the chain of recoveries."""
        seen = {wallet}
        while wallet in self.successor:
            wallet = self.successor[wallet]
            if wallet in seen:  # a loop (only a faulty contract could write one)
                break
            seen.add(wallet)
        return wallet


def _person_rows(reader: _Reader) -> dict[str, _Person]:
    people: dict[str, _Person] = {}
    for wallet in sorted(reader.rows):
        owner = reader.current(wallet)
        person = people.get(owner)
        if person is None:
            person = people[owner] = _Person(wallets=[])
        person.wallets.append(checksum(wallet))
        rows = reader.rows[wallet]
        person.rewards += rows.get("rewards", [])
        person.payments += rows.get("payments", [])
        person.refunds += rows.get("refunds", [])
        person.recoveries += rows.get("recoveries", [])
    return {owner: p for owner, p in people.items() if p.rewards or p.recoveries}


def _order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["block"], r["tx"]))


def _statement(
    owner: str, person: _Person, year: int, head: Head, cap: int, complete: bool
) -> dict[str, Any]:
    earned = sum(r["amount"] for r in person.rewards)
    spent = sum(r["amount"] for r in person.payments)
    refunded = sum(r["amount"] for r in person.refunds)
    wallets = [checksum(owner), *sorted(set(person.wallets) - {checksum(owner)})]
    statement: dict[str, Any] = {
        "heitje_statement": STATEMENT_FORMAT,
        "year": year,
        "address": checksum(owner),
        "wallets": wallets,
        "chain_id": head.chain_id,
        "contract": checksum(head.contract),
        "block": head.block,
        "block_hash": head.block_hash,
        "block_time": _iso(head.timestamp),
        "complete": complete,
        "rewards": _order(person.rewards),
        "earned": earned,
        "cap": cap,
        "cap_left": max(0, cap - earned),
        "payments": _order(person.payments),
        "spent": spent,
        "refunds": _order(person.refunds),
        "refunded": refunded,
        "net_spent": spent - refunded,
        "recoveries": _order(person.recoveries),
    }
    statement["digest"] = digest(statement)
    return statement


def digest(statement: dict[str, Any]) -> str:
    """SHA-256 of the statement's content (everything but its digest and when it was made),
    in canonical JSON: printed on the statement, so a copy can be checked at a glance."""
    content = {k: v for k, v in statement.items() if k not in ("digest", *VOLATILE)}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def compute(
    source: LogSource, year: int, addresses: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The statements of `year` at `source.head`: {current wallet (lowercase): statement}, for
    every resident rewarded that year (or only for `addresses`: any of their wallets)."""
    head = source.head
    if _year_of(head.timestamp) < year:
        raise ValueError(
            f"the chain at block {head.block} ({_iso(head.timestamp)}) has not reached {year}"
        )
    reader = _Reader(year)
    for chunk in source.chunks():
        reader.feed(chunk)
    complete = _year_of(head.timestamp) > year
    cap = reader.cap_of_year if reader.cap_of_year is not None else reader.cap
    people = _person_rows(reader)
    if addresses is not None:
        owners = {reader.current(a.lower()) for a in addresses}
        people = {o: p for o, p in people.items() if o in owners}
    return {
        owner: _statement(owner, person, year, head, cap, complete)
        for owner, person in sorted(people.items())
    }


# ------------------------------------------------------------------ verification


@dataclass
class Verification:
    """Whether a statement matches the chain: `differences` in words (English, for the CLI),
    `details` the same as data (for a page that says them in its own language): each a dict
    with `kind` (block, block_hash, contract, missing, rows, value), `field` (the statement's
    key), `row` (1-based, for a row that differs), `key` (the row's key), and the values
    `statement` and `chain`."""

    matches: bool
    differences: list[str]
    recomputed: dict[str, Any] | None
    details: list[dict[str, Any]] = field(default_factory=list)

    def text(self) -> str:
        if self.matches:
            return "The statement matches the chain."
        return "The statement does NOT match the chain:\n" + "\n".join(
            f"  - {d}" for d in self.differences
        )


def _show(key: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and key in _MONEY:
        return eur(value)
    return json.dumps(value, default=str)


_MONEY = frozenset(
    {"earned", "cap", "cap_left", "spent", "refunded", "net_spent", "amount", "carried"}
)


def verify(source: LogSource, given: dict[str, Any]) -> Verification:
    """Recompute the statement `given` from `source` (which must be at the statement's block)
    and name every difference."""
    differences: list[str] = []
    details: list[dict[str, Any]] = []

    def differ(text: str, kind: str, **detail: Any) -> None:
        differences.append(text)
        details.append({"kind": kind, **detail})

    try:
        year, address, block = int(given["year"]), str(given["address"]), int(given["block"])
    except (KeyError, TypeError, ValueError):
        return Verification(
            False,
            ["this is not a Heitje statement (year, address, block)"],
            None,
            [{"kind": "not_a_statement"}],
        )
    head = source.head
    if head.block != block:
        return Verification(
            False,
            [f"the chain was read at block {head.block}, the statement is of {block}"],
            None,
            [{"kind": "block", "statement": block, "chain": head.block}],
        )
    if given.get("block_hash") != head.block_hash:
        differ(
            f"block {block} has hash {head.block_hash} on this chain, the statement says "
            f"{given.get('block_hash')}: another chain, or a reorganised one",
            "block_hash",
            field="block_hash",
            statement=given.get("block_hash"),
            chain=head.block_hash,
        )
    if (
        str(given.get("contract", "")).lower() != head.contract
        or given.get("chain_id") != head.chain_id
    ):
        differ(
            "the statement is of another contract or chain",
            "contract",
            field="contract",
            statement=given.get("contract"),
            chain=checksum(head.contract),
        )
    found = compute(source, year, [address]).get(address.lower())
    if found is None:
        differ(
            f"the chain has no rewards for {address} in {year}",
            "missing",
            field="address",
            statement=address,
            chain=None,
        )
        return Verification(False, differences, None, details)
    for key in sorted(set(found) | set(given)):
        if key in VOLATILE or key in ("block_hash", "contract", "chain_id"):
            continue
        mine, theirs = found.get(key), given.get(key)
        if mine == theirs:
            continue
        if isinstance(mine, list) and isinstance(theirs, list):
            if len(mine) != len(theirs):
                differ(
                    f"{key}: {len(theirs)} rows on the statement, {len(mine)} on the chain",
                    "rows",
                    field=key,
                    statement=len(theirs),
                    chain=len(mine),
                )
            for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
                if a == b:
                    continue
                if not isinstance(a, dict) or not isinstance(b, dict):
                    differ(
                        f"{key}, row {i + 1}: {_show(key, b)} on the statement, "
                        f"{_show(key, a)} on the chain",
                        "value",
                        field=key,
                        row=i + 1,
                        statement=b,
                        chain=a,
                    )
                    continue
                keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                differences.append(
                    f"{key}, row {i + 1}: "
                    + "; ".join(
                        f"{k} is {_show(k, b.get(k))} on the statement, "
                        f"{_show(k, a.get(k))} on the chain"
                        for k in keys
                    )
                )
                details.extend(
                    {
                        "kind": "value",
                        "field": key,
                        "row": i + 1,
                        "key": k,
                        "statement": b.get(k),
                        "chain": a.get(k),
                    }
                    for k in keys
                )
        else:
            differ(
                f"{key}: {_show(key, theirs)} on the statement, {_show(key, mine)} on the chain",
                "value",
                field=key,
                statement=theirs,
                chain=mine,
            )
    return Verification(not differences, differences, found, details)


# ------------------------------------------------------------------ the printable page

_DATA_OPEN = '<script type="application/json" id="heitje-statement">'

_WORDS = {
    "nl": {
        "title": "Jaaropgave Heitjes",
        "resident": "Portemonnee van de inwoner",
        "wallets": "Ook eerdere portemonnees (hersteld)",
        "earned": "Verdiend in het jaar",
        "cap": "Jaarplafond",
        "cap_left": "Nog ruimte onder het plafond",
        "spent": "Uitgegeven bij winkels",
        "refunded": "Terugbetaald door winkels",
        "net_spent": "Per saldo uitgegeven",
        "rewards": "Beloningen",
        "payments": "Betalingen",
        "refunds": "Terugbetalingen",
        "recoveries": "Herstel van de portemonnee",
        "time": "datum en tijd (UTC)",
        "job_id": "klus (id on-chain)",
        "minter": "uitgever",
        "amount": "bedrag",
        "wallet": "portemonnee",
        "merchant": "winkel",
        "receipt": "bon",
        "lost": "verloren portemonnee",
        "replacement": "nieuwe portemonnee",
        "carried": "meegenomen verdiensten",
        "none": "geen",
        "verification": "Controle",
        "verify_text": "Deze opgave is berekend uit de openbare gebeurtenissen van de blockchain "
        "bij het blok hieronder. Iedereen kan haar opnieuw berekenen (heitje statements "
        "--verify) en zien of de bedragen kloppen.",
        "block": "Blok",
        "block_hash": "Blokhash",
        "block_time": "Tijd van het blok (UTC)",
        "contract": "Contract",
        "chain_id": "Chain-id",
        "digest": "Vingerafdruk (SHA-256)",
        "incomplete": "Het jaar was bij dit blok nog niet voorbij: de opgave is voorlopig.",
        "note": "Heitjes gelden als vrijwilligersvergoeding; het plafond per kalenderjaar "
        "(UTC) is het plafond dat aan het eind van het jaar gold.",
    },
    "en": {
        "title": "Annual statement of Heitjes",
        "resident": "The resident's wallet",
        "wallets": "Earlier wallets too (recovered)",
        "earned": "Earned in the year",
        "cap": "Yearly cap",
        "cap_left": "Room left under the cap",
        "spent": "Spent at shops",
        "refunded": "Refunded by shops",
        "net_spent": "Spent, net",
        "rewards": "Rewards",
        "payments": "Payments",
        "refunds": "Refunds",
        "recoveries": "Wallet recovery",
        "time": "date and time (UTC)",
        "job_id": "job (on-chain id)",
        "minter": "issuer",
        "amount": "amount",
        "wallet": "wallet",
        "merchant": "shop",
        "receipt": "receipt",
        "lost": "lost wallet",
        "replacement": "new wallet",
        "carried": "earnings carried",
        "none": "none",
        "verification": "Verification",
        "verify_text": "This statement is computed from the public events of the blockchain "
        "at the block below. Anyone can compute it again (heitje statements --verify) and see "
        "whether the amounts are right.",
        "block": "Block",
        "block_hash": "Block hash",
        "block_time": "Block time (UTC)",
        "contract": "Contract",
        "chain_id": "Chain id",
        "digest": "Fingerprint (SHA-256)",
        "incomplete": "The year was not over at this block: the statement is provisional.",
        "note": "Heitjes count as a volunteer allowance; the cap per calendar year (UTC) is the "
        "cap in force at the end of the year.",
    },
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:60rem;
color:#1d2430;padding:0 1rem}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.4rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.8rem;word-break:break-all}.verify{border:2px solid #1d2430;padding:.6rem .9rem;
margin-top:1.5rem}@media print{body{margin:0}}
"""


def money(cents: int, lang: str = "nl") -> str:
    """An amount as the page's readers write it: "€ 1.458,00" in Dutch, "EUR 1,458.00" in
    English."""
    if lang != "nl":
        return eur(cents)
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}€ {whole:,}".replace(",", ".") + f",{part:02d}"


def render(statement: dict[str, Any], lang: str = "nl") -> str:
    """The printable page of one statement (self-contained; the statement's data travels in
    a JSON data block, which browsers do not run, so the page itself can be verified)."""
    if lang not in _WORDS:
        raise ValueError(f"the statement's language is nl or en, not {lang!r}")
    w = _WORDS[lang]
    s = statement

    def table(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> str:
        if not rows:
            return f"<p><em>{escape(w['none'])}</em></p>"
        head = "".join(f"<th>{escape(w[k])}</th>" for k in keys)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td class='num'>{escape(money(r[k], lang))}</td>"
                if k in _MONEY
                else f"<td><code>{escape(str(r[k]))}</code></td>"
                for k in keys
            )
            + "</tr>"
            for r in rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    totals = [(k, s[k]) for k in ("earned", "cap", "cap_left", "spent", "refunded", "net_spent")]
    # No "<" in the data block (JSON's \u003c instead), so nothing in it can end the block.
    data = json.dumps(s, sort_keys=True, default=str).replace("<", "\\u003c")
    others = [x for x in s["wallets"] if x != s["address"]]
    out = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        f"<title>{escape(w['title'])} {s['year']}, {escape(s['address'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(w['title'])} {s['year']}</h1>",
        f"<p>{escape(w['resident'])}: <code>{escape(s['address'])}</code></p>",
    ]
    if others:
        out.append(
            f"<p>{escape(w['wallets'])}: "
            + ", ".join(f"<code>{escape(x)}</code>" for x in others)
            + "</p>"
        )
    if not s["complete"]:
        out.append(f"<p><strong>{escape(w['incomplete'])}</strong></p>")
    out.append(
        "<table>"
        + "".join(
            f"<tr><td>{escape(w[k])}</td><td class='num'>{escape(money(v, lang))}</td></tr>"
            for k, v in totals
        )
        + "</table>"
    )
    out.append(f"<p>{escape(w['note'])}</p>")
    out.append(f"<h2>{escape(w['rewards'])}</h2>")
    out.append(table(s["rewards"], ("time", "job_id", "minter", "amount", "wallet")))
    out.append(f"<h2>{escape(w['payments'])}</h2>")
    out.append(table(s["payments"], ("time", "merchant", "receipt", "amount", "wallet")))
    out.append(f"<h2>{escape(w['refunds'])}</h2>")
    out.append(table(s["refunds"], ("time", "merchant", "receipt", "amount", "wallet")))
    if s["recoveries"]:
        out.append(f"<h2>{escape(w['recoveries'])}</h2>")
        out.append(table(s["recoveries"], ("time", "lost", "replacement", "amount", "carried")))
    meta = [(k, s[k]) for k in ("block", "block_hash", "block_time", "contract", "chain_id")]
    out.append(
        f"<div class='verify'><h2>{escape(w['verification'])}</h2><p>{escape(w['verify_text'])}"
        "</p><table>"
        + "".join(
            f"<tr><td>{escape(w[k])}</td><td><code>{escape(str(v))}</code></td></tr>"
            for k, v in [*meta, ("resident", s["address"]), ("digest", s["digest"])]
        )
        + "</table></div>"
    )
    out.append(f"{_DATA_OPEN}{data}</script>")
    out.append("</body></html>")
    return "\n".join(out)


def read_statement(path: Path) -> dict[str, Any]:
    """A statement from its page (.html, its data block), its PDF (the attached JSON) or its
    JSON."""
    return parse_statement(path.read_bytes(), str(path))


def parse_statement(data: bytes, name: str = "the file") -> dict[str, Any]:
    """A statement from the bytes of its page, its PDF or its JSON (ValueError: none)."""
    found: Any = None
    if data.startswith(b"%PDF"):
        from heitje_chain.statement_pdf import read_pdf_statement

        try:
            found = read_pdf_statement(data)
        except Exception:  # a damaged or foreign PDF: pypdf raises many kinds
            found = None
    else:
        text = data.decode("utf-8", "replace").lstrip("\ufeff")
        if _DATA_OPEN in text:
            start = text.index(_DATA_OPEN) + len(_DATA_OPEN)
            end = text.find("</script>", start)
            text = text[start : end if end >= 0 else len(text)]
        try:
            found = json.loads(text)
        except ValueError:
            found = None
    if not isinstance(found, dict) or found.get("heitje_statement") != STATEMENT_FORMAT:
        raise ValueError(f"{name} holds no Heitje statement")
    return found


def write_statements(
    statements: dict[str, dict[str, Any]],
    folder: Path,
    lang: str = "nl",
    site: str | None = None,
) -> list[Path]:
    """Per resident a page (<address>.html) and a PDF (<address>.pdf, with a QR code to the
    verification page under `site`, e.g. https://heitje.heerlen.nl, when given), and
    summary.csv (one row each, with the verification address)."""
    import csv

    from heitje_chain.amounts import cents_to_decimal
    from heitje_chain.statement_pdf import render_pdf, verify_url

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for statement in statements.values():
        path = folder / f"{statement['address']}.html"
        path.write_text(render(statement, lang), encoding="utf-8")
        written.append(path)
        url = verify_url(site, statement) if site else None
        path = folder / f"{statement['address']}.pdf"
        path.write_bytes(render_pdf(statement, lang, url))
        written.append(path)
    path = folder / "summary.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "address",
                "year",
                "rewards",
                "earned_eur",
                "cap_eur",
                "cap_left_eur",
                "spent_eur",
                "refunded_eur",
                "earlier_wallets",
                "complete",
                "block",
                "block_hash",
                "digest",
                "pdf",
                "verify_url",
            ]
        )
        for s in statements.values():
            writer.writerow(
                [
                    s["address"],
                    s["year"],
                    len(s["rewards"]),
                    cents_to_decimal(s["earned"]),
                    cents_to_decimal(s["cap"]),
                    cents_to_decimal(s["cap_left"]),
                    cents_to_decimal(s["spent"]),
                    cents_to_decimal(s["refunded"]),
                    " ".join(x for x in s["wallets"] if x != s["address"]),
                    s["complete"],
                    s["block"],
                    s["block_hash"],
                    s["digest"],
                    f"{s['address']}.pdf",
                    verify_url(site, s) if site else "",
                ]
            )
    written.append(path)
    return written
