"""Pages: the escalation queue, the handoff-context screen, and the session view's panel."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.assistant.deps import ProviderDep
from flowpilot.auth.deps import CurrentUser, SeniorUser
from flowpilot.handoffs import service as handoffs_service
from flowpilot.handoffs.schemas import HandoffOut, QueueStatus
from flowpilot.kernel.deps import NowDep, SessionDep
from flowpilot.kernel.identity import Actor
from flowpilot.models import AiSession
from flowpilot.models.ai_sessions import SessionStatus
from flowpilot.models.handoffs import LIVE_STATUSES, URGENCIES
from flowpilot.web.render import page_router, register_page_hook, render

router = page_router()

STATUS_FILTERS = [
    ("open", "Open"),
    ("claimed", "Claimed"),
    ("live", "Open + claimed"),
    ("resolved", "Resolved"),
    ("cancelled", "Cancelled"),
    ("all", "All"),
]
PAGE_SIZE = 50


@router.get("/escalations", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    actor: SeniorUser,
    session: SessionDep,
    status: QueueStatus = Query("open"),
    cursor: str | None = Query(None, max_length=200),
) -> HTMLResponse:
    rows, next_cursor = await handoffs_service.queue(
        session, actor=actor, status=status, limit=PAGE_SIZE, cursor=cursor
    )
    return render(
        request,
        "escalations/queue.html",
        handoffs=[handoffs_service.to_out(r) for r in rows],
        status=status,
        status_filters=STATUS_FILTERS,
        next_cursor=next_cursor,
        paged=cursor is not None,
    )


@router.get("/escalations/{handoff_id}", response_class=HTMLResponse)
async def context_page(
    handoff_id: str,
    request: Request,
    actor: CurrentUser,
    session: SessionDep,
    now: NowDep,
    provider: ProviderDep,
    claimed: bool = Query(False),
) -> HTMLResponse:
    data = await handoffs_service.detail(
        session,
        actor=actor,
        handoff_id=handoff_id,
        provider=provider,
        now=now,
    )
    return render(
        request,
        "escalations/context.html",
        handoff=handoffs_service.to_out(data.row),
        context=data.context,
        timeline=data.timeline,
        just_claimed=claimed,
    )


async def _session_panel(
    request: Request, session: AsyncSession, *, ai_session: AiSession, actor: Actor, **_: Any
) -> dict[str, Any]:
    """Context for ``handoffs/_session_panel.html`` on the session view."""
    pairs = await handoffs_service.session_handoffs(session, actor=actor, session_id=ai_session.id)
    live: HandoffOut | None = None
    events = []
    for row, timeline in pairs:
        if live is None and row.handoff.status in LIVE_STATUSES:
            live = handoffs_service.to_out(row)
        events.extend(timeline)
    events.sort(key=lambda e: e.id)
    return {
        "live_handoff": live,
        "handoff_events": events,
        "can_escalate": live is None
        and ai_session.status == SessionStatus.OPEN
        and ai_session.owner_id == actor.id,
        "urgencies": URGENCIES,
    }


register_page_hook("session_view", _session_panel)
