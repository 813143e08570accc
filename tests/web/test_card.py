"""A resident with only the Heitje card, end to end in Chromium: the desk registers the
resident, finds them, takes a job for them and reports it done; the inspector approves and
the reward is paid; the desk makes the card (PIN typed twice), which prints on one
bank-card-size page (`page.pdf()`); the till scans the card's QR code with Chromium's fake
camera (a video made from the card's own QR code), the resident types a wrong PIN and then
the right one, and the payment shows at the till and on the desk's slip; the desk blocks the
card and the till is refused with a sentence. Every screen is read in Dutch (no null, no
English) and checked by axe-core, the desk's page in English too."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect
from support.web import ROOT, Served, wait_for
from test_scanner import write_y4m
from test_truth import problems

from api.demo import PASSWORD

SCREENSHOTS = ROOT / "reports" / "screenshots" / "card"
DESK = {"width": 1200, "height": 900}
PHONE = {"width": 390, "height": 844}
CARD_PT = (85.6 / 25.4 * 72, 54 / 25.4 * 72)  # a bank card, in PDF points


@pytest.fixture
def contexts() -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def open_tab(browser: Browser, made: list[BrowserContext], size: dict[str, int],
             camera: bool = False) -> tuple[Page, list[str]]:  # fmt: skip
    """A tab axe-core can be injected into (bypass_csp), with the errors the page raises."""
    context = browser.new_context(
        viewport=size, locale="nl-NL", bypass_csp=True, permissions=["camera"] if camera else []
    )
    context.set_default_timeout(20_000)
    made.append(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/app/#/login")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_function("() => !location.hash.startsWith('#/login')")


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def reads_right(page: Page) -> None:
    assert problems(page, "nl") == []


def test_a_resident_with_only_a_card_earns_and_pays(
    browser: Browser, camera_browser: Any, served: Served, contexts: list[BrowserContext],
    tmp_path: Path,
) -> None:  # fmt: skip
    admin = served.login("admin", "development-admin")
    served.call("POST", "/staff", admin, 201, json={
        "username": "balie-pas", "password": PASSWORD, "role": "desk"})  # fmt: skip
    office, inspector = served.login("wijkzaken"), served.login("inspecteur")
    job = served.call("POST", "/jobs", office, 201, json={
        "title": "Bladeren vegen bij het buurthuis", "description": "Een ochtend vegen.",
        "neighbourhood": "Schandelen", "reward": "12.50", "deadline": "2099-12-31"})  # fmt: skip

    # The desk registers the resident, finds them, takes the job for them, reports it done.
    desk, desk_errors = open_tab(browser, contexts, DESK)
    sign_in(desk, served.base, "balie-pas")
    expect(desk.locator("h1")).to_have_text("Balie")
    register = desk.locator("section", has_text="Nieuwe inwoner inschrijven")
    register.get_by_label("Schuilnaam").fill("HRL-PAS1")
    register.get_by_label("Wijk").fill("Schandelen")
    register.get_by_label("Kies een wachtwoord").fill(PASSWORD)
    register.get_by_label("Wachtwoord nog een keer").fill(PASSWORD)
    register.get_by_role("button", name="Inschrijven").click()
    expect(desk.locator("main h2").first).to_have_text("HRL-PAS1")
    expect(desk.locator("#desk-balance")).to_have_text("€ 0,00")
    resident_api = served.login("HRL-PAS1")
    desk.goto(f"{served.base}/app/#/d")
    desk.get_by_role("search").get_by_label("Schuilnaam").fill("pas1")
    desk.get_by_role("button", name="Zoek").click()
    desk.get_by_role("link", name="Help HRL-PAS1").click()
    expect(desk.locator("main h2").first).to_have_text("HRL-PAS1")
    job_card = desk.locator(f"[data-job='{job['id']}']")
    job_card.get_by_role("button", name="Aannemen voor HRL-PAS1").click()
    expect(desk.get_by_role("status")).to_have_text(
        "De klus 'Bladeren vegen bij het buurthuis' staat nu op naam van HRL-PAS1."
    )
    claim = desk.locator("[data-claim]", has_text="Bladeren vegen bij het buurthuis")
    claim.get_by_label("Wat heeft u gedaan? (voor de inspecteur)").fill("Alles geveegd, 6 zakken.")
    claim.get_by_role("button", name="Klaar melden").click()
    expect(desk.get_by_role("status")).to_contain_text("is klaargemeld")
    reads_right(desk)
    shot(desk, "desk-resident")

    # The inspector approves as usual; the worker pays the reward.
    done = served.call("GET", "/claims?status=done", inspector)["items"]
    mine = [c for c in done if c["resident"] == "HRL-PAS1"]
    assert [c["note"] for c in mine] == ["Alles geveegd, 6 zakken."]
    served.call("POST", f"/claims/{mine[0]['id']}/approve", inspector, json={})
    wait_for(lambda: served.call("GET", "/residents/me", resident_api)["balance"]["cents"] == 12_50)

    # The desk makes the card with the PIN the resident types twice.
    desk.reload()
    expect(desk.locator("#desk-balance")).to_have_text("€ 12,50")
    expect(desk.get_by_text("Deze inwoner heeft nog geen pas.")).to_be_visible()
    desk.get_by_label("Pincode (door de inwoner te kiezen)").fill("1234")
    desk.get_by_label("Pincode nog een keer").fill("1234")
    desk.get_by_role("button", name="Pas maken").click()
    expect(desk.get_by_role("alert")).to_contain_text("Kies een andere pincode")
    desk.get_by_label("Pincode (door de inwoner te kiezen)").fill("4071")
    desk.get_by_label("Pincode nog een keer").fill("4071")
    desk.get_by_role("button", name="Pas maken").click()
    sheet = desk.locator(".card-sheet")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("HRL-PAS1")
    number = sheet.locator("[data-card]").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", number), number
    qr = sheet.get_by_role("img", name="QR-code van de Heitje-pas van HRL-PAS1")
    expect(qr).to_be_visible()
    desk.wait_for_function("() => document.querySelector('.card-sheet canvas').width > 0")
    reads_right(desk)
    shot(desk, "desk-card-made")
    assert "4071" not in desk.locator("body").inner_text()

    desk.emulate_media(media="print")
    pdf = desk.pdf(prefer_css_page_size=True, print_background=True)
    desk.set_viewport_size({"width": 324, "height": 204})  # the card at 96 dpi, as printed
    desk.screenshot(path=str(SCREENSHOTS / "desk-card-print.png"))
    desk.set_viewport_size(DESK)
    desk.emulate_media(media="screen")
    (SCREENSHOTS / "card.pdf").write_bytes(pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1, boxes  # one page: the card alone
    width, height = (float(x) for x in boxes[0])
    assert abs(width - CARD_PT[0]) < 2 and abs(height - CARD_PT[1]) < 2, (width, height)

    # The card's QR code, as the till's camera sees it.
    data_url = qr.evaluate("canvas => canvas.toDataURL('image/png')")
    picture = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    video = tmp_path / "card-qr.y4m"
    write_y4m(picture, video)

    till, till_errors = open_tab(camera_browser(video), contexts, PHONE, camera=True)
    sign_in(till, served.base, f"merchant-{served.shop_code.lower()}")
    till.get_by_role("link", name="Betalen met de Heitje-pas").click()
    expect(till.locator("h1")).to_have_text("Betalen met de Heitje-pas")
    till.get_by_label("Bedrag in euro").fill("3,40")
    till.get_by_role("button", name="Scan de pas").click()
    expect(till.get_by_label("Pasnummer")).to_have_value(number, timeout=15_000)
    expect(till.locator("video.camera")).to_be_hidden()
    reads_right(till)
    shot(till, "till-card-scanned")
    till.get_by_role("button", name="Verder").click()
    expect(till.get_by_text(
        f"U betaalt € 3,40 aan Bakkerij Op de Kamp met de pas eindigend op {number[-4:]}."
    )).to_be_visible()  # fmt: skip
    till.get_by_label("Pincode", exact=True).fill("9999")
    till.get_by_role("button", name="Betaal € 3,40").click()
    expect(till.get_by_role("alert")).to_have_text(
        "De pincode klopt niet. Nog 2 pogingen, daarna wordt de pas geblokkeerd. Typ de pincode "
        "opnieuw."
    )
    reads_right(till)
    shot(till, "till-card-wrong-pin")
    assert served.call("GET", "/residents/me", resident_api)["balance"]["cents"] == 12_50
    till.get_by_label("Pincode", exact=True).fill("4071")
    till.get_by_role("button", name="Betaal € 3,40").click()
    expect(till.get_by_role("status")).to_have_text(
        "Betaald! € 3,40 van HRL-PAS1 met de Heitje-pas."
    )
    receipt = till.locator(".receipt-slip")
    expect(receipt).to_contain_text("Bakkerij Op de Kamp")
    expect(receipt).to_contain_text(f"•••• {number[-4:]}")
    reads_right(till)
    shot(till, "till-card-paid")
    till.emulate_media(media="print")
    till.screenshot(path=str(SCREENSHOTS / "till-card-receipt-print.png"), full_page=True)
    till.emulate_media(media="screen")
    assert served.call("GET", "/residents/me", resident_api)["balance"]["cents"] == 9_10

    # The resident's side: the desk's slip has the payment, and the balance.
    desk.get_by_role("button", name="Overzicht maken om af te drukken").click()
    slip = desk.locator(".slip")
    expect(slip.locator("#slip-balance")).to_have_text("€ 9,10")
    expect(slip.locator("li.payment")).to_contain_text("Bakkerij Op de Kamp")
    expect(slip.locator("li.payment .amount")).to_have_text("\N{MINUS SIGN}€ 3,40")
    expect(slip.locator("li.reward .amount")).to_have_text("€ 12,50")
    expect(desk.locator("#desk-balance")).to_have_text("€ 9,10")  # the page follows the slip
    reads_right(desk)
    shot(desk, "desk-slip")
    desk.emulate_media(media="print")
    desk.screenshot(path=str(SCREENSHOTS / "desk-slip-print.png"), full_page=True)
    desk.emulate_media(media="screen")
    history = served.call("GET", "/residents/me/history", resident_api)["items"]
    assert [(i["kind"], i["amount"]["cents"]) for i in history] == [("payment", -340),
                                                                    ("reward", 1250)]  # fmt: skip

    # The card is lost: the desk blocks it, and the till is refused with a sentence.
    card = desk.locator("[data-card-id]").first
    card.get_by_label("Reden").fill("Kwijtgeraakt op de markt")
    card.get_by_role("button", name="Pas blokkeren (kwijt of gestolen)").click()
    expect(desk.get_by_role("status")).to_contain_text("is geblokkeerd")
    expect(desk.locator("[data-card-id]").first).to_have_attribute("data-status", "blocked")
    shot(desk, "desk-card-blocked")
    till.get_by_role("button", name="Nieuwe betaling").click()
    till.get_by_label("Bedrag in euro").fill("1,00")
    till.get_by_label("Pasnummer").fill(number.lower())
    till.get_by_role("button", name="Verder").click()
    till.get_by_label("Pincode", exact=True).fill("4071")
    till.get_by_role("button", name="Betaal € 1,00").click()
    expect(till.get_by_role("alert")).to_have_text(
        "Deze pas is geblokkeerd (kwijt of vervangen) en betaalt niets. De klant kan aan de "
        "balie van de gemeente een nieuwe pas krijgen."
    )
    expect(till.get_by_text("Er is niets betaald.")).to_be_visible()
    reads_right(till)
    shot(till, "till-card-blocked")
    assert served.call("GET", "/residents/me", resident_api)["balance"]["cents"] == 9_10

    # The desk's page in English reads right too.
    desk.get_by_role("button", name="Switch to English").click()
    expect(desk.locator("h1")).to_have_text("Desk")
    expect(desk.locator("[data-card-id]").first).to_contain_text("blocked (lost or replaced)")
    assert problems(desk, "en") == []
    shot(desk, "desk-resident-en")
    desk.evaluate("() => localStorage.setItem('heitje.lang', 'nl')")
    assert desk_errors == [] and till_errors == []
