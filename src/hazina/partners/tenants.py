"""Tenants: several operators on one installation, each with its own database.

The installation's home database (the one `hazina serve` is given) is the tenant `home` and
keeps the directory of the others: slug, name, kind (an operator, or a partner's sandbox),
where its database is, and its brand (display name, logo, colours) that the console and
customer-facing pages use. Each tenant's data lives in a database of its own: a SQLite file
beside the home one, or a PostgreSQL database on the home server. Nothing in one tenant's
database names another's rows, so no query can reach across: a request is routed to one
tenant's platform (`Hazina-Tenant` header, or the tenant a partner token was issued for) and
every id it carries is looked up there. That is isolation by construction rather than by a
`tenant_id` filter every query must remember.

A sandbox is a tenant like any other, made for one partner app on approval, seeded with test
money and the simulator's traffic, with the same API and none of the live data.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from hazina.bootstrap import Platform, build_platform, is_postgres_dsn
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import tenant_platforms_open_max, tenants_max
from hazina.ledger.service import LedgerUnit
from hazina.partners.errors import TenantError
from hazina.partners.schema import SCHEMA

home_slug = "home"
_slug = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
_colour = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True, slots=True)
class Brand:
    display_name: str
    logo_url: str | None = None
    primary_colour: str = "#0b5394"
    accent_colour: str = "#f1c232"

    def check(self) -> None:
        if not 1 <= len(self.display_name) <= 80 or not self.display_name.isprintable():
            raise TenantError(422, "brand_name_invalid", "a display name of 1-80 characters")
        for colour in (self.primary_colour, self.accent_colour):
            if not _colour.match(colour):
                raise TenantError(422, "brand_colour_invalid", f"{colour!r} is not #rrggbb")
        if self.logo_url is not None and not re.match(r"^(https://|/)[^\s\"'<>]{1,500}$",
                                                      self.logo_url):  # fmt: skip
            raise TenantError(422, "brand_logo_invalid", "a logo URL: https://... or /...")


@dataclass(frozen=True, slots=True)
class Tenant:
    slug: str
    name: str
    kind: str  # operator or sandbox
    database: str
    brand: Brand
    owner_app: str | None
    created_at_ns: int


def _tenant_from_row(row: tuple[Any, ...]) -> Tenant:
    return Tenant(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        Brand(**json.loads(row[4])),
        None if row[5] is None else str(row[5]),
        int(row[6]),
    )


_columns = "slug, name, kind, database, brand, owner_app, created_at_ns"


class TenantDirectory:
    """The tenants of an installation and their platforms, opened on first use."""

    def __init__(self, home: Platform, home_database: str) -> None:
        self.home = home
        self._home_database = home_database
        home.ledger.store.ensure_schema("partners", SCHEMA)
        self._open: dict[str, Platform] = {}
        self._lock = threading.Lock()

    def create(
        self, slug: str, name: str, brand: Brand, created_by: str, *, kind: str = "operator",
        owner_app: str | None = None,
    ) -> Tenant:  # fmt: skip
        if not _slug.match(slug) or slug == home_slug:
            raise TenantError(422, "tenant_slug_invalid", "2-32 of a-z, 0-9, '-'; not 'home'")
        brand.check()
        counted = self.home.ledger.store.reader().fetch_one("SELECT count(*) FROM tenants")
        if counted is not None and int(counted[0]) >= tenants_max:
            raise TenantError(409, "tenants_full", f"at most {tenants_max} tenants")
        database = self._database_for(slug)

        def work(unit: LedgerUnit) -> int:
            return unit.sql.execute(
                f"INSERT INTO tenants ({_columns}, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (slug) DO NOTHING",
                (slug, name, kind, database, json.dumps(_brand_json(brand)),
                 owner_app, unit.now_ns, created_by),
            )  # fmt: skip

        if self.home.ledger.run(work) != 1:
            raise TenantError(409, "tenant_exists", f"a tenant {slug!r} exists")
        self._create_database(database)
        tenant = self.get(slug)
        self.platform(slug)  # builds its schema now, not on its first request
        return tenant

    def get(self, slug: str) -> Tenant:
        row = self.home.ledger.store.reader().fetch_one(
            f"SELECT {_columns} FROM tenants WHERE slug = ?", (slug,)
        )
        if row is None:
            raise TenantError(404, "tenant_not_found", f"no tenant {slug!r}")
        return _tenant_from_row(row)

    def list(self) -> list[Tenant]:
        rows = self.home.ledger.store.reader().fetch_all(
            f"SELECT {_columns} FROM tenants ORDER BY slug"
        )
        return [_tenant_from_row(row) for row in rows]

    def platform(self, slug: str) -> Platform:
        """The tenant's platform (the home one for `home`), opened once and kept."""
        if slug == home_slug:
            return self.home
        with self._lock:
            opened = self._open.get(slug)
            if opened is not None:
                return opened
            tenant = self.get(slug)
            if len(self._open) >= tenant_platforms_open_max:  # close the longest open
                self._open.pop(next(iter(self._open))).close()
            opened = build_platform(tenant.database, clock=self.home.clock)
            self._open[slug] = opened
            invariant(len(self._open) <= tenant_platforms_open_max, "open platforms bounded")
            return opened

    def close(self) -> None:
        with self._lock:
            for platform in self._open.values():
                platform.close()
            self._open.clear()

    # -- where each tenant's database lives ----------------------------------------------------

    def _database_for(self, slug: str) -> str:
        if is_postgres_dsn(self._home_database):
            info = psycopg.conninfo.conninfo_to_dict(self._home_database)
            # One database per tenant, named after the home one (and its options, such as a
            # schema of a shared test database) so two installations on a server never meet.
            tag = hashlib.sha256(self._home_database.encode()).hexdigest()[:8]
            info["dbname"] = f"{info.get('dbname', 'hazina')}_{tag}_{slug.replace('-', '_')}"
            info.pop("options", None)
            return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})
        path = Path(self._home_database)
        return str(path.parent / f"{path.stem}.tenants" / f"{slug}.sqlite3")

    def _create_database(self, database: str) -> None:
        if not is_postgres_dsn(database):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            return
        info = psycopg.conninfo.conninfo_to_dict(database)
        name = str(info.pop("dbname"))
        info["dbname"] = psycopg.conninfo.conninfo_to_dict(self._home_database).get(
            "dbname", "postgres"
        )
        info.pop("options", None)
        with psycopg.connect(
            psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()}),
            autocommit=True,
        ) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                connection.execute(
                    psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name))
                )


def _brand_json(brand: Brand) -> dict[str, object]:
    return {
        "display_name": brand.display_name,
        "logo_url": brand.logo_url,
        "primary_colour": brand.primary_colour,
        "accent_colour": brand.accent_colour,
    }
