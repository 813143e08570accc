"""Annual earnings statements (heitje_chain.statements): the totals are the chain's events,
a recovered wallet's earnings follow the resident, the calendar year is UTC's, a statement
verifies against the chain and a tampered one does not; `heitje statements` writes the pages
and the summary."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.anvil import Anvil

from heitje_chain.audit import rpc_source
from heitje_chain.client import HeitjeClient, job_id, role_id
from heitje_chain.config import ROLE_KEYS, write_deployment
from heitje_chain.deploy import ROLE_OF_KEY, deploy
from heitje_chain.keys import LocalSigner
from heitje_chain.rpc import Rpc
from heitje_chain.statements import compute, digest, read_statement, render, verify

BUDGET = 100_000_00


@dataclass
class Town:
    client: HeitjeClient
    keys: dict[str, LocalSigner]
    shop: LocalSigner
    anna: LocalSigner
    anna_new: LocalSigner
    bob: LocalSigner
    deployment: Any

    def at(self, when: str) -> None:
        stamp = int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp())
        self.client.rpc.call("evm_setNextBlockTimestamp", [stamp])


@pytest.fixture
def town(start_chain: Callable[..., Anvil]) -> Town:
    """A Heitje deployment on an anvil of its own (the clock moves to 2031-2032)."""
    rpc = Rpc(start_chain().url, timeout=10)
    admin = LocalSigner.create("admin")
    keys = {n: LocalSigner.create(n) for n in ROLE_KEYS if n != "admin"}
    client, deployment = deploy(rpc, admin, admin_delay=0)
    txs = [
        client.submit(admin, "grantRole", role_id(ROLE_OF_KEY[n]), s.address)
        for n, s in keys.items()
    ]
    txs += [
        client.submit(admin, "setMintAllowance", keys[m].address, BUDGET)
        for m in ("job-office", "partner")
    ]
    client.tx.wait_all(txs)
    shop = LocalSigner.create("shop")
    client.add_merchant(keys["merchant-manager"], shop.address)
    return Town(
        client,
        {"admin": admin, **keys},
        shop,
        LocalSigner.create("anna"),
        LocalSigner.create("anna-new"),
        LocalSigner.create("bob"),
        deployment,
    )


def year_of_rewards(t: Town) -> dict[str, Any]:
    """Rewards either side of new year 2032 (UTC), payments and a refund, and anna's wallet
    recovered in 2032 with her earnings, then rewarded again in the new wallet."""
    c, office, partner = t.client, t.keys["job-office"], t.keys["partner"]
    t.at("2031-12-31T23:59:50")
    c.reward_job(office, "old-year", t.anna.address, 30_00)
    t.at("2032-01-01T00:00:05")
    first = c.reward_job(office, "new-year", t.anna.address, 20_00)
    t.at("2032-03-01T10:00:00")
    c.reward_job(partner, "partner-1", t.anna.address, 15_00)
    c.reward_job(office, "bob-1", t.bob.address, 12_50)
    c.pay(t.anna, t.shop.address, 10_00, "BON-1")
    c.refund(t.shop, t.anna.address, 2_50, "BON-1 terug")
    t.at("2032-06-01T10:00:00")
    c.recover_wallet(t.keys["recovery"], t.anna.address, t.anna_new.address)
    c.reward_job(office, "after-recovery", t.anna_new.address, 7_00)
    c.pay(t.anna_new, t.shop.address, 4_00, "BON-2")
    t.at("2033-01-01T00:00:00")
    c.reward_job(office, "next-year", t.anna_new.address, 1_00)  # 2033: not in 2032's
    return {"first_2032": first}


def test_a_statement_is_the_chains_events(town: Town) -> None:
    t = town
    year_of_rewards(t)
    statements = compute(rpc_source(t.client), 2032)
    assert set(statements) == {t.anna_new.address.lower(), t.bob.address.lower()}
    anna = statements[t.anna_new.address.lower()]
    # Her earnings follow her to the new wallet: the old wallet's 2032 rewards, then the new.
    assert [(r["job_id"], r["amount"], r["wallet"]) for r in anna["rewards"]] == [
        ("0x" + job_id("new-year").hex(), 20_00, t.anna.address),
        ("0x" + job_id("partner-1").hex(), 15_00, t.anna.address),
        ("0x" + job_id("after-recovery").hex(), 7_00, t.anna_new.address),
    ]
    assert anna["wallets"] == [t.anna_new.address, t.anna.address]
    assert anna["rewards"][1]["minter"] == t.keys["partner"].address
    assert anna["rewards"][0]["time"] == "2032-01-01T00:00:05Z"
    assert (anna["earned"], anna["cap"], anna["cap_left"]) == (42_00, 1_500_00, 1_458_00)
    assert (anna["spent"], anna["refunded"], anna["net_spent"]) == (14_00, 2_50, 11_50)
    assert [p["receipt"] for p in anna["payments"]] == ["BON-1", "BON-2"]
    (recovery,) = anna["recoveries"]
    assert (recovery["lost"], recovery["replacement"]) == (t.anna.address, t.anna_new.address)
    assert recovery["carried"] == 35_00  # what the contract carried: her 2032 so far
    assert recovery["amount"] == 30_00 + 35_00 - 10_00 + 2_50  # her whole balance
    # The contract agrees: what it counts for the new wallet in 2032 (carried + earned).
    assert t.client.earned_in(t.anna_new.address, 2032) == anna["earned"]
    assert t.client.earned_in(t.anna.address, 2032) == 0
    assert t.client.earned_in(t.anna_new.address, 2031) == 0  # 2031 stays with the old wallet
    assert anna["complete"] is True
    head = t.client.rpc.call("eth_getBlockByNumber", ["latest", False])
    assert (anna["block"], anna["block_hash"]) == (int(head["number"], 16), head["hash"])
    assert anna["digest"] == digest(anna)
    # The totals equal the chain's events.
    events = list(t.client.ledger().events(names=["JobRewarded"]))
    in_2032 = [
        e
        for e in events
        if datetime.fromtimestamp(
            t.client.rpc.block_times([e.block_number])[e.block_number], UTC
        ).year
        == 2032
    ]
    assert sum(s["earned"] for s in statements.values()) == sum(
        int(e.args["amount"]) for e in in_2032
    )
    assert statements[t.bob.address.lower()]["earned"] == 12_50


def test_the_year_boundary_is_utc(town: Town) -> None:
    t = town
    year_of_rewards(t)
    y2031 = compute(rpc_source(t.client), 2031)[t.anna_new.address.lower()]
    assert [r["amount"] for r in y2031["rewards"]] == [30_00]  # 23:59:50 on 31 December
    assert y2031["rewards"][0]["time"] == "2031-12-31T23:59:50Z"
    assert y2031["spent"] == 0 and y2031["recoveries"] == []
    y2033 = compute(rpc_source(t.client), 2033)[t.anna_new.address.lower()]
    assert [r["amount"] for r in y2033["rewards"]] == [1_00]  # 00:00:00 on 1 January
    assert y2033["complete"] is False  # the chain's clock is still in 2033


def test_verification_finds_a_tampered_statement(town: Town, tmp_path: Path) -> None:
    t = town
    year_of_rewards(t)
    source = rpc_source(t.client)
    anna = compute(source, 2032)[t.anna_new.address.lower()]
    at = rpc_source(t.client, at=anna["block"])
    assert verify(at, anna).matches
    page = tmp_path / "anna.html"
    page.write_text(render(anna))
    assert "Jaaropgave Heitjes 2032" in page.read_text() and anna["block_hash"] in page.read_text()
    assert "<td class='num'>€ 42,00</td>" in page.read_text()  # earned, written the Dutch way
    assert "<td class='num'>€ 1.458,00</td>" in page.read_text()  # room left under the cap
    assert "<td class='num'>€ 35,00</td>" in page.read_text()  # the earnings carried
    assert verify(at, read_statement(page)).matches  # the printed page verifies as it is
    # Tampered: a reward raised, a row left out, the total lowered, the block hash changed.
    raised = json.loads(json.dumps(anna))
    raised["rewards"][0]["amount"] = 200_00
    result = verify(at, raised)
    assert not result.matches
    assert any(
        "rewards, row 1: amount is EUR 200.00 on the statement" in d for d in result.differences
    )
    fewer = json.loads(json.dumps(anna))
    del fewer["rewards"][2]
    fewer["earned"] = 35_00
    fewer["digest"] = digest(fewer)  # a consistent forgery: the digest alone does not help
    result = verify(at, fewer)
    assert not result.matches
    assert "rewards: 2 rows on the statement, 3 on the chain" in result.differences
    assert "earned: EUR 35.00 on the statement, EUR 42.00 on the chain" in result.differences
    other_chain = json.loads(json.dumps(anna))
    other_chain["block_hash"] = "0x" + "ab" * 32
    assert any("another chain" in d for d in verify(at, other_chain).differences)
    # The page, edited in its data block, fails too.
    page.write_text(page.read_text().replace('"earned": 4200', '"earned": 4300'))
    assert not verify(at, read_statement(page)).matches


@pytest.fixture
def heitje(
    town: Town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str]]:
    """`heitje(*argv)`: the `heitje` command against the town's chain (its exit code and
    output), after a year of rewards."""
    from heitje_chain.cli import main

    year_of_rewards(town)
    home = tmp_path / "home"
    write_deployment(home / "deployment.json", town.deployment)
    monkeypatch.setenv("HEITJE_HOME", str(home))
    monkeypatch.setenv("HEITJE_RPC_URL", town.client.rpc.url)
    for var in ("HEITJE_CONFIG", "HEITJE_CONTRACT", "HEITJE_CHAIN_ID", "HEITJE_API_PUBLIC_URL"):
        monkeypatch.delenv(var, raising=False)

    def run(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        return main(list(argv), out=out), out.getvalue()

    return run


def test_heitje_statements_writes_pages_and_a_summary_and_verifies(
    town: Town, tmp_path: Path, heitje: Callable[..., tuple[int, str]]
) -> None:
    t, run = town, heitje
    out = tmp_path / "2032"
    code, text = run("statements", "--year", "2032", "--out", str(out))
    assert code == 0, text
    assert "2 residents" in text
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == sorted([f"{t.anna_new.address}.html", f"{t.bob.address}.html"])
    with (out / "summary.csv").open() as handle:
        rows = {r["address"]: r for r in csv.DictReader(handle)}
    assert rows[t.anna_new.address]["earned_eur"] == "42.00"
    assert rows[t.anna_new.address]["earlier_wallets"] == t.anna.address
    assert rows[t.bob.address]["spent_eur"] == "0.00"
    page = out / f"{t.anna_new.address}.html"
    code, text = run("statements", "--verify", str(page))
    assert code == 0 and "matches the chain" in text
    page.write_text(page.read_text().replace('"net_spent": 1150', '"net_spent": 150'))
    code, text = run("statements", "--verify", str(page))
    assert code == 3 and "net_spent: EUR 1.50 on the statement, EUR 11.50 on the chain" in text
    code, text = run("statements", "--year", "2032", "--lang", "en", "--out", str(tmp_path / "en"))
    assert (
        "Annual statement of Heitjes 2032"
        in (tmp_path / "en" / f"{t.bob.address}.html").read_text()
    )


def test_a_page_holds_its_statement_whatever_the_receipts_say(tmp_path: Path) -> None:
    """A shop's receipt text is the shop's to choose: one that looks like the end of the data
    block, or like markup, neither ends the block nor shows as markup on the page."""
    row = {
        "time": "2032-03-01T10:00:00Z",
        "block": 5,
        "tx": "0x" + "11" * 32,
        "merchant": "0x" + "22" * 20,
        "amount": 4_00,
        "receipt": "</script><b>BON</b>",
        "wallet": "0x" + "33" * 20,
    }
    statement: dict[str, Any] = {
        "heitje_statement": 1,
        "year": 2032,
        "address": "0x" + "33" * 20,
        "wallets": ["0x" + "33" * 20],
        "chain_id": 31337,
        "contract": "0x" + "44" * 20,
        "block": 9,
        "block_hash": "0x" + "55" * 32,
        "block_time": "2033-01-01T00:00:00Z",
        "complete": True,
        "rewards": [],
        "earned": 0,
        "cap": 1_500_00,
        "cap_left": 1_500_00,
        "payments": [row],
        "spent": 4_00,
        "refunds": [],
        "refunded": 0,
        "net_spent": 4_00,
        "recoveries": [],
    }
    statement["digest"] = digest(statement)
    page = tmp_path / "page.html"
    page.write_text(render(statement, "en"))
    text = page.read_text()
    assert text.count("</script>") == 1 and "<b>BON</b>" not in text
    assert "&lt;/script&gt;&lt;b&gt;BON&lt;/b&gt;" in text
    assert read_statement(page) == statement
    (tmp_path / "plain.json").write_text(json.dumps(statement))
    assert read_statement(tmp_path / "plain.json") == statement
    (tmp_path / "other.html").write_text("<html>no statement</html>")
    with pytest.raises(ValueError, match="holds no Heitje statement"):
        read_statement(tmp_path / "other.html")


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdfs_carry_the_figures_a_qr_code_and_their_statement(
    town: Town, tmp_path: Path, heitje: Callable[..., tuple[int, str]]
) -> None:
    """`heitje statements --out` writes a PDF per resident: the totals as the JSON has them,
    the block, its hash, the wallet and the digest, a QR code that decodes to the public
    verification page, and the statement itself attached (so --verify reads the PDF)."""
    from pypdf import PdfReader
    from support.qr import decode_qr

    from heitje_chain.statement_pdf import render_pdf, verify_url

    t, run = town, heitje

    out = tmp_path / "2032"
    site = "https://heitje.heerlen.nl"
    code, text = run("statements", "--year", "2032", "--out", str(out), "--site", site)
    assert code == 0 and "2 PDFs" in text, text
    assert sorted(p.name for p in out.glob("*.pdf")) == sorted(
        [f"{t.anna_new.address}.pdf", f"{t.bob.address}.pdf"]
    )
    anna = read_statement(out / f"{t.anna_new.address}.html")
    pdf = (out / f"{t.anna_new.address}.pdf").read_bytes()
    words = pdf_text(pdf)
    # Dutch by default; the totals as the JSON has them (42.00 earned, 11.50 spent net).
    for line in (
        "Jaaropgave Heitjes 2032",
        "Verdiend in het jaar EUR 42,00",
        "Jaarplafond EUR 1.500,00",
        "Nog ruimte onder het plafond EUR 1.458,00",
        "Uitgegeven bij winkels EUR 14,00",
        "Terugbetaald door winkels EUR 2,50",
        "Per saldo uitgegeven EUR 11,50",
        anna["block_hash"],
        anna["digest"],
        anna["address"],
        str(anna["block"]),
    ):
        assert line in words, line
    assert words.count("EUR 20,00") >= 1 and "EUR 15,00" in words and "EUR 7,00" in words
    assert "2032-01-01" in words  # the first reward's date
    (image,) = PdfReader(io.BytesIO(pdf)).pages[0].images
    assert decode_qr(image.data) == verify_url(site, anna)
    assert verify_url(site, anna) == (
        f"{site}/app/#/openbaar/verifieer?j=2032&a={anna['address']}&b={anna['block']}"
        f"&d={anna['digest']}"
    )
    with (out / "summary.csv").open() as handle:
        rows = {r["address"]: r for r in csv.DictReader(handle)}
    assert rows[anna["address"]]["verify_url"] == verify_url(site, anna)
    assert rows[anna["address"]]["pdf"] == f"{anna['address']}.pdf"
    # --verify reads the PDF's attached statement; a PDF made of a changed statement fails.
    code, text = run("statements", "--verify", str(out / f"{anna['address']}.pdf"))
    assert code == 0 and "matches the chain" in text
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(render_pdf(anna | {"earned": 142_00}, "nl", verify_url(site, anna)))
    code, text = run("statements", "--verify", str(forged))
    assert code == 3 and "earned: EUR 142.00 on the statement, EUR 42.00 on the chain" in text
    assert "Verdiend in het jaar EUR 142,00" in pdf_text(forged.read_bytes())
    # English on request; no QR code without a site.
    code, text = run("statements", "--year", "2032", "--lang", "en", "--out", str(tmp_path / "en"))
    english = (tmp_path / "en" / f"{t.bob.address}.pdf").read_bytes()
    assert "Annual statement of Heitjes 2032" in pdf_text(english)
    assert "Earned in the year EUR 12.50" in pdf_text(english)
    assert len(PdfReader(io.BytesIO(english)).pages[0].images) == 0
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 nothing here")
    code, text = run("statements", "--verify", str(tmp_path / "broken.pdf"))
    assert code != 0
