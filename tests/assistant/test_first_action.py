"""Assistant steps never count as anyone's first action (checked through the analytics API)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from flowpilot.models import AiSession, Handoff
from tests.assistant.helpers import handoff_row
from tests.factories import add_step, open_session


async def test_assistant_answer_is_not_the_claimers_first_action(
    client, factory, db, clock
) -> None:  # type: ignore[no-untyped-def]
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    s = await open_session(client, tech)
    hid = await handoff_row(db, session_id=s["id"], escalator=tech, now=clock.now())
    claimed_at = clock.advance(seconds=30)
    async with db() as session:  # claimed by eng, as the handoffs service would
        handoff = (await session.execute(select(Handoff).where(Handoff.id == hid))).scalar_one()
        handoff.status, handoff.claimed_by_id, handoff.claimed_at = "claimed", eng.id, claimed_at
        ai = (await session.execute(select(AiSession).where(AiSession.id == s["id"]))).scalar_one()
        ai.assignee_id = eng.id
        await session.commit()

    clock.advance(seconds=20)
    asked = await client.post(f"/api/v1/sessions/{s['id']}/assistant", headers=eng.headers)
    assert asked.status_code == 200
    stats_url = "/api/v1/analytics/escalations?days=30"
    stats = (await client.get(stats_url, headers=eng.headers)).json()
    assert (stats["n_claimed"], stats["n_with_action"]) == (1, 0)
    assert stats["time_to_first_action"]["median_seconds"] is None

    clock.advance(seconds=100)
    await add_step(client, eng, s["id"], kind="action", content="Checked the spooler")
    stats = (await client.get(stats_url, headers=eng.headers)).json()
    assert stats["n_with_action"] == 1
    # 120 s after the claim: the step at +20 s was the assistant's, not the engineer's.
    assert stats["time_to_first_action"]["median_seconds"] == timedelta(seconds=120).seconds
