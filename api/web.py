"""The web app: a small single-page app (web/src, bundled by `node web/build.mjs` into
web/dist, which `make setup` runs) served at /app/ by the same service; / redirects there.

The app only calls the JSON API: it holds no business rules of its own. Its files are sent
with strict security headers: a Content-Security-Policy without inline scripts or styles,
no framing, no MIME sniffing, and the camera for this origin only (the QR scanner).
Bundled files carry a content hash in their names and are cached for a year; index.html is
revalidated every time, so a new build is seen at once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

#: Where the built app is; HEITJE_API_WEB_DIR points elsewhere.
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[1] / "web" / "dist"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_HASHED = re.compile(r"-[A-Z0-9]{8}\.(js|css)$")


def web_dir() -> Path:
    configured = os.environ.get("HEITJE_API_WEB_DIR")
    return Path(configured) if configured else DEFAULT_WEB_DIR


class AppFiles(StaticFiles):
    """The built app's files, with the security headers and cache rules above."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        if _HASHED.search(path):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response


NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Heitje</title>
<h1>The web app is not built</h1><p>Run <code>make setup</code> (it runs
<code>node web/build.mjs</code>), then reload this page.</p></html>"""


def install(app: FastAPI, directory: Path | None = None) -> None:
    """Serve the app at /app/ and send / there."""
    root = directory or web_dir()

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)

    if (root / "index.html").is_file():
        app.mount("/app", AppFiles(directory=root, html=True), name="app")
        return

    @app.get("/app/{rest:path}", include_in_schema=False)
    def not_built(rest: str) -> HTMLResponse:
        return HTMLResponse(NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)
