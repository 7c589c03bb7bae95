"""The background jobs a worker (or the server, in-process) runs, each supervised."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from flowpilot.analytics.rollup import rollup_job
from flowpilot.events.relay import relay_job
from flowpilot.handoffs.breach import breach_job
from flowpilot.handoffs.idle import idle_job
from flowpilot.kernel.context import Context
from flowpilot.notifications.dispatcher import dispatcher_job, escalation_chain_job

log = logging.getLogger("flowpilot")

# A background job loops until cancelled; each gets the process's context.
BackgroundJob = Callable[[Context], Awaitable[None]]

JOBS: list[tuple[str, BackgroundJob]] = [
    ("event-relay", relay_job),
    ("delivery-dispatcher", dispatcher_job),
    ("escalation-chain", escalation_chain_job),
    ("claim-target-breach", breach_job),
    ("idle-claim-guard", idle_job),
    ("analytics-rollup", rollup_job),
]


def start_all(ctx: Context) -> list[asyncio.Task[Any]]:
    return [asyncio.create_task(_supervised(ctx, name, job), name=name) for name, job in JOBS]


async def _supervised(ctx: Context, name: str, job: BackgroundJob) -> None:
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
