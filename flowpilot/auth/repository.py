"""All SQL for login sessions and failed-login records.

On PostgreSQL the two lookups that run before the account is known (token -> caller at every
request, email -> account at login) go through SECURITY DEFINER functions (migration
``0003_row_level_security``): under row-level security nothing tenant-owned is visible yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, bindparam, column, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel import tenancy
from flowpilot.kernel.db.base import UTCDateTime
from flowpilot.models import LoginFailure, LoginSession, User


async def failures_since(
    session: AsyncSession, *, keys: list[str], since: datetime
) -> dict[str, tuple[int, datetime]]:
    """Per key with failures since ``since``: their count and the oldest one's time."""
    stmt = (
        select(LoginFailure.key, func.count(), func.min(LoginFailure.created_at))
        .where(LoginFailure.key.in_(keys), LoginFailure.created_at >= since)
        .group_by(LoginFailure.key)
    )
    return {key: (int(n), oldest) for key, n, oldest in (await session.execute(stmt)).all()}


async def add_failures(session: AsyncSession, *, keys: list[str], at: datetime) -> None:
    session.add_all([LoginFailure(key=k, created_at=at) for k in keys])
    await session.flush()


async def prune_failures(session: AsyncSession, *, before: datetime) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.created_at < before))


async def act_for_email_account(session: AsyncSession, email: str) -> None:
    """Login: act for the account of the user with ``email`` (for none when unknown)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    account = func.coalesce(func.flowpilot_account_of_email(email), "")
    acting_for = (await session.execute(select(tenancy.set_account(account)))).scalar_one()
    tenancy.acted_for(session, acting_for)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(User.email == email)
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_login_session(session: AsyncSession, login: LoginSession) -> LoginSession:
    session.add(login)
    await session.flush()
    return login


@dataclass(frozen=True)
class Caller:
    """The login session behind a token and its user (whether still valid is the service's)."""

    login_session_id: str
    csrf_token: str
    expires_at: datetime
    user_id: str
    account_id: str
    role: str
    email: str
    name: str
    active: bool


_CALLER_COLUMNS = (
    column("login_session_id", String),
    column("csrf_token", String),
    column("expires_at", UTCDateTime),
    column("user_id", String),
    column("account_id", String),
    column("role", String),
    column("email", String),
    column("name", String),
    column("active", Boolean),
)
_CALLER = (
    select(
        LoginSession.id,
        LoginSession.csrf_token,
        LoginSession.expires_at,
        User.id,
        User.account_id,
        User.role,
        User.email,
        User.name,
        User.active,
    )
    .join(User, User.id == LoginSession.user_id)
    .where(LoginSession.token_hash == bindparam("token_hash"))
)
_caller_pg = func.flowpilot_login_by_token(bindparam("token_hash")).table_valued(
    *_CALLER_COLUMNS, name="caller"
)
# One round trip, as before RLS: the SECURITY DEFINER lookup finds the caller and the same
# statement makes the transaction act for the caller's account (set_config in the select list
# runs once the function has produced the row).
_CALLER_PG = select(*_caller_pg.c, tenancy.set_account(_caller_pg.c.account_id))


async def caller_by_token_hash(session: AsyncSession, token_hash: str) -> Caller | None:
    """The caller behind a token hash. On PostgreSQL the transaction acts for the caller's
    account from here on (the service undoes it when the login turns out invalid)."""
    row: Any
    if session.get_bind().dialect.name == "postgresql":
        row = (await session.execute(_CALLER_PG, {"token_hash": token_hash})).first()
        if row is None:
            return None
        tenancy.acted_for(session, row[4])
    else:
        row = (await session.execute(_CALLER, {"token_hash": token_hash})).first()
        if row is None:
            return None
    return Caller(*row[:9])


async def delete_login_session(session: AsyncSession, login_id: str) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.id == login_id))


async def delete_user_login_sessions(session: AsyncSession, user_id: str) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


async def delete_expired_login_sessions(
    session: AsyncSession, *, user_id: str, now: datetime
) -> None:
    await session.execute(
        delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at <= now)
    )
