"""What a person sees, page by page: every page of every role, in Dutch and in English, at
phone size, read as visible text (no `null`, `undefined`, `NaN`, `[object Object]`; no
English UI words in Dutch mode) and checked by axe-core (from npm, injected into the page)
for serious and critical problems. And money shown as it is: a refused payment is refused on
both sides, and nothing moves before the person said yes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from support.web import ROOT, Served

from api.demo import PASSWORD, demo_iban

SCREENSHOTS = ROOT / "reports" / "screenshots"  # as in conftest.py
PHONE = {"width": 390, "height": 844}
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BROKEN = ("null", "undefined", "NaN", "[object Object]")
#: Words of the English interface that must not show in Dutch mode (data such as names may).
ENGLISH = (
    "Sign in", "Sign out", "Balance", "Payment", "Refund", "Receipt", "Amount", "Shop code",
    "Reward", "Next", "Cancel", "Jobs", "History", "Loading", "Search", "Find", "Previous",
    "JobRewarded", "EarningsCarried", "RedemptionRequested", "MerchantAdded", "system",
    "claim.approve", "merchant.approve", "job.post", "amount:", "cents:", "Heitje redemption",
)  # fmt: skip

PAGES = {
    None: ["/login", "/signup", "/apply", "/reset"],
    "resident": ["/r", "/r/jobs", "/r/jobs?all=1", "/r/pay", "/r/shops", "/r/history",
                 "/password"],
    "merchant": ["/m", "/m/card", "/m/payments", "/m/day", "/m/redeem", "/m/sticker",
                 "/password"],
    "admin": ["/a/jobs", "/a/merchants", "/a/residents", "/audit", "/ledger", "/a/budgets",
              "/a/accounts", "/password"],
    "issuer": ["/a/jobs", "/a/budgets", "/password"],
    "inspector": ["/i", "/password"],
    "treasurer": ["/t", "/password"],
    "auditor": ["/audit", "/ledger", "/a/budgets", "/password"],
    "desk": ["/d", "/d?q=ZICHT", "/a/accounts", "/password"],
}  # fmt: skip


@pytest.fixture(scope="module")
def people(served: Served) -> dict[str | None, tuple[str, str]]:
    """A user name and password per role, with some money moved so the pages have rows."""
    resident = served.resident("HRL-ZICHT")
    served.fund(resident, "12.50")
    served.pay(resident, "2.25", "KASSA-ZICHT")
    admin = served.login("admin", "development-admin")
    served.call("POST", "/staff", admin, 201, json={
        "username": "loket", "password": PASSWORD, "role": "desk"})  # fmt: skip
    return {
        None: ("", ""),
        "resident": ("HRL-ZICHT", PASSWORD),
        "merchant": (f"merchant-{served.shop_code.lower()}", PASSWORD),
        "admin": ("admin", "development-admin"),
        "issuer": ("wijkzaken", PASSWORD),
        "inspector": ("inspecteur", PASSWORD),
        "treasurer": ("penningmeester", PASSWORD),
        "auditor": ("accountant", PASSWORD),
        "desk": ("loket", PASSWORD),
    }


@pytest.fixture
def tab(browser: Browser, served: Served) -> Iterator[Any]:
    """`tab()`: a phone-sized tab whose page axe-core can be injected into (bypass_csp: the
    app's own policy allows no inline script, and axe is the test's, not the app's)."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make() -> Page:
        context = browser.new_context(viewport=PHONE, locale="nl-NL", bypass_csp=True)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], "the page raised errors"


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/app/#/login")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_function("() => !location.hash.startsWith('#/login')")


def settled(page: Page) -> None:
    """The page has drawn what it loads: a heading, and no 'loading' line left."""
    expect(page.locator("main h1")).to_be_visible()
    expect(
        page.locator("main").get_by_text(re.compile("^(Even geduld…|One moment…)$"))
    ).to_have_count(0)


