"""Pages: the caller's AI sessions and one session's view (timeline, add a step)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from flowpilot.accounts import service as accounts_service
from flowpilot.ai_sessions import service as sessions_service
from flowpilot.auth.deps import CurrentUser
from flowpilot.kernel.deps import NowDep, SessionDep
from flowpilot.kernel.identity import Actor
from flowpilot.models.ai_sessions import SessionStatus
from flowpilot.web.render import page_context, page_router, render

router = page_router()

STEP_KINDS = [
    ("note", "Note", "what you observed or were told"),
    ("action", "Action", "something you did or ran"),
    ("result", "Result", "what came of it"),
]


async def _user_names(session: SessionDep, actor: Actor) -> dict[str, str]:
    return {u.id: u.name for u in await accounts_service.list_users(session, actor=actor)}


@router.get("/sessions", response_class=HTMLResponse)
async def sessions_list(request: Request, actor: CurrentUser, session: SessionDep) -> HTMLResponse:
    sessions = await sessions_service.list_sessions(session, actor=actor, limit=200)
    ctx = await page_context(
        "sessions_list",
        request,
        session,
        sessions=sessions,
        actor=actor,
        users=await _user_names(session, actor),
    )
    return render(request, "sessions/list.html", **ctx)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
async def session_view(
    session_id: str, request: Request, actor: CurrentUser, session: SessionDep, now: NowDep
) -> HTMLResponse:
    ai_session = await sessions_service.get_session(session, actor=actor, session_id=session_id)
    steps = await sessions_service.list_steps(session, tenant=actor, session_id=session_id)
    can_add_step = ai_session.status == SessionStatus.OPEN and sessions_service.can_add_step(
        actor, ai_session
    )
    ctx = await page_context(
        "session_view",
        request,
        session,
        ai_session=ai_session,
        actor=actor,
        steps=list(steps),
        users=await _user_names(session, actor),
        can_add_step=can_add_step,
        csrf_token=actor.csrf_token,
        now=now,
    )
    return render(request, "sessions/view.html", step_kinds=STEP_KINDS, **ctx)
