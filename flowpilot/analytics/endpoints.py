"""HTTP for analytics: escalation metrics, the manual baseline, savings."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from flowpilot.analytics import breakdown, service
from flowpilot.analytics import export as export_rows
from flowpilot.analytics.schemas import (
    BaselineCreate,
    BaselineList,
    BaselineOut,
    BaselineUpdate,
    EscalationStats,
    ExportFormat,
    ExportOut,
    Savings,
    SeniorsOut,
    WeeklyOut,
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


@router.get("/analytics/weekly", response_model=WeeklyOut)
async def weekly(
    actor: SeniorUser,
    session: SessionDep,
    now: NowDep,
    weeks: int = Query(
        12, ge=breakdown.MIN_WEEKS, le=breakdown.MAX_WEEKS, description="Monday (UTC) weeks"
    ),
) -> WeeklyOut:
    return WeeklyOut(items=await breakdown.weekly(session, tenant=actor, weeks=weeks, now=now))


@router.get("/analytics/seniors", response_model=SeniorsOut)
async def seniors(
    actor: SeniorUser, session: SessionDep, now: NowDep, days: int = DaysQuery
) -> SeniorsOut:
    return SeniorsOut(items=await breakdown.seniors(session, tenant=actor, days=days, now=now))


@router.get(
    "/analytics/escalations/export",
    response_model=ExportOut,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV (format=csv), or JSON"}},
)
async def export(
    actor: SeniorUser,
    session: SessionDep,
    now: NowDep,
    days: int = DaysQuery,
    format: ExportFormat = Query("csv", description="csv or json"),
) -> Response:
    result = await export_rows.export(session, tenant=actor, days=days, now=now, format=format)
    if format == "json":
        return StreamingResponse(result.stream(), media_type="application/json")
    filename = f"escalations-{now:%Y-%m-%d}-{days}d.csv"
    return StreamingResponse(
        result.stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
