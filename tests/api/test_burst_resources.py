"""The service under a burst: its key cache and its database pools. A wallet opens (a slow
scrypt or PBKDF2 decryption) once, however many requests ask for it at once, and while it
opens, requests for other wallets and for the chain client go on (they used to wait behind one
lock for every decryption); readers never wait for a connection that writers hold."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture
def pg_db(postgres_server: Any) -> Iterator[Database]:
    db = Database(postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}"))
    yield db
    db.dispose()


def _server_statements(db: Database, work: Callable[[], None]) -> list[str]:
    """The statements the PostgreSQL server received while `work` ran (its log)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("ALTER SYSTEM SET log_statement = 'all'"))
        c.execute(text("SELECT pg_reload_conf()"))
        log = Path(str(c.execute(text("SHOW data_directory")).scalar())).parent / "postgres.log"
    try:
        time.sleep(0.3)  # the reload reaches every backend
        start = log.stat().st_size
        work()
        time.sleep(0.3)
        lines = log.read_text(errors="replace")[start:].splitlines()
    finally:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ALTER SYSTEM RESET log_statement"))
            c.execute(text("SELECT pg_reload_conf()"))
    return [x.split("LOG:", 1)[1].strip() for x in lines if "statement:" in x or "execute" in x]


def test_a_lookup_costs_one_round_trip_and_a_session_no_ping(pg_db: Database) -> None:
    """On PostgreSQL a lookup (the signed-in user, on every request) is sent without BEGIN
    and COMMIT, and a connection used a moment ago is not pinged first: GET /jobs went from
    13 statements at the server to 6."""
    db = pg_db
    with db.lookup() as session:  # the connection was just used: no ping below
        session.scalar(text("SELECT 1"))

    def work() -> None:
        with db.lookup() as session:
            session.scalar(text("SELECT 'lookup'"))
        with db.session() as session:
            session.scalar(text("SELECT 'session'"))

    sent = _server_statements(db, work)
    assert [s.split(": ", 1)[-1] for s in sent] == [
        "SELECT 'lookup'", "BEGIN ISOLATION LEVEL READ COMMITTED", "SELECT 'session'", "COMMIT"
    ], sent  # fmt: skip


def test_a_connection_the_server_closed_is_replaced(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections unused for longer than PING_IDLE are pinged when taken from the pool: one
    the server has closed meanwhile (a restart, a dropped network) is replaced, and the
    session that asked for it works."""
    db = pg_db
    with db.session() as session, db.lookup() as other:
        mine = {session.scalar(text("SELECT pg_backend_pid()")),
                other.scalar(text("SELECT pg_backend_pid()"))}  # fmt: skip
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for pid in mine:
            assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    time.sleep(0.2)
    monkeypatch.setattr("api.db.PING_IDLE", 0.1)  # they sat unused for longer than that
    with db.session() as session, db.lookup() as other:
        now_on = {session.scalar(text("SELECT pg_backend_pid()")),
                  other.scalar(text("SELECT pg_backend_pid()"))}  # fmt: skip
    assert now_on and not now_on & mine


def test_a_simple_read_hands_off_to_a_worker_thread_only_for_database_work(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each plain-`def` dependency is a hand-off from the event loop to a worker thread and
    back, and under a burst each waits its turn on the busy loop. GET /jobs had seven (the
    database, the settings, the signed-in user, the session's start and end, the route, the
    check of its answer); the dependencies that only look in memory are now `async def` and
    run on the loop. (The session's start and end go through another function, not counted
    here.)"""
    import fastapi.dependencies.utils
    import fastapi.routing
    from support.service import setup_people

    people = setup_people(service)
    handed: list[str] = []
    for module in (fastapi.dependencies.utils, fastapi.routing):
        real = module.run_in_threadpool

        async def counted(func: Any, *args: Any, _real: Any = real, **kw: Any) -> Any:
            handed.append(getattr(func, "__name__", repr(func)))
            return await _real(func, *args, **kw)

        monkeypatch.setattr(module, "run_in_threadpool", counted)
    service.call("GET", "/jobs", people.resident)
    service.call("GET", "/jobs", people.inspector)
    assert len(handed) == 2 * 3, handed  # per request: the user, the route, its answer
    assert not {"get_db", "get_settings", "get_chain", "check"} & set(handed), handed


def test_writes_take_turns_reads_never_wait_and_a_chain_wait_gives_the_turn_up(
    service: Any,
) -> None:
    """api.gate: at most HEITJE_API_WRITE_CONCURRENCY (4) writing requests at work at once;
    reads never wait for it; a request waiting for the chain (heitje_chain.waits) gives its
    turn up meanwhile. Without the gate, 50 payments on PostgreSQL put 50 threads in line for
    the interpreter and an unrelated read's p50 was about 500 ms (benchmarks/api_load.py)."""
    from support.service import at_once

    from heitje_chain.waits import waiting

    lock = threading.Lock()
    inside = {"now": 0, "most": 0}

    def busy(in_chain_wait: bool) -> dict[str, int]:
        with lock:
            inside["now"] += 1
            inside["most"] = max(inside["most"], inside["now"])
        try:
            if in_chain_wait:
                with waiting():  # as a request waiting for a receipt
                    time.sleep(0.4)
            else:
                time.sleep(0.4)  # work: holds its turn
        finally:
            with lock:
                inside["now"] -= 1
        return {}

    app = service.app
    app.add_api_route("/x-gate/write", lambda: busy(False), methods=["POST"])
    app.add_api_route("/x-gate/read", lambda: busy(False), methods=["GET"])
    app.add_api_route("/x-gate/chain", lambda: busy(True), methods=["POST"])

    def most_at_once(method: str, path: str) -> int:
        inside["most"] = 0
        answers = at_once([lambda: service.http.request(method, path) for _ in range(10)])
        assert all(getattr(a, "status_code", None) == 200 for a in answers), answers
        return inside["most"]

    assert most_at_once("POST", "/x-gate/write") == 4
    assert most_at_once("GET", "/x-gate/read") == 10
    assert most_at_once("POST", "/x-gate/chain") == 10
