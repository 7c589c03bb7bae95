"""Argon2id password hashing (argon2-cffi's defaults follow RFC 9106).

Hashing costs tens of milliseconds of CPU and 64 MiB by design, so requests never run it on the
event loop: ``hash_off_loop`` / ``verify_off_loop`` run it in worker threads (argon2-cffi releases
the GIL), at most ``HASH_THREADS`` at a time, so a burst of logins queues for a thread instead of
stalling every other request or taking a burst's worth of memory. The threads are the hasher's
own and run at a lower CPU priority: Argon2 computes its 4 lanes in 4 threads of its own, so two
hashes would otherwise outnumber the event loop's thread 8 to 1 on a small machine, and every
other answer would wait for a time slice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from anyio import CapacityLimiter
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
HASH_THREADS = 2
HASH_LIMITER = CapacityLimiter(HASH_THREADS)
HASH_NICE = 10  # added to the process's nice value, in the hashing threads only


def _lower_priority() -> None:
    # Linux keeps a nice value per thread, and the threads Argon2 starts inherit it. Lowering
    # needs no privilege (raising it again would, hence threads of their own).
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.nice(0) + HASH_NICE)


# Threads start on first use, never at import.
_threads = ThreadPoolExecutor(HASH_THREADS, "password-hash", initializer=_lower_priority)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """None (no such user) verifies against a dummy hash: the same cost, never a match."""
    try:
        return _hasher.verify(password_hash or dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def hash_off_loop(password: str) -> str:
    async with HASH_LIMITER:
        return await asyncio.get_running_loop().run_in_executor(_threads, hash_password, password)


async def verify_off_loop(password_hash: str | None, password: str) -> bool:
    async with HASH_LIMITER:
        return await asyncio.get_running_loop().run_in_executor(
            _threads, verify_password, password_hash, password
        )


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A real hash to verify against for unknown emails, so both failures cost the same."""
    return _hasher.hash("flowpilot-dummy-password-never-matches")
