"""All SQL for accounts and users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.errors import NotFound
from flowpilot.kernel.tenancy import (
    Tenant,
    get_scoped,
    select_own_account,
    select_scoped,
    tenant_column,
    tenant_params,
)
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


# A user's own profile as plain columns (no ORM entity: GET /me runs on every page load).
_PROFILE = select(
    *(
        getattr(User, name)
        for name in (
            "id", "email", "name", "role", "account_id", "active", "created_at", "notify_email",
            "notify_min_urgency", "alert_desktop", "alert_min_urgency", "alert_sound",
        )
    )
).where(tenant_column(User.account_id), User.id == bindparam("user_id"))  # fmt: skip


async def user_profile(session: AsyncSession, tenant: Tenant, user_id: str) -> Row[Any]:
    """The user's columns as ``auth.schemas.UserOut`` shows them, or 404."""
    params = tenant_params(tenant, user_id=user_id)
    row = (await session.execute(_PROFILE, params)).first()
    if row is None:
        raise NotFound("user not found")
    return row


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
