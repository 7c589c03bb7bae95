"""The claimed-but-idle guard: nudge a holder who has not acted, then release it to the queue.

``idle_claim_nudge_minutes`` after the claim (or the hand-over) with no step by the holder, the
holder gets an ``idle_nudge`` email (event ``handoff.idle_nudged``); after
``idle_claim_release_minutes`` (NULL: never) the escalation goes back to ``open`` with no actor
(``handoff.released``, ``payload.reason == "no_first_action"``) and the seniors are told again.
Each step is one transaction opened by a conditional UPDATE (``idle_sql``), as the breach job.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from flowpilot.accounts import service as accounts_service
from flowpilot.ai_sessions import service as ai_sessions_service
from flowpilot.handoffs import idle_sql, service
from flowpilot.handoffs import repository as repo
from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.errors import NotFound
from flowpilot.kernel.identity import AccountRef
from flowpilot.models.events import EventType
from flowpilot.notifications.service import IDLE_RELEASE_REASON

log = logging.getLogger("flowpilot.handoffs")

BATCH = 200


def _minutes(since: datetime, now: datetime) -> int:
    return int((now - since).total_seconds() // 60)


async def run_idle_once(ctx: Context) -> int:
    """One round: returns how many nudges and releases were made."""
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:  # every account's holdings
        holdings = await idle_sql.idle_holdings(session, now=now, limit=BATCH)
    done = 0
    for h in holdings:
        release = h.release_minutes
        if release is not None and now >= h.held_since + timedelta(minutes=release):
            done += await _release(ctx, h)
        elif h.idle_nudged_at is None and now >= h.held_since + timedelta(minutes=h.nudge_minutes):
            done += await _nudge(ctx, h)
    return done


async def _nudge(ctx: Context, h: idle_sql.Holding) -> int:
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:
        account_id = await idle_sql.mark_nudged(session, h, now=now)
        if account_id is None:
            return 0  # the holder acted, someone else has it now, or another worker nudged
        tenant = AccountRef(account_id)
        row = await repo.get_row(session, tenant, h.handoff_id)
        assert row is not None, "the row this transaction just updated"
        await service.record(
            session,
            tenant=tenant,
            row=row,
            type=EventType.HANDOFF_IDLE_NUDGED,
            now=now,
            bus=ctx.bus,
            by=None,
            extra={"minutes_idle": _minutes(h.held_since, now)},
            notify=True,
        )
    return 1


async def _release(ctx: Context, h: idle_sql.Holding) -> int:
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:
        account_id = await idle_sql.release_idle(session, h, now=now)
        if account_id is None:
            return 0  # it moved on meanwhile, or another worker released it
        tenant = AccountRef(account_id)
        row = await repo.get_row(session, tenant, h.handoff_id)
        assert row is not None and row.ai_session is not None, "the row just updated"
        await ai_sessions_service.assign(
            session, ai_session=row.ai_session, assignee_id=row.ai_session.owner_id, now=now
        )
        try:
            previous = await accounts_service.get_user(
                session, actor=tenant, user_id=h.claimed_by_id
            )
            previous_name: str | None = previous.name
        except NotFound:
            previous_name = None
        await service.record(
            session,
            tenant=tenant,
            row=row,
            type=EventType.HANDOFF_RELEASED,
            now=now,
            bus=ctx.bus,
            by=None,
            extra={
                "escalation_reason": row.handoff.reason,  # ``reason`` says why it was released
                "reason": IDLE_RELEASE_REASON,
                "previous_claimed_by_id": h.claimed_by_id,
                "previous_claimed_by_name": previous_name,
                "minutes_idle": _minutes(h.held_since, now),
                "minutes_open": _minutes(row.handoff.created_at, now),
            },
            notify=True,
        )
    return 1


async def idle_job(ctx: Context) -> None:
    """Loop: nudge holders who have not acted, release what they still have not acted on."""
    while True:
        try:
            await run_idle_once(ctx)
        except Exception:
            log.exception("idle claim round failed")
        await asyncio.sleep(ctx.settings.idle_check_interval_seconds)
