"""Event relay: publishes committed events that were never published (rule 3).

The normal path publishes right after commit and marks ``published_at``. If the process dies in
between (or the bus was down), the row stays ``published_at IS NULL``; the relay finds it at
start-up and every ``relay_interval_seconds`` and publishes it, flagged ``relayed``. It leaves
events younger than ``relay_grace_seconds`` to the normal path, so the two rarely race; when
they do, the event is published twice and consumers drop the duplicate by id.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from flowpilot.events import repository as repo
from flowpilot.events.service import publish_and_mark, to_bus_event
from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work

BATCH = 500


async def relay_once(ctx: Context) -> int:
    """Publish every unpublished event older than the grace period; returns how many."""
    now = ctx.clock.now()
    before = now - timedelta(seconds=ctx.settings.relay_grace_seconds)
    total = 0
    while True:
        async with unit_of_work(ctx.system.sessionmaker) as session:  # every account's events
            rows = await repo.unpublished(session, before=before, limit=BATCH)
        if not rows:
            return total
        events = [to_bus_event(row, relayed=True) for row in rows]
        if not await publish_and_mark(ctx.bus, ctx.system.engine, events, now=now):
            return total  # bus or database down: try again next round
        total += len(events)
        if len(rows) < BATCH:
            return total


async def relay_job(ctx: Context) -> None:
    """Loop: relay at start-up, then every ``relay_interval_seconds``."""
    while True:
        await relay_once(ctx)
        await asyncio.sleep(ctx.settings.relay_interval_seconds)
