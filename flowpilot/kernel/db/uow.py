"""The unit of work: the only places that commit (rule 1).

The request's session commits or rolls back in the ``SessionDep`` dependency
(``flowpilot.kernel.deps``); work outside a request (jobs, CLI) uses :func:`unit_of_work`. Both
go through :func:`transaction`. Services and
repositories ``flush()``; after a successful commit the callbacks queued with
:func:`after_commit` run (e.g. publishing committed events to the bus).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.tenancy import Tenant, act_for

AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` only if and after the session's transaction commits."""
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


async def commit(session: AsyncSession) -> None:
    """Commit and then run the after-commit callbacks (used by the dependency, CLI, workers)."""
    await session.commit()
    await run_after_commit(session)


@asynccontextmanager
async def transaction(
    maker: async_sessionmaker[AsyncSession], tenant: Tenant | None
) -> AsyncIterator[AsyncSession]:
    async with maker() as session:
        if tenant is not None:
            await act_for(session, tenant)
        try:
            yield session
        except BaseException:
            # No rollback() here: leaving ``async with`` closes the session, which rolls its
            # transaction back (shielded from cancellation). Each awaited session call runs in a
            # greenlet of its own, and each new greenlet maps and unmaps a fresh frame stack
            # (mmap + munmap + page faults): a refused claim made four (BENCHMARKS.md, "Over
            # real HTTP").
            session.info.pop("after_commit", None)
            raise
        else:
            if session.in_transaction():
                await commit(session)
            else:
                await run_after_commit(session)


def unit_of_work(
    maker: async_sessionmaker[AsyncSession], *, tenant: Tenant | None = None
) -> AbstractAsyncContextManager[AsyncSession]:
    """One transaction outside a request (jobs, CLI): commit on success, roll back on error.

    ``tenant``: act for that account (row-level security on PostgreSQL) from the start; the
    system path's sessions see every account without it.
    """
    return transaction(maker, tenant)


async def end_reads(session: AsyncSession) -> None:
    """End a transaction that only read, so the session holds no database connection while its
    caller waits for something slow (a password hash waiting for a thread).

    What was read stays readable (detached); the next statement begins a new transaction, acting
    for the same account, which the session's owner commits as usual (rule 1). Only after reads:
    a write already executed would be rolled back with them (unflushed ORM changes are refused).
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_reads() with unflushed changes would lose them")
    session.expunge_all()
    await session.rollback()
