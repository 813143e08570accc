"""Errors as JSON: `{"error": code, "message": plain words, "details": {...}}`.

Library errors map to HTTP statuses here, once: a contract refusal is 409 (the rules say
no), bad input 422, a chain that does not answer 503.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from heitje_chain.errors import (
    ChainUnavailable,
    ConfigError,
    HeitjeError,
    InvalidInput,
    Refused,
    TransactionFailed,
)


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
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return JSONResponse(
            _body("invalid_input", "; ".join(problems), {"problems": problems}), status_code=422
        )
