"""The public pages in the browser, without signing in: the ledger's figures (the API's, of one
block, suppressed cells hidden), the check of an annual statement that its QR code opens (a
right one, a changed one, a forged file), the statement downloaded by the resident and printed
by the desk, and the fraud signals on the auditor's page. Each read as visible text (no
null/undefined, no English in Dutch mode) and checked by axe-core; screenshots go to
reports/screenshots/public/."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Page, expect
from pypdf import PdfReader
from support.web import ROOT, Served
from test_truth import problems, settled, sign_in

from api.demo import PASSWORD
from heitje_chain.statement_pdf import render_pdf

SHOTS = ROOT / "reports" / "screenshots" / "public"
YEAR = datetime.now(UTC).year


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def euros(cents: int) -> str:
    whole, part = divmod(cents, 100)
    return f"€ {whole:,}".replace(",", ".") + f",{part:02d}"


def test_the_public_page_shows_the_ledgers_figures(tab: Any, served: Served) -> None:
    resident = served.resident("HRL-OPENBAAR")
    served.fund(resident, "12.50")
    figures = served.call("GET", "/public/ledger", {})
    page = tab()
    page.goto(f"{served.base}/app/#/openbaar")
    settled(page)
    expect(page.locator("main h1")).to_have_text("Openbare cijfers van het Heitje")
    expect(page.locator("[data-figure=circulating]")).to_have_text(
        euros(figures["circulating"]["cents"])
    )
    expect(page.locator("[data-figure=shops]")).to_have_text(str(figures["shops"]))
    text = page.locator("main").inner_text()
    assert f"Stand bij blok {figures['block']}" in text and figures["block_hash"] in text
    assert "Alle controles kloppen." in text
    for row in figures["rewards_by_neighbourhood"]:
        cells = page.locator(f"tr[data-place='{row['neighbourhood']}'] td")
        if row["suppressed"]:
            expect(cells.first).to_have_text("afgeschermd")
        else:
            expect(cells.nth(1)).to_have_text(euros(row["amount"]["cents"]))
    assert "HRL-OPENBAAR" not in text
    assert problems(page, "nl") == []
    shot(page, "openbaar-nl")
    csv_link = page.get_by_role("link", name="De cijfers als spreadsheet (CSV)")
    assert csv_link.get_attribute("href") == "/public/ledger?format=csv"
    english = tab(lang="en")
    english.goto(f"{served.base}/app/#/openbaar")
    settled(english)
    expect(english.locator("main h1")).to_have_text("Public figures of the Heitje")
    assert "Heitjes in circulation" in english.locator("main").inner_text()
    assert problems(english, "en") == []
    shot(english, "openbaar-en")
    # The sign-in page links to it.
    english.goto(f"{served.base}/app/#/login")
    english.get_by_role("link", name="Public figures of the Heitje").click()
    expect(english.locator("main h1")).to_have_text("Public figures of the Heitje")


def test_a_statement_is_checked_from_its_qr_link_and_its_file(
    tab: Any, served: Served, tmp_path: Any
) -> None:
    resident = served.resident("HRL-JAAROPGAVE")
    served.fund(resident, "15.50")
    statement = served.call("GET", f"/residents/me/statement?year={YEAR}&format=json", resident)
    url = statement["verify_url"]
    assert url.startswith(f"{served.base}/app/#/openbaar/verifieer?j={YEAR}&a=")
    page = tab()
    page.goto(url)
    settled(page)
    expect(page.locator("[data-matches]")).to_have_attribute("data-matches", "yes")
    text = page.locator("main").inner_text()
    assert "Deze jaaropgave klopt" in text
    assert statement["digest"] in text and statement["address"] in text
    expect(page.locator("[data-figure=earned]")).to_have_text("€ 15,50")
    assert problems(page, "nl") == []
    shot(page, "verifieer-klopt-nl")
    # The same link with another fingerprint: not right, and the chain's figures to compare.
    page.goto(url.replace(statement["digest"], "ab" * 32))
    settled(page)
    expect(page.locator("[data-matches]")).to_have_attribute("data-matches", "no")
    assert "klopt niet" in page.locator("main").inner_text()
    # A forged PDF (more earned than the chain paid): the difference in words.
    forged = {k: v for k, v in statement.items() if k not in ("verify_url", "labels")}
    forged["earned"] = 115_50
    path = tmp_path / "opgave.pdf"
    path.write_bytes(render_pdf(forged, "nl"))
    page.get_by_label("Bestand van de jaaropgave").set_input_files(str(path))
    page.get_by_role("button", name="Controleren").click()
    expect(page.locator(".differences")).to_contain_text(
        "Verdiend in het jaar: € 115,50 op de opgave, € 15,50 op de blockchain."
    )
    assert problems(page, "nl") == []
    shot(page, "verifieer-vervalst-nl")
    # No file: says what to do.
    page.get_by_label("Bestand van de jaaropgave").set_input_files([])
    page.get_by_role("button", name="Controleren").click()
    expect(page.get_by_role("alert")).to_contain_text("Kies eerst het bestand")


def test_the_resident_downloads_and_the_desk_prints_a_statement(tab: Any, served: Served) -> None:
    resident = served.resident("HRL-PDF")
    served.fund(resident, "9.75")
    page = tab()
    sign_in(page, served.base, "HRL-PDF", PASSWORD)
    settled(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Jaaropgave downloaden (PDF)").click()
    download = info.value
    assert download.suggested_filename.startswith(f"jaaropgave-{YEAR}-0x")
    data = open(download.path(), "rb").read()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "jaaropgave-inwoner.pdf").write_bytes(data)
    words = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Verdiend in het jaar EUR 9,75" in words and "Helpen bij de voedselbank" in words
    assert problems(page, "nl") == []
    shot(page, "inwoner-jaaropgave-nl")
    # The desk finds the resident and prints the statement.
    admin = served.login("admin", "development-admin")
    served.call("POST", "/staff", admin, 201, json={
        "username": "balie-jaaropgave", "password": PASSWORD, "role": "desk"})  # fmt: skip
    desk = tab(width=1200)
    sign_in(desk, served.base, "balie-jaaropgave", PASSWORD)
    desk.goto(f"{served.base}/app/#/a/accounts")
    settled(desk)
    desk.locator("main form[role=search] input").first.fill("HRL-PDF")
    desk.locator("main form[role=search] button[type=submit]").click()
    card = desk.locator("li.card", has_text="HRL-PDF")
    card.get_by_text("Jaaropgave afdrukken").click()
    with desk.expect_download() as info:
        card.get_by_role("button", name="Jaaropgave downloaden (PDF)").click()
    printed = open(info.value.path(), "rb").read()
    assert "Verdiend in het jaar EUR 9,75" in PdfReader(io.BytesIO(printed)).pages[0].extract_text()
    assert problems(desk, "nl") == []
    shot(desk, "balie-jaaropgave-nl")
    log = served.call("GET", "/audit?action=statement.print", admin)["items"]
    assert log and log[-1]["actor"] == "balie-jaaropgave"


def test_the_auditor_sees_the_signals(tab: Any, served: Served) -> None:
    resident = served.resident("HRL-SIGNAAL")
    served.fund(resident, "12.50")  # approved seconds after the claim: quick_approval
    for lang in ("nl", "en"):
        page = tab(width=1200, lang=lang)
        page.goto(f"{served.base}/app/#/login")
        page.locator("input[name=username]").fill("accountant")
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_function("() => !location.hash.startsWith('#/login')")
        page.goto(f"{served.base}/app/#/signals")
        settled(page)
        expect(page.locator("section[data-signal]")).to_have_count(7, timeout=60_000)
        quick = page.locator("section[data-signal=quick_approval]")
        expect(quick).to_have_attribute("data-status", "look")
        if lang == "nl":
            expect(quick.locator("h2")).to_contain_text("Goedgekeurd binnen minuten na de claim")
            expect(quick.locator("[data-threshold]")).to_contain_text(
                "goedgekeurd binnen 30 minuten"
            )
            expect(quick).to_contain_text("HRL-SIGNAAL")
            expect(page.locator("nav").get_by_role("link", name="Signalen")).to_be_visible()
        else:
            expect(quick.locator("h2")).to_contain_text("Approved within minutes of the claim")
        assert problems(page, lang) == []
        shot(page, f"signalen-{lang}")
        assert re.search(r"Stand bij blok \d+|As of block \d+", page.locator("main").inner_text())
