"""Build exact escalation timelines straight into the database (no HTTP, exact timestamps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.models import AiSession, BaselineObservation, Handoff, Step
from tests.factories import TestUser


@dataclass
class Timeline:
    """Escalations of one account, each at offsets (seconds) from ``t0``."""

    db: async_sessionmaker[AsyncSession]
    tech: TestUser
    t0: datetime
    objects: list[object] = field(default_factory=list)

    def at(self, seconds: float) -> datetime:
        return self.t0 + timedelta(seconds=seconds)

    def escalation(
        self,
        *,
        created: float,
        claimed: float | None = None,
        claimer: TestUser | None = None,
        status: str | None = None,
        steps: list[tuple[float, TestUser | None]] = (),  # type: ignore[assignment]
    ) -> Handoff:
        """One session + handoff; ``steps`` are (offset, author or None for the assistant)."""
        s = AiSession(
            account_id=self.tech.account_id,
            owner_id=self.tech.id,
            assignee_id=claimer.id if claimer else self.tech.id,
            title="Printer offline",
            problem="Queue offline",
            environment={},
            status="open",
            created_at=self.at(created - 600),
            updated_at=self.at(created),
        )
        s.id = _id()
        h = Handoff(
            id=_id(),
            account_id=self.tech.account_id,
            session_id=s.id,
            status=status or ("claimed" if claimed is not None else "open"),
            reason="stuck",
            urgency="normal",
            escalated_by_id=self.tech.id,
            claimed_by_id=claimer.id if claimed is not None and claimer else None,
            created_at=self.at(created),
            claimed_at=self.at(claimed) if claimed is not None else None,
            updated_at=self.at(created),
        )
        self.objects += [s, h]
        for offset, author in steps:
            self.objects.append(
                Step(
                    id=_id(),
                    account_id=self.tech.account_id,
                    session_id=s.id,
                    actor_id=author.id if author else None,
                    kind="action" if author else "assistant",
                    content="did something",
                    created_at=self.at(offset),
                )
            )
        return h

    async def save(self) -> None:
        async with self.db() as session:
            # Sessions before handoffs before steps (foreign keys).
            for kind in (AiSession, Handoff, Step):
                session.add_all([o for o in self.objects if isinstance(o, kind)])
                await session.flush()
            await session.commit()
        self.objects.clear()


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
    from flowpilot.db import new_id

    return new_id()