def problems(page: Page, lang: str) -> list[str]:
    text = page.locator("body").inner_text()
    found = [
        f"{word!r} shown"
        for word in BROKEN
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)
    ]
    if lang == "nl":
        found += [
            f"English {word!r}"
            for word in ENGLISH
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)
        ]
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => { const r = await axe.run(document); return {passes: r.passes.length,"
        " bad: r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical'"
        " || v.id === 'heading-order')"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))}; }"
    )
    assert result["passes"] > 10, "axe-core did not check the page"
    return found + [f"axe {line}" for line in result["bad"]]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_page_of_every_role_reads_right(
    tab: Any, served: Served, people: dict[str | None, tuple[str, str]], lang: str
) -> None:
    seen: dict[str, list[str]] = {}
    for role, paths in PAGES.items():
        page = tab()
        if lang == "en":
            page.goto(f"{served.base}/app/#/login")
            page.evaluate("() => localStorage.setItem('heitje.lang', 'en')")
            page.reload()
        if role is not None:
            username, password = people[role]
            page.goto(f"{served.base}/app/#/login")
            page.locator("input[name=username]").fill(username)
            page.locator("input[name=password]").fill(password)
            page.locator("form button[type=submit]").click()
            page.wait_for_function("() => !location.hash.startsWith('#/login')")
        for path in paths:
            page.goto(f"{served.base}/app/#{path}")
            settled(page)
            expect(page.locator("html")).to_have_attribute("lang", lang)
            slug = re.sub(r"[/?=]", "-", path).replace("--", "-")
            name = f"{role or 'open'}{slug}-{lang}"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"), full_page=True)
            found = problems(page, lang)
            if found:
                seen[name] = found
    assert seen == {}, seen


def test_a_refused_payment_is_refused_on_both_sides(tab: Any, served: Served, person: Any) -> None:
    resident_api = served.resident("HRL-WEIGER")
    served.fund(resident_api, "12.50")
    page = tab()
    sign_in(page, served.base, "HRL-WEIGER", PASSWORD)
    page.goto(f"{served.base}/app/#/r/pay")
    expect(page.locator("#balance")).to_have_text("€ 12,50")  # the balance, before paying
    page.get_by_label("Winkelcode").fill(served.shop_code)
    page.get_by_label("Bedrag in euro").fill("500")
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("alert")).to_have_text(
        "U heeft € 12,50; € 500,00 is € 487,50 te veel. Kies een bedrag tot en met € 12,50, "
        "of verdien eerst meer met een klus."
    )  # refused before anything is sent
    expect(page.get_by_role("button", name=re.compile("^Betaal"))).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "resident-pay-too-much.png"), full_page=True)
    assert served.call("GET", "/payments", resident_api)["items"] == []

    # Sent anyway (another phone, an old balance): the chain refuses it, nothing moves.
    answer = served.http.post("/payments", headers=resident_api, json={
        "merchant_code": served.shop_code, "amount": "500.00", "receipt": "KASSA-WEIGER",
        "request_id": "test-weiger-1"})  # fmt: skip
    assert answer.status_code == 409 and answer.json()["error"] == "payment_refused"
    assert served.call("GET", "/residents/me", resident_api)["balance"]["cents"] == 12_50

    page.goto(f"{served.base}/app/#/r/history")
    row = page.locator("li.payment")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "refused")
    expect(row).to_contain_text("Geweigerd: niets afgeschreven (poging om € 500,00 te betalen).")
    expect(row.locator(".amount")).to_have_count(0)  # never an amount that moved
    expect(page.locator("li.reward .amount")).to_have_text("€ 12,50")
    page.screenshot(path=str(SCREENSHOTS / "resident-history-refused.png"), full_page=True)

    shop = person()
    till = shop.sign_in(f"merchant-{served.shop_code.lower()}")
    expect(till.locator("h1")).to_have_text("Kassa")
    expect(till.locator("main")).not_to_contain_text("KASSA-WEIGER")  # confirmed ones only
    expect(till.locator("main")).not_to_contain_text("500,00")
    shop.open("/m/payments")
    card = till.locator("[data-payment]", has_text="KASSA-WEIGER")
    expect(card).to_have_attribute("data-status", "refused")
    expect(card.locator("h2")).to_have_text("Geweigerde betaling · KASSA-WEIGER")
    expect(card).to_contain_text("Niets ontvangen: de betaling van € 500,00 is niet doorgegaan.")
    expect(card.get_by_role("button", name="Terugbetalen")).to_have_count(0)
    shop.shot("merchant-payments-refused")


def test_a_job_over_the_yearly_cap_says_how_much_is_left(person: Any, served: Served) -> None:
    resident_api = served.resident("HRL-GRENS", "Palemig")
    served.fund(resident_api, "12.50")
    office = served.login("wijkzaken")
    job = served.call("POST", "/jobs", office, 201, json={
        "title": "Het hele jaar de wijk schoonhouden", "description": "Elke dag.",
        "neighbourhood": "Palemig", "reward": "1499.00", "deadline": "2099-12-31"})  # fmt: skip
    app = person()
    page = app.sign_in("HRL-GRENS")
    app.open("/r/jobs")
    card = page.locator(f"[data-job='{job['id']}']")
    card.get_by_role("button", name="Deze klus doen").click()
    expect(card.get_by_role("alert")).to_have_text(
        "Deze klus betaalt € 1.499,00, maar u mag dit jaar nog maar € 1.487,50 verdienen "
        "(klussen die u al heeft, tellen mee). Kies een klus van hooguit € 1.487,50."
    )
    app.shot("resident-job-over-cap")


