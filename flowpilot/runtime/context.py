"""Everything a running FlowPilot process holds, built once by ``build_context``.

The web app (``create_app``) and ``flowpilot worker`` both build one; tests build their own.
Nothing here is module-level (rule 8). Code below the runtime sees it through the
``flowpilot.kernel.context.Context`` protocol, never this class.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from flowpilot.assistant.provider import Provider
from flowpilot.assistant.service import build_provider
from flowpilot.auth import callers
from flowpilot.events import marks
from flowpilot.kernel.clock import Clock, SystemClock
from flowpilot.kernel.db.engines import (
    SystemPath,
    check_roles,
    make_engine,
    make_sessionmaker,
    make_system_path,
)
from flowpilot.kernel.metrics import Metrics
from flowpilot.kernel.settings import Settings
from flowpilot.live import presence, revocation
from flowpilot.live import stream as live_stream
from flowpilot.live.bus import Bus
from flowpilot.live.memory import MemoryBus
from flowpilot.live.redis_bus import RedisBus
from flowpilot.runtime import gcpolicy, jobs, observability


@dataclass
class AppContext:
    settings: Settings
    clock: Clock
    # Tenant work (requests): on PostgreSQL its connections act as the app role, under
    # row-level security; a session sees nothing until it acts for an account.
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Cross-account work (background jobs, CLI): bypasses row-level security; refuses requests.
    system: SystemPath
    bus: Bus
    metrics: Metrics
    provider: Provider
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


def build_bus(settings: Settings) -> Bus:
    """The configured bus: Redis Streams when FLOWPILOT_REDIS_URL is set, else in-process."""
    if settings.redis_url:
        return RedisBus(
            settings.redis_url,
            history=settings.bus_history,
            prefix=settings.redis_prefix,
            queue_size=settings.sse_queue_size,
            heartbeat_seconds=settings.sse_heartbeat_seconds,
            timeout_seconds=settings.redis_timeout_seconds,
        )
    return MemoryBus(
        queue_size=settings.sse_queue_size, heartbeat_seconds=settings.sse_heartbeat_seconds
    )


def build_context(settings: Settings, clock: Clock | None = None) -> AppContext:
    callers.configure(settings.auth_cache_seconds)
    engine = make_engine(
        settings.database_url,
        role=settings.db_app_role,
        # No overflow: an overflow connection is closed as soon as it is returned, so load
        # above the pool's size would open (and authenticate) a connection per request.
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    # The system path (jobs) stays within the request pool's size too (small in tests).
    system = make_system_path(
        settings.system_url,
        pool_size=min(5, settings.db_pool_size),
        max_overflow=min(10, settings.db_pool_size),
    )
    # Requests' events are marked published in cross-account batches: the system path's work.
    marks.write_with(engine, system.engine)
    metrics = Metrics()
    live_stream.declare_metrics(metrics)
    observability.declare(metrics, engine)
    return AppContext(
        settings=settings,
        clock=clock or SystemClock(),
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        system=system,
        bus=observability.TimedBus(build_bus(settings), metrics),
        metrics=metrics,
        provider=build_provider(settings),
    )


async def start(ctx: AppContext, *, run_workers: bool) -> None:
    try:
        await check_roles(ctx.engine, ctx.system)  # PostgreSQL: refuse to run without the wall
    except BaseException:
        await ctx.engine.dispose()
        await ctx.system.engine.dispose()
        raise
    await ctx.bus.start()
    gcpolicy.attach(ctx.bus.fanout)
    ctx.bus.fanout.every(revocation.Expiry(ctx.clock))  # logins end by the clock, too
    ctx.bus.fanout.every(presence.Refresh())  # viewers of a vanished replica expire
    ctx.bus.fanout.announce = ctx.bus.publish  # presence replies go out on the bus
    if run_workers:
        ctx.tasks.extend(jobs.start_all(ctx))
    # Everything built so far lives as long as the process: stop re-scanning it in every full
    # GC collection (see runtime.gcpolicy).
    gcpolicy.freeze_startup_heap()


async def stop(ctx: AppContext) -> None:
    for task in ctx.tasks:
        task.cancel()
    for task in ctx.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    ctx.tasks.clear()
    # Pending "mark published" batches (requests' and the jobs'), before dispose.
    await marks.flush(ctx.engine)
    await marks.flush(ctx.system.engine)
    await ctx.bus.stop()
    await ctx.engine.dispose()
    await ctx.system.engine.dispose()
