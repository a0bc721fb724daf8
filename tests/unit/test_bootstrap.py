"""Which database a `--database` value names."""

from __future__ import annotations

import pytest

from hazina.bootstrap import is_postgres_dsn


@pytest.mark.parametrize(
    ("database", "postgres"),
    [
        ("postgresql://hazina@/hazina?host=/tmp", True),
        ("postgres://user:secret@db.example:5432/hazina", True),
        ("user=hazina dbname=hazina_test host=/tmp/pg", True),
        ("dbname=hazina", True),
        ("var/hazina.sqlite3", False),
        ("/tmp/a=b/hazina.sqlite3", False),
        ("host=/tmp user=hazina", False),  # no database named: not a DSN we accept
        (":memory:", False),
        ("", False),
    ],
)
def test_postgres_connection_strings_are_told_from_sqlite_paths(
    database: str, postgres: bool
) -> None:
    assert is_postgres_dsn(database) is postgres
