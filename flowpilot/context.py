"""Everything a running FlowPilot process holds, built once by ``build_context``.

The web app (``create_app``) and ``flowpilot worker`` both build one; tests build their own.
Nothing here is module-level (rule 8).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from flowpilot.clock import Clock, SystemClock
from flowpilot.config import Settings
from flowpilot.db import SystemPath, check_roles, make_engine, make_sessionmaker, make_system_path
from flowpilot.events import gcpolicy
from flowpilot.events.bus import Bus

log = logging.getLogger("flowpilot")


@dataclass
class Metrics:
    registry: CollectorRegistry
    sse_open_streams: Gauge

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            sse_open_streams=Gauge(
                "flowpilot_sse_open_streams", "Open SSE streams in this process", registry=registry
            ),
        )


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
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def build_bus(settings: Settings) -> Bus:
    """The configured bus: Redis Streams when FLOWPILOT_REDIS_URL is set, else in-process."""
    if settings.redis_url:
        from flowpilot.events.redis_bus import RedisBus

        return RedisBus(
            settings.redis_url,
            history=settings.bus_history,
            prefix=settings.redis_prefix,
            queue_size=settings.sse_queue_size,
            heartbeat_seconds=settings.sse_heartbeat_seconds,
        )
    from flowpilot.events.memory import MemoryBus

    return MemoryBus(
        queue_size=settings.sse_queue_size, heartbeat_seconds=settings.sse_heartbeat_seconds
    )


def build_context(settings: Settings, clock: Clock | None = None) -> AppContext:
    from flowpilot.events import marks

    engine = make_engine(settings.database_url, role=settings.db_app_role)
    system = make_system_path(settings.system_url)
    # Requests' events are marked published in cross-account batches: the system path's work.
    marks.write_with(engine, system.engine)
    return AppContext(
        settings=settings,
        clock=clock or SystemClock(),
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        system=system,
        bus=build_bus(settings),
        metrics=Metrics.create(),
    )


# A background job loops until cancelled; each gets the process's context.
BackgroundJob = Callable[[AppContext], Awaitable[None]]


def background_jobs() -> list[tuple[str, BackgroundJob]]:
    """The jobs a worker (or the server, in-process) runs: relay, dispatcher, escalation chain."""
    from flowpilot.events.relay import relay_job
    from flowpilot.notifications.dispatcher import dispatcher_job, escalation_chain_job

    return [
        ("event-relay", relay_job),
        ("delivery-dispatcher", dispatcher_job),
        ("escalation-chain", escalation_chain_job),
    ]


async def start(ctx: AppContext, *, run_workers: bool) -> None:
    try:
        await check_roles(ctx.engine, ctx.system)  # PostgreSQL: refuse to run without the wall
    except BaseException:
        await ctx.engine.dispose()
        await ctx.system.engine.dispose()
        raise
    await ctx.bus.start()
    if run_workers:
        for name, job in background_jobs():
            ctx.tasks.append(asyncio.create_task(_supervised(ctx, name, job), name=name))
    # Everything built so far lives as long as the process: stop re-scanning it in every full
    # GC collection (see events.gcpolicy; ~90 ms per collection on our 2-core box).
    gcpolicy.freeze_startup_heap()


async def _supervised(ctx: AppContext, name: str, job: BackgroundJob) -> None:
    """Run a job; if it crashes, log and restart it after a pause (never silently stop)."""
    while True:
        try:
            await job(ctx)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s crashed; restarting", name)
            await asyncio.sleep(1.0)


async def stop(ctx: AppContext) -> None:
    for task in ctx.tasks:
        task.cancel()
    for task in ctx.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    ctx.tasks.clear()
    from flowpilot.events import marks

    # Pending "mark published" batches (requests' and the jobs'), before dispose.
    await marks.flush(ctx.engine)
    await marks.flush(ctx.system.engine)
    await ctx.bus.stop()
    await ctx.engine.dispose()
    await ctx.system.engine.dispose()
