"""PostgreSQL plumbing shared by the benchmarks: the ``--pg`` option, a throwaway database.

Each benchmark seeds a database of its own under the server named by ``--pg`` (default
``FLOWPILOT_BENCH_POSTGRES_URL``) and drops it at the end; ``pct`` is the percentile they report.
"""

from __future__ import annotations

import argparse
import os

import asyncpg  # type: ignore[import-untyped]

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def add_pg_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg", default=os.environ.get("FLOWPILOT_BENCH_POSTGRES_URL", DEFAULT_PG))


def dsn(base: str, database: str) -> str:
    """``base`` (any database on the server) pointed at ``database``."""
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}"


def async_url(plain_dsn: str) -> str:
    """The SQLAlchemy (asyncpg) URL of a ``postgresql://`` DSN."""
    return "postgresql+asyncpg://" + plain_dsn.removeprefix("postgresql://")


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0..100) of ``values``, nearest rank."""
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def admin(base: str, sql: str) -> None:
    """Run ``sql`` on the server's ``postgres`` database (outside a transaction)."""
    conn = await asyncpg.connect(dsn(base, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(base: str, database: str) -> str:
    """A fresh, empty ``database`` (any old one is dropped first); its DSN."""
    await drop_database(base, database)
    await admin(base, f'CREATE DATABASE "{database}"')
    return dsn(base, database)


async def drop_database(base: str, database: str) -> None:
    await admin(base, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
