"""The next visit in the browser: notices of what happened since (shown once, in plain
words), staying signed in on one's own phone (listed on the account page, revoked at once),
a shop signing in with its code, the municipality's name and colour from GET /config, and
CSV downloads with headers in the app's language. Each screen read as visible text (no
null/undefined, no English in Dutch mode) and checked by axe-core."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from support.web import ROOT, Served
from test_truth import problems, settled

from api.demo import PASSWORD

SHOTS = ROOT / "reports" / "screenshots" / "webapp"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1200, "height": 900}


@pytest.fixture
def context(browser: Browser) -> Iterator[Any]:
    """`context(phone=True)`: a browser (its own localStorage) where axe can be injected."""
    made: list[BrowserContext] = []
    errors: list[str] = []

    def make(phone: bool = True) -> BrowserContext:
        ctx = browser.new_context(
            viewport=PHONE if phone else DESK, locale="nl-NL", bypass_csp=True
        )
        ctx.set_default_timeout(20_000)
        ctx.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()
    assert errors == [], "the page raised errors"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, name: str, remember: bool = False) -> None:
    page.goto(f"{base}/app/#/login")
    page.get_by_label("Gebruikersnaam").fill(name)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    if remember:
        page.get_by_label("Ingelogd blijven op dit apparaat").check()
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_function("() => !location.hash.startsWith('#/login')")


def clean(page: Page, lang: str = "nl") -> None:
    settled(page)
    assert problems(page, lang) == []


def test_notices_show_once_on_the_next_visit(context: Any, served: Served) -> None:
    resident = served.resident("HRL-BERICHT")
    served.fund(resident, "12.50")  # approved and paid on-chain
    office, inspector = served.login("wijkzaken"), served.login("inspecteur")
    job = served.call("POST", "/jobs", office, 201, json={
        "title": "Bladeren ruimen", "description": "Het pleintje.", "neighbourhood": "Palemig",
        "reward": "7.00", "deadline": "2099-12-31"})  # fmt: skip
    claim = served.call("POST", f"/jobs/{job['id']}/claim", resident, 201)
    served.call("POST", f"/claims/{claim['id']}/done", resident, json={"note": "klaar"})
    served.call("POST", f"/claims/{claim['id']}/reject", inspector,
                json={"reason": "Er lagen nog bladeren bij de bank."})  # fmt: skip

    page = context().new_page()
    sign_in(page, served.base, "HRL-BERICHT")
    panel = page.locator("#notices")
    expect(panel.locator("h2")).to_have_text("Nieuw sinds uw vorige bezoek")
    expect(panel.locator("[data-kind=reward_paid]")).to_contain_text(
        "Uw klus \u2018Helpen bij de voedselbank\u2019 is goedgekeurd: € 12,50 is betaald."
    )
    expect(panel.locator("[data-kind=claim_rejected]")).to_contain_text(
        "Uw klus \u2018Bladeren ruimen\u2019 is afgekeurd. "
        "De reden: Er lagen nog bladeren bij de bank."
    )
    expect(page.locator("#live")).to_have_text("Er zijn 2 nieuwe berichten sinds uw vorige bezoek.")
    clean(page)
    shot(page, "phone-resident-notices-nl")
    # It stays at the top while going through the pages, until hidden.
    page.get_by_role("navigation").get_by_role("link", name="Geschiedenis").click()
    expect(page.locator("#notices")).to_be_visible()
    page.get_by_role("button", name="Gelezen, verbergen").click()
    expect(page.locator("#notices")).to_have_count(0)
    # Seen once: the next visit has none.
    page.get_by_role("button", name="Uitloggen").click()
    sign_in(page, served.base, "HRL-BERICHT")
    expect(page.locator("main h1")).to_have_text("Mijn Heitjes")
    settled(page)
    expect(page.locator("#notices")).to_have_count(0)
    assert served.call("GET", "/notices", resident) == []


def test_notices_in_english_at_desk_size(context: Any, served: Served) -> None:
    resident = served.resident("HRL-NEWS")
    served.fund(resident, "3.00")
    page = context(phone=False).new_page()
    page.goto(f"{served.base}/app/#/login")
    page.evaluate("() => localStorage.setItem('heitje.lang', 'en')")
    page.reload()
    page.locator("input[name=username]").fill("HRL-NEWS")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("#notices")).to_contain_text(
        "Your job \u2018Helpen bij de voedselbank\u2019 was approved: € 3.00 has been paid."
    )
    clean(page, "en")
    shot(page, "desk-resident-notices-en")


def test_staying_signed_in_on_ones_phone_until_signed_out_there(
    context: Any, served: Served
) -> None:
    served.resident("HRL-BLIJF")
    phone = context()
    page = phone.new_page()
    page.goto(f"{served.base}/app/#/login")
    expect(page.get_by_text("Alleen op uw eigen telefoon of computer")).to_be_visible()
    clean(page)
    shot(page, "phone-login-remember-nl")
    sign_in(page, served.base, "HRL-BLIJF", remember=True)
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('heitje.device'))")
    assert stored["token"].startswith("hd1.") and stored["name"] == "HRL-BLIJF"
    assert "seed" not in json.dumps(stored) and "0x" not in stored["token"]  # never a key
    page.close()

    # The next visit (a new tab: no session of its own) is signed in at once.
    page = phone.new_page()
    page.goto(f"{served.base}/app/")
    expect(page.locator("main h1")).to_have_text("Mijn Heitjes")

    # A second device of the same resident, not kept.
    laptop = context(phone=False).new_page()
    sign_in(laptop, served.base, "HRL-BLIJF", remember=True)
    laptop.goto(f"{served.base}/app/#/password")
    expect(laptop.locator("#devices li")).to_have_count(2)
    clean(laptop)
    shot(laptop, "desk-devices-nl")
    page.goto(f"{served.base}/app/#/password")
    devices = page.locator("#devices li")
    expect(devices).to_have_count(2)
    expect(devices.filter(has_text="(dit apparaat)")).to_have_count(1)
    expect(devices.first).to_contain_text("Laatst gebruikt:")
    clean(page)
    shot(page, "phone-devices-nl")
    # Sign out the laptop from the phone: its next step goes to the sign-in page.
    other = devices.filter(has_not_text="(dit apparaat)")
    other.get_by_role("button", name=re.compile("^Afmelden op ")).click()
    expect(page.locator(".messages [role=status]")).to_contain_text("Afgemeld op")
    expect(page.locator("#devices li")).to_have_count(1)
    laptop.goto(f"{served.base}/app/#/r/history")
    expect(laptop.locator("main h1")).to_have_text("Inloggen bij Heitje")
    expect(laptop.get_by_role("status")).to_contain_text(
        "U bent op dit apparaat niet langer ingelogd"
    )
    assert laptop.evaluate("() => localStorage.getItem('heitje.device')") is None
    # And this phone itself.
    page.get_by_role("button", name="Afmelden op dit apparaat").click()
    expect(page.locator("main h1")).to_have_text("Inloggen bij Heitje")
    expect(page.get_by_role("status")).to_have_text("U bent afgemeld op dit apparaat.")
    page.goto(f"{served.base}/app/#/r")
    expect(page.locator("main h1")).to_have_text("Inloggen bij Heitje")


def test_signing_out_ends_staying_signed_in(context: Any, served: Served) -> None:
    served.resident("HRL-WEG")
    phone = context()
    page = phone.new_page()
    sign_in(page, served.base, "HRL-WEG", remember=True)
    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_role("status")).to_have_text("U bent uitgelogd. Tot ziens!")
    fresh = phone.new_page()
    fresh.goto(f"{served.base}/app/")
    expect(fresh.locator("main h1")).to_have_text("Inloggen bij Heitje")


def test_a_shop_signs_in_with_its_code_and_sees_its_payout(context: Any, served: Served) -> None:
    resident = served.resident("HRL-KLANT")
    served.fund(resident, "9.00")
    served.pay(resident, "6.00", "KASSA-UIT")
    shop = served.login(f"merchant-{served.shop_code.lower()}")
    made = served.call("POST", "/redemptions", shop, 201,
                       json={"amount": "6.00", "request_id": "web-payout-0001"})  # fmt: skip
    treasurer = served.login("penningmeester")
    served.call("POST", f"/redemptions/{made['id']}/payout", treasurer,
                json={"bank_reference": "SEPA-WEB-1"})  # fmt: skip
    page = context().new_page()
    sign_in(page, served.base, served.shop_code.lower())  # the code, in small letters
    expect(page.locator("main h1")).to_have_text("Kassa")
    expect(page.locator("#notices [data-kind=payout_paid]")).to_contain_text(
        f"Inwisseling nr. {made['id']} van € 6,00 is uitbetaald op uw bankrekening "
        "(bankreferentie SEPA-WEB-1)."
    )
    clean(page)
    shot(page, "phone-shop-payout-notice-nl")
    page.get_by_role("navigation").get_by_role("link", name="Inwisselen").click()
    row = page.locator("li", has_text=f"#{made['id']}").first
    expect(row).to_contain_text("Aangevraagd")
    expect(row).to_contain_text("uitbetaald")
    clean(page)
    shot(page, "phone-shop-exchanges-dates-nl")


def test_the_municipalitys_name_and_colour_come_from_config(context: Any, served: Served) -> None:
    config = served.http.get("/config").json()
    page = context().new_page()
    page.goto(f"{served.base}/app/#/login")
    expect(page.locator("#municipality")).to_have_text(config["municipality"])
    expect(page.locator("meta[name=theme-color]")).to_have_attribute(
        "content", config["brand_colour"]
    )
    # Another municipality's settings: the header and buttons take its colour.
    page.route("**/config", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({**config, "municipality": "Gemeente Kerkrade",
                         "brand_colour": "#7a1f3d", "logo_url": "/config/logo"})))  # fmt: skip
    icon = (ROOT / "web" / "icons" / "icon-192.png").read_bytes()
    page.route("**/config/logo", lambda route: route.fulfill(
        status=200, content_type="image/png", body=icon))  # fmt: skip
    page.reload()
    expect(page.locator("#municipality")).to_have_text("Gemeente Kerkrade")
    logo = page.locator(".brand img")
    expect(logo).to_have_attribute("src", "/config/logo")
    expect(logo).to_have_attribute("alt", "")  # decorative: the name is beside it
    page.wait_for_function("() => document.querySelector('.brand img').naturalWidth > 0")
    colour = page.evaluate("() => getComputedStyle(document.querySelector('.top')).backgroundColor")
    assert colour == "rgb(122, 31, 61)"
    clean(page)
    shot(page, "phone-login-other-municipality")


@pytest.mark.parametrize(("lang", "first"), [("nl", "nr"), ("en", "id")])
def test_csv_downloads_have_headers_in_the_apps_language(
    context: Any, served: Served, lang: str, first: str
) -> None:
    page = context(phone=False).new_page()
    page.goto(f"{served.base}/app/#/login")
    page.evaluate(f"() => localStorage.setItem('heitje.lang', '{lang}')")
    page.reload()
    page.locator("input[name=username]").fill("accountant")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_function("() => !location.hash.startsWith('#/login')")
    settled(page)
    with page.expect_download() as caught:
        page.locator(".export button").click()
    text = Path(caught.value.path()).read_text(encoding="utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == first
    assert ("handeling" in header) == (lang == "nl") and ("action" in header) == (lang == "en")
    assert len(list(csv.reader(io.StringIO(text)))) > 2  # the audit log's rows


def test_a_full_job_reads_vol_for_its_issuer(context: Any, served: Served) -> None:
    office = served.login("wijkzaken")
    job = served.call("POST", "/jobs", office, 201, json={
        "title": "Stoep vegen", "description": "Voor het buurthuis.", "neighbourhood": "Palemig",
        "reward": "4.00", "deadline": "2099-12-31", "places": 1})  # fmt: skip
    resident = served.resident("HRL-VOL")
    served.call("POST", f"/jobs/{job['id']}/claim", resident, 201)
    page = context(phone=False).new_page()
    sign_in(page, served.base, "wijkzaken")
    page.goto(f"{served.base}/app/#/a/jobs")
    card = page.locator(f"[data-job='{job['id']}']")
    expect(card.locator(".job-status")).to_have_text("vol (alle plaatsen zijn bezet)")
    clean(page)
