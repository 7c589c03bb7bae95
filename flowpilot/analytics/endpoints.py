"""HTTP for analytics: escalation metrics, the manual baseline, savings."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from flowpilot.analytics import service
from flowpilot.analytics.schemas import (
    BaselineCreate,
    BaselineList,
    BaselineOut,
    BaselineUpdate,
    EscalationStats,
    Savings,
)
from flowpilot.auth.deps import SeniorUser
from flowpilot.kernel.deps import NowDep, SessionDep
from flowpilot.kernel.schemas import MAX_OFFSET, PAGE_MAX

router = APIRouter(prefix="/api/v1", tags=["analytics"])

DaysQuery = Query(30, ge=service.MIN_DAYS, le=service.MAX_DAYS, description="window in days")


@router.get("/analytics/escalations", response_model=EscalationStats)
async def escalation_stats(
    actor: SeniorUser, session: SessionDep, now: NowDep, days: int = DaysQuery
) -> EscalationStats:
    return await service.escalation_stats(session, tenant=actor, days=days, now=now)


@router.get("/analytics/savings", response_model=Savings)
async def savings(
    actor: SeniorUser, session: SessionDep, now: NowDep, days: int = DaysQuery
) -> Savings:
    return await service.savings(session, tenant=actor, days=days, now=now)


@router.get("/analytics/baseline", response_model=BaselineList)
async def list_baseline(
    actor: SeniorUser,
    session: SessionDep,
    limit: int = Query(PAGE_MAX, ge=1, le=PAGE_MAX),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> BaselineList:
    items = await service.list_baseline(session, tenant=actor, limit=limit, offset=offset)
    return BaselineList(items=[BaselineOut.model_validate(o) for o in items])


@router.post("/analytics/baseline", response_model=BaselineOut, status_code=201)
async def add_baseline(
    body: BaselineCreate, actor: SeniorUser, session: SessionDep, now: NowDep
) -> BaselineOut:
    observation = await service.add_baseline(
        session,
        actor=actor,
        seconds=body.seconds,
        note=body.note,
        observed_at=body.observed_at,
        now=now,
    )
    return BaselineOut.model_validate(observation)


@router.patch("/analytics/baseline/{observation_id}", response_model=BaselineOut)
async def update_baseline(
    observation_id: str,
    body: BaselineUpdate,
    actor: SeniorUser,
    session: SessionDep,
    now: NowDep,
) -> BaselineOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    observation = await service.update_baseline(
        session,
        actor=actor,
        observation_id=observation_id,
        changes=changes,
        now=now,
    )
    return BaselineOut.model_validate(observation)


@router.delete("/analytics/baseline/{observation_id}", status_code=204)
async def delete_baseline(observation_id: str, actor: SeniorUser, session: SessionDep) -> Response:
    await service.delete_baseline(session, actor=actor, observation_id=observation_id)
    return Response(status_code=204)
