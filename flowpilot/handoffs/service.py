"""Escalations: escalate, queue, atomic claim, release, resolve, cancel, handoff context.

Every transition writes the handoff row and its audit event in the caller's transaction, so
they commit (and are published) together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.ai_sessions import service as ai_sessions_service
from flowpilot.assistant import service as assistant_service
from flowpilot.events import service as events_service
from flowpilot.handoffs import claim_sql
from flowpilot.handoffs import context as context_mod
from flowpilot.handoffs import queue as queue_mod
from flowpilot.handoffs import repository as repo
from flowpilot.handoffs.repository import HandoffRow
from flowpilot.handoffs.schemas import HandoffContext, HandoffOut, TimelineEntry
from flowpilot.kernel.bus import Publisher
from flowpilot.kernel.errors import Conflict, Forbidden, NotFound
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.metrics import TIME_TO_CLAIM, note_duration
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models import AiSession, Event, Handoff
from flowpilot.models.ai_sessions import SessionStatus
from flowpilot.models.events import EventType
from flowpilot.models.handoffs import TRIAGE_RANK, HandoffStatus
from flowpilot.notifications import service as notifications_service

QUEUE_FILTERS = queue_mod.QUEUE_FILTERS


def to_out(row: HandoffRow) -> HandoffOut:
    """The flat handoff view used for API answers and event payloads alike."""
    h = row.handoff
    return HandoffOut(
        id=h.id,
        session_id=h.session_id,
        account_id=h.account_id,
        status=h.status,
        reason=h.reason,
        urgency=h.urgency,
        escalated_by_id=h.escalated_by_id,
        claimed_by_id=h.claimed_by_id,
        created_at=h.created_at,
        claimed_at=h.claimed_at,
        resolved_at=h.resolved_at,
        claim_due_at=h.claim_due_at,
        breached_at=h.breached_at,
        first_action_at=h.first_action_at,
        assigned_at=h.assigned_at,
        session_title=row.session_title,
        customer=row.customer,
        asset=row.asset,
        escalated_by_name=row.escalated_by_name,
        claimed_by_name=row.claimed_by_name,
    )


def event_payload(row: HandoffRow) -> dict[str, Any]:
    """The event's JSON payload (also the SSE ``data:``): the handoff, flat, ISO times."""
    return to_out(row).model_dump(mode="json")


def timeline_entries(events: Sequence[tuple[Event, str | None]]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            id=e.id,
            type=e.type,
            actor_id=e.actor_id,
            actor_name=name,
            created_at=e.created_at,
            payload=e.payload or {},
        )
        for e, name in events
    ]


async def _load_row(session: AsyncSession, actor: Actor, handoff_id: str) -> HandoffRow:
    row = await repo.get_row(session, actor, handoff_id)
    if row is None:
        raise NotFound("handoff not found")
    return row


def _ai_session(row: HandoffRow) -> AiSession:
    assert row.ai_session is not None, "rows loaded by the repository carry their AI session"
    return row.ai_session


async def _record(session: AsyncSession, *, actor: Actor, **what: Any) -> Event:
    """:func:`record` of what ``actor`` did (``row``, ``type``, ``now``, ``bus``, ...)."""
    return await record(session, tenant=actor, by=actor.id, **what)


async def record(
    session: AsyncSession,
    *,
    tenant: Tenant,
    row: HandoffRow,
    type: str,
    now: datetime,
    bus: Publisher | None,
    by: str | None,
    extra: dict[str, Any] | None = None,
    notify: bool = False,
    appended: tuple[int, dict[str, Any]] | None = None,
) -> Event:
    """The event of one handoff transition (payload: the handoff as it is now, plus ``extra``;
    ``by`` None: the system did it); with ``notify``, the deliveries it calls for are planned in
    the same transaction. ``appended``: the database already appended it (id, payload)."""
    event = await events_service.append(
        session,
        tenant=tenant,
        type=type,
        payload=appended[1] if appended else {**event_payload(row), **(extra or {})},
        now=now,
        bus=bus,
        handoff_id=row.handoff.id,
        session_id=row.handoff.session_id,
        actor_id=by,
        appended_id=appended[0] if appended else None,
    )
    if notify:
        await notifications_service.plan_deliveries(
            session, handoff=row.handoff, event=event, now=now
        )
    return event


def _live_conflict(existing: Handoff | None) -> Conflict:
    return Conflict(
        "this session already has a live escalation",
        handoff_id=existing.id if existing else None,
        status=existing.status if existing else None,
    )


