"""Migrations are real history: a fresh database upgrades, matches the models, and downgrades."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command

from flowpilot.migrate import alembic_config, upgrade
from tests.conftest import POSTGRES_URL, RUN_ID, _pg_admin, _pg_url, _worker


def _roundtrip(url: str) -> None:
    upgrade(url)
    command.check(alembic_config(url))  # raises if the models and the migrations differ
    command.downgrade(alembic_config(url), "base")
    upgrade(url)
    command.check(alembic_config(url))


def test_migrations_match_models_and_downgrade(tmp_path: Path) -> None:
    if POSTGRES_URL:
        name = f"fp_migr_{_worker()}_{RUN_ID}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        try:
            _roundtrip(_pg_url(name))
        finally:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        _roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'migr.db'}")
