"""The demo's six weeks of escalations: the metrics page, its chart, the hours-saved interval
and the verdict all show on the first run of ``flowpilot demo``.

Seeded, so every demo has the same history relative to the day it was made.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.ai_sessions import service as sessions
from flowpilot.analytics import service as analytics
from flowpilot.handoffs import service as handoffs
from flowpilot.kernel.identity import Actor
from flowpilot.models import Delivery
from flowpilot.models.notifications import DeliveryStatus

BASELINE_SECONDS = (1260, 1500, 1980, 900, 2400, 1680, 1140, 2100)
# Minutes to claim per urgency (low, high); a normal one now and then waits past its 60 min.
CLAIM_MINUTES = {"critical": (1, 4), "high": (3, 12), "normal": (8, 45), "low": (20, 200)}
PILOT_TOPICS = (
    ("Calendar invites not arriving for one mailbox", "Harbor Bakery"),
    ("Shared drive mapping lost after reboot", "Acme Dental"),
    ("Scanner to email fails with an SMTP error", "Northwind Legal"),
    ("Wi-Fi drops in the back office", "Harbor Bakery"),
    ("POS terminal cannot reach the card reader", "Corner Cafe"),
    ("Teams calls drop after 30 seconds", "Northwind Legal"),
)


async def pilot_history(
    session: AsyncSession, people: dict[str, Actor], *, now: datetime, weeks: int = 6
) -> int:
    """Escalations over the last ``weeks`` weeks, every urgency, claimed by the engineers, acted
    on and mostly resolved, a few claimed past their target (breaches), plus eight manual
    stopwatch times; their notices are marked skipped (history, not news). Returns how many."""
    rng = random.Random(15)
    tech, seniors = people["tom"], [people["erin"], people["sam"]]
    urgencies = ("critical", "high", "normal", "normal", "low")
    made: list[str] = []
    for day in range(weeks * 7, 0, -1):
        at = now - timedelta(days=day)
        if at.weekday() >= 5:
            continue  # weekends are quiet
        for n in range(rng.choice((1, 1, 2))):
            start = at.replace(hour=9 + 3 * n + rng.randrange(2), minute=rng.randrange(60))
            title, customer = rng.choice(PILOT_TOPICS)
            urgency = urgencies[len(made) % len(urgencies)]
            made.append(
                await _pilot_escalation(
                    session, tech, rng.choice(seniors), rng, title, customer, urgency, start
                )
            )
    for i, seconds in enumerate(BASELINE_SECONDS):
        await analytics.add_baseline(
            session,
            actor=people["erin"],
            seconds=seconds,
            note="Stopwatch, before FlowPilot: phone call until the first useful step",
            observed_at=now - timedelta(days=weeks * 7 + 7 - i),
            now=now,
        )
    await session.execute(
        update(Delivery)
        .where(Delivery.handoff_id.in_(made))
        .values(status=DeliveryStatus.SKIPPED, last_error="demo history: not sent")
    )
    return len(made)


async def _pilot_escalation(
    session: AsyncSession,
    tech: Actor,
    senior: Actor,
    rng: random.Random,
    title: str,
    customer: str,
    urgency: str,
    at: datetime,
) -> str:
    ai_session = await sessions.open_session(
        session,
        actor=tech,
        title=title,
        problem=f"{title}; the usual checks did not help.",
        customer=customer,
        asset=None,
        environment={},
        now=at,
    )
    at += timedelta(minutes=rng.randrange(3, 15))
    await sessions.add_step(
        session,
        actor=tech,
        session_id=ai_session.id,
        kind="action",
        content="Restarted the device and checked the obvious settings.",
        now=at,
    )
    row = await handoffs.escalate(
        session,
        actor=tech,
        session_id=ai_session.id,
        reason="First checks done; need a senior.",
        urgency=urgency,
        now=at,
        bus=None,
    )
    low, high = CLAIM_MINUTES[urgency]
    late = urgency == "normal" and rng.random() < 0.2
    claim_at = at + timedelta(minutes=rng.randrange(65, 95) if late else rng.uniform(low, high))
    session_id, handoff_id = ai_session.id, row.handoff.id
    await handoffs.claim(session, actor=senior, handoff_id=handoff_id, now=claim_at, bus=None)
    # The claim re-assigned the session in SQL; one transaction here, so reload it.
    session.expire(ai_session)
    acted_at = claim_at + timedelta(seconds=rng.randrange(90, 600))
    await sessions.add_step(
        session,
        actor=senior,
        session_id=session_id,
        kind="action",
        content="Checked the logs and applied the known fix.",
        now=acted_at,
    )
    if rng.random() < 0.85:
        await handoffs.resolve(
            session,
            actor=senior,
            handoff_id=handoff_id,
            resolution="Applied the known fix; the customer confirmed it works.",
            now=acted_at + timedelta(minutes=rng.randrange(5, 40)),
            bus=None,
        )
    return handoff_id