def test_removing_a_shop_is_asked_first(person: Any, served: Served) -> None:
    shop = served.call("POST", "/merchants", {}, 201, json={
        "name": "Kapper Zeswegen", "neighbourhood": "Zeswegen",
        "iban": demo_iban(4_000_021), "password": PASSWORD})  # fmt: skip
    admin_api = served.login("admin", "development-admin")
    served.call("POST", f"/merchants/{shop['id']}/approve", admin_api)
    admin = person(phone=False)
    page = admin.sign_in("admin", "development-admin")
    admin.open("/a/merchants")
    card = page.locator(f"[data-merchant='{shop['id']}']")
    card.get_by_role("button", name="Toelating intrekken").click()
    expect(card.locator(".confirm")).to_contain_text(
        f"Kapper Zeswegen (code {shop['code']}) kan daarna geen Heitjes meer ontvangen."
    )
    admin.shot("municipality-remove-confirm")
    approved = served.call("GET", "/merchants?status=approved&limit=200", admin_api)["items"]
    assert shop["id"] in [m["id"] for m in approved]  # nothing happened before the yes
    card.get_by_role("button", name="Annuleren").click()
    card.get_by_role("button", name="Toelating intrekken").click()
    card.get_by_role("button", name="Ja, toelating intrekken").click()
    expect(card.get_by_role("status")).to_have_text(
        "Kapper Zeswegen kan geen Heitjes meer ontvangen."
    )
    removed = served.call("GET", "/merchants?status=removed&limit=200", admin_api)["items"]
    assert shop["id"] in [m["id"] for m in removed]


def test_signed_out_says_so_and_the_skip_link_goes_to_the_content(
    person: Any, served: Served
) -> None:
    served.resident("HRL-UITLOG")
    app = person()
    page = app.sign_in("HRL-UITLOG")
    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_role("status")).to_have_text("U bent uitgelogd. Tot ziens!")
    expect(page.locator("main")).not_to_contain_text("null")
    app.sign_in("HRL-UITLOG")
    # An expired session: the token no longer works.
    page.evaluate(
        "() => { const s = JSON.parse(sessionStorage.getItem('heitje.session'));"
        " s.token = 'expired'; sessionStorage.setItem('heitje.session', JSON.stringify(s)); }"
    )
    app.open("/r/history")
    expect(page.locator("h1")).to_have_text("Inloggen bij Heitje")
    expect(page.get_by_role("status")).to_have_text(
        "U bent uitgelogd omdat uw sessie verlopen is. Log opnieuw in om verder te gaan."
    )
    skip = page.get_by_role("link", name="Naar de inhoud")
    skip.focus()  # the first stop of the keyboard: shown when focused
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_be_focused()
    expect(page.locator("h1")).to_have_text("Inloggen bij Heitje")  # not "does not exist"


def test_small_screens_and_large_text(
    browser: Browser, served: Served, people: dict[str | None, tuple[str, str]]
) -> None:
    """At 320 px wide, and with the text at 200% (the root font follows the browser's size),
    no page of a resident or a shop is wider than the screen: no amount is cut off."""
    for zoom in ("100%", "200%"):
        for role in ("resident", "merchant"):
            context = browser.new_context(viewport={"width": 320, "height": 640}, locale="nl-NL")
            page = context.new_page()
            sign_in(page, served.base, *people[role])
            for path in PAGES[role]:
                page.goto(f"{served.base}/app/#{path}")
                settled(page)
                # the reader's text size: what a phone's or browser's setting does to rem
                page.evaluate(f"() => {{ document.documentElement.style.fontSize = '{zoom}'; }}")
                wide = page.evaluate(
                    "() => [...document.querySelectorAll('body *')].filter(e => {"
                    " const r = e.getBoundingClientRect(); return r.width > 0"
                    " && !e.closest('.scroll, #nav ul')"
                    " && r.right > document.documentElement.clientWidth + 1; })"
                    ".map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 40))"
                )
                assert wide == [], (zoom, path, wide)
                width = page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= 320, (zoom, path, width)
                if path in ("/r", "/m"):
                    slug = path.replace("/", "")
                    page.screenshot(
                        path=str(SCREENSHOTS / f"narrow-{role}-{slug}-{zoom[:-1]}.png"),
                        full_page=True,
                    )
            context.close()
