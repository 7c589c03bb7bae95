"""Verified callers, remembered by this process for a moment (`FLOWPILOT_AUTH_CACHE_SECONDS`).

A hit saves the token lookup on the next requests with the same token. It can never outlive
what it remembers:

- expiry: every hit is checked against the login session's own ``expires_at`` (the request's
  clock), as a lookup would be;
- logout, deactivation (ending a user's logins) and role or name changes call :func:`forget`
  in their transaction and again after it commits (a lookup racing the commit may have put the
  old answer back in between);
- other processes and replicas: :func:`forget` is the one function the cross-replica
  revocation receiver calls, for the login sessions or users it is told about.

Keys are token hashes (never tokens). The table is bounded; the oldest entries go first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.db.uow import after_commit

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Remembered:
    """A verified caller (``auth.repository.Caller``'s fields that make an Actor)."""

    login_session_id: str
    csrf_token: str
    expires_at: datetime
    user_id: str
    account_id: str
    role: str
    email: str
    name: str


_seconds = 5.0
_table: dict[str, tuple[float, Remembered]] = {}
# A user's own profile (GET /me's columns) by user id: forgotten with the user's logins, and on
# any change of the user (``forget(user_id=...)``), preferences included.
_profiles: dict[str, tuple[float, dict[str, Any]]] = {}


def configure(seconds: float) -> None:
    """Set the lifetime of an entry (0 turns remembering off); forgets everything."""
    global _seconds
    _seconds = seconds
    _table.clear()
    _profiles.clear()


def recall(token_hash: str) -> Remembered | None:
    entry = _table.get(token_hash)
    if entry is None:
        return None
    if entry[0] <= time.monotonic():
        _table.pop(token_hash, None)
        return None
    return entry[1]


def remember(token_hash: str, caller: Remembered) -> None:
    if _seconds <= 0:
        return
    if len(_table) >= MAX_ENTRIES:
        _table.pop(next(iter(_table)), None)
    _table[token_hash] = (time.monotonic() + _seconds, caller)


def recall_profile(user_id: str) -> dict[str, Any] | None:
    entry = _profiles.get(user_id)
    if entry is None or entry[0] <= time.monotonic():
        _profiles.pop(user_id, None)
        return None
    return entry[1]


def remember_profile(user_id: str, profile: dict[str, Any]) -> None:
    if _seconds <= 0:
        return
    if len(_profiles) >= MAX_ENTRIES:
        _profiles.pop(next(iter(_profiles)), None)
    _profiles[user_id] = (time.monotonic() + _seconds, profile)


def forget(*, login_session_id: str | None = None, user_id: str | None = None) -> None:
    """Forget the login session ``login_session_id``, or every login of ``user_id``, at once."""
    stale = [
        key
        for key, (_, c) in _table.items()
        if c.login_session_id == login_session_id or c.user_id == user_id
    ]
    for key in stale:
        _table.pop(key, None)
    if user_id is not None:
        _profiles.pop(user_id, None)


def forget_with(
    session: AsyncSession, *, login_session_id: str | None = None, user_id: str | None = None
) -> None:
    """:func:`forget` now and again after ``session`` commits (for the paths that change a
    login or its user inside a transaction)."""
    forget(login_session_id=login_session_id, user_id=user_id)

    async def again() -> None:
        forget(login_session_id=login_session_id, user_id=user_id)

    after_commit(session, again)
