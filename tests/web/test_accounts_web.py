"""The account pages in the browser: the desk makes a one-time code for a resident who forgot
the password, the resident sets a new one with it and later changes it, an admin switches an
account off; in Dutch, with the plain refusals."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from support.web import Served

from api.demo import PASSWORD

NEW = "zeven groene fietsen"
NEWER = "acht blauwe tractoren"


def test_desk_code_lets_a_resident_set_a_new_password(person: Any, served: Served) -> None:
    served.resident("HRL-VERGEET")
    admin = served.login("admin", "development-admin")
    served.call("POST", "/staff", admin, 201, json={
        "username": "balie", "password": PASSWORD, "role": "desk"})  # fmt: skip

    desk = person(phone=False)
    page = desk.sign_in("balie")
    expect(page.locator("h1")).to_have_text("Balie")  # the desk's own page comes first
    page.get_by_role("link", name="Accounts").click()
    expect(page.locator("h1")).to_have_text("Accounts")
    page.get_by_label("Schuilnaam, winkel of gebruikersnaam").fill("vergeet")
    page.get_by_role("button", name="Zoek").click()
    card = page.locator("li.card", has_text="HRL-VERGEET")
    expect(card).to_have_count(1)
    expect(card.get_by_role("button", name="Account uitzetten")).to_have_count(0)  # admins only
    card.get_by_role("button", name="Code voor nieuw wachtwoord maken").click()
    slip = page.locator(".code-slip")
    expect(slip).to_contain_text("HRL-VERGEET")
    expect(slip).to_contain_text(re.compile(r"Geldig tot\s*\d{1,2} [a-z]{3}\.? 20\d\d"))
    code = slip.locator("[data-code]").get_attribute("data-code")
    assert code and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    desk.shot("desk-reset-code")

    resident = person()
    page = resident.open("/login")
    page.get_by_role("link", name="Wachtwoord vergeten?").click()
    expect(page.locator("h1")).to_have_text("Nieuw wachtwoord met een code")
    page.get_by_label("Gebruikersnaam").fill("HRL-VERGEET")
    page.get_by_label("Code van de balie").fill(code.lower())
    page.get_by_label("Nieuw wachtwoord", exact=True).fill("wachtwoord")
    page.get_by_label("Nieuw wachtwoord nog een keer").fill("wachtwoord")
    page.get_by_role("button", name="Nieuw wachtwoord instellen").click()
    expect(page.get_by_role("alert")).to_contain_text("Kies een ander wachtwoord")
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW)
    page.get_by_label("Nieuw wachtwoord nog een keer").fill(NEW)
    page.get_by_role("button", name="Nieuw wachtwoord instellen").click()
    expect(page.locator("h1")).to_have_text("Mijn Heitjes")
    resident.shot("resident-after-reset")

    page.get_by_role("navigation").get_by_role("link", name="Wachtwoord").click()
    page.get_by_label("Huidig wachtwoord").fill(NEW)
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEWER)
    page.get_by_label("Nieuw wachtwoord nog een keer").fill(NEWER)
    page.get_by_role("button", name="Wachtwoord wijzigen").click()
    expect(page.get_by_role("status")).to_have_text("Uw wachtwoord is gewijzigd.")
    page.get_by_role("navigation").get_by_role("link", name="Mijn Heitjes").click()
    expect(page.locator("h1")).to_have_text("Mijn Heitjes")  # still signed in, new token
    served.login("HRL-VERGEET", NEWER)

    boss = person(phone=False)
    page = boss.sign_in("admin", "development-admin")
    page.get_by_role("navigation").get_by_role("link", name="Accounts").click()
    page.get_by_label("Schuilnaam, winkel of gebruikersnaam").fill("HRL-VERGEET")
    page.get_by_role("button", name="Zoek").click()
    # the found list, not the first page still arriving (it would replace the filled field)
    expect(page.locator("li.card")).to_have_count(1)
    expect(page.locator(".pager [aria-live]")).to_have_text("1\N{EN DASH}1 van 1")
    card = page.locator("li.card", has_text="HRL-VERGEET")
    card.get_by_label("Reden").fill("verhuisd naar Kerkrade")
    card.get_by_role("button", name="Account uitzetten").click()
    expect(page.locator("li.card", has_text="HRL-VERGEET")).to_contain_text("Account staat uit")
    answer = served.http.post("/auth/login", json={"username": "HRL-VERGEET", "password": NEWER})
    assert answer.status_code == 401 and answer.json()["error"] == "account_disabled"
