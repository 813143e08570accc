"""Errors as JSON: `{"error": code, "message": plain words, "details": {...}}`.

Library errors map to HTTP statuses here, once: a contract refusal is 409 (the rules say
no), bad input 422, a chain that does not answer 503.

Every other answer that is not a success has the same shape: an unknown path (404
`not_found`), a method a path does not take (405 `method_not_allowed`, with `Allow`), a body
that cannot be read (400 `bad_request`), a body too large (413 `too_large`, from
`api.middleware`), and an error of the service itself (500 `internal_error`, logged, with no
details of what went wrong inside). A 422 answer lists at most `MAX_PROBLEMS` of the
request's mistakes and counts the rest (`details.more`), however many there are.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from heitje_chain.errors import (
    ChainUnavailable,
    ConfigError,
    HeitjeError,
    InvalidInput,
    Refused,
    TransactionFailed,
)

log = logging.getLogger(__name__)

#: The most problems one 422 answer lists; `details.more` counts the others.
MAX_PROBLEMS = 10

#: Codes for the statuses the framework itself answers with.
HTTP_CODES = {
    400: ("bad_request", "the request's body could not be read: send JSON (a form for a photo)"),
    404: ("not_found", "there is nothing at this address"),
    405: ("method_not_allowed", "this address does not take this method"),
    413: ("too_large", "the request is too large"),
}


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or {}


def _body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def _json_safe(values: dict[str, Any]) -> dict[str, Any]:
    return {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in values.items()}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message, exc.details), status_code=exc.status)

    @app.exception_handler(HeitjeError)
    async def heitje_error(_: Request, exc: HeitjeError) -> JSONResponse:
        if isinstance(exc, ChainUnavailable):
            status, code = 503, "chain_unavailable"
        elif isinstance(exc, TransactionFailed):
            status, code = 503, "transaction_pending"
        elif isinstance(exc, ConfigError):
            status, code = 500, "configuration"
        elif isinstance(exc, Refused) and exc.error:
            status, code = 409, exc.error
        elif isinstance(exc, Refused | InvalidInput | ValueError):
            status, code = 422, type(exc).__name__
        else:
            status, code = 500, type(exc).__name__
        details = _json_safe(exc.values) if isinstance(exc, Refused) else {}
        return JSONResponse(_body(code, str(exc), details), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in errors[:MAX_PROBLEMS]
        ]
        more = len(errors) - len(problems)
        message = "; ".join(problems) + (f"; and {more} more" if more else "")
        details: dict[str, Any] = {"problems": problems}
        if more:
            details["more"] = more
        return JSONResponse(_body("invalid_input", message, details), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code, default = HTTP_CODES.get(exc.status_code, (f"http_{exc.status_code}", ""))
        detail = exc.detail if isinstance(exc.detail, str) else ""
        generic = not detail or detail in (
            "Not Found",
            "Method Not Allowed",
            "Bad Request",
            "There was an error parsing the body",
        )
        message = default if generic and default else detail or default
        return JSONResponse(_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("error in %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            _body(
                "internal_error",
                "something went wrong in the service (it is logged): try again later, or "
                "tell the municipality's IT desk",
            ),
            status_code=500,
        )