async def escalate(
    session: AsyncSession,
    *,
    actor: Actor,
    session_id: str,
    reason: str,
    urgency: str,
    now: datetime,
    bus: Publisher | None,
) -> HandoffRow:
    """Escalate the caller's own open session; at most one live handoff per session."""
    ai_session = await ai_sessions_service.get_session_scoped(
        session, tenant=actor, session_id=session_id
    )
    if ai_session.owner_id != actor.id:
        raise Forbidden("only the session's owner may escalate it")
    if ai_session.status != SessionStatus.OPEN:
        raise Conflict(f"session is {ai_session.status}", status=ai_session.status)
    existing = await repo.live_for_session(session, actor, session_id)
    if existing is not None:
        raise _live_conflict(existing)
    target = await accounts_service.claim_target_minutes(session, tenant=actor, urgency=urgency)
    handoff = Handoff(
        account_id=actor.account_id,
        session_id=session_id,
        status=HandoffStatus.OPEN,
        reason=reason,
        urgency=urgency,
        triage_rank=TRIAGE_RANK[urgency],
        escalated_by_id=actor.id,
        created_at=now,
        updated_at=now,
        claim_due_at=now + timedelta(minutes=target),
    )
    try:
        # A concurrent escalation can pass the read above; the partial unique index stops it.
        # The savepoint keeps the request's transaction usable so it answers a clean 409.
        async with session.begin_nested():
            await repo.add(session, handoff)
    except IntegrityError:
        raise _live_conflict(await repo.live_for_session(session, actor, session_id)) from None
    row = HandoffRow(
        handoff, ai_session.title, ai_session.customer, ai_session.asset, actor.name, None
    )
    await _record(
        session, actor=actor, row=row, type=EventType.HANDOFF_CREATED, now=now, bus=bus, notify=True
    )
    return row


def _require_senior(actor: Actor, what: str) -> None:
    if not actor.is_senior:
        raise Forbidden(f"only engineers and admins may {what} an escalation")


async def claim(
    session: AsyncSession, *, actor: Actor, handoff_id: str, now: datetime, bus: Publisher | None
) -> HandoffRow:
    """Atomically claim an open handoff; of simultaneous claimers exactly one wins.

    Claiming what the caller already holds answers the handoff again (no second event)."""
    _require_senior(actor, "claim")
    outcome = await claim_sql.claim(session, actor, handoff_id=handoff_id, now=now)
    row = outcome.row
    if row is None:
        if outcome.holder is None:
            raise NotFound("handoff not found")
        status, claimed_by_id, claimed_by_name = outcome.holder
        if status == HandoffStatus.CLAIMED and claimed_by_id == actor.id:
            return await _load_row(session, actor, handoff_id)  # already yours: idempotent
        if status == HandoffStatus.CLAIMED:
            detail = f"already claimed by {claimed_by_name or claimed_by_id}"
        else:
            detail = f"handoff is {status}; only an open handoff can be claimed"
        raise Conflict(
            detail, status=status, claimed_by_id=claimed_by_id, claimed_by_name=claimed_by_name
        )
    # The claim returned everything the answer and the event need: no reload.
    if outcome.event is None:  # else the database re-assigned the session and appended it
        await ai_sessions_service.assign_by_id(
            session, tenant=actor, session_id=row.handoff.session_id, assignee_id=actor.id, now=now
        )
    claimed = EventType.HANDOFF_CLAIMED
    await _record(
        session, actor=actor, row=row, type=claimed, now=now, bus=bus, appended=outcome.event
    )
    if row.handoff.claimed_at is not None:
        seconds = (row.handoff.claimed_at - row.handoff.created_at).total_seconds()
        note_duration(session, TIME_TO_CLAIM, urgency=row.handoff.urgency, seconds=seconds)
    return row


async def _locked_claimed(
    session: AsyncSession, actor: Actor, handoff_id: str, what: str
) -> Handoff:
    """The handoff row-locked, if it is claimed and the caller is its claimer or an admin."""
    _require_senior(actor, what)
    handoff = await repo.get(session, actor, handoff_id, for_update=True)
    if handoff.status != HandoffStatus.CLAIMED:
        raise Conflict(
            f"handoff is {handoff.status}; only a claimed handoff can be {what}d",
            status=handoff.status,
            claimed_by_id=handoff.claimed_by_id,
        )
    if handoff.claimed_by_id != actor.id and not actor.is_admin:
        raise Forbidden(f"only the claimer or an admin may {what} this escalation")
    return handoff


async def release(
    session: AsyncSession, *, actor: Actor, handoff_id: str, now: datetime, bus: Publisher | None
) -> HandoffRow:
    """Put a claimed handoff back in the queue; the session returns to its owner."""
    handoff = await _locked_claimed(session, actor, handoff_id, "release")
    handoff.status = HandoffStatus.OPEN
    handoff.claimed_by_id = None
    handoff.claimed_at = None
    # The first action belonged to this claim; a re-claim measures from its own claim.
    handoff.first_action_at = None
    handoff.updated_at = now
    await session.flush()
    row = await _load_row(session, actor, handoff_id)
    ai_session = _ai_session(row)
    await ai_sessions_service.assign(
        session, ai_session=ai_session, assignee_id=ai_session.owner_id, now=now
    )
    await _record(session, actor=actor, row=row, type=EventType.HANDOFF_RELEASED, now=now, bus=bus)
    return row


