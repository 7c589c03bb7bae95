"""Login, logout and token resolution. Services flush; the caller commits."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.auth import callers
from flowpilot.auth import repository as repo
from flowpilot.auth.passwords import hash_off_loop, verify_off_loop
from flowpilot.kernel import tenancy
from flowpilot.kernel.bus import BusEvent, Publisher, revocation
from flowpilot.kernel.db.uow import after_commit, end_reads
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
    retry_after: int | None = None  # seconds, when refused for too many failures

    @property
    def rate_limited(self) -> bool:
        return self.retry_after is not None


def failure_limits(email: str, client_ip: str, settings: Settings) -> dict[str, int]:
    """The failure counters a login attempt is judged by, with their limits.

    One email from one address is the attacker's usual shape and gets the low limit; the email
    alone (guessing from many addresses) a higher one; the address alone (many emails; also a
    whole office behind one NAT) a far higher one, so one person's typos, or an attack on one
    email, never lock out a colleague's correct password from the same address.
    """
    pair = hashlib.sha256(f"{email}|{client_ip}".encode()).hexdigest()
    return {
        f"pair:{pair}": settings.login_max_failures,
        f"email:{email}": settings.login_max_failures_per_email,
        f"ip:{client_ip[:200]}": settings.login_max_failures_per_address,
    }


async def hash_password(password: str) -> str:
    """The stored form of a new password (other domains set passwords here); off the loop."""
    return await hash_off_loop(password)


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
    answer the same 401 in the same time class. Failures are recorded per email + address,
    per email and per address (see ``failure_limits``). The password is checked between two
    transactions, with no database connection held.
    """
    email = normalize_email(email)
    limits = failure_limits(email, client_ip, settings)
    window = timedelta(seconds=settings.login_failure_window_seconds)
    since = now - window
    counts = await repo.failures_since(session, keys=list(limits), since=since)
    retry_after = [
        (oldest + window - now).total_seconds()
        for key, (n, oldest) in counts.items()
        if n >= limits[key]
    ]
    if retry_after:
        return LoginResult(None, None, None, retry_after=max(1, math.ceil(max(retry_after))))

    await repo.act_for_email_account(session, email)  # row-level security: before the lookup
    user = await repo.user_by_email(session, email)
    # Argon2 may wait for one of its few threads: wait holding no database connection, so a
    # burst of logins cannot take the pool from every other request. What follows is written
    # in a new transaction (acting for the same account) that the request commits.
    await end_reads(session)
    ok = await verify_off_loop(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        await repo.add_failures(session, keys=list(limits), at=now)
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
    PostgreSQL); for no account when the token is refused. A caller verified in the last
    ``auth_cache_seconds`` is not looked up again (``auth.callers``).
    """
    token_hash = hash_token(token)
    known = callers.recall(token_hash)
    if known is None:
        found = await repo.caller_by_token_hash(session, token_hash)
        if found is None:
            return None
        if found.expires_at <= now or not found.active:
            await tenancy.act_for_nobody(session)
            return None
        known = callers.Remembered(
            found.login_session_id, found.csrf_token, found.expires_at, found.user_id,
            found.account_id, found.role, found.email, found.name,
        )  # fmt: skip
        callers.remember(token_hash, known)
    elif known.expires_at <= now:
        callers.forget(login_session_id=known.login_session_id)
        return None
    actor = Actor(
        id=known.user_id,
        account_id=known.account_id,
        role=known.role,
        email=known.email,
        name=known.name,
        login_session_id=known.login_session_id,
        csrf_token=known.csrf_token,
        via=via,
        login_expires_at=known.expires_at,
    )
    await tenancy.act_for_from_start(session, actor)  # no statement of its own
    return actor


async def logout(session: AsyncSession, *, actor: Actor, bus: Publisher | None) -> None:
    """End the caller's login session; its token stops working at once, and after commit its
    open live streams are told (on every replica) to close."""
    await repo.delete_login_session(session, actor.login_session_id)
    callers.forget_with(session, login_session_id=actor.login_session_id)
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
    callers.forget_with(session, user_id=user_id)
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


def forget_callers(session: AsyncSession, *, user_id: str) -> None:
    """The user changed (role, name, active flag, preferences): no process may answer with the
    old one."""
    callers.forget_with(session, user_id=user_id)


def forget_revoked(*, login_session_id: str | None, user_id: str | None) -> None:
    """A revocation arrived from the bus (maybe from another replica): this process forgets the
    callers it names, so their next request is looked up (and refused) at once."""
    callers.forget(login_session_id=login_session_id, user_id=user_id)


def cached_profile(user_id: str) -> dict[str, Any] | None:
    """The user's profile (``UserOut``'s fields) if this process read it a moment ago."""
    return callers.recall_profile(user_id)


def cache_profile(user_id: str, profile: dict[str, Any]) -> None:
    callers.remember_profile(user_id, profile)
