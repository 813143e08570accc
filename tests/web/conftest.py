"""Fixtures for the browser tests (`python -m pytest -p no:pytest-brownie tests/web`).

One real service for the whole run: the embedded chain (anvil) on a free port, the token
deployed with a key per role, and the API with its reward worker in its own process
(`python -m api`), serving the web app built in web/dist. Debian's Chromium is driven
headless by Playwright for Python through `executable_path`; Playwright's own browsers are
never downloaded. Without Chromium or the built app the tests fail, saying what is missing:
they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from support.web import ROOT, Served

from api.demo import NEIGHBOURHOODS, PASSWORD, demo_iban, ensure_deployed
from heitje_chain.node import EmbeddedChain, free_port

SCREENSHOTS = ROOT / "reports" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1200, "height": 900}


@pytest.fixture(scope="session")
def chromium() -> str:
    path = os.environ.get("HEITJE_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "Debian's chromium is not installed: `make setup` installs it with apt-get as root "
            "(apt-get install chromium), or set HEITJE_CHROMIUM to a Chromium binary"
        )
    return path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not (ROOT / "web" / "dist" / "index.html").is_file():
        pytest.fail("the web app is not built: run `make setup` (node web/build.mjs)")
    tmp = tmp_path_factory.mktemp("web")
    chain = EmbeddedChain(tmp / "chain", port=free_port())
    chain.start()
    process = None
    log = (tmp / "api.log").open("wb")
    try:
        home = tmp / "home"
        ensure_deployed(home, chain.url)
        env = {
            **os.environ, "HEITJE_HOME": str(home), "HEITJE_RPC_URL": chain.url,
            "HEITJE_PASSWORD": PASSWORD, "HEITJE_API_DATABASE_URL": f"sqlite:///{tmp / 'api.db'}",
            "HEITJE_API_WALLET_KDF_ITERATIONS": "1000", "HEITJE_API_WORKER": "on",
            "HEITJE_API_NEIGHBOURHOODS": ",".join(NEIGHBOURHOODS),
            # every browser test signs up and in from this one address
            "HEITJE_API_LIMIT_SIGNUPS": "1000/60", "HEITJE_API_LIMIT_LOGIN_ADDRESS": "1000/60",
            "HEITJE_API_PASSWORD_MEMORY_KIB": "1024", "HEITJE_API_PASSWORD_TIME_COST": "1",
        }  # fmt: skip
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "--port", str(port)],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        http = httpx.Client(base_url=base, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                http.get("/openapi.json")
                break
            except httpx.TransportError:
                assert process.poll() is None, (tmp / "api.log").read_text()
                assert time.monotonic() < deadline, "the API did not answer"
                time.sleep(0.1)
        served = seed(Served(base, http, 0, "", 0))
        yield served
        http.close()
    finally:
        if process is not None:
            process.terminate()
            process.wait(20)
        log.close()
        chain.stop()


def seed(s: Served) -> Served:
    """Staff, an approved shop: what every test starts from."""
    admin = s.login("admin", "development-admin")
    office = s.call("POST", "/issuers", admin, 201, json={
        "name": "Gemeente Heerlen, Wijkzaken", "key_name": "job-office"})  # fmt: skip
    for username, role in (("wijkzaken", "issuer"), ("inspecteur", "inspector"),
                           ("penningmeester", "treasurer"), ("accountant", "auditor")):  # fmt: skip
        body: dict[str, Any] = {"username": username, "password": PASSWORD, "role": role}
        if role == "issuer":
            body["issuer_id"] = office["id"]
        s.call("POST", "/staff", admin, 201, json=body)
    shop = s.call("POST", "/merchants", {}, 201, json={
        "name": "Bakkerij Op de Kamp", "neighbourhood": "Schandelen",
        "iban": demo_iban(4_000_001), "password": PASSWORD})  # fmt: skip
    s.call("POST", f"/merchants/{shop['id']}/approve", admin)
    s.issuer_id, s.shop_code, s.shop_id = office["id"], shop["code"], shop["id"]
    return s


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    browser = launch(playwright, chromium)
    yield browser
    browser.close()


@pytest.fixture
def camera_browser(playwright: Playwright, chromium: str) -> Iterator[Any]:
    """`camera_browser(video)`: a Chromium whose camera is Chromium's fake device playing
    `video` (a .y4m or .mjpeg file) over and over, with the camera permission granted."""
    browsers: list[Browser] = []

    def make(video: Path) -> Browser:
        browser = launch(
            playwright, chromium,
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        )  # fmt: skip
        browsers.append(browser)
        return browser

    yield make
    for browser in browsers:
        browser.close()


def launch(playwright: Playwright, chromium: str, *extra: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=chromium, headless=True, args=[*CHROMIUM_FLAGS, *extra]
    )


class App:
    """One person's browser tab on the app, with the page errors it raised."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, path: str) -> Page:
        self.page.goto(f"{self.base}/app/#{path}")
        return self.page

    def sign_in(self, username: str, password: str = PASSWORD) -> Page:
        page = self.page
        if "#/login" not in page.url:
            page.goto(f"{self.base}/app/#/login")
        page.get_by_label("Gebruikersnaam").fill(username)
        page.get_by_label("Wachtwoord").fill(password)
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_function("() => !location.hash.startsWith('#/login')")
        return page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(browser: Browser, served: Served) -> Iterator[Any]:
    """`tab(width=390, lang="nl")`: a tab (phone-sized by default) whose page axe-core can be
    injected into (bypass_csp: the app's own policy allows no inline script, and axe is the
    test's, not the app's), in Dutch or English from its first page, taking downloads."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(width: int = PHONE["width"], lang: str = "nl") -> Page:
        viewport = PHONE if width == PHONE["width"] else {"width": width, "height": 900}
        context = browser.new_context(
            viewport=viewport, locale="nl-NL", bypass_csp=True, accept_downloads=True
        )
        context.set_default_timeout(20_000)
        if lang == "en":
            context.add_init_script("localStorage.setItem('heitje.lang', 'en')")
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], "the page raised errors"


@pytest.fixture
def person(browser: Browser, served: Served) -> Iterator[Any]:
    """`person(phone=True)`: a new browser context (its own sessionStorage) per person;
    `person(on=camera_browser(video))` for one whose phone has a (fake) camera."""
    contexts = []
    apps: list[App] = []

    def make(phone: bool = True, on: Browser | None = None) -> App:
        context = (on or browser).new_context(
            viewport=PHONE if phone else DESK, locale="nl-NL",
            permissions=["camera"] if on else [],
        )  # fmt: skip
        context.set_default_timeout(20_000)
        contexts.append(context)
        app = App(context.new_page(), served.base)
        apps.append(app)
        return app

    yield make
    for context in contexts:
        context.close()
    assert [e for app in apps for e in app.errors] == [], "the page raised errors"
