"""A throwaway PostgreSQL server for tests, started from the PostgreSQL binaries on this machine.

    server = start_postgres(Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir="/tmp")))
    engine = sqlalchemy.create_engine(server.url)  # postgresql+psycopg://heitje@127.0.0.1:PORT/heitje_test
    ...
    server.stop()

or, in a fixture, `with running_postgres() as server: yield server.url`.

- Binaries: `$HEITJE_PG_BIN` if set, else `pg_ctl` on PATH, `pg_config --bindir`,
  `/usr/lib/postgresql/<newest>/bin`, ... (see `find_bindir`); none found is an error that says
  where it looked, never a silent skip.
- Root: postgres refuses to run as root, so as root every PostgreSQL program runs as the `postgres`
  user (else `nobody`) through `subprocess`'s `user=`/`group=`, and the base directory is handed
  to that user. As a normal user everything runs as that user. Nothing is installed or configured.
- The server: `initdb --auth=trust` (local tests only), UTF8, locale C, listening on 127.0.0.1
  only, on a free port (never 8545-8547), with its Unix socket inside the base directory, and no
  durability (fsync, full_page_writes and synchronous_commit off). The database `heitje_test`
  is created, owned by the superuser `heitje`.
- The postmaster is a direct child of this process in its own session (a Ctrl-C reaches pytest,
  whose teardown stops the server); on Linux it also gets a fast-shutdown signal if this process
  dies without a teardown (`PR_SET_PDEATHSIG`), so a killed test run leaves no server behind.
- `stop()` is `pg_ctl stop -m fast`, then an immediate shutdown and a kill if that fails; it is
  idempotent and also registered with `atexit`.

Timings on this machine: initdb ~0.55 s (--no-sync), start + createdb ~0.12 s, stop ~0.1 s, so
there is no template cache. Set `HEITJE_PG_KEEP=1` to keep the directory (and `postgres.log`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

BIN_ENV = "HEITJE_PG_BIN"  # a directory holding initdb, pg_ctl and postgres
TMP_PREFIX = "heitje-pg-"  # short directories under /tmp (socket paths must stay < 108 bytes)
KEEP_ENV = "HEITJE_PG_KEEP"  # non-empty: keep the base directory (data and log) after the run
PROGRAMS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "heitje"
DATABASE = "heitje_test"
RESERVED_PORTS = frozenset({8545, 8546, 8547})  # the project's chains
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL
START_TIMEOUT = 30.0
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "'16MB'",
    "timezone": "'UTC'",
}


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL binaries, or the server would not start; the message says why."""


def _candidate_dirs() -> list[tuple[str, Path]]:
    """Where PostgreSQL binaries may be, in order, each with how it was found."""
    found: list[tuple[str, Path]] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        found.append(("pg_ctl on PATH", Path(on_path).resolve().parent))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                found.append(("pg_config --bindir", Path(out)))

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)

    patterns = (
        "/usr/lib/postgresql/*/bin",
        "/usr/pgsql-*/bin",
        "/opt/homebrew/opt/postgresql*/bin",
    )
    for pattern in patterns:
        for path in sorted(glob.glob(pattern), key=version, reverse=True):
            found.append((pattern, Path(path)))
    for fixed in ("/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"):
        found.append((fixed, Path(fixed)))
    return found


