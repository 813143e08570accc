"""The service under a burst: its key cache and its database pools. A wallet opens (a slow
scrypt or PBKDF2 decryption) once, however many requests ask for it at once, and while it
opens, requests for other wallets and for the chain client go on (they used to wait behind one
lock for every decryption); readers never wait for a connection that writers hold."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from api.chain import ChainAccess
from api.db import POOL_OVERFLOW, POOL_SIZE, Database
from api.settings import load_settings
from heitje_chain.keys import LocalSigner


@pytest.fixture
def access(tmp_path: Path) -> ChainAccess:
    env = {"HEITJE_HOME": str(tmp_path), "HEITJE_API_WALLET_KDF_ITERATIONS": "1000"}
    return ChainAccess(load_settings(env))


def test_parallel_requests_for_one_wallet_decrypt_it_once(
    access: ChainAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = access.new_wallet()
    access._signers.clear()  # as after a restart: the file is there, nothing in memory
    real_load = access.wallets.load
    opened: list[str] = []

    def slow_load(name: str, password: str) -> LocalSigner:
        opened.append(name)
        time.sleep(0.3)
        return real_load(name, password)

    monkeypatch.setattr(access.wallets, "load", slow_load)
    signers: list[LocalSigner] = []
    threads = [
        threading.Thread(target=lambda: signers.append(access.wallet(address))) for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert opened == [address]
    assert len(signers) == 10 and {s.address for s in signers} == {address}
    assert len({id(s) for s in signers}) == 1


def test_a_slow_decryption_holds_up_no_other_wallet(
    access: ChainAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow, quick = access.new_wallet(), access.new_wallet()
    access._signers.clear()
    real_load = access.wallets.load
    started = threading.Event()
    release = threading.Event()

    def load(name: str, password: str) -> LocalSigner:
        if name == slow:
            started.set()
            assert release.wait(10)
        return real_load(name, password)

    monkeypatch.setattr(access.wallets, "load", load)
    opener = threading.Thread(target=access.wallet, args=(slow,))
    opener.start()
    try:
        assert started.wait(5)
        begin = time.perf_counter()
        assert access.wallet(quick).address == quick  # while `slow` is still being opened
        assert time.perf_counter() - begin < 5
    finally:
        release.set()
        opener.join()
    assert access.wallet(slow).address == slow


def test_a_failed_decryption_is_not_cached(
    access: ChainAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = access.new_wallet()
    access._signers.clear()
    real_load = access.wallets.load
    calls: list[int] = []

    def flaky(name: str, password: str) -> LocalSigner:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the disk hiccuped")
        return real_load(name, password)

    monkeypatch.setattr(access.wallets, "load", flaky)
    with pytest.raises(OSError):
        access.wallet(address)
    assert access.wallet(address).address == address  # the next request opens it again
    assert len(calls) == 2


def test_readers_find_a_connection_when_writers_hold_them_all(tmp_path: Path) -> None:
    """On SQLite a burst of writers queues for the one write lock, each holding a connection
    of the writing pool meanwhile; reading sessions have a pool of their own."""
    db = Database(f"sqlite:///{tmp_path / 'pools.db'}")
    held = [db.engine.connect() for _ in range(POOL_SIZE + POOL_OVERFLOW)]
    try:
        begin = time.perf_counter()
        with db.session() as session:
            assert session.scalar(text("SELECT 1")) == 1
        assert time.perf_counter() - begin < 5  # not the writing pool's 30 s timeout
    finally:
        for connection in held:
            connection.close()
        db.dispose()
