"""PostgreSQL lock-wait helpers for tests that hold one transaction open to race another."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def backend_pid(session: AsyncSession) -> int:
    """The server process id of ``session``'s connection (this starts its transaction)."""
    return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def wait_until_blocked(
    observer: AsyncSession, pid: int, *, locktype: str | None = None
) -> None:
    """Wait until connection ``pid`` waits on a lock (of ``locktype``), or fail.

    Only that connection's locks count: other tests' databases share the server's lock table.
    This polls the server, it is not an app timer.
    """
    sql = "SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"
    params: dict[str, object] = {"pid": pid}
    if locktype is not None:
        sql += " AND locktype = :locktype"
        params["locktype"] = locktype
    for _ in range(500):
        waiting = (await observer.execute(text(sql), params)).scalar_one()
        await observer.rollback()
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"connection {pid} never waited on a lock")
