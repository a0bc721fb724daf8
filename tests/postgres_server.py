"""A throwaway PostgreSQL server for the test session, started from the local binaries.

`postgres_server` (session scope) runs `initdb` into a temporary directory and starts
`postgres` on a free port of 127.0.0.1 and on a unix socket in that directory, with the default
settings (fsync on); it is stopped and removed at the end of the session. PostgreSQL refuses to
run as root, so under root the server runs as the `postgres` system user.

Each test gets its own ledger database: `postgres_store_factory(server)` creates one, yields a
callable that opens a new `PostgresLedgerStore` on it, and drops it afterwards;
`fresh_database(server)` creates a database and returns its DSN, for tests that hand it to
another process; `fresh_namespace(server)` is the same, cheaper, as a schema of one shared
database (see there), which is what the store factory uses.

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
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hazina.ledger.store.postgres import PostgresLedgerStore

server_start_timeout_s = 60.0
server_stop_timeout_s = 30.0
_SERVER_USER = "postgres"  # the system user that runs the server when the tests run as root
_ENVIRONMENT_DSN = "HAZINA_TEST_POSTGRES_DSN"
_TEST_DATABASE = "hazina_tests"  # holds the schemas made by `fresh_namespace`


@dataclass
class PostgresServer:
    """A running server and how to reach it as its superuser."""

    admin_dsn: str  # a DSN for the maintenance database `postgres`
    namespaces: list[str] = field(default_factory=list)  # created by tests, dropped at the end
    databases: list[str] = field(default_factory=list)  # likewise
    database_ready: bool = False

    def dsn(self, database: str, **options: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=database, **options)


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
        admin_dsn = make_conninfo(host=str(directory), port=port, user="hazina", dbname="postgres")
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
        for namespace in list(server.namespaces):
            drop_database(server, server.dsn(_TEST_DATABASE, application_name=namespace))
        for database in list(server.databases):
            drop_database(server, database)
        return
    with start_server() as server:
        yield server


def _test_database(server: PostgresServer) -> str:
    if not server.database_ready:
        with psycopg.connect(server.admin_dsn, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (_TEST_DATABASE,)
            ).fetchone()
            if exists is None:
                connection.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_TEST_DATABASE))
                )
        server.database_ready = True
    return _TEST_DATABASE


def fresh_database(server: PostgresServer) -> str:
    """Create an empty database of its own and return its DSN: for a test that hands it to
    another process and watches the database's sessions. Drop it with `drop_database`."""
    name = f"hazina_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server.admin_dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    server.databases.append(name)
    return server.dsn(name)


def fresh_namespace(server: PostgresServer) -> str:
    """A DSN for a new, empty ledger of its own, for one test: cheaper than a database.

    Each is a schema of one shared test database, reached through `search_path` in the DSN:
    creating and dropping a schema takes milliseconds where CREATE DATABASE, which copies and
    syncs a template, takes a large part of a second. The store keeps everything (tables,
    functions, advisory locks) per schema, so the isolation is the same. The schema name is also
    the connections' `application_name`, which lets `drop_database` end leftover sessions."""
    database = _test_database(server)
    namespace = f"ledger_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server.dsn(database), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(namespace)))
    server.namespaces.append(namespace)
    return server.dsn(database, options=f"-c search_path={namespace}", application_name=namespace)


def namespace_of(dsn: str) -> str | None:
    name = conninfo_to_dict(dsn).get("application_name")
    return name if isinstance(name, str) and name.startswith("ledger_") else None


def drop_database(server: PostgresServer, name_or_dsn: str) -> None:
    """Drop what `fresh_database` or `fresh_namespace` made (given its DSN, or a database's
    name), first ending any session a test left open on it."""
    namespace = namespace_of(name_or_dsn) if "=" in name_or_dsn else None
    if namespace is not None:
        with psycopg.connect(server.dsn(_test_database(server)), autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND pid <> pg_backend_pid()",
                (namespace,),
            )
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(namespace))
            )
        if namespace in server.namespaces:
            server.namespaces.remove(namespace)
        return
    name = name_or_dsn
    if "=" in name_or_dsn:
        database = conninfo_to_dict(name_or_dsn).get("dbname")
        assert isinstance(database, str)
        name = database
    with psycopg.connect(server.admin_dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    if name in server.databases:
        server.databases.remove(name)


@contextlib.contextmanager
def postgres_store_factory(
    server: PostgresServer,
) -> Iterator[Callable[[], PostgresLedgerStore]]:
    """A fresh ledger for one test; the callable opens a new store on it each time."""
    dsn = fresh_namespace(server)
    try:
        yield lambda: PostgresLedgerStore(dsn)
    finally:
        drop_database(server, dsn)


__all__ = [
    "PostgresServer",
    "drop_database",
    "find_binary",
    "fresh_database",
    "fresh_namespace",
    "namespace_of",
    "postgres_server",
    "postgres_store_factory",
    "start_server",
]
