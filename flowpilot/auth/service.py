"""Login, logout and token resolution. Services flush; the caller commits."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.auth import repository as repo
from flowpilot.auth.passwords import dummy_hash, verify_password
from flowpilot.auth.passwords import (
    hash_password as hash_password,  # other domains set passwords here
)
from flowpilot.kernel import tenancy
from flowpilot.kernel.bus import BusEvent, Publisher, revocation
from flowpilot.kernel.db.uow import after_commit
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.settings import Settings
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models import LoginSession, User

log = logging.getLogger("flowpilot.auth")


@dataclass(frozen=True)
class LoginResult:
    token: str | None
    user: User | None
    login: LoginSession | None
    rate_limited: bool = False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def login(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    client_ip: str,
    now: datetime,
    settings: Settings,
) -> LoginResult:
    """Check credentials; on success create a server-side login session.

    Unknown email and wrong password take the same path (a dummy hash is verified) so they
    answer the same 401 in the same time class. Failures are recorded per email and per IP.
    """
    email = normalize_email(email)
    keys = [f"email:{email}", f"ip:{client_ip}"]
    since = now - timedelta(seconds=settings.login_failure_window_seconds)
    for key in keys:
        if (
            await repo.count_failures_since(session, key=key, since=since)
            >= settings.login_max_failures
        ):
            return LoginResult(None, None, None, rate_limited=True)

    await repo.act_for_email_account(session, email)  # row-level security: before the lookup
    user = await repo.user_by_email(session, email)
    ok = verify_password(user.password_hash if user else dummy_hash(), password)
    if not ok or user is None or not user.active:
        await repo.add_failures(session, keys=keys, at=now)
        return LoginResult(None, None, None)

    # Housekeeping on success (cheap, and never on the attacker's failing path): forget
    # failures that left the window and this user's expired login sessions.
    await repo.prune_failures(session, before=since)
    await repo.delete_expired_login_sessions(session, user_id=user.id, now=now)
    token = secrets.token_urlsafe(32)
    login_session = await repo.add_login_session(
        session,
        LoginSession(
            user_id=user.id,
            account_id=user.account_id,
            token_hash=hash_token(token),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=settings.session_ttl_hours),
        ),
    )
    return LoginResult(token, user, login_session)


async def resolve_token(
    session: AsyncSession, *, token: str, now: datetime, via: str
) -> Actor | None:
    """The caller behind ``token``, or None if unknown, expired or the user is inactive.

    From here on the transaction acts for the caller's account (row-level security on
    PostgreSQL); for no account when the token is refused.
    """
    found = await repo.caller_by_token_hash(session, hash_token(token))
    if found is None:
        return None
    if found.expires_at <= now or not found.active:
        await tenancy.act_for_nobody(session)
        return None
    return Actor(
        id=found.user_id,
        account_id=found.account_id,
        role=found.role,
        email=found.email,
        name=found.name,
        login_session_id=found.login_session_id,
        csrf_token=found.csrf_token,
        via=via,
        login_expires_at=found.expires_at,
    )


async def logout(session: AsyncSession, *, actor: Actor, bus: Publisher | None) -> None:
    """End the caller's login session; its token stops working at once, and after commit its
    open live streams are told (on every replica) to close."""
    await repo.delete_login_session(session, actor.login_session_id)
    revoke_after_commit(
        session,
        bus,
        revocation(
            account_id=actor.account_id,
            user_id=actor.id,
            login_session_id=actor.login_session_id,
            reason="logout",
        ),
    )


async def end_all_sessions(
    session: AsyncSession, *, tenant: Tenant, user_id: str, bus: Publisher | None, reason: str
) -> None:
    """End every login of the user (and, after commit, their open live streams)."""
    await repo.delete_user_login_sessions(session, user_id)
    revoke_after_commit(
        session, bus, revocation(account_id=tenant.account_id, user_id=user_id, reason=reason)
    )


def revoke_after_commit(session: AsyncSession, bus: Publisher | None, message: BusEvent) -> None:
    """Publish a revocation once the transaction that ended the login(s) has committed."""
    if bus is None:
        return
    publisher = bus

    async def _publish() -> None:
        try:
            await publisher.publish(message)
        except Exception:  # the token is dead anyway; a lost message leaves streams to expiry
            log.exception("publishing a login revocation failed")

    after_commit(session, _publish)


def csrf_matches(expected: str, given: str | None) -> bool:
    # Compare bytes: compare_digest raises on non-ASCII str, and headers may carry any byte.
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
