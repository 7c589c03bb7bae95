"""The second tenant wall (DESIGN rule 2): PostgreSQL row-level security, and the system path.

The app's request sessionmaker (``ctx.sessionmaker``: connections act as the app role) runs raw
SQL with no tenant filter at all; the database alone keeps accounts apart. The rest of the
suite running green on PostgreSQL is the proof that the app says which account it acts for
everywhere it needs to (every request, stream, job and command would otherwise see nothing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Receive, Send

from flowpilot.auth import callers
from flowpilot.auth import service as auth_service
from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.db.base import Base
from flowpilot.kernel.db.engines import MisconfiguredRoles, SystemPathInRequest
from flowpilot.kernel.settings import Settings
from flowpilot.kernel.tenancy import act_for, act_for_from_start, act_for_nobody
from flowpilot.live.stream import EventStream
from flowpilot.models import (
    ClaimLink,
    Delivery,
    HandoffDayBucket,
    HandoffDayCount,
    HandoffDuration,
    LoginSession,
)
from flowpilot.runtime.app import create_app
from tests.factories import Factory, TestUser, add_step
from tests.handoffs.helpers import escalated

# Every table holding one account's rows, and the column naming the account.
TENANT_TABLES = {"accounts": "id"} | {
    t.name: "account_id" for t in Base.metadata.sorted_tables if "account_id" in t.c
}


@dataclass
class Account:
    __test__ = False
    account_id: str
    tech: TestUser
    admin: TestUser
    handoff_id: str
    step_id: str


@pytest.fixture
def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; SQLite has the application's wall")


@pytest.fixture
def tenant_db(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    """What requests use: connections acting as the app role, under row-level security."""
    return app.state.ctx.sessionmaker  # type: ignore[no-any-return]


async def _populated_account(client: httpx.AsyncClient, factory: Factory) -> Account:
    """An account with a row in every tenant table, made through the real API."""
    team = await factory.team()
    handoff = await escalated(client, team["tech"])  # session, handoff, event, deliveries
    step = await add_step(client, team["tech"], handoff["session_id"])
    baseline = await client.post(
        "/api/v1/analytics/baseline", json={"seconds": 900}, headers=team["admin"].headers
    )
    assert baseline.status_code == 201, baseline.text
    async with factory.db() as s:  # a claim link, as the dispatcher issues one with an email
        stmt = select(Delivery).where(Delivery.handoff_id == handoff["id"]).limit(1)
        delivery = (await s.execute(stmt)).scalar_one()
        now = factory.clock.now()
        s.add(
            ClaimLink(
                account_id=delivery.account_id,
                handoff_id=handoff["id"],
                recipient_id=delivery.recipient_id,
                delivery_id=delivery.id,
                token_hash=f"test-{delivery.id}",
                created_at=now,
                expires_at=now + timedelta(hours=24),
            )
        )
        # The analytics pre-aggregate's rows, as the rollup job writes them.
        day = now.date()
        s.add(
            HandoffDayCount(
                account_id=delivery.account_id,
                day=day,
                urgency="normal",
                due=True,
                met=True,
                n=1,
                ttc_n=0,
                ttc_us=0,
                ttfa_n=0,
                ttfa_us=0,
            )
        )
        s.add(HandoffDayBucket(account_id=delivery.account_id, day=day, metric=0, bucket=1, n=1))
        s.add(
            HandoffDuration(
                handoff_id=handoff["id"],
                metric=0,
                account_id=delivery.account_id,
                created_at=now,
                bucket=1,
                seconds=0.001,
            )
        )
        await s.commit()
    return Account(team["tech"].account_id, team["tech"], team["admin"], handoff["id"], step["id"])


@pytest.fixture
async def accounts(
    postgresql_only: None, client: httpx.AsyncClient, factory: Factory
) -> tuple[Account, Account]:
    return await _populated_account(client, factory), await _populated_account(client, factory)


async def _owners(session: AsyncSession, table: str) -> set[str]:
    column = TENANT_TABLES[table]
    rows = await session.execute(text(f"SELECT DISTINCT {column} FROM {table}"))
    return set(rows.scalars())


async def test_every_tenant_table_is_covered_by_the_fixture(
    accounts: tuple[Account, Account], db: async_sessionmaker[AsyncSession]
) -> None:
    # The system path sees both accounts in every table: the tests below can fail.
    a, b = accounts
    async with db() as session:
        for table in TENANT_TABLES:
            assert {a.account_id, b.account_id} <= await _owners(session, table), table


async def test_a_transaction_acting_for_an_account_sees_only_its_rows(
    accounts: tuple[Account, Account], tenant_db: async_sessionmaker[AsyncSession]
) -> None:
    a, b = accounts
    async with tenant_db() as session:
        await act_for(session, a)
        for table in TENANT_TABLES:
            assert await _owners(session, table) == {a.account_id}, table
        # By id, another account's row simply does not exist.
        found = await session.execute(
            text("SELECT id FROM handoffs WHERE id = :id"), {"id": b.handoff_id}
        )
        assert found.first() is None


async def test_it_still_acts_for_the_account_after_a_commit(
    accounts: tuple[Account, Account], tenant_db: async_sessionmaker[AsyncSession]
) -> None:
    """An endpoint that commits its reads and goes on (the assistant) keeps its account."""
    a, _ = accounts
    async with tenant_db() as session:
        await act_for(session, a)
        await session.commit()
        assert await _owners(session, "handoffs") == {a.account_id}
        await session.rollback()
        assert await _owners(session, "steps") == {a.account_id}


async def test_nothing_is_visible_before_an_account_is_set(
    accounts: tuple[Account, Account], tenant_db: async_sessionmaker[AsyncSession]
) -> None:
    a, _ = accounts
    async with tenant_db() as session:
        for table in TENANT_TABLES:
            assert await _owners(session, table) == set(), table
        await act_for(session, a)
        assert await _owners(session, "users") == {a.account_id}
        await act_for_nobody(session)
        assert await _owners(session, "users") == set()


async def test_the_account_never_outlives_its_transaction_on_a_pooled_connection(
    accounts: tuple[Account, Account], app: FastAPI
) -> None:
    a, _ = accounts
    engine = app.state.ctx.engine
    async with engine.connect() as conn:
        await conn.execute(
            text("SELECT set_config('app.account_id', :a, true)"), {"a": a.account_id}
        )
        assert (await conn.execute(text("SELECT count(*) FROM handoffs"))).scalar_one() == 1
        await conn.commit()
        assert (await conn.execute(text("SELECT count(*) FROM handoffs"))).scalar_one() == 0


async def test_a_session_acting_from_its_start_ends_its_transactions_cleanly(
    accounts: tuple[Account, Account], app: FastAPI
) -> None:
    """A remembered caller's transaction begins and sets its account in one round trip
    (kernel.pg_begin); it commits, rolls back after an error, and leaves nothing behind."""
    a, b = accounts
    maker = app.state.ctx.sessionmaker
    for end in ("commit", "error"):
        async with maker() as session:
            await act_for_from_start(session, a)
            assert await _owners(session, "handoffs") == {a.account_id}
            connection = await session.connection()
            pid = (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
            if end == "commit":
                await session.commit()
            else:
                with pytest.raises(DBAPIError):
                    await session.execute(text("SELECT 1/0"))
                await session.rollback()
            assert await _owners(session, "users") == {a.account_id}  # a new transaction
            await session.commit()
        async with maker() as session:  # the same pooled connection: in no transaction, no account
            connection = await session.connection()
            again = (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
            assert again == pid
            assert await _owners(session, "handoffs") == set()
            await act_for_from_start(session, b)  # in a transaction already: a statement
            assert await _owners(session, "handoffs") == {b.account_id}


async def _refused(session: AsyncSession, sql: str, params: dict[str, Any]) -> str:
    with pytest.raises(DBAPIError) as caught:
        async with session.begin_nested():
            await session.execute(text(sql), params)
    return str(caught.value.orig)


async def test_writing_another_accounts_rows_is_refused(
    accounts: tuple[Account, Account], tenant_db: async_sessionmaker[AsyncSession]
) -> None:
    a, b = accounts
    async with tenant_db() as session:
        await act_for(session, a)
        insert = (
            "INSERT INTO baseline_observations (id, account_id, seconds, observed_at,"
            " created_by_id, created_at, updated_at)"
            " VALUES ('rls-probe', :account, 1, now(), :user, now(), now())"
        )
        error = await _refused(session, insert, {"account": b.account_id, "user": b.admin.id})
        assert "row-level security" in error
        # Moving one's own row to another account is refused too (WITH CHECK).
        move = "UPDATE handoffs SET account_id = :b WHERE id = :id"
        assert "row-level security" in await _refused(
            session, move, {"b": b.account_id, "id": a.handoff_id}
        )
        # Another account's rows cannot be changed or deleted: they are not there.
        changed = await session.execute(
            text("UPDATE handoffs SET reason = 'hijacked' WHERE id = :id"), {"id": b.handoff_id}
        )
        deleted = await session.execute(text("DELETE FROM steps WHERE id = :id"), {"id": b.step_id})
        assert changed.rowcount == 0 and deleted.rowcount == 0  # type: ignore[attr-defined]
        await session.commit()
    async with tenant_db() as session:  # and with no account at all, nothing is written
        error = await _refused(session, insert, {"account": a.account_id, "user": a.admin.id})
        assert "row-level security" in error


async def test_the_app_role_neither_owns_the_tables_nor_bypasses_row_security(
    postgresql_only: None, app: FastAPI
) -> None:
    role = app.state.ctx.settings.db_app_role
    async with app.state.ctx.engine.connect() as conn:
        assert (await conn.execute(text("SELECT current_user"))).scalar_one() == role
        me = (
            await conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        assert (me.rolsuper, me.rolbypassrls) == (False, False)
        owned = await conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND pg_has_role(current_user, tableowner, 'MEMBER')"
            )
        )
        assert owned.all() == []
        secured = dict(
            (
                await conn.execute(
                    text(
                        "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity"
                        " AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)"
                        " FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
                        " AND c.relkind = 'r'"
                    )
                )
            ).all()
        )
        assert {t: secured.get(t) for t in TENANT_TABLES} == {t: True for t in TENANT_TABLES}
        for sql in (
            "ALTER TABLE handoffs DISABLE ROW LEVEL SECURITY",  # only the owner may
            "UPDATE events SET published_at = now()",  # the event log is append-only here
        ):
            await conn.rollback()
            with pytest.raises(DBAPIError, match=r"must be owner|permission denied"):
                await conn.execute(text(sql))


async def test_a_refused_token_leaves_the_transaction_acting_for_nobody(
    accounts: tuple[Account, Account],
    tenant_db: async_sessionmaker[AsyncSession],
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    a, _ = accounts
    async with tenant_db() as session:
        actor = await auth_service.resolve_token(
            session, token=a.tech.token, now=clock.now(), via="bearer"
        )
        assert actor is not None and actor.account_id == a.account_id
        assert await _owners(session, "ai_sessions") == {a.account_id}
    async with db() as session:  # the system path: expire the login
        await session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == a.tech.id)
            .values(expires_at=clock.now() - timedelta(seconds=1))
        )
        await session.commit()
    # Written behind the app's back: forget what this process remembers of the login, as the
    # app's own paths do, so the lookup (which acts for the account first) runs again.
    callers.forget(user_id=a.tech.id)
    async with tenant_db() as session:
        refused = await auth_service.resolve_token(
            session, token=a.tech.token, now=clock.now(), via="bearer"
        )
        assert refused is None
        assert await _owners(session, "ai_sessions") == set()


async def test_login_acts_for_the_users_account_only(
    accounts: tuple[Account, Account], tenant_db: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    a, _ = accounts
    async with tenant_db() as session:
        result = await auth_service.login(
            session,
            email=a.admin.email,
            password="correct-horse-battery",
            client_ip="127.0.0.1",
            now=app.state.ctx.clock.now(),
            settings=app.state.ctx.settings,
        )
        assert result.user is not None and result.user.account_id == a.account_id
        assert await _owners(session, "users") == {a.account_id}
        await session.rollback()


async def test_the_system_path_cannot_be_reached_from_a_request(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any backend: a handler that reaches for the system path by mistake fails loudly."""

    async def careless_handler(request: Request) -> dict[str, int]:
        async with request.app.state.ctx.system.sessionmaker() as session:
            return {"n": (await session.execute(select(1))).scalar_one()}

    app.add_api_route("/careless", careless_handler)
    with pytest.raises(SystemPathInRequest):
        await client.get("/careless")
    # A live stream runs after the routing stack has returned: still request work.
    refused: list[BaseException] = []

    async def careless_stream(self: EventStream, receive: Receive, send: Send) -> None:
        try:
            async with app.state.ctx.system.sessionmaker() as session:
                await session.execute(select(1))
        except SystemPathInRequest as exc:
            refused.append(exc)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    monkeypatch.setattr(EventStream, "run", careless_stream)
    engineer = await factory.user(role="engineer")
    streamed = await client.get("/api/v1/handoffs/stream", headers=engineer.headers)
    assert streamed.status_code == 200
    assert len(refused) == 1, "a live stream reached the system path"
    # Outside requests (jobs, CLI) it works.
    async with app.state.ctx.system.sessionmaker() as session:
        assert (await session.execute(select(1))).scalar_one() == 1


