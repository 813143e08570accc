"""The API's documentation pages render in Chromium from the npm packages, under their
Content-Security-Policy: nothing is loaded from elsewhere, and the browser reports no
error (a script or style the policy blocked would leave the page blank and say so)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser

from api.main import create_app
from api.settings import load_settings
from heitje_chain.config import load_config
from heitje_chain.node import free_port

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def docs_url(tmp_path: Path) -> Iterator[str]:
    """The service on a real port, without its database or chain (the documentation needs
    neither): the lifespan is not run."""
    env = {"HEITJE_HOME": str(tmp_path), "HEITJE_API_DATABASE_URL": "sqlite://"}
    app = create_app(load_settings(env, load_config(environ=env)))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize(
    ("path", "shown"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")],
)
def test_the_documentation_renders_under_its_policy(
    browser: Browser, docs_url: str, path: str, shown: str
) -> None:
    page = browser.new_page()
    problems: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",  # a request that got an answer: one the policy blocked never does
        lambda r: (
            None if r.url.startswith((docs_url, "data:", "blob:")) else elsewhere.append(r.url)
        ),
    )
    page.goto(docs_url + path)
    page.wait_for_selector(shown, timeout=30_000)
    assert "Heitje" in page.inner_text(shown)
    page.wait_for_load_state("networkidle")
    assert elsewhere == [], "everything comes from the service itself"
    # ReDoc's footer always asks for its maker's logo from their CDN; the policy refuses it
    # (and ReDoc then hides the image). Nothing else may be refused.
    problems = [p for p in problems if REDOC_LOGO not in p]
    assert problems == [], problems
    page.close()
