"""At most a few requests that change something do their work at once; the others wait.

The service is one Python process, and Python runs one thread's code at a time. A burst of
50 payments on PostgreSQL (which, unlike SQLite, lets every writer run at once) put 50
threads in line for the interpreter, and an unrelated read (a resident opening the job list)
took its turn behind all of them: its p50 was about 500 ms and its p99 700-2,000 ms
(`benchmarks/api_load.py`). With at most 4 writing requests at work at once (and this file's
rules for waits on the chain), a burst of 100 payments left the read's p50 at 31-45 ms and
its p99 at 59-98 ms; a burst of 200 still had a p99 of about 490 ms.

So a request with a method other than GET, HEAD or OPTIONS, once its whole body has arrived
(a slow upload holds no place), takes one of `limit` places (HEITJE_API_WRITE_CONCURRENCY, 4;
0 turns the gate off). It waits for one on the event loop, which costs no thread and no CPU.
Reads never wait here.

A place is for work, not for waiting on the chain. While a request waits for the chain (an
RPC request on its way, a pause before it looks for a receipt again: heitje_chain.waits), it
gives its place up, and asks for one again after. On a network with 2-second blocks a
payment waits seconds for its block, and a place held meanwhile would cap the payments at a
few a second. Asking again waits at most REGAIN seconds, then the request goes on without a
place: it may be holding a lock (the nonce lock of an account) that the requests in every
place wait for, and waiting longer could leave none of them moving. A request keeps its
place while it waits for the database, which is short.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

READS = ("GET", "HEAD", "OPTIONS")
#: seconds a request waits for a place again after waiting for the chain (see the module)
REGAIN = 0.5


@dataclass
class _Place:
    """A request's place in the gate: its semaphore, its event loop, and whether it holds
    the place now (it gives it up while it waits for the chain)."""

    gate: asyncio.Semaphore
    loop: asyncio.AbstractEventLoop
    held: bool = True


#: The current request's place; worker threads see it too (FastAPI copies the context).
_PLACE: ContextVar[_Place | None] = ContextVar("heitje_gate_place", default=None)


class WriteGate:
    """ASGI middleware: at most `limit` writing requests at work at once (see the module)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        # The body first: a phone uploading a photo slowly must not hold a place meanwhile.
        # (Its size is bounded by api.middleware.BodyLimit, outside this.)
        early: list[Message] = []
        while True:
            message = await receive()
            early.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return early.pop(0) if early else await receive()

        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:  # one per event loop (the tests' clients each run their own)
            gate = self._gates[loop] = asyncio.Semaphore(self.limit)
        await gate.acquire()
        place = _Place(gate, loop)
        token = _PLACE.set(place)
        try:
            await self.app(scope, replay, send)
        finally:
            _PLACE.reset(token)
            if place.held:
                place.held = False
                gate.release()


@contextmanager
def chain_wait() -> Iterator[None]:
    """While the request waits for the chain, its place in the gate is free for another; after
    it, the request asks for a place again, for at most REGAIN seconds (see the module).
    Installed as heitje_chain.waits' hook by api.main; outside a gated request (a read, the
    worker, the CLI) it does nothing."""
    place = _PLACE.get()
    if place is None or not place.held or _on_loop(place.loop):
        yield
        return
    place.held = False
    place.loop.call_soon_threadsafe(place.gate.release)
    try:
        yield
    finally:
        try:
            regained = asyncio.run_coroutine_threadsafe(_regain(place.gate), place.loop)
            place.held = regained.result(timeout=REGAIN + 5)
        except (RuntimeError, TimeoutError, concurrent.futures.CancelledError):
            pass  # the loop is shutting down: the request goes on without a place


async def _regain(gate: asyncio.Semaphore) -> bool:
    try:
        await asyncio.wait_for(gate.acquire(), REGAIN)
    except TimeoutError:
        return False
    return True


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Is this code running on the event loop's own thread (where it must not block)?"""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
