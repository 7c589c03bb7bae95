"""Tenant scoping in one place (DESIGN rule 2): both walls live here.

First wall, every dialect: every query for tenant data is built with these helpers, which add
``account_id = <the caller's account>``; another account's object is simply not found (404).

Second wall, PostgreSQL: row-level security. Every tenant table has a policy
``account_id = current_setting('app.account_id', true)`` (USING and WITH CHECK), forced even
for the table owner, and requests run as a role that neither owns the tables nor bypasses RLS
(``kernel.db.engines.make_engine(role=...)``). A transaction sees and writes only the rows of the
account it acts for, and nothing at all before it says which (fail-closed). A session says so
with :func:`act_for`, or a statement folds :func:`set_account` into itself and records it with
:func:`acted_for` (the request's auth lookup does: no round trip of its own). The setting is
transaction-local, so a pooled connection never carries an account into another checkout.

The second wall catches a query that forgot its tenant filter. It is not a defence against
arbitrary SQL run as the app role: that role can call ``set_config`` too.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Update, bindparam, event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from flowpilot.kernel.errors import NotFound
from flowpilot.kernel.pg_begin import begin_with_setting

ACCOUNT_SETTING = "app.account_id"
"""The PostgreSQL setting the row-level security policies compare ``account_id`` with."""

# session.info keys: the account the session acts for (kept across its transactions), and the
# account already set in its current database transaction.
_ACTING_FOR = "flowpilot.acting_for"
_SET_IN_TRANSACTION = "flowpilot.account_set"
_SET_ACCOUNT = text(f"SELECT set_config('{ACCOUNT_SETTING}', :account_id, true)")


class Tenant(Protocol):
    """Anything that knows which account it acts for (a user, a worker's job)."""

    @property
    def account_id(self) -> str: ...


M = TypeVar("M")
S = TypeVar("S", bound=Select[*tuple[Any, ...]] | Update)


def scoped(stmt: S, model: Any, tenant: Tenant) -> S:
    """Restrict ``stmt`` (a SELECT or an UPDATE) to the tenant's rows of ``model``."""
    return cast(S, stmt.where(model.account_id == tenant.account_id))


def select_scoped(model: type[M], tenant: Tenant) -> Select[M]:
    return scoped(select(model), model, tenant)


TENANT_PARAM = "p_account_id"
"""The bound parameter that statements built once (cached) are scoped by."""


def tenant_column(column: Any) -> ColumnElement[bool]:
    """``column = :p_account_id``: the tenant filter of a statement built once and reused;
    run it with :func:`tenant_params` (the scoped-parameter form of :func:`scoped`)."""
    return cast(ColumnElement[bool], column == bindparam(TENANT_PARAM))


def tenant_params(tenant: Tenant, **params: Any) -> dict[str, Any]:
    """The parameters of a statement scoped with :func:`tenant_column`, for ``tenant``."""
    return {TENANT_PARAM: tenant.account_id, **params}


def select_own_account(account_model: type[M], tenant: Tenant) -> Select[M]:
    """The tenant's own row of the accounts table (whose ``id`` is the account id)."""
    return select(account_model).where(account_model.id == tenant.account_id)  # type: ignore[attr-defined]


async def get_scoped(
    session: AsyncSession,
    model: type[M],
    object_id: str,
    tenant: Tenant,
    *,
    what: str | None = None,
    for_update: bool = False,
) -> M:
    """Load one of the tenant's objects by id, or raise 404 (also for other accounts' ids)."""
    stmt = select_scoped(model, tenant).where(model.id == object_id)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    obj = (await session.execute(stmt)).scalar_one_or_none()
    if obj is None:
        raise NotFound(f"{what or model.__name__.lower()} not found")
    return obj


def set_account(account_id: Any) -> Any:
    """SQL ``set_config('app.account_id', <account_id>, true)``, to fold into a statement.

    The transaction acts for that account from this statement on; record it with
    :func:`acted_for`. Only where ``account_id`` is computed before any RLS-filtered row is
    read (e.g. a select-list item over a SECURITY DEFINER lookup).
    """
    return func.set_config(ACCOUNT_SETTING, account_id, True)


async def act_for(session: AsyncSession, tenant: Tenant) -> None:
    """Make this session act for the tenant's account, now and in its later transactions.

    On PostgreSQL its row-level security policies then show and accept that account's rows
    only; a no-op elsewhere. Costs one statement unless this transaction already acts for it.
    Call it at the start of a transaction, not inside a savepoint (a rolled-back savepoint
    takes the setting with it).
    """
    account_id = tenant.account_id
    session.info[_ACTING_FOR] = account_id
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.connection()  # a new transaction sets it as it begins (_on_begin)
    if session.info.get(_SET_IN_TRANSACTION) != account_id:
        await session.execute(_SET_ACCOUNT, {"account_id": account_id})
        session.info[_SET_IN_TRANSACTION] = account_id


async def act_for_from_start(session: AsyncSession, tenant: Tenant) -> None:
    """:func:`act_for`, without a statement of its own when no transaction has begun yet: the
    transaction the session begins next sets the account as it begins, before its first
    statement (a request that then reads nothing from the database makes no round trip)."""
    if session.in_transaction():
        await act_for(session, tenant)
    else:
        session.info[_ACTING_FOR] = tenant.account_id


def acted_for(session: AsyncSession, account_id: str) -> None:
    """Record that the statement just executed set the account itself (:func:`set_account`)."""
    session.info[_ACTING_FOR] = session.info[_SET_IN_TRANSACTION] = account_id


async def act_for_nobody(session: AsyncSession) -> None:
    """Act for no account again: nothing tenant-owned is visible (PostgreSQL)."""
    if session.info.pop(_ACTING_FOR, None) is None:
        return
    if session.get_bind().dialect.name == "postgresql" and session.in_transaction():
        await session.execute(_SET_ACCOUNT, {"account_id": ""})
    session.info.pop(_SET_IN_TRANSACTION, None)


class TenantSession(Session):
    """The ORM session class: a transaction begun by a session that acts for an account (e.g.
    after an endpoint committed its reads and goes on) acts for it again from its start."""


@event.listens_for(TenantSession, "after_begin")
def _on_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    account_id = session.info.get(_ACTING_FOR)
    if transaction.parent is not None or account_id is None:
        return
    if connection.dialect.name == "postgresql":
        # One round trip for BEGIN and the account where the driver allows (kernel.pg_begin).
        if not begin_with_setting(connection, ACCOUNT_SETTING, account_id):
            connection.execute(_SET_ACCOUNT, {"account_id": account_id})
        session.info[_SET_IN_TRANSACTION] = account_id


@event.listens_for(TenantSession, "after_transaction_end")
def _on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_SET_IN_TRANSACTION, None)
