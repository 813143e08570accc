"""The public pages' API (no sign-in): the ledger's figures are the audit's at the same block,
hold no pseudonym or address, suppress small cells (also where the total would give them
away), and are kept so that repeated and parallel requests do not read the chain again; a
statement's verification finds a tampered one. The desk and the resident get statements as
PDFs, and the auditor gets the fraud signals. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import secrets
import threading
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from eth_utils import to_checksum_address
from pypdf import PdfReader
from support.qr import decode_qr
from support.service import PASSWORD, People, Service, earn, open_shop, setup_people

from api.limits import Limit
from api.models import Claim, Job, Merchant, Resident, Reward
from api.public import figures_of
from api.service_exports import service_exports
from heitje_chain.audit import audit, rpc_source
from heitje_chain.rpc import Rpc
from heitje_chain.statement_pdf import render_pdf

YEAR = datetime.now(UTC).year


def rewarded_claims(s: Service, p: People, place: str, residents: list[int], cents: int) -> None:
    """A job in `place` done by each of `residents` (ids), approved; the worker pays them."""
    with s.app.state.db.session() as session:
        job = Job(
            issuer_id=p.issuer_id,
            title=f"Snow in {place}",
            description="Clear the paths",
            neighbourhood=place,
            reward_cents=cents,
            deadline=date.today(),
            places=len(residents),
            created_by=1,
        )
        session.add(job)
        session.flush()
        for rid in residents:
            resident = session.get(Resident, rid)
            assert resident is not None
            claim = Claim(job_id=job.id, resident_id=rid, status="approved")
            session.add(claim)
            session.flush()
            session.add(
                Reward(
                    claim_id=claim.id,
                    reference=f"heitje/job-{job.id}/claim-{claim.id}",
                    resident_address=resident.address,
                    cents=cents,
                    issuer_key="job-office",
                )
            )
    assert s.pay_rewards() == len(residents)


def more_residents(s: Service, count: int) -> list[int]:
    ids = []
    with s.app.state.db.session() as session:
        for i in range(count):
            resident = Resident(
                pseudonym=f"P-{i:04d}-{secrets.token_hex(2)}",
                neighbourhood="Palemig",
                address=to_checksum_address("0x" + secrets.token_hex(20)),
                custodial=True,
            )
            session.add(resident)
            session.flush()
            ids.append(resident.id)
    return ids


def strings(value: Any) -> list[str]:
    """Every string in a JSON value, its keys too."""
    if isinstance(value, dict):
        return [*value.keys(), *(x for v in value.values() for x in strings(v))]
    if isinstance(value, list):
        return [x for v in value for x in strings(v)]
    return [value] if isinstance(value, str) else []


def town(s: Service) -> tuple[People, dict[str, Any]]:
    """Six residents rewarded in Schandelen, five of them in Grasbroek too, one in Palemig;
    a shop paid and one exchange waiting."""
    p = setup_people(s)
    people = [p.resident_id, *more_residents(s, 5)]
    rewarded_claims(s, p, "Schandelen", people, 10_00)
    rewarded_claims(s, p, "Grasbroek", people[:5], 4_00)
    rewarded_claims(s, p, "Palemig", people[:1], 7_00)
    shop, till = open_shop(s, p)
    pay = {
        "merchant_code": shop["code"],
        "amount": "6",
        "receipt": "B-1",
        "request_id": "public-pay-1",
    }
    assert s.call("POST", "/payments", p.resident, 201, json=pay)["status"] == "paid"
    s.call(
        "POST", "/redemptions", till, 201, json={"amount": "5.00", "request_id": "public-redeem-1"}
    )
    return p, shop


def test_the_public_figures_are_the_audits_with_no_personal_data(service: Service) -> None:
    s = service
    town(s)
    answer = s.http.get("/public/ledger")  # no sign-in
    assert answer.status_code == 200, answer.text
    f = answer.json()
    # The audit at the same block, with the same records, gives the same figures.
    config = s.app.state.settings.chain
    with s.app.state.db.session() as session:
        exports = service_exports(session)
        residents = list(session.query(Resident))
        shops = list(session.query(Merchant))
    report = audit(
        rpc_source(s.app.state.chain.client, f["block"], max_range=config.log_range),
        exports=exports,
    )
    assert report["block_hash"] == f["block_hash"]
    mine = figures_of(report)
    assert f["circulating"]["cents"] == mine["circulating"] == report["figures"]["supply"]
    assert f["circulating"]["cents"] == 6 * 10_00 + 5 * 4_00 + 7_00 - 5_00
    assert f["liability"]["total"]["cents"] == report["figures"]["liability"]["total"]
    assert f["liability"]["unpaid_redemptions"]["cents"] == 5_00
    assert f["redemptions"]["waiting"] == 1 and f["redemptions"]["paid"] == 0
    assert f["shops"] == 1
    assert [(m["month"], m["amount"]["cents"]) for m in f["rewards_by_month"]] == list(
        report["figures"]["rewards_by_month"].items()
    )
    assert f["audit"]["passed"] is True
    assert {c["name"] for c in f["audit"]["checks"]} >= {"supply", "mints", "payments"}
    # Suppression: Palemig has one resident; Grasbroek (five) is hidden too, or Palemig's
    # amount would be the total less the others. Schandelen's six are shown.
    places = {r["neighbourhood"]: r for r in f["rewards_by_neighbourhood"]}
    assert places["Schandelen"] == {
        "neighbourhood": "Schandelen",
        "residents": 6,
        "amount": {"cents": 60_00, "eur": "60.00"},
        "suppressed": False,
    }
    assert report["figures"]["rewards_by_neighbourhood"]["Schandelen"] == 60_00
    for hidden in ("Palemig", "Grasbroek"):
        assert places[hidden]["suppressed"] is True
        assert places[hidden]["amount"] is None and places[hidden]["residents"] is None
    # No pseudonym and no address of a resident (nor a shop) in any field, JSON or CSV.
    csv_text = s.http.get("/public/ledger?format=csv").text
    secret = [r.pseudonym.lower() for r in residents] + [
        a.lower() for r in residents for a in (r.address, r.address[2:])
    ]
    secret += [m.address.lower() for m in shops]
    for text in [*strings(f), csv_text]:
        for word in secret:
            assert word not in text.lower(), (word, text[:80])
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert {r["block"] for r in rows} == {str(f["block"])}
    by = {(r["figure"], r["period_or_place"]): r for r in rows}
    assert by[("circulating", "")]["amount_eur"] == f["circulating"]["eur"]
    assert by[("rewards_neighbourhood", "Palemig")]["amount_eur"] == ""
    assert by[("rewards_neighbourhood", "Schandelen")]["count"] == "6"
    assert s.http.get("/public/ledger?format=xml").status_code == 422


def test_the_figures_are_kept_and_shared(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "12.50")
    reads = {"n": 0}
    post = Rpc._post

    def counted(self: Rpc, payload: Any) -> Any:
        reads["n"] += 1
        return post(self, payload)

    monkeypatch.setattr(Rpc, "_post", counted)
    cache = s.app.state.public_ledger
    # Parallel first requests share one computation.
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def one() -> None:
        barrier.wait(30)
        answers.append(s.http.get("/public/ledger"))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(answers) == 8 and {a.status_code for a in answers} == {200}
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert cache.computations == 1
    first = answers[0].json()
    # Repeated requests within the time: no chain read at all.
    before = reads["n"]
    for _ in range(5):
        assert s.http.get("/public/ledger").json() == first
    assert reads["n"] == before and cache.computations == 1
    # After the time, one cheap question (the last block): unchanged, so nothing recomputed.
    cache.seconds = 0
    s.http.get("/public/ledger")
    assert cache.computations == 1 and reads["n"] - before <= 2
    # A new block: computed again.
    earn(s, p, "2.50")
    again = s.http.get("/public/ledger").json()
    assert cache.computations == 2 and again["block"] > first["block"]
    assert again["rewards_total"]["cents"] == first["rewards_total"]["cents"] + 2_50


def test_a_statement_pdf_verifies_and_a_tampered_one_does_not(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "12.50")
    earn(s, p, "3.00")
    answer = s.http.get(f"/residents/me/statement?year={YEAR}", headers=p.resident)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    pdf = answer.content
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert f"Jaaropgave Heitjes {YEAR}" in text
    assert "Verdiend in het jaar EUR 15,50" in text and "Jaarplafond EUR 1.500,00" in text
    assert "Litter picking, Schandelerboord" in text and "Job office" in text  # the labels
    statement = s.call("GET", f"/residents/me/statement?year={YEAR}&format=json", p.resident)
    assert statement["earned"] == 15_50 and statement["digest"] in text
    assert statement["block_hash"] in text and statement["address"] in text
    # The QR code opens the public verification page with the statement's year, wallet,
    # block and digest.
    (image,) = reader.pages[0].images
    url = decode_qr(image.data)
    assert url == statement["verify_url"]
    parts = urlsplit(url or "")
    assert parts.path == "/app/" and parts.fragment.startswith("/openbaar/verifieer?")
    query = {k: v[0] for k, v in parse_qs(parts.fragment.split("?", 1)[1]).items()}
    assert query == {
        "j": str(YEAR),
        "a": statement["address"],
        "b": str(statement["block"]),
        "d": statement["digest"],
    }
    params = {"year": query["j"], "address": query["a"], "block": query["b"], "digest": query["d"]}
    verified = s.call("GET", "/public/verify", {}, params=params)
    assert verified["matches"] is True and verified["differences"] == []
    assert verified["chain"]["earned"]["cents"] == 15_50
    # Another digest (a statement changed on paper): no match, and the chain's figures.
    wrong = s.call("GET", "/public/verify", {}, params=params | {"digest": "ab" * 32})
    assert wrong["matches"] is False
    assert wrong["differences"][0]["kind"] == "digest"
    assert wrong["chain"]["earned"]["eur"] == "15.50"
    # The whole file: the real one matches; a PDF of changed figures names what differs.
    ok = s.call("POST", "/public/verify", {}, files={"file": ("opgave.pdf", pdf)})
    assert ok["matches"] is True
    forged = dict(statement)
    forged.pop("verify_url")
    forged.pop("labels")
    forged["earned"] = 115_50
    bad = s.call(
        "POST", "/public/verify", {}, files={"file": ("opgave.pdf", render_pdf(forged, "nl"))}
    )
    assert bad["matches"] is False
    assert {"kind": "value", "field": "earned", "row": None, "key": None,
            "statement": 115_50, "chain": 15_50} in bad["differences"]  # fmt: skip
    # Bad input: a clear 4xx, nothing computed.
    junk = s.http.post("/public/verify", files={"file": ("x.pdf", b"%PDF-1.4 no statement")})
    assert junk.status_code == 422 and junk.json()["error"] == "not_a_statement"
    far = s.http.get("/public/verify", params=params | {"block": "99999999"})
    assert far.status_code == 422 and far.json()["error"] == "block_not_on_chain"
    assert s.http.get("/public/verify", params=params | {"address": "0x12"}).status_code == 422
    assert s.http.get("/public/verify", params=params | {"digest": "xyz"}).status_code == 422


def test_the_desk_prints_a_residents_statement_and_the_log_says_so(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "8.00")
    s.call("POST", "/staff", p.admin, 201, json={"username": "balie", "password": PASSWORD,
                                                  "role": "desk"})  # fmt: skip
    desk = s.login("balie", PASSWORD)
    account = s.call("GET", "/accounts?q=R-0001", desk)["items"][0]
    answer = s.http.get(f"/accounts/{account['id']}/statement?year={YEAR}&lang=en", headers=desk)
    assert answer.status_code == 200, answer.text
    text = PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    assert f"Annual statement of Heitjes {YEAR}" in text and "Earned in the year EUR 8.00" in text
    page = s.http.get(f"/accounts/{account['id']}/statement?year={YEAR}&format=html", headers=desk)
    assert page.status_code == 200 and "Jaaropgave Heitjes" in page.text
    log = s.call("GET", "/audit?action=statement.print", p.admin)["items"]
    assert [e["actor"] for e in log] == ["balie", "balie"]
    assert log[0]["subject"] == f"resident:{p.resident_id}" and log[0]["details"]["year"] == YEAR
    # Only the desk and admins; a resident only their own; a year without rewards: none.
    assert s.http.get(
        f"/accounts/{account['id']}/statement?year={YEAR}", headers=p.inspector
    ).status_code == 403  # fmt: skip
    assert s.http.get(f"/accounts/{account['id']}/statement?year={YEAR}").status_code == 401
    none = s.http.get(f"/residents/me/statement?year={YEAR - 1}", headers=p.resident)
    assert none.status_code == 404 and none.json()["error"] == "no_statement"
    future = s.http.get(f"/residents/me/statement?year={YEAR + 1}", headers=p.resident)
    assert future.status_code == 422 and future.json()["error"] == "bad_year"
    issuer_account = s.call("GET", "/accounts?q=jo", p.admin)["items"][0]
    other = s.http.get(f"/accounts/{issuer_account['id']}/statement?year={YEAR}", headers=desk)
    assert other.status_code == 404 and other.json()["error"] == "no_resident"
    assert len(s.call("GET", "/audit?action=statement.print", p.admin)["items"]) == 2


def test_parallel_statement_requests_compute_once_each(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "5.00")
    store = s.app.state.statements
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(6)

    def one() -> None:
        barrier.wait(30)
        answers.append(
            s.http.get(f"/residents/me/statement?year={YEAR}&format=json", headers=p.resident)
        )

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["digest"] for a in answers}) == 1
    assert store.computed <= 2  # at most AT_ONCE computed before the first was kept


def test_the_auditor_sees_the_signals_in_dutch(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "12.50")  # claimed, done and approved within seconds: quick_approval
    report = s.call("GET", "/ledger/signals", p.admin)
    by = {x["name"]: x for x in report["signals"]}
    assert set(by) == {
        "fast_cap", "refund_loops", "shop_overredeem", "minter_cluster",
        "inspector_favours", "quick_approval", "own_job_approved",
    }  # fmt: skip
    quick = by["quick_approval"]
    assert quick["status"] == "look" and quick["shown"] == 1
    assert quick["title"] == "Goedgekeurd binnen minuten na de claim"
    assert "goedgekeurd binnen 30 minuten" in quick["threshold"]
    assert quick["records"][0]["resident"] == "R-0001"
    assert all("problem" not in r for r in quick["records"])
    assert {c["key"] for c in quick["columns"]} >= {"claim", "resident"}
    english = s.call("GET", "/ledger/signals?lang=en", p.admin)
    assert {x["name"]: x for x in english["signals"]}["quick_approval"]["title"] == (
        "Approved within minutes of the claim"
    )
    assert s.http.get("/ledger/signals", headers=p.resident).status_code == 403


def test_statement_checks_are_limited_per_address(service: Service) -> None:
    s = service
    p = setup_people(s)
    earn(s, p, "4.00")
    statement = s.call("GET", f"/residents/me/statement?year={YEAR}&format=json", p.resident)
    s.app.state.settings = replace(s.app.state.settings, limit_verify=Limit(2, 600))
    params = {
        "year": YEAR,
        "address": statement["address"],
        "block": statement["block"],
        "digest": statement["digest"],
    }
    for _ in range(2):
        assert s.call("GET", "/public/verify", {}, params=params)["matches"] is True
    third = s.http.get("/public/verify", params=params)
    assert third.status_code == 429 and third.json()["error"] == "too_many_attempts"
    assert int(third.headers["Retry-After"]) > 0
    pdf = s.http.get(f"/residents/me/statement?year={YEAR}", headers=p.resident).content
    refused = s.http.post("/public/verify", files={"file": ("opgave.pdf", pdf)})
    assert refused.status_code == 429
