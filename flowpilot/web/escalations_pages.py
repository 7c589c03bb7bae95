"""Pages: the escalation queue, the handoff-context screen, and the session view's panel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.assistant.deps import ProviderDep
from flowpilot.auth.deps import CurrentUser, SeniorUser
from flowpilot.handoffs import service as handoffs_service
from flowpilot.handoffs.schemas import HandoffOut
from flowpilot.kernel.deps import NowDep, SessionDep
from flowpilot.kernel.identity import Actor
from flowpilot.models import AiSession
from flowpilot.models.ai_sessions import SessionStatus
from flowpilot.models.handoffs import LIVE_STATUSES, URGENCIES
from flowpilot.web import hand_to
from flowpilot.web.render import page_router, register_page_hook, render

router = page_router()

# The queue's tabs: (view, label, status, claimed_by).
VIEWS = {
    "unclaimed": ("Unclaimed", "open", None),
    "mine": ("Mine", "claimed", "me"),
    "all": ("All", "all", None),
}
SORT_LABELS = {"urgency": "Urgency first", "newest": "Newest", "oldest": "Oldest"}
PAGE_SIZE = 50


def _urgency_filter(values: list[str]) -> list[str]:
    """Known urgencies from repeated or comma-separated ``urgency`` values, most urgent first."""
    given = {v.strip().lower() for value in values for v in value.split(",")}
    return [u for u in reversed(URGENCIES) if u in given]


@router.get("/escalations", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    actor: SeniorUser,
    session: SessionDep,
    view: str = Query("unclaimed", max_length=20),
    status: str | None = Query(None, max_length=20),
    sort: str = Query("urgency", max_length=20),
    urgency: list[str] = Query([], max_length=8),
    q: str = Query("", max_length=200),
    cursor: str | None = Query(None, max_length=400),
) -> HTMLResponse:
    # A page answers odd addresses with the nearest view rather than an error.
    if view not in VIEWS:
        view = "unclaimed"
    _, view_status, claimed_by = VIEWS[view]
    if status in handoffs_service.QUEUE_FILTERS and "view" not in request.query_params:
        view, view_status, claimed_by = "all", status, None  # the older ?status= links
    if sort not in SORT_LABELS:
        sort = "urgency"
    chosen = _urgency_filter(urgency)
    rows, next_cursor = await handoffs_service.queue(
        session,
        actor=actor,
        status=view_status,
        sort=sort,
        urgency=",".join(chosen) or None,
        claimed_by=claimed_by,
        q=q,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    counts = await handoffs_service.queue_counts(session, actor=actor)
    me = await accounts_service.get_user(session, actor=actor, user_id=actor.id)
    handoffs = [handoffs_service.to_out(r) for r in rows]
    keep = {"view": view, "sort": sort, "q": q.strip(), "urgency": ",".join(chosen)}
    if view == "all" and view_status != "all":
        keep["status"] = view_status
    return render(
        request,
        "escalations/queue.html",
        handoffs=handoffs,
        view=view,
        views=VIEWS,
        status=view_status,
        claimed_by=claimed_by,
        sort=sort,
        sort_labels=SORT_LABELS,
        chosen_urgencies=chosen,
        urgencies=list(reversed(URGENCIES)),
        q=q.strip(),
        counts=counts,
        me=me,
        link=lambda **changes: _link({**keep, **changes}),
        next_cursor=next_cursor,
        paged=cursor is not None,
    )


def _link(params: dict[str, str | None]) -> str:
    """``/escalations?...`` with the given parameters (empty ones left out)."""
    kept = {k: v for k, v in params.items() if v}
    return "/escalations" + (f"?{urlencode(kept)}" if kept else "")


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
    handoff = handoffs_service.to_out(data.row)
    return render(
        request,
        "escalations/context.html",
        handoff=handoff,
        hand_to=await hand_to.choices(session, actor=actor, handoff=handoff),
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
        "hand_to": await hand_to.choices(session, actor=actor, handoff=live) if live else [],
        "handoff_events": events,
        "can_escalate": live is None
        and ai_session.status == SessionStatus.OPEN
        and ai_session.owner_id == actor.id,
        "urgencies": URGENCIES,
    }


register_page_hook("session_view", _session_panel)
