"""The ``flowpilot`` command line, run in-process against a real database.

The commands call ``asyncio.run`` themselves, so these tests are plain (sync) functions.
SQLite runs use a fresh file per test; PostgreSQL runs use the worker's database, emptied after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from flowpilot.models import Account, AiSession, Step, User
from flowpilot.runtime.cli import app
from flowpilot.runtime.migrate import upgrade
from tests.databases import POSTGRES_URL, truncate_all


@pytest.fixture
def cli_db(database_url: str, tmp_path: Path) -> Iterator[str]:
    if POSTGRES_URL:
        yield database_url
        asyncio.run(truncate_all(database_url))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
        upgrade(url)
        yield url


def run(url: str, *args: str) -> Result:
    env = {"FLOWPILOT_DATABASE_URL": url, "FLOWPILOT_REDIS_URL": None}
    return CliRunner().invoke(app, list(args), env=env)


def query(url: str, fn):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def count(url: str, model) -> int:  # type: ignore[no-untyped-def]
    async def fn(session):  # type: ignore[no-untyped-def]
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()

    return int(query(url, fn))


def users(url: str) -> dict[str, tuple[str, str]]:
    async def fn(session):  # type: ignore[no-untyped-def]
        rows = (await session.execute(select(User.email, User.role, User.account_id))).all()
        return {email: (role, account_id) for email, role, account_id in rows}

    return query(url, fn)  # type: ignore[no-any-return]


def new_account(url: str, email: str = "boss@acme.test") -> str:
    result = run(
        url,
        "create-account",
        "--name", "Acme IT",
        "--admin-email", email,
        "--admin-password", "admin-password-1",
        "--admin-name", "Bo Boss",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_db_upgrade_migrates_a_fresh_database(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    result = run(url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert count(url, User) == 0  # the tables exist
    again = run(url, "db", "upgrade")  # and it is idempotent
    assert again.exit_code == 0


def test_db_upgrade_on_the_backend_under_test(cli_db):
    result = run(cli_db, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert count(cli_db, Account) == 0


def test_create_account_prints_its_id_and_makes_an_admin(cli_db):
    account_id = new_account(cli_db)
    assert users(cli_db) == {"boss@acme.test": ("admin", account_id)}


def test_create_user_adds_a_user_to_the_account(cli_db):
    account_id = new_account(cli_db)
    result = run(
        cli_db,
        "create-user",
        "--account", account_id,
        "--email", "Tina@Acme.test",
        "--password", "tech-password-1",
        "--role", "technician",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert users(cli_db)["tina@acme.test"] == ("technician", account_id)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--role", "owner", "role: must be one of technician, engineer, admin"),
        ("--password", "short", "password: must be 8 to 200 characters"),
        ("--email", "not-an-email", "email: not a valid email address"),
    ],
)
def test_create_user_bad_input_fails_clearly(cli_db, option, value, message):
    account_id = new_account(cli_db)
    args = {"--email": "x@acme.test", "--password": "long-enough-1", "--role": "engineer"}
    args[option] = value
    flat = [item for pair in args.items() for item in pair]
    result = run(cli_db, "create-user", "--account", account_id, *flat)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert count(cli_db, User) == 1


def test_create_user_unknown_account_fails_clearly(cli_db):
    result = run(
        cli_db,
        "create-user",
        "--account", "no-such-account",
        "--email", "x@acme.test",
        "--password", "long-enough-1",
        "--role", "engineer",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "no account with id no-such-account" in result.stderr
    assert count(cli_db, User) == 0


def test_duplicate_admin_email_fails_clearly(cli_db):
    new_account(cli_db)
    result = run(
        cli_db,
        "create-account",
        "--name", "Other",
        "--admin-email", "BOSS@acme.test",
        "--admin-password", "admin-password-1",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert count(cli_db, Account) == 1  # nothing half-written


def test_demo_is_idempotent_and_prints_working_logins(cli_db):
    from flowpilot.auth import service as auth_service
    from flowpilot.kernel.settings import Settings
    from flowpilot.runtime.demo import DEMO_PASSWORD

    first = run(cli_db, "demo")
    assert first.exit_code == 0, first.output
    assert "Demo account created" in first.stdout
    emails = [e for e in users(cli_db)]
    assert len(emails) == 4
    assert {role for role, _ in users(cli_db).values()} == {"technician", "engineer", "admin"}
    for email in emails:
        assert email in first.stdout
    assert DEMO_PASSWORD in first.stdout
    sessions, steps = count(cli_db, AiSession), count(cli_db, Step)
    assert sessions >= 2 and steps >= 1

    async def statuses(session):  # type: ignore[no-untyped-def]
        return set((await session.execute(select(AiSession.status))).scalars())

    # Open ones to work on, and a resolved one for the assistant to learn from.
    assert query(cli_db, statuses) == {"open", "resolved"}

    second = run(cli_db, "demo")
    assert second.exit_code == 0, second.output
    assert "already exists" in second.stdout
    assert all(email in second.stdout for email in emails)
    assert (count(cli_db, User), count(cli_db, AiSession), count(cli_db, Step)) == (
        4,
        sessions,
        steps,
    )

    async def can_log_in(session):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        settings = Settings(database_url=cli_db)
        results = [
            await auth_service.login(
                session, email=e, password=DEMO_PASSWORD, client_ip="t", now=now, settings=settings
            )
            for e in emails
        ]
        return [r.token is not None for r in results]

    assert query(cli_db, can_log_in) == [True] * 4
