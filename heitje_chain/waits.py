"""Waiting for the chain: one hook for the program that embeds the library.

Every place where heitje_chain blocks on the chain (an RPC request on its way, a pause between
two looks for a receipt or a free nonce) goes through `waiting()`. By default that does
nothing. A service that limits how many requests do their work at once (api.gate) sets a hook
with `set_hook`: the request then gives its place up while it waits for the chain, and takes
one again after, so the limit is on the work done at once, never on the requests waiting for
a block.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

_hook: Callable[[], AbstractContextManager[object]] | None = None


def set_hook(hook: Callable[[], AbstractContextManager[object]] | None) -> None:
    """Make `hook()` the context every wait for the chain runs in (None: none)."""
    global _hook
    _hook = hook


def waiting() -> AbstractContextManager[object]:
    """The context to block on the chain in (see the module)."""
    return nullcontext() if _hook is None else _hook()


def pause(seconds: float) -> None:
    """Sleep `seconds` while waiting for the chain (see the module)."""
    with waiting():
        time.sleep(seconds)