@pytest.fixture
async def misconfigured(settings: Settings) -> AsyncIterator[FastAPI]:
    yield create_app(settings.model_copy(update={"db_app_role": "postgres"}))


async def test_the_server_refuses_to_start_when_requests_would_bypass_row_security(
    postgresql_only: None, misconfigured: FastAPI
) -> None:
    with pytest.raises(MisconfiguredRoles, match="bypasses row-level security"):
        async with LifespanManager(misconfigured, startup_timeout=30):
            pass


async def test_an_operator_planted_in_the_schema_never_runs_in_the_definer_lookups(
    postgresql_only: None,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    factory: Factory,
) -> None:
    """The login lookups run as the table owner. Even if the app role could create objects in
    the schema (PostgreSQL 14 and older let PUBLIC), an exact-match ``=(varchar, text)`` it
    planted there must not be what they call: they resolve names in pg_catalog only."""
    role = settings.db_app_role
    await factory.user()  # rows for the lookups' comparisons to run on
    async with db() as session:  # one transaction, rolled back: the grant and the plant vanish
        await session.execute(text(f'GRANT CREATE ON SCHEMA public TO "{role}"'))
        await session.execute(text(f'SET LOCAL ROLE "{role}"'))
        await session.execute(
            text(
                "CREATE FUNCTION public.fp_planted(varchar, text) RETURNS boolean"
                " LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'planted operator ran as %', current_user; END $$"
            )
        )
        await session.execute(
            text(
                "CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = text,"
                " FUNCTION = public.fp_planted)"
            )
        )
        account = await session.execute(
            text("SELECT flowpilot_account_of_email('nobody@example.test')")
        )
        assert account.scalar_one() is None
        caller = await session.execute(text("SELECT * FROM flowpilot_login_by_token('no-such')"))
        assert caller.all() == []
        await session.rollback()


async def test_the_server_refuses_to_start_when_requests_may_create_in_the_schema(
    postgresql_only: None, db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    role = settings.db_app_role
    async with db() as session:
        await session.execute(text(f'GRANT CREATE ON SCHEMA public TO "{role}"'))
        await session.commit()
    try:
        with pytest.raises(MisconfiguredRoles, match="may create objects in the schema"):
            async with LifespanManager(create_app(settings), startup_timeout=30):
                pass
    finally:
        async with db() as session:
            await session.execute(text(f'REVOKE CREATE ON SCHEMA public FROM "{role}"'))
            await session.commit()
