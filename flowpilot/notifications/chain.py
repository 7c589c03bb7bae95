"""Escalation chain: re-notify the seniors after N minutes, alert the admins after M minutes.

Each step is one transaction: a conditional UPDATE stamps the handoff (so two workers never
both do it, and nothing happens once the handoff left ``open``), an audit event is appended
and that event's own delivery records are planned.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flowpilot.events import service as events_service
from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.identity import AccountRef
from flowpilot.models.events import EventType
from flowpilot.notifications import repository as repo
from flowpilot.notifications import service

STEPS = (
    # (event type, handoff column, account setting)
    (EventType.HANDOFF_RENOTIFIED, "renotified_at", "renotify_after_minutes"),
    (EventType.HANDOFF_ADMIN_ALERTED, "admin_alerted_at", "admin_alert_after_minutes"),
)


async def run_chain_once(ctx: Context) -> int:
    """One round of the chain: returns how many steps (re-notify, admin alert) were taken."""
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:  # every account's open handoffs
        candidates = await repo.chain_candidates(session, now=now)
    done = 0
    for candidate in candidates:
        for event_type, column, setting in STEPS:
            minutes: int = getattr(candidate, setting)
            if getattr(candidate, column) is not None:
                continue
            if now < candidate.created_at + timedelta(minutes=minutes):
                continue
            if await _take_step(
                ctx, candidate.handoff_id, event_type=event_type, column=column, minutes=minutes
            ):
                done += 1
    return done


async def _take_step(
    ctx: Context, handoff_id: str, *, event_type: str, column: str, minutes: int
) -> bool:
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:
        if not await repo.mark_chain_step(session, handoff_id=handoff_id, column=column, now=now):
            return False  # another worker took this step, or the handoff left open
        handoff = await repo.get_handoff_any(session, handoff_id)
        created = await repo.creation_event(session, handoff)
        payload: dict[str, Any] = dict(created.payload) if created else {}
        payload.update(
            {
                "id": handoff.id,
                "status": handoff.status,
                column: now.isoformat(),
                "minutes_open": minutes,
            }
        )
        event = await events_service.append(
            session,
            tenant=AccountRef(handoff.account_id),
            type=event_type,
            payload=payload,
            now=now,
            bus=ctx.bus,
            handoff_id=handoff.id,
            session_id=handoff.session_id,
            actor_id=None,
        )
        await service.plan_deliveries(session, handoff=handoff, event=event, now=now)
    return True
