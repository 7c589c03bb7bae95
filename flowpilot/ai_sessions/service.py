"""AI sessions and steps: who may open, read and add to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.ai_sessions import repository as repo
from flowpilot.ai_sessions.schemas import StepOut
from flowpilot.events import service as events_service
from flowpilot.kernel.bus import Publisher
from flowpilot.kernel.errors import Conflict, Forbidden, Invalid
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.metrics import TIME_TO_FIRST_ACTION, note_duration
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models import AiSession, Step
from flowpilot.models.ai_sessions import ALL_STEP_KINDS, SessionStatus, StepKind
from flowpilot.models.events import EventType


def can_read(actor: Actor, ai_session: AiSession) -> bool:
    """Owner, assignee and the account's seniors may read a session."""
    return actor.is_senior or actor.id in (ai_session.owner_id, ai_session.assignee_id)


def can_add_step(actor: Actor, ai_session: AiSession) -> bool:
    """Owner (co-working with the claimer), current assignee and admins may write steps."""
    return actor.is_admin or actor.id in (ai_session.owner_id, ai_session.assignee_id)


async def open_session(
    session: AsyncSession,
    *,
    actor: Actor,
    title: str,
    problem: str,
    customer: str | None,
    asset: str | None,
    environment: dict[str, Any],
    now: datetime,
) -> AiSession:
    """Open a new AI session owned by and assigned to the caller."""
    ai_session = AiSession(
        account_id=actor.account_id,
        owner_id=actor.id,
        assignee_id=actor.id,
        title=title,
        problem=problem,
        customer=customer or None,
        asset=asset or None,
        environment=environment,
        status=SessionStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    await repo.add(session, ai_session)
    return ai_session


async def get_session(
    session: AsyncSession, *, actor: Actor, session_id: str, for_update: bool = False
) -> AiSession:
    """A session the caller may read; other accounts' sessions are 404, others' are 403."""
    ai_session = await repo.get_session(session, actor, session_id, for_update=for_update)
    if not can_read(actor, ai_session):
        raise Forbidden("you are not the owner or assignee of this session")
    return ai_session


async def get_session_scoped(
    session: AsyncSession, *, tenant: Tenant, session_id: str
) -> AiSession:
    """A session of the tenant's account, without a per-user check (for other services)."""
    return await repo.get_session(session, tenant, session_id)


async def list_sessions(
    session: AsyncSession,
    *,
    actor: Actor,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[AiSession]:
    """The caller's sessions (owned or assigned); admins see the account's. ``status``
    (``open`` or ``resolved``) narrows the list; None means every status."""
    return await repo.list_sessions(
        session,
        actor,
        user_id=None if actor.is_admin else actor.id,
        status=status,
        limit=limit,
        offset=offset,
    )


async def list_steps(
    session: AsyncSession, *, tenant: Tenant, session_id: str
) -> Sequence[tuple[Step, str | None]]:
    return await repo.list_steps(session, tenant, session_id)


async def add_step(
    session: AsyncSession,
    *,
    actor: Actor,
    session_id: str,
    kind: str,
    content: str,
    now: datetime,
    bus: Publisher | None = None,
) -> Step:
    """Add a step authored by the caller: the current assignee, the owner (co-working with the
    claimer of their escalation) or an admin may. Only the claimer's steps are its first action.
    """
    # Stamp the claimer's first action BEFORE locking the session: that UPDATE is the only
    # handoff row a step writes, and claim, release and resolve lock the handoff and then write
    # the session, so taking them in the same order cannot deadlock. A step that is refused
    # below rolls the stamp back with it.
    stamped = await repo.stamp_first_action(
        session, actor, session_id=session_id, actor_id=actor.id, at=now
    )
    for urgency, claimed_at in stamped:
        seconds = (now - claimed_at).total_seconds()
        note_duration(session, TIME_TO_FIRST_ACTION, urgency=urgency, seconds=seconds)
    # Locked, so a concurrent claim (re-assignment) or resolution is seen, not raced.
    ai_session = await repo.get_session(session, actor, session_id, for_update=True)
    if not can_add_step(actor, ai_session):
        if can_read(actor, ai_session):
            raise Forbidden(
                "only the session's owner, its current assignee or an admin may add steps"
            )
        raise Forbidden("you are not the owner or assignee of this session")
    if ai_session.status != SessionStatus.OPEN:
        raise Conflict(f"session is {ai_session.status}", status=ai_session.status)
    return await _append_step(
        session,
        ai_session,
        tenant=actor,
        author=(actor.id, actor.name),
        kind=kind,
        content=content,
        now=now,
        bus=bus,
    )


async def add_assistant_step(
    session: AsyncSession,
    *,
    tenant: Tenant,
    session_id: str,
    content: str,
    now: datetime,
    bus: Publisher | None = None,
) -> Step:
    """Record an assistant answer: no human author, so never anyone's first action."""
    ai_session = await repo.get_session(session, tenant, session_id)
    return await _append_step(
        session,
        ai_session,
        tenant=tenant,
        author=(None, None),
        kind=StepKind.ASSISTANT,
        content=content,
        now=now,
        bus=bus,
    )


async def _append_step(
    session: AsyncSession,
    ai_session: AiSession,
    *,
    tenant: Tenant,
    author: tuple[str | None, str | None],
    kind: str,
    content: str,
    now: datetime,
    bus: Publisher | None,
) -> Step:
    """Write the step and its ``step.created`` event (the session stream's), in one go."""
    actor_id, actor_name = author
    if kind not in ALL_STEP_KINDS:
        raise Invalid("kind", f"must be one of {', '.join(ALL_STEP_KINDS)}")
    step = Step(
        account_id=ai_session.account_id,
        session_id=ai_session.id,
        actor_id=actor_id,
        kind=kind,
        content=content,
        created_at=now,
    )
    ai_session.updated_at = now
    await repo.add(session, step)
    await events_service.append(
        session,
        tenant=tenant,
        type=EventType.STEP_CREATED,
        payload=step_payload(step, actor_name),
        now=now,
        bus=bus,
        session_id=ai_session.id,
        actor_id=actor_id,
    )
    return step


def step_payload(step: Step, actor_name: str | None) -> dict[str, Any]:
    """A step as the API answers it (and as ``step.created`` carries it): with its author."""
    out = StepOut.model_validate(step).model_copy(update={"actor_name": actor_name})
    return out.model_dump(mode="json")


async def assign(
    session: AsyncSession, *, ai_session: AiSession, assignee_id: str, now: datetime
) -> None:
    """Re-assign the session (a claim hands it to the claimer)."""
    ai_session.assignee_id = assignee_id
    ai_session.updated_at = now
    await session.flush()


async def assign_by_id(
    session: AsyncSession, *, tenant: Tenant, session_id: str, assignee_id: str, now: datetime
) -> None:
    """Re-assign a session of the tenant by id, without loading it."""
    await repo.set_assignee(session, tenant, session_id, assignee_id=assignee_id, now=now)


async def resolve_session(
    session: AsyncSession, *, actor: Actor, session_id: str, resolution: str, now: datetime
) -> AiSession:
    """Mark the session resolved; its owner, current assignee or an admin may (409 if done)."""
    ai_session = await repo.get_session(session, actor, session_id, for_update=True)
    if not actor.is_admin and actor.id not in (ai_session.owner_id, ai_session.assignee_id):
        raise Forbidden("only the session's owner, current assignee or an admin may resolve it")
    if ai_session.status == SessionStatus.RESOLVED:
        raise Conflict("session is already resolved", status=ai_session.status)
    # A live escalation is resolved through the escalation (which resolves the session too),
    # so the queue never shows work on a closed session.
    handoff_id = await repo.live_handoff_id(session, actor, session_id)
    if handoff_id is not None:
        raise Conflict(
            "session has a live escalation; resolve the escalation instead",
            status=ai_session.status,
            handoff_id=handoff_id,
        )
    await resolve(session, ai_session=ai_session, resolution=resolution, actor_id=actor.id, now=now)
    return ai_session


async def resolve(
    session: AsyncSession, *, ai_session: AiSession, resolution: str, actor_id: str, now: datetime
) -> None:
    """Record the resolution (no permission check: callers decide who may)."""
    ai_session.status = SessionStatus.RESOLVED
    ai_session.resolution = resolution
    ai_session.resolved_by_id = actor_id
    ai_session.resolved_at = now
    ai_session.updated_at = now
    await session.flush()
