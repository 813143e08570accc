"""What every request and answer goes through, before any route: the size limit of a request's
body, and the headers every answer carries.

- **Body size.** A request body is refused with `413` (`too_large`, in the documented error
  shape) once it is larger than the limit: at once when its `Content-Length` says so, before a
  byte of it is read, else as soon as the bytes received pass the limit, so a huge body is
  never parsed. The limit is `Settings.max_body_bytes` (1 MB unless HEITJE_API_MAX_BODY_BYTES
  says otherwise) for JSON and everything else; a photo upload (`multipart/form-data`) may be
  as large as a photo (`api.photos.MAX_BYTES`, 8 MB) plus room for the form around it.
- **No caching of personal data.** Every answer of the API (JSON, CSV, photos, errors) gets
  `Cache-Control: no-store` unless it sets its own: residents' balances, IBANs and sign-in
  tokens must not stay in a browser's or a proxy's cache. Only the web app's files and the
  documentation's scripts (no personal data) set their own, and a job's photo, which the
  inspector's browser alone may keep for an hour (`private`), never a shared cache.
- `X-Content-Type-Options: nosniff` on every answer, and, when the service is told it is
  reached over HTTPS (HEITJE_API_BEHIND_TLS=yes, `Settings.behind_tls`), HSTS:
  `Strict-Transport-Security: max-age=31536000; includeSubDomains`.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.photos import MAX_BYTES as PHOTO_BYTES

#: A photo upload's form around the photo: boundaries, headers, the file name.
FORM_ROOM = 64 * 1024
HSTS = "max-age=31536000; includeSubDomains"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


async def _refuse(send: Send, limit: int, status: int = 413) -> None:
    if status == 413:
        code = "too_large"
        message = f"the request is larger than {_megabytes(limit)}, the most this service accepts"
    else:
        code, message = "bad_request", "the Content-Length header is not a number of bytes"
    body = json.dumps({"error": code, "message": message, "details": {"limit": limit}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse a request body larger than `limit` bytes (`upload_limit` for a form upload)."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None) -> None:
        self.app, self.limit = app, limit
        self.upload_limit = upload_limit or PHOTO_BYTES + FORM_ROOM

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        form = headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = self.upload_limit if form else self.limit
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(send, limit, 400)
                return
            if int(declared) > limit:
                await _refuse(send, limit)
                return
        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:  # the app reads on after the refusal: tell it the client left
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:  # whatever the app answers to a cut-off body, the answer is 413
                if not started:
                    started = True
                    await _refuse(send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if too_large and not started:
            await _refuse(send, limit)


class AnswerHeaders:
    """`Cache-Control: no-store` (unless the answer sets its own cache rule), `nosniff`, and
    HSTS when `hsts` is on."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if self.hsts:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, with_headers)
