"""The database: engine, sessions and migrations (Alembic, in `api/migrations`).

SQLite is the embedded default; PostgreSQL is the production database. The schema is only
ever changed by migrations, which run at start-up (`migrate`).

Transactions and concurrency (both databases enforce what matters, not the code):

- Python's sqlite3 driver starts a transaction only at the first write, so a read followed
  by a write in one "transaction" could act on stale data (ten parallel refunds each saw the
  same refunded amount). Here the driver's own handling is switched off and every SQLite
  transaction begins explicitly: `BEGIN` for a reading session, `BEGIN IMMEDIATE` for a
  writing one (`session(write=True)`, and every request that is not a GET), which takes
  SQLite's single write lock at the start, so writers run one after the other and each sees
  the one before. Readers never wait (WAL).
- On PostgreSQL the routes lock the rows they check and change (`SELECT ... FOR UPDATE`)
  and money limits are guarded updates (`UPDATE ... WHERE refunded + x <= amount`) whose
  row count decides; idempotency keys are unique constraints.
- No session is held across a chain call or a receipt wait: a route records its intent,
  commits, calls the chain, then records the outcome in a new short session. So a slow chain
  never ties up the pool or SQLite's write lock.

The pools: each request thread holds at most one connection for a few milliseconds at a time,
so POOL_SIZE + POOL_OVERFLOW connections serve the service's threads (api.main sizes the
thread pool, THREADS); a request that still finds the pool empty waits POOL_TIMEOUT seconds.
Reading sessions have a pool of their own (READ_POOL_SIZE + READ_POOL_OVERFLOW): on SQLite a
burst of writers queues for the one write lock, each holding a connection while it waits, and
without a separate pool the readers (a resident opening the job list) queued behind them for
a connection. At most 60 connections per service process: PostgreSQL's default
max_connections (100) serves one process with room to spare; give it more for several.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

POOL_SIZE = 20
POOL_OVERFLOW = 20
POOL_TIMEOUT = 30
READ_POOL_SIZE = 10
READ_POOL_OVERFLOW = 10
#: seconds a pooled PostgreSQL connection may sit unused before it is pinged (_ping_when_idle)
PING_IDLE = 5.0
#: the execution option that makes a SQLite transaction take the write lock at its start
WRITE = "heitje_write"


def make_engine(url: str, size: int = POOL_SIZE, overflow: int = POOL_OVERFLOW) -> Engine:
    pool: dict[str, Any] = {
        "pool_size": size,
        "max_overflow": overflow,
        "pool_timeout": POOL_TIMEOUT,
    }
    if url.startswith("sqlite"):
        path = make_url(url).database
        memory = not path or path == ":memory:"
        if path and not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            # isolation_level=None: the driver issues no BEGIN of its own (see the module)
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            **({} if memory else pool),
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            cursor = conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a crash
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            write = conn.get_execution_options().get(WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    engine = create_engine(url, **pool)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """A pooled PostgreSQL connection that sat unused for more than PING_IDLE seconds is
    pinged when taken from the pool, and replaced if the server no longer answers on it
    (after a restart of the server, or a connection the network dropped). SQLAlchemy's
    `pool_pre_ping` pings at every checkout: a round trip more for every session, which under
    a burst is a third of a simple request's round trips. A connection used within the last
    PING_IDLE seconds is not pinged; if the server went away just then, that one request
    fails (a disconnect, which also discards the rest of the pool) and the next reconnects."""

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_USED] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_USED, 0.0) <= PING_IDLE:
            return
        try:
            engine.dialect.do_ping(conn)  # as pool_pre_ping does: outside a transaction
        except Exception as exc:
            raise DisconnectionError(f"the database closed this connection: {exc}") from exc


_USED = "heitje_used_at"


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to the newest migration (or to `revision`)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def holds_connection(session: Session) -> bool:
    """Has the session's transaction begun on the database (so, on SQLite, it may hold the
    write lock)? Sessions begin lazily, at their first query."""
    return bool(session.info.get(_CONNECTED))


_CONNECTED = "heitje_connected"


def _began(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info[_CONNECTED] = True


def _ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTED, None)


class Database:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)  # writing sessions, migrations, the rate limits
        self.sqlite = self.engine.dialect.name == "sqlite"
        memory = self.sqlite and make_url(url).database in (None, "", ":memory:")
        # Reading sessions from a pool of their own (see the module); an in-memory SQLite
        # database exists once per engine, so there both share the one engine.
        self.read_engine = (
            self.engine if memory else make_engine(url, READ_POOL_SIZE, READ_POOL_OVERFLOW)
        )
        self.sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        # Its connections carry the option that makes a SQLite transaction begin with the
        # write lock (see `make_engine`). Both kinds begin lazily, at the first query.
        writer = self.engine.execution_options(**{WRITE: True})
        self.write_sessions = sessionmaker(writer, expire_on_commit=False)
        # Lookups of one statement at a time (the signed-in user, on every request): on
        # PostgreSQL outside a transaction (autocommit), which spares each the BEGIN and COMMIT
        # round trips to the server. Under a burst those round trips add up: each one waits
        # for the server's process and then for this process's turn at the interpreter.
        lookup = (
            self.read_engine
            if self.sqlite
            else self.read_engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.lookups = sessionmaker(lookup, expire_on_commit=False)
        for maker in (self.sessions, self.write_sessions, self.lookups):
            event.listen(maker, "after_begin", _began)
            event.listen(maker, "after_transaction_end", _ended)

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """A session whose work is committed at the end of the block, or rolled back.
        `write`: it will change something, so on SQLite it takes the write lock first (see
        the module); keep such blocks short and never call the chain inside one."""
        with (self.write_sessions if write else self.sessions)() as session, session.begin():
            yield session

    @contextmanager
    def lookup(self) -> Iterator[Session]:
        """A reading session for statements that each stand alone: each sees what was
        committed when it runs, not one snapshot for the whole block (PostgreSQL: no
        transaction; SQLite: a reading session as `session()`). Never for reads that must
        agree with each other (a total and its parts)."""
        with self.lookups() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection (at shut-down, and in tests)."""
        self.engine.dispose()
        self.read_engine.dispose()
