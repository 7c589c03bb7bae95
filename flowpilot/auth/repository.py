"""All SQL for login sessions and failed-login records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.models import LoginFailure, LoginSession, User


async def count_failures_since(session: AsyncSession, *, key: str, since: datetime) -> int:
    stmt = select(func.count()).where(LoginFailure.key == key, LoginFailure.created_at >= since)
    return int((await session.execute(stmt)).scalar_one())


async def add_failures(session: AsyncSession, *, keys: list[str], at: datetime) -> None:
    session.add_all([LoginFailure(key=k, created_at=at) for k in keys])
    await session.flush()


async def prune_failures(session: AsyncSession, *, before: datetime) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.created_at < before))


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(User.email == email)
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_login_session(session: AsyncSession, login: LoginSession) -> LoginSession:
    session.add(login)
    await session.flush()
    return login


async def login_by_token_hash(
    session: AsyncSession, token_hash: str
) -> tuple[LoginSession, User] | None:
    stmt = (
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == token_hash)
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


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
