"""HTTP for escalations (handoffs). ``/handoffs/stream`` belongs to the events router."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from flowpilot.assistant.deps import ProviderDep
from flowpilot.auth.deps import CurrentUser, SeniorUser
from flowpilot.handoffs import assign as assign_mod
from flowpilot.handoffs import queue as queue_mod
from flowpilot.handoffs import service
from flowpilot.handoffs.schemas import (
    AssignIn,
    ClaimedBy,
    EscalateIn,
    HandoffDetail,
    HandoffOut,
    HandoffWithTimeline,
    QueuePage,
    QueueSort,
    QueueStatus,
    ResolveIn,
    SessionHandoffs,
)
from flowpilot.kernel.deps import NowDep, PublisherDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["handoffs"])


@router.post("/sessions/{session_id}/handoff", response_model=HandoffOut, status_code=201)
async def escalate(
    session_id: str,
    body: EscalateIn,
    actor: CurrentUser,
    session: SessionDep,
    now: NowDep,
    bus: PublisherDep,
) -> HandoffOut:
    row = await service.escalate(
        session,
        actor=actor,
        session_id=session_id,
        reason=body.reason,
        urgency=body.urgency,
        now=now,
        bus=bus,
    )
    return service.to_out(row)


@router.get("/sessions/{session_id}/handoffs", response_model=SessionHandoffs)
async def session_handoffs(
    session_id: str, actor: CurrentUser, session: SessionDep
) -> SessionHandoffs:
    pairs = await service.session_handoffs(session, actor=actor, session_id=session_id)
    return SessionHandoffs(
        items=[
            HandoffWithTimeline(**service.to_out(row).model_dump(), timeline=timeline)
            for row, timeline in pairs
        ]
    )


@router.get("/handoffs/queue", response_model=QueuePage)
async def queue(
    actor: SeniorUser,
    session: SessionDep,
    status: QueueStatus = Query("open"),
    sort: QueueSort = Query("newest", description="urgency: critical first, then oldest"),
    urgency: str | None = Query(None, max_length=100, description="comma list: critical,high"),
    claimed_by: ClaimedBy | None = Query(None, description="me: what the caller holds"),
    q: str | None = Query(None, max_length=200, description="text in title/customer/asset/reason"),
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=400),
) -> Response:
    rows, next_cursor = await service.queue(
        session,
        actor=actor,
        status=status,
        sort=sort,
        urgency=urgency,
        claimed_by=claimed_by,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    # Encoded once, straight from the rows (``response_model`` still documents it): returned
    # as a model, FastAPI would validate the page again and encode it through Python dicts.
    return Response(queue_mod.page_json(rows, next_cursor), media_type="application/json")


@router.get("/handoffs/{handoff_id}", response_model=HandoffDetail)
async def get_handoff(
    handoff_id: str,
    actor: CurrentUser,
    session: SessionDep,
    now: NowDep,
    provider: ProviderDep,
) -> HandoffDetail:
    data = await service.detail(
        session,
        actor=actor,
        handoff_id=handoff_id,
        provider=provider,
        now=now,
    )
    return HandoffDetail(
        **service.to_out(data.row).model_dump(), context=data.context, timeline=data.timeline
    )


@router.post("/handoffs/{handoff_id}/claim", response_model=HandoffOut)
async def claim(
    handoff_id: str,
    actor: SeniorUser,
    session: SessionDep,
    now: NowDep,
    bus: PublisherDep,
) -> Response:
    row = await service.claim(
        session,
        actor=actor,
        handoff_id=handoff_id,
        now=now,
        bus=bus,
    )
    # Encoded once, as the queue page is: the contended hot path (bench/http.py).
    return Response(service.to_out(row).model_dump_json(), media_type="application/json")


@router.post("/handoffs/{handoff_id}/assign", response_model=HandoffOut)
async def assign(
    handoff_id: str,
    body: AssignIn,
    actor: SeniorUser,
    session: SessionDep,
    now: NowDep,
    bus: PublisherDep,
) -> HandoffOut:
    row = await assign_mod.assign(
        session, actor=actor, handoff_id=handoff_id, user_id=body.user_id, now=now, bus=bus
    )
    return service.to_out(row)


@router.post("/handoffs/{handoff_id}/release", response_model=HandoffOut)
async def release(
    handoff_id: str,
    actor: SeniorUser,
    session: SessionDep,
    now: NowDep,
    bus: PublisherDep,
) -> HandoffOut:
    row = await service.release(
        session,
        actor=actor,
        handoff_id=handoff_id,
        now=now,
        bus=bus,
    )
    return service.to_out(row)


@router.post("/handoffs/{handoff_id}/resolve", response_model=HandoffOut)
async def resolve(
    handoff_id: str,
    body: ResolveIn,
    actor: SeniorUser,
    session: SessionDep,
    now: NowDep,
    bus: PublisherDep,
) -> HandoffOut:
    row = await service.resolve(
        session,
        actor=actor,
        handoff_id=handoff_id,
        resolution=body.resolution,
        now=now,
        bus=bus,
    )
    return service.to_out(row)


@router.post("/handoffs/{handoff_id}/cancel", response_model=HandoffOut)
async def cancel(
    handoff_id: str,
    actor: CurrentUser,
    session: SessionDep,
    now: NowDep,
    bus: PublisherDep,
) -> HandoffOut:
    row = await service.cancel(
        session,
        actor=actor,
        handoff_id=handoff_id,
        now=now,
        bus=bus,
    )
    return service.to_out(row)
