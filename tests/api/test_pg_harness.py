"""The throwaway PostgreSQL of tests/support/pg.py: psycopg and SQLAlchemy reach it, it is the
server of the binaries found, it stops without leaving a process, and no binaries is a clear
failure."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from support import pg


def binaries_version() -> int:
    """`postgres --version` as psycopg reports a server version: 15.18 -> 150018."""
    out = subprocess.run(
        [str(pg.find_bindir() / "postgres"), "--version"], capture_output=True, text=True
    ).stdout
    major, minor = re.search(r"(\d+)\.(\d+)", out).groups()  # type: ignore[union-attr]
    return int(major) * 10000 + int(minor)


def test_psycopg_reaches_the_server(postgres_url: str) -> None:
    url = make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.database) == ("127.0.0.1", "heitje_test")
    assert url.port not in (8545, 8546, 8547)
    libpq_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq_url) as conn:
        assert conn.info.server_version == binaries_version()
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        conn.execute("CREATE TABLE harness_psycopg (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO harness_psycopg (name) VALUES (%s), (%s)", ("Anna", "Bram"))
        rows = conn.execute("SELECT id, name FROM harness_psycopg ORDER BY id").fetchall()
        assert rows == [(1, "Anna"), (2, "Bram")]
        conn.execute("DROP TABLE harness_psycopg")


def test_sqlalchemy_reaches_the_server(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    table = sa.Table(
        "harness_sqlalchemy",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
    )
    try:
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        with engine.begin() as conn:
            table.create(conn)
            conn.execute(table.insert(), [{"name": "Anna"}, {"name": "Bram"}])
        with engine.connect() as conn:
            names = conn.scalars(sa.select(table.c.name).order_by(table.c.id)).all()
            version = conn.scalar(sa.text("SHOW server_version_num"))
        assert names == ["Anna", "Bram"]
        assert int(version) == binaries_version()
        assert engine.dialect.server_version_info[0] == binaries_version() // 10000
        with engine.begin() as conn:
            table.drop(conn)
    finally:
        engine.dispose()


def test_stop_leaves_no_process_and_no_socket() -> None:
    base_dir = Path(tempfile.mkdtemp(prefix=pg.TMP_PREFIX, dir="/tmp"))
    server = pg.start_postgres(base_dir)
    try:
        pid = server.process.pid
        socket_file = server.socket_dir / f".s.PGSQL.{server.port}"
        assert server.socket_dir == base_dir.resolve() and socket_file.is_socket()
        owner = os.stat(server.data_dir).st_uid
        uids = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[:2]
        assert owner != 0 and uids == [str(owner)] * 2  # never root, even when we are
        other = server.create_database("harness_other")
        assert make_url(other).database == "harness_other"
    finally:
        server.stop()
        server.stop()  # idempotent
    try:
        assert server.process.returncode == 0  # a clean (fast) shutdown
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        assert str(server.data_dir) not in ps
        assert not socket_file.exists()
    finally:
        subprocess.run(["rm", "-rf", str(base_dir)], check=True)


def test_no_binaries_is_a_failure_saying_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pg.BIN_ENV, raising=False)
    monkeypatch.setattr(pg, "_candidate_dirs", lambda: [("a guess", Path("/nowhere/pg/bin"))])
    with pytest.raises(pytest.fail.Exception, match=r"(?s)No PostgreSQL.*/nowhere/pg/bin"):
        with pg.running_postgres():
            pass
    monkeypatch.setenv(pg.BIN_ENV, "/nowhere/else")
    with pytest.raises(pg.PostgresUnavailable, match="HEITJE_PG_BIN=/nowhere/else"):
        pg.find_bindir()