async def resolve(
    session: AsyncSession,
    *,
    actor: Actor,
    handoff_id: str,
    resolution: str,
    now: datetime,
    bus: Publisher | None,
) -> HandoffRow:
    """Resolve a claimed handoff and its AI session with the given resolution."""
    handoff = await _locked_claimed(session, actor, handoff_id, "resolve")
    handoff.status = HandoffStatus.RESOLVED
    handoff.resolution = resolution
    handoff.resolved_by_id = actor.id
    handoff.resolved_at = now
    handoff.updated_at = now
    await session.flush()
    row = await _load_row(session, actor, handoff_id)
    ai_session = _ai_session(row)
    if ai_session.status == SessionStatus.OPEN:
        await ai_sessions_service.resolve(
            session, ai_session=ai_session, resolution=resolution, actor_id=actor.id, now=now
        )
    await _record(session, actor=actor, row=row, type=EventType.HANDOFF_RESOLVED, now=now, bus=bus)
    return row


async def cancel(
    session: AsyncSession, *, actor: Actor, handoff_id: str, now: datetime, bus: Publisher | None
) -> HandoffRow:
    """The escalator withdraws an escalation nobody has claimed yet."""
    handoff = await repo.get(session, actor, handoff_id, for_update=True)
    if handoff.escalated_by_id != actor.id:
        raise Forbidden("only the person who escalated may cancel this escalation")
    if handoff.status != HandoffStatus.OPEN:
        raise Conflict(
            f"handoff is {handoff.status}; only an open handoff can be cancelled",
            status=handoff.status,
            claimed_by_id=handoff.claimed_by_id,
        )
    handoff.status = HandoffStatus.CANCELLED
    handoff.cancelled_at = now
    if handoff.breached_at is None and handoff.claim_due_at and handoff.claim_due_at <= now:
        handoff.breached_at = now  # withdrawn after the due time: the breach counts
    handoff.updated_at = now
    await session.flush()
    row = await _load_row(session, actor, handoff_id)
    await _record(session, actor=actor, row=row, type=EventType.HANDOFF_CANCELLED, now=now, bus=bus)
    return row


# The queue (filters, sort orders, cursors and their SQL) lives in handoffs/queue.py.
queue = queue_mod.queue
queue_counts = queue_mod.counts


def can_read(actor: Actor, handoff: Handoff) -> bool:
    """The account's seniors and the escalator may read a handoff."""
    return actor.is_senior or actor.id == handoff.escalated_by_id


@dataclass(frozen=True)
class HandoffDetailData:
    row: HandoffRow
    context: HandoffContext
    timeline: list[TimelineEntry]


async def get_row(session: AsyncSession, *, actor: Actor, handoff_id: str) -> HandoffRow:
    """A handoff the caller may read (404 other accounts, 403 other technicians)."""
    row = await _load_row(session, actor, handoff_id)
    if not can_read(actor, row.handoff):
        raise Forbidden("only engineers, admins and the escalator may read this escalation")
    return row


async def detail(
    session: AsyncSession,
    *,
    actor: Actor,
    handoff_id: str,
    provider: assistant_service.Provider | None = None,
    now: datetime | None = None,
) -> HandoffDetailData:
    """The handoff with its four-section context and its audit timeline.

    ``next_steps.suggestions`` come from the assistant's cached handoff summary. The offline
    provider is cheap and local, so a missing summary is generated (and cached) here; a model's
    summary is generated by ``/handoffs/{id}/summary`` instead, so a page read never waits on it.
    """
    row = await get_row(session, actor=actor, handoff_id=handoff_id)
    ai_session = _ai_session(row)
    steps = await ai_sessions_service.list_steps(
        session, tenant=actor, session_id=row.handoff.session_id
    )
    events = await events_service.timeline(session, tenant=actor, handoff_id=handoff_id)
    context = context_mod.build(row, ai_session, steps)
    summary = assistant_service.cached_summary(row.handoff)
    offline = provider is not None and provider.generated_by == "offline"
    if summary is None and offline and provider is not None and now is not None:
        summary = await assistant_service.handoff_summary(
            session, tenant=actor, handoff_id=handoff_id, provider=provider, now=now
        )
    if summary:
        context.next_steps.suggestions = assistant_service.suggestion_lines(summary)
    return HandoffDetailData(row=row, context=context, timeline=timeline_entries(events))


async def session_handoffs(
    session: AsyncSession, *, actor: Actor, session_id: str
) -> list[tuple[HandoffRow, list[TimelineEntry]]]:
    """A session's handoffs (newest first), each with its timeline, for whoever may read it."""
    await ai_sessions_service.get_session(session, actor=actor, session_id=session_id)
    rows = await repo.for_session(session, actor, session_id)
    events = await events_service.timeline(session, tenant=actor, session_id=session_id)
    by_handoff: dict[str | None, list[tuple[Event, str | None]]] = {}
    for event, name in events:
        by_handoff.setdefault(event.handoff_id, []).append((event, name))
    return [(row, timeline_entries(by_handoff.get(row.handoff.id, []))) for row in rows]
