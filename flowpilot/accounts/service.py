"""Accounts, users and roles: the rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import repository as repo
from flowpilot.auth import service as auth_service
from flowpilot.kernel.bus import Publisher, revocation
from flowpilot.kernel.errors import Conflict, Invalid
from flowpilot.kernel.identity import ROLES, SENIOR_ROLES, AccountRef, Actor, Role
from flowpilot.kernel.schemas import check_email
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models import Account, User
from flowpilot.models.handoffs import DEFAULT_CLAIM_TARGET_MINUTES, TRIAGE_RANK


async def create_account(
    session: AsyncSession,
    *,
    name: str,
    admin_email: str,
    admin_password: str,
    admin_name: str | None,
    now: datetime,
) -> tuple[Account, User]:
    """Create an account and its first admin."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("name", "must be 1 to 200 characters")
    account = await repo.add_account(session, Account(name=name, created_at=now))
    admin = await create_user(
        session,
        tenant=AccountRef(account.id),
        email=admin_email,
        name=admin_name or admin_email.split("@")[0],
        role=Role.ADMIN,
        password=admin_password,
        now=now,
    )
    return account, admin


async def create_user(
    session: AsyncSession,
    *,
    tenant: Tenant,
    email: str,
    name: str,
    role: str,
    password: str,
    now: datetime,
) -> User:
    """Add a user to the tenant's account. Emails are unique across the service."""
    if role not in ROLES:
        raise Invalid("role", f"must be one of {', '.join(ROLES)}")
    if not 8 <= len(password) <= 200:
        raise Invalid("password", "must be 8 to 200 characters")
    try:
        email = check_email(email)
    except ValueError as exc:
        raise Invalid("email", str(exc)) from None
    name = name.strip() or email
    if len(name) > 200:
        raise Invalid("name", "must be at most 200 characters")
    if await repo.email_taken(session, email):
        raise Conflict("a user with this email already exists")
    return await repo.add_user(
        session,
        User(
            account_id=tenant.account_id,
            email=email,
            name=name,
            role=role,
            active=True,
            password_hash=await auth_service.hash_password(password),
            created_at=now,
            notify_email=True,
            notify_min_urgency="low",
        ),
    )


async def list_users(session: AsyncSession, *, actor: Tenant) -> Sequence[User]:
    return await repo.list_users(session, actor)


async def get_user(session: AsyncSession, *, actor: Tenant, user_id: str) -> User:
    return await repo.get_user(session, actor, user_id)


async def profile(session: AsyncSession, *, actor: Tenant, user_id: str) -> dict[str, Any]:
    """The user's profile (``auth.schemas.UserOut``'s fields): read without an ORM entity, and
    remembered for a moment (every change of the user forgets it, see ``auth.callers``)."""
    known = auth_service.cached_profile(user_id)
    if known is None:
        known = dict((await repo.user_profile(session, actor, user_id))._mapping)
        auth_service.cache_profile(user_id, known)
    return known


async def update_user(
    session: AsyncSession,
    *,
    actor: Actor,
    user_id: str,
    role: str | None = None,
    active: bool | None = None,
    name: str | None = None,
    bus: Publisher | None = None,
) -> User:
    """Change a user's role, name or active flag; deactivation ends their logins at once.

    Both deactivation and a role change end the user's open live streams (after commit, on
    every replica); a role change keeps those the new role may still read."""
    user = await repo.get_user(session, actor, user_id)
    # Only an admin can demote or deactivate an admin, and never themselves: so every account
    # keeps at least one active admin (nobody is locked out of user management).
    if user.id == actor.id and (active is False or (role is not None and role != Role.ADMIN)):
        raise Conflict("admins cannot deactivate or demote themselves")
    if role is not None and role != user.role:
        user.role = role
        auth_service.revoke_after_commit(
            session,
            bus,
            revocation(
                account_id=user.account_id, user_id=user.id, reason="role_changed", role=role
            ),
        )
    if name is not None:
        user.name = name
    if active is not None:
        user.active = active
        if not active:
            await auth_service.end_all_sessions(
                session, tenant=actor, user_id=user.id, bus=bus, reason="deactivated"
            )
    if role is not None or name is not None or active is not None:
        auth_service.forget_callers(session, user_id=user.id)  # a login carries role and name
    await session.flush()
    return user


async def update_preferences(
    session: AsyncSession,
    *,
    actor: Tenant,
    user_id: str,
    notify_email: bool | None,
    notify_min_urgency: str | None,
    alert_desktop: bool | None = None,
    alert_min_urgency: str | None = None,
    alert_sound: bool | None = None,
) -> User:
    """Change the user's own notification and in-browser alert preferences (given ones only)."""
    user = await repo.get_user(session, actor, user_id)
    changes = {
        "notify_email": notify_email,
        "notify_min_urgency": notify_min_urgency,
        "alert_desktop": alert_desktop,
        "alert_min_urgency": alert_min_urgency,
        "alert_sound": alert_sound,
    }
    for name, value in changes.items():
        if value is not None:
            setattr(user, name, value)
    auth_service.forget_callers(session, user_id=user.id)
    await session.flush()
    return user


async def get_account(session: AsyncSession, *, actor: Tenant) -> Account:
    return await repo.get_account(session, actor)


def claim_targets(account: Account) -> dict[str, int]:
    """Minutes to claim per urgency, most urgent first; the defaults where none is set."""
    stored = account.claim_target_minutes or {}
    return {
        u: int(stored.get(u, DEFAULT_CLAIM_TARGET_MINUTES[u]))
        for u in sorted(TRIAGE_RANK, key=TRIAGE_RANK.__getitem__)
    }


async def claim_target_minutes(session: AsyncSession, *, tenant: Tenant, urgency: str) -> int:
    """The account's claim target for an escalation of ``urgency``."""
    return claim_targets(await repo.get_account(session, tenant))[urgency]


async def seniors(session: AsyncSession, *, tenant: Tenant) -> Sequence[User]:
    """Active engineers and admins of the tenant's account."""
    return await repo.active_users_with_roles(session, tenant, SENIOR_ROLES)


async def admins(session: AsyncSession, *, tenant: Tenant) -> Sequence[User]:
    return await repo.active_users_with_roles(session, tenant, (Role.ADMIN,))


async def all_accounts(session: AsyncSession) -> Sequence[Account]:
    return await repo.list_accounts(session)
