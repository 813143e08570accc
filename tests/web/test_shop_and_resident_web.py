"""What residents and shops expect of a payment app: the shops that accept Heitjes, a receipt
per payment, giving a claimed job back; the till's sticker printed on A6 (page.pdf()), the
day overview with its CSV, and no QR code for a shop not yet admitted."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from support.web import Served

from api.demo import PASSWORD, demo_iban

SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"


def test_a_resident_finds_shops_sees_a_receipt_and_gives_a_job_back(
    person: Any, served: Served
) -> None:
    resident_api = served.resident("HRL-WINKEL", "Schandelen")
    served.fund(resident_api, "8.00")
    served.pay(resident_api, "3.40", "KASSA-BON-1")
    office = served.login("wijkzaken")
    job = served.call("POST", "/jobs", office, 201, json={
        "title": "Stoepen vegen in Schandelen", "description": "Bezems liggen klaar.",
        "neighbourhood": "Schandelen", "reward": "6.00", "deadline": "2099-12-31"})  # fmt: skip
    claim = served.call("POST", f"/jobs/{job['id']}/claim", resident_api, 201)

    app = person()
    page = app.sign_in("HRL-WINKEL")
    page.get_by_role("navigation").get_by_role("link", name="Winkels").click()
    expect(page.locator("h1")).to_have_text("Hier betaalt u met Heitjes")
    mine = page.locator("section.hood").first
    expect(mine.locator("h2")).to_have_text("Schandelen (uw wijk)")  # own neighbourhood first
    expect(mine).to_contain_text("Bakkerij Op de Kamp")
    page.get_by_label("Zoek een winkel").fill("BAKKERIJ op")
    page.get_by_role("button", name="Zoeken").click()
    expect(page.locator("[data-shop]")).to_have_count(1)
    app.shot("resident-shops")
    page.locator("[data-shop]").get_by_role("link", name="Hier betalen").click()
    expect(page.get_by_label("Winkelcode")).to_have_value(served.shop_code)

    app.open("/r/history")
    page.locator("li.payment").get_by_role("link", name="Bon tonen").click()
    expect(page.locator("h1")).to_have_text("Bon")
    card = page.locator(".receipt-card")
    expect(card).to_contain_text("€ 3,40 betaald aan Bakkerij Op de Kamp")
    expect(card).to_contain_text("KASSA-BON-1")
    expect(card).to_contain_text(served.shop_code)
    app.shot("resident-receipt")

    app.open("/r")
    mine_claim = page.locator(f"[data-claim='{claim['id']}']")
    mine_claim.get_by_role("button", name="Klus teruggeven").click()
    expect(mine_claim.locator(".confirm")).to_contain_text("Stoepen vegen in Schandelen")
    assert served.call("GET", f"/jobs/{job['id']}", resident_api)["places_left"] == 0
    mine_claim.get_by_role("button", name="Ja, geef de klus terug").click()
    mine_claim = page.locator(f"[data-claim='{claim['id']}']")
    expect(mine_claim).to_contain_text("Teruggegeven")
    expect(mine_claim.get_by_role("status")).to_have_text(
        "U heeft de klus teruggegeven. De plaats is vrij voor iemand anders."
    )
    assert served.call("GET", f"/jobs/{job['id']}", resident_api)["places_left"] == 1


def test_the_shop_prints_its_sticker_and_closes_the_day(person: Any, served: Served) -> None:
    resident_api = served.resident("HRL-DAG")
    served.fund(resident_api, "20.00")
    payment = served.pay(resident_api, "7.50", "KASSA-DAG-1")
    served.pay(resident_api, "2.00", "KASSA-DAG-2")
    merchant_api = served.login(f"merchant-{served.shop_code.lower()}")
    served.call("POST", f"/payments/{payment['id']}/refund", merchant_api, json={
        "amount": "1.50", "request_id": "test-dag-refund"})  # fmt: skip
    refused = served.http.post("/payments", headers=resident_api, json={
        "merchant_code": served.shop_code, "amount": "900.00", "receipt": "KASSA-DAG-X",
        "request_id": "test-dag-refused"})  # fmt: skip
    assert refused.status_code == 409

    shop = person()
    page = shop.sign_in(f"merchant-{served.shop_code.lower()}")
    page.get_by_role("link", name="Sticker voor de kassa afdrukken").click()
    sticker = page.locator(".sticker")
    expect(sticker).to_contain_text("Bakkerij Op de Kamp")
    expect(sticker).to_contain_text(served.shop_code)
    expect(sticker.get_by_role("img", name=re.compile("QR-code om te betalen"))).to_be_visible()
    shop.shot("merchant-sticker")
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    page.set_viewport_size({"width": 397, "height": 559})  # A6 at 96 dpi, as printed
    page.screenshot(path=str(SCREENSHOTS / "merchant-sticker-print.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(media="screen")
    (SCREENSHOTS / "merchant-sticker.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1, boxes  # one page
    width, height = (float(x) for x in boxes[0])
    assert abs(width - 297.6) < 2 and abs(height - 419.5) < 2  # A6: 105 x 148 mm

    shop.open("/m/day")
    expect(page.locator("h1")).to_have_text("Dagoverzicht")
    expect(page.locator("#day-payments")).to_contain_text("€")
    rows = page.locator("ul.rows li")
    expect(page.locator("li.refund", has_text="KASSA-DAG-1")).to_contain_text(
        "\N{MINUS SIGN}€ 1,50"
    )
    expect(page.locator("li.payment", has_text="KASSA-DAG-2")).to_contain_text("€ 2,00")
    expect(rows.filter(has_text="KASSA-DAG-X")).to_have_count(0)  # refused: not counted
    expect(page.locator(".state.not-moved")).to_contain_text("niet meegeteld")
    shop.shot("merchant-day")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download als spreadsheet (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == '"Tijd";"Soort";"Inwoner";"Bonnummer";"Bedrag (euro)"'
    assert any('"Terugbetaling";"HRL-DAG";"KASSA-DAG-1";"-1,50"' in line for line in lines)
    net = page.locator("#day-net").inner_text()
    assert lines[-1].endswith(f'"{net.replace("€", "").strip()}"')


def test_a_shop_not_yet_admitted_is_offered_no_qr_code(person: Any, served: Served) -> None:
    shop = served.call("POST", "/merchants", {}, 201, json={
        "name": "Wachtende Winkel", "neighbourhood": "Palemig",
        "iban": demo_iban(4_000_031), "password": PASSWORD})  # fmt: skip
    owner = person()
    page = owner.sign_in(f"merchant-{shop['code'].lower()}")
    expect(page.locator("h1")).to_have_text("Kassa")
    expect(page.get_by_role("alert")).to_contain_text("wacht nog op toelating")
    expect(page.get_by_role("button", name="Toon QR-code")).to_have_count(0)
    expect(page.get_by_label("Bedrag in euro")).to_have_count(0)
    owner.open("/m/sticker")
    expect(page.locator(".sticker")).to_have_count(0)
    owner.shot("merchant-waiting")


def test_installable_and_the_offline_shell_shows_the_last_balance(
    person: Any, served: Served
) -> None:
    resident_api = served.resident("HRL-OFFLINE")
    served.fund(resident_api, "4.50")
    manifest = served.http.get("/app/manifest.json").json()
    assert manifest["start_url"] == "/app/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        answer = served.http.get(f"/app/{icon['src']}")
        assert answer.status_code == 200 and len(answer.content) > 300, icon  # a real icon
    worker = served.http.get("/app/sw.js")
    assert worker.status_code == 200 and "%SHELL%" not in worker.text
    assert worker.headers["cache-control"] == "no-cache"

    app = person()
    page = app.sign_in("HRL-OFFLINE")
    expect(page.locator("#balance")).to_have_text("€ 4,50")
    page.evaluate("() => navigator.serviceWorker.ready")
    page.wait_for_function("() => Boolean(navigator.serviceWorker.controller)", timeout=20_000)
    page.context.set_offline(True)
    try:
        page.reload()  # the shell from the service worker, not the browser's error page
        expect(page.locator("h1")).to_have_text("Mijn Heitjes")
        offline = page.locator(".card.offline")
        expect(offline).to_contain_text("Geen verbinding: laatst bekende gegevens")
        expect(offline.locator("#last-balance")).to_have_text("€ 4,50")
        expect(offline).to_contain_text("Laatst bekend saldo (kan inmiddels anders zijn)")
        expect(offline).to_contain_text(re.compile(r"Gezien op \d{1,2} [a-z]{3}\.? 20\d\d"))
        expect(page.get_by_role("alert")).to_contain_text("Er is geen verbinding met Heitje")
        expect(page.locator("#balance")).to_have_count(0)  # never shown as the current balance
        app.shot("resident-offline")
    finally:
        page.context.set_offline(False)
    page.get_by_role("button", name="Opnieuw proberen").click()
    expect(page.locator("#balance")).to_have_text("€ 4,50")
    expect(page.locator(".card.offline")).to_have_count(0)
