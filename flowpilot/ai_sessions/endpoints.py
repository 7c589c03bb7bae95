"""HTTP for AI sessions and their steps."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from flowpilot.ai_sessions import service
from flowpilot.ai_sessions.schemas import (
    SessionCreate,
    SessionDetail,
    SessionList,
    SessionOut,
    SessionResolve,
    StepCreate,
    StepOut,
)
from flowpilot.auth.deps import CurrentUser
from flowpilot.kernel.deps import NowDep, PublisherDep, SessionDep
from flowpilot.kernel.schemas import MAX_OFFSET, PAGE_MAX

router = APIRouter(prefix="/api/v1", tags=["sessions"])


@router.post("/sessions", response_model=SessionOut, status_code=201)
async def open_session(
    body: SessionCreate, actor: CurrentUser, session: SessionDep, now: NowDep
) -> SessionOut:
    ai_session = await service.open_session(
        session,
        actor=actor,
        title=body.title,
        problem=body.problem,
        customer=body.customer,
        asset=body.asset,
        environment=body.environment,
        now=now,
    )
    return SessionOut.model_validate(ai_session)


@router.get("/sessions", response_model=SessionList)
async def list_sessions(
    actor: CurrentUser,
    session: SessionDep,
    status: Literal["open", "resolved", "all"] = Query("all"),
    limit: int = Query(50, ge=1, le=PAGE_MAX),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> SessionList:
    sessions = await service.list_sessions(
        session,
        actor=actor,
        status=None if status == "all" else status,
        limit=limit,
        offset=offset,
    )
    return SessionList(items=[SessionOut.model_validate(s) for s in sessions])


@router.get("/sessions/{session_id}", response_model=SessionDetail)
async def get_session(session_id: str, actor: CurrentUser, session: SessionDep) -> SessionDetail:
    ai_session = await service.get_session(session, actor=actor, session_id=session_id)
    steps = await service.list_steps(session, tenant=actor, session_id=session_id)
    detail = SessionDetail.model_validate(
        {**SessionOut.model_validate(ai_session).model_dump(), "steps": []}
    )
    detail.steps = [
        StepOut.model_validate(step).model_copy(update={"actor_name": name}) for step, name in steps
    ]
    return detail


@router.post("/sessions/{session_id}/steps", response_model=StepOut, status_code=201)
async def add_step(
    session_id: str,
    body: StepCreate,
    actor: CurrentUser,
    session: SessionDep,
    now: NowDep,
    bus: PublisherDep,
) -> StepOut:
    step = await service.add_step(
        session,
        actor=actor,
        session_id=session_id,
        kind=body.kind,
        content=body.content,
        now=now,
        bus=bus,
    )
    return StepOut.model_validate(step).model_copy(update={"actor_name": actor.name})


@router.post("/sessions/{session_id}/resolve", response_model=SessionOut)
async def resolve_session(
    session_id: str,
    body: SessionResolve,
    actor: CurrentUser,
    session: SessionDep,
    now: NowDep,
) -> SessionOut:
    ai_session = await service.resolve_session(
        session,
        actor=actor,
        session_id=session_id,
        resolution=body.resolution,
        now=now,
    )
    return SessionOut.model_validate(ai_session)