def _has_programs(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in PROGRAMS)


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres; else `PostgresUnavailable`, which lists
    every place searched."""
    override = os.environ.get(BIN_ENV)
    if override:
        if _has_programs(Path(override)):
            return Path(override)
        raise PostgresUnavailable(
            f"${BIN_ENV}={override} does not hold all of {', '.join(PROGRAMS)} (executable)."
        )
    candidates = _candidate_dirs()
    for _, directory in candidates:
        if _has_programs(directory):
            return directory
    searched = "\n".join(f"  {directory}  ({how})" for how, directory in candidates)
    raise PostgresUnavailable(
        f"No PostgreSQL server binaries ({', '.join(PROGRAMS)}) found. Searched:\n{searched}\n"
        f"  (pg_ctl / pg_config on PATH: {shutil.which('pg_ctl')} / {shutil.which('pg_config')})\n"
        f"Install the PostgreSQL server (Debian: postgresql) or set ${BIN_ENV} to its bin dir."
    )


@dataclass(frozen=True)
class _RunAs:
    """The unprivileged account PostgreSQL runs as when we are root (None fields: ourselves)."""

    name: str | None = None
    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def _run_as() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs()
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return _RunAs(name, entry.pw_uid, entry.pw_gid)
    raise PostgresUnavailable(
        "Running as root, and PostgreSQL refuses root: no 'postgres' or 'nobody' user to run it as."
    )


def _free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def _environment() -> dict[str, str]:
    """Our environment without libpq's PG* variables (PGDATA, PGPORT, ...), in the C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Runs in the child after it has become the unprivileged user (so the setting survives):
    a fast shutdown for the postmaster if the process that started it dies."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class PgServer:
    """A running throwaway PostgreSQL; `url` is for SQLAlchemy, `conninfo` for psycopg."""

    base_dir: Path
    bindir: Path
    port: int
    data_dir: Path
    socket_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    user: str = SUPERUSER
    database: str = DATABASE
    _run_as: _RunAs = field(default_factory=_RunAs, repr=False)
    _extra_dirs: list[Path] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={self.database}"

    def create_database(self, name: str) -> str:
        """Create another (empty) database, e.g. for one test module; returns its URL."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def _pg_ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_environment(),
            cwd=self.base_dir,
            check=False,
            **self._run_as.popen_kwargs(),
        )

    def stop(self) -> None:
        """`pg_ctl stop -m fast`; an immediate shutdown, then a kill, if it does not stop."""
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                self._pg_ctl("stop", "-m", "fast", "-w", "-t", "30", timeout=40)
            for sig in (signal.SIGQUIT, signal.SIGKILL):  # immediate shutdown, then kill
                try:
                    self.process.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        self.process.send_signal(sig)
        self.process.wait()
        for extra in self._extra_dirs:
            shutil.rmtree(extra, ignore_errors=True)
        self._extra_dirs.clear()


def _socket_dir(base_dir: Path, run_as: _RunAs) -> tuple[Path, list[Path]]:
    """The base directory if its socket path fits in sun_path, else a short one under /tmp."""
    if len(str(base_dir / ".s.PGSQL.65535")) <= SOCKET_PATH_MAX:
        return base_dir, []
    short = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir="/tmp"))
    run_as.chown(short)
    return short, [short]


def start_postgres(
    base_dir: Path, *, database: str = DATABASE, attempts: int = 3, durable: bool = False
) -> PgServer:
    """initdb a cluster in `base_dir/data`, start it, wait until it answers and create
    `database`. `durable` keeps PostgreSQL's own durability settings (for benchmarks). Keep
    `base_dir` short (`mkdtemp(prefix=TMP_PREFIX, dir="/tmp")`): the Unix socket lives there.
    Raises `PostgresUnavailable` with the reason (and the server log)."""
    bindir = find_bindir()
    run_as = _run_as()
    base_dir = base_dir.resolve()
    base_dir.mkdir(parents=True, exist_ok=True)
    run_as.chown(base_dir)
    socket_dir, extra_dirs = _socket_dir(base_dir, run_as)
    try:
        server = _init_and_start(bindir, run_as, base_dir, socket_dir, database, attempts, durable)
    except BaseException:
        for extra in extra_dirs:
            shutil.rmtree(extra, ignore_errors=True)
        raise
    server._extra_dirs = extra_dirs
    atexit.register(server.stop)
    return server


def _init_and_start(
    bindir: Path,
    run_as: _RunAs,
    base_dir: Path,
    socket_dir: Path,
    database: str,
    attempts: int,
    durable: bool,
) -> PgServer:
    data_dir = base_dir / "data"
    log_path = base_dir / "postgres.log"
    env = _environment()
    as_user = f" as user {run_as.name!r}" if run_as.name else ""

    initdb = subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=base_dir,
        check=False,
        **run_as.popen_kwargs(),
    )
    if initdb.returncode != 0:
        raise PostgresUnavailable(
            f"initdb{as_user} failed in {data_dir} (exit {initdb.returncode}); the base directory "
            f"and its parents must be reachable and writable{as_user}:\n"
            f"{initdb.stdout}{initdb.stderr}"
        )
    settings = {**SETTINGS, "unix_socket_directories": f"'{socket_dir}'"}
    if durable:
        for name in ("fsync", "synchronous_commit", "full_page_writes", "wal_level"):
            del settings[name]
        del settings["max_wal_senders"]
    with (data_dir / "postgresql.conf").open("a") as conf:
        conf.write("\n# tests/support/pg.py: a throwaway test server\n")
        conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    failure = ""
    for _ in range(attempts):
        port = _free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data_dir), "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=base_dir,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # the child only calls prctl before exec
                **run_as.popen_kwargs(),
            )
        server = PgServer(
            base_dir,
            bindir,
            port,
            data_dir,
            socket_dir,
            log_path,
            process,
            database=database,
            _run_as=run_as,
        )
        try:
            _wait_until_ready(server)
        except PostgresUnavailable as exc:
            server.stop()
            failure = str(exc)
            if "already in use" not in _tail(log_path):
                break  # not a port race: retrying will not help
            continue
        try:
            server.create_database(database)
        except BaseException:
            server.stop()
            raise
        return server
    raise PostgresUnavailable(f"{failure}\n--- {log_path} (tail) ---\n{_tail(log_path)}")


def _wait_until_ready(server: PgServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise PostgresUnavailable(
                f"postgres exited with status {server.process.returncode} on port {server.port}"
            )
        try:
            psycopg.connect(
                host="127.0.0.1",
                port=server.port,
                user=server.user,
                dbname="postgres",
                connect_timeout=2,
            ).close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"postgres did not accept connections on port {server.port} within "
                    f"{START_TIMEOUT:.0f} s: {exc}"
                ) from exc
            time.sleep(0.05)


@contextlib.contextmanager
def running_postgres() -> Iterator[PgServer]:
    """A server in a fresh short directory under /tmp, stopped and removed afterwards (kept if
    $HEITJE_PG_KEEP is set); no PostgreSQL is a `pytest.fail`, never a skip."""
    base_dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir="/tmp"))
    try:
        try:
            server = start_postgres(base_dir)
        except PostgresUnavailable as exc:
            pytest.fail(f"Cannot start a test PostgreSQL: {exc}", pytrace=False)
        try:
            yield server
        finally:
            server.stop()
    finally:
        if os.environ.get(KEEP_ENV):
            print(f"\n{KEEP_ENV}: PostgreSQL test directory kept in {base_dir}", file=sys.stderr)
        else:
            shutil.rmtree(base_dir, ignore_errors=True)
