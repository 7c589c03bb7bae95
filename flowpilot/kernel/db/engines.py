"""Engines and session factories: requests' (row-level security applies) and the system path.

Two ways into the database (rule 2's second wall, see ``flowpilot.kernel.tenancy``): requests use
an engine whose connections act as the app role (row-level security applies; on PostgreSQL);
cross-account work (background jobs, CLI, migrations) uses the :class:`SystemPath`, whose
engine refuses to hand out a connection while an HTTP request is being handled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from flowpilot.kernel.tenancy import TenantSession


def make_engine(database_url: str, *, role: str | None = None, **kwargs: Any) -> AsyncEngine:
    """Build an async engine; SQLite gets WAL, foreign keys and a busy timeout.

    PostgreSQL with ``role``: every connection acts as that role from its start (``role`` as a
    connection startup parameter: SET ROLE without a round trip; ``RESET ROLE`` returns to it).
    """
    if database_url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", 30)
        engine = create_async_engine(database_url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # Let SQLAlchemy, not the driver, open transactions (see _sqlite_begin).
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE takes the write lock up front. A deferred transaction that read
            # first (every request reads its login session) and writes later fails at once with
            # SQLITE_BUSY when another writer got there first; IMMEDIATE waits (busy_timeout).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    asyncpg = "+asyncpg" in database_url.split("://", 1)[0]
    if role:
        connect_args = dict(kwargs.pop("connect_args", {}))
        if asyncpg:
            server_settings = {**connect_args.get("server_settings", {}), "role": role}
            connect_args["server_settings"] = server_settings
        else:  # libpq drivers (psycopg)
            connect_args["options"] = f"{connect_args.get('options', '')} -c role={role}".strip()
        kwargs["connect_args"] = connect_args
    if not asyncpg:  # the local closed-connection check below knows asyncpg only
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(database_url, **kwargs)
    if asyncpg and not kwargs.get("pool_pre_ping"):
        event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    event.listen(engine.sync_engine, "handle_error", _dead_protocol_is_disconnect)
    return engine


def _refuse_closed_connection(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling without a round trip (instead of ``pool_pre_ping``).

    SQLAlchemy's pre-ping on asyncpg is BEGIN + ``;`` + ROLLBACK: three round trips on every
    checkout, about as many as a whole claim makes (docs/BENCHMARKS.md, Claims). A connection
    the server closed (restart, idle kill,
    ``pg_terminate_backend``) is already known closed to asyncpg once the event loop has read
    the EOF, so a local check catches it; raising ``DisconnectionError`` makes the pool drop it
    and hand out another (SQLAlchemy retries the checkout). A connection dropped silently (no
    EOF) still fails its first statement, and SQLAlchemy then invalidates the pool.
    """
    driver = getattr(dbapi_conn, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("connection closed by the server")


def _dead_protocol_is_disconnect(context: ExceptionContext) -> None:
    """Count asyncpg's "cannot switch to state ...; another operation is in progress" as a
    disconnect, so SQLAlchemy invalidates the pool.

    A connection whose backend was killed first receives the server's FATAL message and only
    then the EOF; in between (a couple of event-loop turns) it is neither closed nor usable, and
    its next statement fails with that error, which SQLAlchemy does not see as a disconnect. The
    request that drew it fails either way (so did ``pool_pre_ping``'s ping); this keeps the rest
    of the pool's dead connections from failing later requests one by one.
    """
    if context.is_disconnect:
        return
    message = str(context.original_exception)
    if "cannot switch to state" in message and "another operation" in message:
        context.is_disconnect = True


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=TenantSession
    )


_handling_request: ContextVar[bool] = ContextVar("flowpilot_handling_request", default=False)


@contextlib.contextmanager
def handling_request() -> Iterator[None]:
    """Mark the code inside as handling an HTTP request (the system path refuses it)."""
    token = _handling_request.set(True)
    try:
        yield
    finally:
        _handling_request.reset(token)


class SystemPathInRequest(RuntimeError):
    """A request handler tried to use the system path (which bypasses row-level security)."""


def _refuse_in_request(_dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    if _handling_request.get():
        raise SystemPathInRequest(
            "the system path sees every account and is not for request handlers; use the "
            "request's session (SessionDep) or the app's sessionmaker with tenancy.act_for"
        )


@dataclass(frozen=True)
class SystemPath:
    """Cross-account database access: the background jobs (event relay, delivery dispatcher,
    escalation chain), the CLI and migrations. It logs in as the system URL's own role, which
    owns the tables and bypasses row-level security, and never acts as the app role.

    Not for request handlers: its engine refuses to hand out a connection while an HTTP
    request is being handled (:func:`handling_request`), so one cannot reach it by accident.
    """

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]


def make_system_path(
    database_url: str, *, pool_size: int = 5, max_overflow: int = 10
) -> SystemPath:
    kwargs: dict[str, Any] = {}
    if not database_url.startswith("sqlite"):
        # Jobs: a few short transactions at once.
        kwargs = {"pool_size": pool_size, "max_overflow": max_overflow}
    engine = make_engine(database_url, **kwargs)
    event.listen(engine.sync_engine, "checkout", _refuse_in_request)
    return SystemPath(engine, make_sessionmaker(engine))


class MisconfiguredRoles(RuntimeError):
    """The database roles would not give the second tenant wall (refuse to start)."""


_ROLE_FACTS = text(
    "SELECT current_user AS name, r.rolsuper OR r.rolbypassrls AS bypasses_rls,"
    " EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = current_schema()"
    " AND pg_has_role(current_user, t.tableowner, 'MEMBER')) AS owns_tables,"
    " has_schema_privilege(current_user, current_schema(), 'CREATE') AS can_create"
    " FROM pg_roles r WHERE r.rolname = current_user"
)


async def check_roles(engine: AsyncEngine, system: SystemPath) -> None:
    """PostgreSQL: requests must run under row-level security, the system path above it.

    A request role that owns the tables or bypasses RLS would silently remove the second wall;
    one that may create objects in the schema could plant an operator or function that the
    SECURITY DEFINER lookups would run as the owner. Any of these refuses to start, and so does
    a system login under RLS (see :func:`check_system_role`).
    """
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        app = (await conn.execute(_ROLE_FACTS)).one()
    if app.bypasses_rls or app.owns_tables or app.can_create:
        why = (
            "bypasses row-level security"
            if app.bypasses_rls
            else "owns the tables"
            if app.owns_tables
            else "may create objects in the schema (REVOKE CREATE ON SCHEMA ... FROM PUBLIC)"
        )
        raise MisconfiguredRoles(
            f"requests run as role {app.name!r}, which {why}; set FLOWPILOT_DB_APP_ROLE to a"
            " non-owner role without BYPASSRLS or CREATE on the schema (flowpilot_app)"
        )
    await check_system_role(system)


async def check_system_role(system: SystemPath) -> None:
    """PostgreSQL: the system path must see every account, or every job and CLI command would
    silently find nothing (an empty pilot report, no deliveries): refuse instead."""
    if system.engine.dialect.name != "postgresql":
        return
    async with system.engine.connect() as conn:
        sys_role = (await conn.execute(_ROLE_FACTS)).one()
    if not sys_role.bypasses_rls:
        raise MisconfiguredRoles(
            f"the system path logs in as role {sys_role.name!r}, which is subject to row-level "
            "security, so background jobs would see nothing; point "
            "FLOWPILOT_SYSTEM_DATABASE_URL at the table owner with BYPASSRLS (or a superuser)"
        )
