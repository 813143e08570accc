"""What every request and answer goes through: the documented error shape for every error
(400, 404, 405, 413, 422, 500), a body limit enforced before parsing, at most a few problems
per 422 answer, `Cache-Control: no-store` on personal data, HSTS behind TLS, and the API's
documentation served from the npm packages, not a CDN."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.service import PASSWORD, Service, setup_people

from api.errors import MAX_PROBLEMS
from api.main import create_app
from api.settings import load_settings
from heitje_chain.config import load_config
from heitje_chain.errors import ConfigError

MB = 1024 * 1024


def error_shape(answer: object) -> dict[str, object]:
    body = answer.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "message", "details"}, body
    assert isinstance(body["error"], str) and isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return dict(body)


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    """The service without a database or chain behind it: enough for what every answer
    goes through (the lifespan, which opens the database, is not run)."""
    env = {"HEITJE_HOME": str(tmp_path), "HEITJE_API_DATABASE_URL": "sqlite://"}
    return create_app(load_settings(env, load_config(environ=env)))


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    yield TestClient(app, raise_server_exceptions=False)


def test_every_error_has_the_documented_shape(app: FastAPI, http: TestClient) -> None:
    answer = http.get("/no/such/path")
    assert answer.status_code == 404 and error_shape(answer)["error"] == "not_found"
    answer = http.delete("/auth/login")
    assert answer.status_code == 405 and error_shape(answer)["error"] == "method_not_allowed"
    assert "POST" in answer.headers["allow"]
    answer = http.put(
        "/claims/1/photo",
        content=b"--x\r\nnot a form",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert answer.status_code == 400 and error_shape(answer)["error"] == "bad_request"
    answer = http.post(
        "/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422 and error_shape(answer)["error"] == "invalid_input"

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    answer = http.get("/boom")
    assert answer.status_code == 500 and error_shape(answer)["error"] == "internal_error"
    assert "secret internals" not in answer.text


def test_a_huge_body_is_refused_quickly_before_it_is_parsed(http: TestClient) -> None:
    """1M unknown keys, 12 MB: refused at once by its size (it used to be parsed, answered
    with one problem per key, 125 MB, and held up every other request for seconds)."""
    huge = json.dumps({f"k{i}": 1 for i in range(1_000_000)}).encode()
    assert len(huge) > 12 * 1000 * 1000
    started = time.perf_counter()
    answer = http.post("/auth/login", content=huge, headers={"content-type": "application/json"})
    took = time.perf_counter() - started
    assert answer.status_code == 413 and error_shape(answer)["error"] == "too_large"
    assert answer.json()["details"] == {"limit": MB} and len(answer.content) < 500
    assert took < 1.0, took

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    answer = http.post(
        "/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and error_shape(answer)["error"] == "too_large"
    # A photo upload has its own limit: 2 MB of form is not refused for its size.
    answer = http.put(
        "/claims/1/photo", files={"photo": ("a.jpg", b"\xff\xd8\xff" + b"\0" * 2 * MB)}
    )
    assert answer.status_code == 401  # it got as far as asking who is sending it
    answer = http.put(
        "/claims/1/photo", files={"photo": ("a.jpg", b"\xff\xd8\xff" + b"\0" * 9 * MB)}
    )
    assert answer.status_code == 413 and error_shape(answer)["error"] == "too_large"


def test_a_422_answer_lists_at_most_ten_problems_and_counts_the_rest(http: TestClient) -> None:
    keys = 60_000
    body = {"username": "x", "password": "y", **{f"k{i}": 1 for i in range(keys)}}
    answer = http.post("/auth/login", json=body)
    assert answer.status_code == 422
    error = error_shape(answer)
    details = error["details"]
    assert isinstance(details, dict)
    assert len(details["problems"]) == MAX_PROBLEMS == 10
    assert details["more"] == keys - MAX_PROBLEMS
    assert f"and {keys - MAX_PROBLEMS} more" in str(error["message"])
    assert len(answer.content) < 4000
    one = http.post("/auth/login", json={"username": "x"}).json()["details"]
    assert len(one["problems"]) == 1 and "more" not in one


def test_answers_with_personal_data_are_never_cached(service: Service) -> None:
    s = service
    p = setup_people(s)
    login = s.http.post("/auth/login", json={"username": "R-0001", "password": PASSWORD})
    assert login.headers["cache-control"] == "no-store"  # it holds a token
    for url, who in (
        ("/residents/me", p.resident),
        ("/residents", p.admin),
        ("/residents?format=csv", p.admin),
        ("/claims", p.inspector),
        ("/merchants", p.admin),
    ):
        answer = s.http.get(url, headers=who)
        assert answer.status_code == 200, url
        assert answer.headers["cache-control"] == "no-store", url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in answer.headers  # not told it is on HTTPS
    refused = s.http.get("/residents/me")
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"


def test_hsts_only_when_the_service_is_behind_tls(app: FastAPI, tmp_path: Path) -> None:
    plain = TestClient(app).get("/openapi.json")
    assert "strict-transport-security" not in plain.headers
    env = {"HEITJE_HOME": str(tmp_path), "HEITJE_API_BEHIND_TLS": "yes"}
    settings = load_settings(env, load_config(environ=env))
    assert settings.behind_tls
    tls = TestClient(create_app(replace(settings, database_url="sqlite://")))
    for url in ("/openapi.json", "/no/such/path", "/docs"):
        answer = tls.get(url)
        assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    with pytest.raises(ConfigError, match="HEITJE_API_BEHIND_TLS"):
        load_settings({**env, "HEITJE_API_BEHIND_TLS": "maybe"})
    for bad in ("lots", "100"):
        with pytest.raises(ConfigError, match="HEITJE_API_MAX_BODY_BYTES"):
            load_settings({**env, "HEITJE_API_MAX_BODY_BYTES": bad})
    small = load_settings({**env, "HEITJE_API_MAX_BODY_BYTES": "2048"})
    http = TestClient(create_app(replace(small, database_url="sqlite://")))
    answer = http.post("/auth/login", json={"username": "x" * 3000, "password": "y"})
    assert answer.status_code == 413 and answer.json()["details"] == {"limit": 2048}


def test_the_documentation_comes_from_the_npm_packages_not_a_cdn(http: TestClient) -> None:
    for page, script in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        answer = http.get(page)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        html = answer.text
        assert f'src="/docs/assets/{script}"' in html
        assert not re.search(r"(src|href)=\"(https?:)?//", html), "nothing from elsewhere"
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        for inline in re.findall(r"<script>(.*?)</script>", html, re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy  # the one inline start-up script, by hash
        assert "unsafe-eval" not in policy and "script-src 'self'" in policy
        asset = http.get(f"/docs/assets/{script}")
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        assert len(asset.content) > 100_000 and asset.headers["cache-control"].startswith("public")
    assert http.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    answer = http.get("/docs/assets/package.json")
    assert answer.status_code == 404 and error_shape(answer)["error"] == "not_found"
    assert http.get("/docs/assets/..%2F..%2Fpackage.json").status_code == 404
