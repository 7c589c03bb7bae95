"""What a live stream needs from the process, as one typed request dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.context import context_of
from flowpilot.kernel.settings import Settings
from flowpilot.live.bus import Bus
from flowpilot.live.stream import open_streams_gauge


@dataclass(frozen=True)
class Live:
    bus: Bus
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    open_streams: Gauge


async def get_live(request: Request) -> Live:
    ctx = context_of(request)
    return Live(
        bus=cast(Bus, ctx.bus),  # the runtime's bus is a full one (it subscribes, too)
        sessionmaker=ctx.sessionmaker,
        settings=ctx.settings,
        open_streams=open_streams_gauge(ctx.metrics),
    )


LiveDep = Annotated[Live, Depends(get_live)]
