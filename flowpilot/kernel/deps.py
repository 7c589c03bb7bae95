"""Typed request dependencies: the request's unit of work (``SessionDep``) and the process's parts.

Async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.bus import Publisher
from flowpilot.kernel.clock import Clock
from flowpilot.kernel.context import context_of
from flowpilot.kernel.db.uow import after_commit, transaction
from flowpilot.kernel.metrics import Metrics, observe_noted
from flowpilot.kernel.settings import Settings


async def get_settings(request: Request) -> Settings:
    return context_of(request).settings


async def get_clock(request: Request) -> Clock:
    return context_of(request).clock


async def get_now(request: Request) -> datetime:
    """The request's "now", read once from the process clock."""
    return context_of(request).clock.now()


async def get_publisher(request: Request) -> Publisher:
    return context_of(request).bus


async def get_metrics(request: Request) -> Metrics:
    return context_of(request).metrics


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commit on success, roll back on any error."""
    ctx = context_of(request)
    async with transaction(ctx.sessionmaker, None) as session:

        async def observe() -> None:
            observe_noted(session, ctx.metrics)

        after_commit(session, observe)
        yield session


# scope="function": commit before the response is sent, so a failed commit is never a 2xx.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
NowDep = Annotated[datetime, Depends(get_now)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
