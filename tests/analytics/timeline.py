"""Build exact escalation timelines through the real services, at exact times on the test clock.

Every session, escalation, claim, release, step, resolution and cancellation is written by the
service a request would call (one transaction each, as a request commits), with the clock set
to the event's time. So the timings analytics reads (``claimed_at``, ``first_action_at``) are the
ones the write path maintains, never values a test wrote by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.ai_sessions import service as sessions_service
from flowpilot.handoffs import service as handoffs_service
from flowpilot.kernel.clock import FrozenClock
from flowpilot.models import AiSession, BaselineObservation
from tests.factories import Factory, TestUser

# Events at the same instant run in this order (a step at the very instant of a claim is after it).
_OPEN, _ESCALATE, _CLAIM, _STEP, _RELEASE, _CLOSE = range(6)

Write = Callable[[AsyncSession, datetime], Awaitable[object]]


@dataclass
class Escalation:
    """One escalation's events, run in time order; ``ids`` holds its ``"session"`` and
    ``"handoff"`` ids once the timeline is saved."""

    events: list[tuple[float, int, Write]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Timeline:
    """Escalations of one account (opened and escalated by ``tech``), at offsets (s) from ``t0``."""

    factory: Factory
    tech: TestUser
    t0: datetime
    pending: list[tuple[datetime, Escalation]] = field(default_factory=list)

    def at(self, seconds: float) -> datetime:
        return self.t0 + timedelta(seconds=seconds)

    def escalation(
        self,
        *,
        created: float,
        claimed: float | None = None,
        claimer: TestUser | None = None,
        status: str | None = None,
        steps: Sequence[tuple[float, TestUser | None]] = (),
        released: Sequence[tuple[float, TestUser, float]] = (),
    ) -> Escalation:
        """One session, escalated at ``created``.

        ``released``: earlier claims as (claimed, claimer, released) offsets; ``claimed`` and
        ``claimer``: the final claim; ``steps``: (offset, author, or None for the assistant);
        ``status`` ``"resolved"`` (by the claimer, after everything else) or ``"cancelled"`` (by
        the technician, 1 s after escalating). Steps go through the same permission checks as
        the API: after a claim only the claimer or an admin may write.
        """
        tech = self.tech.actor
        e = Escalation()

        async def open_session(session: AsyncSession, now: datetime) -> None:
            ai_session = await sessions_service.open_session(
                session,
                actor=tech,
                title="Printer offline",
                problem="Queue offline",
                customer=None,
                asset=None,
                environment={},
                now=now,
            )
            e.ids["session"] = ai_session.id

        async def escalate(session: AsyncSession, now: datetime) -> None:
            row = await handoffs_service.escalate(
                session,
                actor=tech,
                session_id=e.ids["session"],
                reason="stuck",
                urgency="normal",
                now=now,
                bus=None,
            )
            e.ids["handoff"] = row.handoff.id

        def claim(user: TestUser) -> Write:
            return lambda session, now: handoffs_service.claim(
                session, actor=user.actor, handoff_id=e.ids["handoff"], now=now, bus=None
            )

        def release(user: TestUser) -> Write:
            return lambda session, now: handoffs_service.release(
                session, actor=user.actor, handoff_id=e.ids["handoff"], now=now, bus=None
            )

        def step(author: TestUser | None) -> Write:
            if author is None:
                return lambda session, now: sessions_service.add_assistant_step(
                    session, tenant=tech, session_id=e.ids["session"], content="try X", now=now
                )
            return lambda session, now: sessions_service.add_step(
                session,
                actor=author.actor,
                session_id=e.ids["session"],
                kind="action",
                content="did something",
                now=now,
            )

        e.events += [(created - 600, _OPEN, open_session), (created, _ESCALATE, escalate)]
        for claim_at, user, release_at in released:
            e.events += [(claim_at, _CLAIM, claim(user)), (release_at, _RELEASE, release(user))]
        if claimed is not None:
            assert claimer is not None, "a claim needs its claimer"
            e.events.append((claimed, _CLAIM, claim(claimer)))
        e.events += [(offset, _STEP, step(author)) for offset, author in steps]
        if status == "resolved":
            assert claimer is not None, "only a claimed escalation can be resolved"
            last = max(offset for offset, _, _ in e.events)

            async def resolve(session: AsyncSession, now: datetime) -> None:
                await handoffs_service.resolve(
                    session,
                    actor=claimer.actor,
                    handoff_id=e.ids["handoff"],
                    resolution="fixed",
                    now=now,
                    bus=None,
                )

            e.events.append((last + 1, _CLOSE, resolve))
        elif status == "cancelled":
            e.events.append(
                (
                    created + 1,
                    _CLOSE,
                    lambda session, now: handoffs_service.cancel(
                        session, actor=tech, handoff_id=e.ids["handoff"], now=now, bus=None
                    ),
                )
            )
        else:
            assert status is None, f"unknown status {status!r}"
        self.pending.append((self.t0, e))
        return e

    async def save(self) -> None:
        """Run every escalation's events in time order, one committed transaction each, with
        the clock at the event's time; the clock is back where it was afterwards."""
        clock = self.factory.clock
        assert isinstance(clock, FrozenClock), "timelines move the tests' clock"
        back_to = clock.now()
        try:
            for t0, e in self.pending:
                for offset, _, write in sorted(e.events, key=lambda ev: (ev[0], ev[1])):
                    clock.set(t0 + timedelta(seconds=offset))
                    async with self.factory.db() as session:
                        await write(session, clock.now())
                        await session.commit()
        finally:
            clock.set(back_to)
        self.pending.clear()


async def add_baseline(
    db: async_sessionmaker[AsyncSession], user: TestUser, seconds: list[float], when: datetime
) -> None:
    async with db() as session:
        for i, value in enumerate(seconds):
            session.add(
                BaselineObservation(
                    id=_id(),
                    account_id=user.account_id,
                    seconds=value,
                    note=None,
                    observed_at=when - timedelta(days=i),
                    created_by_id=user.id,
                    created_at=when,
                    updated_at=when,
                )
            )
        await session.commit()


def _id() -> str:
    from flowpilot.kernel.db.base import new_id

    return new_id()


async def bare_session(session: AsyncSession, owner: TestUser, created: datetime) -> AiSession:
    """An AI session row written directly (for tests that write thousands of escalations)."""
    ai_session = AiSession(
        account_id=owner.account_id,
        owner_id=owner.id,
        assignee_id=owner.id,
        title="t",
        problem="p",
        created_at=created,
        updated_at=created,
    )
    session.add(ai_session)
    await session.flush()
    return ai_session
