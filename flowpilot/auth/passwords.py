"""Argon2id password hashing (argon2-cffi's defaults follow RFC 9106).

Hashing costs tens of milliseconds of CPU and 64 MiB by design, so requests never run it on the
event loop: ``hash_off_loop`` / ``verify_off_loop`` run it in worker threads (argon2-cffi releases
the GIL), at most ``HASH_THREADS`` at a time, so a burst of logins queues for a thread instead of
stalling every other request or taking a burst's worth of memory.
"""

from __future__ import annotations

from functools import lru_cache

import anyio.to_thread
from anyio import CapacityLimiter
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
HASH_THREADS = 2
HASH_LIMITER = CapacityLimiter(HASH_THREADS)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """None (no such user) verifies against a dummy hash: the same cost, never a match."""
    try:
        return _hasher.verify(password_hash or dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def hash_off_loop(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password, limiter=HASH_LIMITER)


async def verify_off_loop(password_hash: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(
        verify_password, password_hash, password, limiter=HASH_LIMITER
    )


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A real hash to verify against for unknown emails, so both failures cost the same."""
    return _hasher.hash("flowpilot-dummy-password-never-matches")
