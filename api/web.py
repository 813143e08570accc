"""The web app: a small single-page app (web/src, bundled by `node web/build.mjs` into
web/dist, which `make setup` runs) served at /app/ by the same service; / redirects there.

The app only calls the JSON API: it holds no business rules of its own. Its files are sent
with strict security headers: a Content-Security-Policy without inline scripts or styles,
no framing, no MIME sniffing, and the camera for this origin only (the QR scanner).
Bundled files carry a content hash in their names and are cached for a year; index.html is
revalidated every time, so a new build is seen at once.

The API's documentation, Swagger UI at /docs and ReDoc at /redoc, is served from the npm
packages `swagger-ui-dist` and `redoc` (package.json; `make setup` installs them into
node_modules/), never from a CDN, under its own Content-Security-Policy: the same as the app's
but with the hash of Swagger UI's one inline start-up script, inline styles (both viewers set
styles from their scripts) and ReDoc's search worker (`blob:`). Only the few files the pages
load are served (`DOCS_ASSETS`), and cached for a day. (ReDoc's footer always asks for its
maker's logo from their CDN: the policy refuses it, and ReDoc then leaves the image out.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.brand import Brand
from api.errors import ApiError

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


def branded_manifest(manifest: dict[str, Any], brand: Brand) -> dict[str, Any]:
    """The installed app's manifest with the municipality's name and colour."""
    return {
        **manifest,
        "name": f"Heitje - {brand.municipality}",
        "theme_color": brand.colour,
    }


def install(app: FastAPI, directory: Path | None = None, brand: Brand | None = None) -> None:
    """Serve the app at /app/ and send / there; its manifest names the municipality."""
    root = directory or web_dir()
    look = brand or Brand()

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)

    if (root / "manifest.json").is_file():
        manifest = branded_manifest(json.loads((root / "manifest.json").read_text()), look)

        @app.get("/app/manifest.json", include_in_schema=False)
        def app_manifest() -> Response:
            headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
            return Response(
                json.dumps(manifest, ensure_ascii=False),
                media_type="application/manifest+json",
                headers=headers,
            )

    if (root / "index.html").is_file():
        app.mount("/app", AppFiles(directory=root, html=True), name="app")
        return

    @app.get("/app/{rest:path}", include_in_schema=False)
    def not_built(rest: str) -> HTMLResponse:
        return HTMLResponse(NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)


#: Where npm installs the documentation's packages; HEITJE_API_NODE_MODULES points elsewhere.
DEFAULT_NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
#: The files the documentation pages load: name at /docs/assets/ -> file in node_modules.
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "favicon.png": "swagger-ui-dist/favicon-32x32.png",
    "redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

DOCS_NOT_INSTALLED = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Heitje API</title><h1>The documentation viewer is not installed</h1><p>Run
<code>make setup</code> (it installs the npm packages swagger-ui-dist and redoc), then reload
this page. The API's description is at <a href="/openapi.json">/openapi.json</a>.</p></html>"""


def node_modules() -> Path:
    configured = os.environ.get("HEITJE_API_NODE_MODULES")
    return Path(configured) if configured else DEFAULT_NODE_MODULES


def docs_policy(html: str) -> str:
    """The Content-Security-Policy of a documentation page: its inline scripts by hash."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {hashes}".rstrip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def install_docs(app: FastAPI, modules: Path | None = None) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, from the npm packages in `modules`."""
    root = modules or node_modules()
    openapi = app.openapi_url or "/openapi.json"
    title = f"{app.title} API"
    pages = {
        "/docs": get_swagger_ui_html(
            openapi_url=openapi,
            title=title,
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
            oauth2_redirect_url=None,
        ).body,
        "/redoc": get_redoc_html(
            openapi_url=openapi,
            title=title,
            redoc_js_url="/docs/assets/redoc.standalone.js",
            redoc_favicon_url="/docs/assets/favicon.png",
            with_google_fonts=False,
        ).body,
    }
    installed = all((root / path).is_file() for path in DOCS_ASSETS.values())

    def page(path: str) -> HTMLResponse:
        if not installed:
            return HTMLResponse(DOCS_NOT_INSTALLED, status_code=503, headers=SECURITY_HEADERS)
        html = bytes(pages[path]).decode()
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": docs_policy(html)}
        headers["Cache-Control"] = "no-cache"
        return HTMLResponse(html, headers=headers)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return page("/docs")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return page("/redoc")

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        path = DOCS_ASSETS.get(name)
        if path is None or not (root / path).is_file():
            raise ApiError(404, "not_found", f"the documentation has no file {name!r}")
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"}
        return FileResponse(root / path, headers=headers)
