"""All SQL for accounts and users."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.tenancy import Tenant, get_scoped, select_own_account, select_scoped
from flowpilot.models import Account, User


async def add_account(session: AsyncSession, account: Account) -> Account:
    session.add(account)
    await session.flush()
    return account


async def add_user(session: AsyncSession, user: User) -> User:
    session.add(user)
    await session.flush()
    return user


async def email_taken(session: AsyncSession, email: str) -> bool:
    """Whether any account has a user with ``email`` (emails are unique across the service)."""
    if session.get_bind().dialect.name == "postgresql":
        # Row-level security shows only this account's users; the SECURITY DEFINER lookup
        # answers for all of them (what the unique constraint would reveal anyway).
        anywhere = select(func.flowpilot_account_of_email(email).is_not(None))
        return bool((await session.execute(anywhere)).scalar_one())
    stmt = select(User.id).where(User.email == email)
    return (await session.execute(stmt)).first() is not None


async def list_users(session: AsyncSession, tenant: Tenant) -> Sequence[User]:
    stmt = select_scoped(User, tenant).order_by(User.created_at, User.id)
    return (await session.execute(stmt)).scalars().all()


async def get_user(session: AsyncSession, tenant: Tenant, user_id: str) -> User:
    return await get_scoped(session, User, user_id, tenant, what="user")


async def get_account(session: AsyncSession, tenant: Tenant) -> Account:
    stmt = select_own_account(Account, tenant)
    return (await session.execute(stmt)).scalar_one()


async def list_accounts(session: AsyncSession) -> Sequence[Account]:
    """Every account (operator-level: pilot report). Not for request handlers."""
    return (await session.execute(select(Account).order_by(Account.created_at))).scalars().all()


async def active_users_with_roles(
    session: AsyncSession, tenant: Tenant, roles: Sequence[str]
) -> Sequence[User]:
    stmt = (
        select_scoped(User, tenant)
        .where(User.active.is_(True), User.role.in_(roles))
        .order_by(User.created_at, User.id)
    )
    return (await session.execute(stmt)).scalars().all()
