"""A throwaway PostgreSQL server for the test session, started from the local binaries.

`postgres_server` (session scope) runs `initdb` into a temporary directory and starts
`postgres` on a free port of 127.0.0.1 and on a unix socket in that directory, with the default
settings (fsync on); it is stopped and removed at the end of the session. PostgreSQL refuses to
run as root, so under root the server runs as the `postgres` system user.

Each test gets its own database: `postgres_store_factory(server)` creates one, yields a callable
that opens a new `PostgresLedgerStore` on it, and drops it afterwards; `fresh_database(server)`
creates an empty database and returns its DSN, for tests that hand it to another process.

Missing binaries make the fixture fail, not skip: CI installs them (Debian `postgresql-15`).
Set `HAZINA_TEST_POSTGRES_DSN` to an administrator DSN to use an existing server instead.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hazina.ledger.store.postgres import PostgresLedgerStore

server_start_timeout_s = 60.0
server_stop_timeout_s = 30.0
_SERVER_USER = "postgres"  # the system user that runs the server when the tests run as root
_ENVIRONMENT_DSN = "HAZINA_TEST_POSTGRES_DSN"


@dataclass
class PostgresServer:
    """A running server and how to reach it as its superuser."""

    admin_dsn: str  # a DSN for the maintenance database `postgres`
    databases: list[str] = field(default_factory=list)  # created by the tests, dropped at the end

    def dsn(self, database: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=database)


def find_binary(name: str) -> Path:
    """`name` from the PATH, else from the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: _version_key(path.parent.parent.name),
        reverse=True,
    )
    if not candidates:
        pytest.fail(
            f"PostgreSQL binary {name!r} not found on PATH or in /usr/lib/postgresql/*/bin:"
            " install the server (Debian: apt-get install postgresql-15) to run these tests",
            pytrace=False,
        )
    return candidates[0]


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as() -> dict[str, str]:
    """Keyword arguments that make subprocess run the server as `postgres` under root."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam(_SERVER_USER)
    except KeyError:
        pytest.fail(
            f"running as root, and PostgreSQL refuses root: create the system user"
            f" {_SERVER_USER!r} (Debian's postgresql package does)",
            pytrace=False,
        )
    return {"user": _SERVER_USER, "group": _SERVER_USER}


def _chown_tree(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@contextlib.contextmanager
def start_server() -> Iterator[PostgresServer]:
    """initdb, start, yield, stop and remove: one server with default settings."""
    initdb = find_binary("initdb")
    postgres = find_binary("postgres")
    directory = Path(tempfile.mkdtemp(prefix="hazina-postgres-"))
    run_as = _run_as()
    _chown_tree(directory)
    data = directory / "data"
    log_path = directory / "server.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        initialized = subprocess.run(
            [
                str(initdb),
                "--pgdata",
                str(data),
                "--username",
                "hazina",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-locale",
            ],
            cwd=directory,
            capture_output=True,
            check=False,
            **run_as,  # type: ignore[arg-type]
        )
        if initialized.returncode != 0:
            pytest.fail(
                f"initdb failed ({initialized.returncode}):\n"
                + initialized.stderr.decode(errors="replace"),
                pytrace=False,
            )
        port = _free_port()
        with log_path.open("wb") as log:
            _chown_tree(log_path)
            process = subprocess.Popen(
                [
                    str(postgres),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-k",
                    str(directory),
                    "-c",
                    "listen_addresses=127.0.0.1",
                ],
                cwd=directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                **run_as,  # type: ignore[arg-type]
            )
        admin_dsn = make_conninfo(
            host=str(directory), port=port, user="hazina", dbname="postgres"
        )
        _wait_until_ready(admin_dsn, process, log_path)
        yield PostgresServer(admin_dsn)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_until_ready(dsn: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + server_start_timeout_s
    while True:
        if process.poll() is not None:
            pytest.fail(
                "PostgreSQL exited during start-up:\n" + log_path.read_text(errors="replace"),
                pytrace=False,
            )
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                pytest.fail(
                    "PostgreSQL did not accept connections in time:\n"
                    + log_path.read_text(errors="replace"),
                    pytrace=False,
                )
            time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # "fast" shutdown: roll back sessions, then exit
    try:
        process.wait(server_stop_timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    dsn = os.environ.get(_ENVIRONMENT_DSN)
    if dsn:
        server = PostgresServer(dsn)
        yield server
        for database in server.databases:
            drop_database(server, database)
        return
    with start_server() as server:
        yield server


def _admin(server: PostgresServer) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server.admin_dsn, autocommit=True)


def fresh_database(server: PostgresServer) -> str:
    """Create an empty database (no ledger schema yet) and return its DSN.

    The caller drops it with `drop_database`, or leaves it to the end of the session."""
    name = f"hazina_test_{uuid.uuid4().hex[:16]}"
    with _admin(server) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    server.databases.append(name)
    return server.dsn(name)


def drop_database(server: PostgresServer, name: str) -> None:
    """Drop a test database, ending any session a test left open on it."""
    with _admin(server) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    if name in server.databases:
        server.databases.remove(name)


@contextlib.contextmanager
def postgres_store_factory(
    server: PostgresServer,
) -> Iterator[Callable[[], PostgresLedgerStore]]:
    """A fresh database for one test; the callable opens a new store on it each time."""
    dsn = fresh_database(server)
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    assert isinstance(name, str)
    try:
        yield lambda: PostgresLedgerStore(dsn)
    finally:
        drop_database(server, name)


__all__ = [
    "PostgresServer",
    "drop_database",
    "find_binary",
    "fresh_database",
    "postgres_server",
    "postgres_store_factory",
    "start_server",
]
