"""CSV exports neutralise spreadsheet formulas (OWASP's rule) in text cells and leave the
numbers alone, so what staff open in a spreadsheet is data, never a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from support.service import PASSWORD, Service, setup_people

from api.export import csv_response
from api.schemas import HistoryItem, Money
from heitje_chain.audit.exports import read_payouts
from heitje_chain.columns import field_of
from heitje_chain.spreadsheet import FORMULA_STARTS, plain_cell, safe_cell

EVIL_LINK = '=HYPERLINK("http://evil.example","x")'


def rows(text: str) -> list[dict[str, str]]:
    """A CSV export's rows, by the API's field names (the headers are Dutch)."""
    return [{field_of(k): v for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def test_text_cells_starting_like_a_formula_get_a_quote_and_numbers_stay() -> None:
    for start in FORMULA_STARTS:
        assert safe_cell(f"{start}1+1") == f"'{start}1+1"
        assert plain_cell(safe_cell(f"{start}1+1")) == f"{start}1+1"
    assert safe_cell("'quoted") == "''quoted" and plain_cell("''quoted") == "'quoted"
    for harmless in ("Bakkerij Pelzer", "HRL-0001", "", "a=b", " =x"):
        assert safe_cell(harmless) == harmless
    assert safe_cell(-3) == -3 and safe_cell(None) is None

    item = HistoryItem(
        at=datetime(2026, 11, 23, tzinfo=UTC),
        kind="payment",
        description="+cmd|' /C calc'!A0",
        counterparty="@SUM(1+1)",
        receipt=EVIL_LINK,
        amount=Money.of(-300),
        status="paid",
        tx_hash=None,
    )
    body = bytes(csv_response([item], "history").body).decode()
    (row,) = rows(body)
    assert row["amount"] == "-3.00"  # a negative amount is still a number
    assert row["description"] == "'+cmd|' /C calc'!A0"
    assert row["counterparty"] == "'@SUM(1+1)"
    assert row["receipt"] == "'" + EVIL_LINK


def test_service_exports_quote_a_pseudonym_title_and_note_that_look_like_formulas(
    service: Service,
) -> None:
    s = service
    p = setup_people(s)
    body = {"pseudonym": EVIL_LINK, "neighbourhood": "Grasbroek", "password": PASSWORD}
    s.call("POST", "/residents", {}, 201, json=body)
    for title in ("@SUM(1+1)", "+cmd|' /C calc'!A0", "-2+3"):
        job = {
            "title": title,
            "description": "=1+1",
            "neighbourhood": "Schandelen",
            "reward": "12.50",
            "deadline": "2099-12-05",
        }
        s.call("POST", "/jobs", p.issuer, 201, json=job)

    residents = rows(s.http.get("/residents?format=csv", headers=p.admin).text)
    assert "'" + EVIL_LINK in [r["pseudonym"] for r in residents]
    assert EVIL_LINK not in [r["pseudonym"] for r in residents]
    jobs = rows(s.http.get("/jobs?format=csv&status=all", headers=p.admin).text)
    assert sorted(r["title"] for r in jobs) == ["'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(1+1)"]
    assert {r["description"] for r in jobs} == {"'=1+1"}
    assert {r["reward"] for r in jobs} == {"12.50"}

    job = s.call("GET", "/jobs", p.resident)["items"][0]
    claim = s.call("POST", f"/jobs/{job['id']}/claim", p.resident, 201)
    s.call("POST", f"/claims/{claim['id']}/done", p.resident, json={"note": "@evil"})
    claims = rows(s.http.get("/claims?format=csv", headers=p.inspector).text)
    assert [r["note"] for r in claims] == ["'@evil"]


def test_the_auditor_reads_a_quoted_cell_back_as_it_was(tmp_path: Path) -> None:
    export = tmp_path / "redemptions.csv"
    export.write_text(
        "id,merchant,amount,paid,bank_reference\n"
        f"1,{safe_cell('-Bakkerij')},12.50,true,{safe_cell('=SEPA 1')}\n"
    )
    (row,) = read_payouts([export]).values()
    assert (row.merchant, row.reference, row.cents) == ("-Bakkerij", "=SEPA 1", 1250)


def test_the_library_csv_writers_quote_formulas_and_keep_numbers(tmp_path: Path) -> None:
    from heitje_chain.audit.report import write_csv as write_report_csv
    from heitje_chain.cli import write_csv as write_ledger_csv

    ledger = tmp_path / "ledger.csv"
    write_ledger_csv(ledger, [{"reference": "=SEPA", "amount": {"cents": -300, "eur": "-3.00"}}])
    assert rows(ledger.read_text()) == [{"reference": "'=SEPA", "amount": "-3.00"}]
    report = tmp_path / "check.csv"
    write_report_csv(report, [{"problem": "@x", "amount": -300, "who": "+31"}])
    assert rows(report.read_text()) == [{"problem": "'@x", "amount_eur": "-3.00", "who": "'+31"}]
