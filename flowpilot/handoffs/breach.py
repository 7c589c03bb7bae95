"""Claim targets: when an open escalation passes its ``claim_due_at``, record the breach.

Each breach is one transaction, as in the escalation chain (``notifications/chain.py``): a
conditional UPDATE stamps ``breached_at`` (so of two workers exactly one does it, and nothing
happens once the handoff left ``open``), a ``handoff.breached`` event is appended and its
``breached`` delivery records (every admin) are planned.
"""

from __future__ import annotations

import asyncio
import logging

from flowpilot.events import service as events_service
from flowpilot.handoffs import repository as repo
from flowpilot.handoffs import service
from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.identity import AccountRef
from flowpilot.models.events import EventType
from flowpilot.notifications import service as notifications_service

log = logging.getLogger("flowpilot.handoffs")

BATCH = 200


def _payload(row: repo.HandoffRow) -> dict[str, object]:
    h = row.handoff
    out = service.event_payload(row)
    if h.claim_due_at is not None:
        out["claim_target_minutes"] = round((h.claim_due_at - h.created_at).total_seconds() / 60)
    return out


async def run_breach_once(ctx: Context) -> int:
    """One round: returns how many escalations were recorded as breached."""
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:  # every account's due handoffs
        candidates = await repo.breach_candidates(session, now=now, limit=BATCH)
    done = 0
    for handoff_id in candidates:
        if await _breach(ctx, handoff_id):
            done += 1
    return done


async def _breach(ctx: Context, handoff_id: str) -> bool:
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:
        account_id = await repo.mark_breached(session, handoff_id=handoff_id, now=now)
        if account_id is None:
            return False  # another worker recorded it, or it was claimed or withdrawn meanwhile
        tenant = AccountRef(account_id)
        row = await repo.get_row(session, tenant, handoff_id)
        assert row is not None, "the row this transaction just updated"
        event = await events_service.append(
            session,
            tenant=tenant,
            type=EventType.HANDOFF_BREACHED,
            payload=_payload(row),
            now=now,
            bus=ctx.bus,
            handoff_id=handoff_id,
            session_id=row.handoff.session_id,
            actor_id=None,
        )
        await notifications_service.plan_deliveries(
            session, handoff=row.handoff, event=event, now=now
        )
    return True


async def breach_job(ctx: Context) -> None:
    """Loop: record breaches of the claim target and alert the admins."""
    while True:
        try:
            await run_breach_once(ctx)
        except Exception:
            log.exception("claim target round failed")
        await asyncio.sleep(ctx.settings.breach_check_interval_seconds)
