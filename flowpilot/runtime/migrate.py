"""Apply Alembic migrations programmatically (CLI, server start-up, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str, *, app_role: str | None = None) -> Config:
    """``app_role``: the role requests run as (granted by the migrations); default from
    ``FLOWPILOT_DB_APP_ROLE``."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    if app_role:
        cfg.attributes["db_app_role"] = app_role
    return cfg


def upgrade(database_url: str, revision: str = "head", *, app_role: str | None = None) -> None:
    """Migrate the database at ``database_url`` to ``revision`` (runs its own event loop).

    Run it as the system login (the table owner), never as the app role.
    """
    command.upgrade(alembic_config(database_url, app_role=app_role), revision)
