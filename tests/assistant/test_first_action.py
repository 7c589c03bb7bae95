"""Assistant steps never count as anyone's first action (checked through the analytics API)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from flowpilot.models import Handoff
from tests.assistant.helpers import handoff_row
from tests.assistant.test_endpoints import split_answer
from tests.factories import add_step, open_session


async def test_assistant_answer_is_not_the_claimers_first_action(
    client, factory, db, clock
) -> None:  # type: ignore[no-untyped-def]
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    s = await open_session(client, tech)
    hid = await handoff_row(db, session_id=s["id"], escalator=tech, now=clock.now())
    clock.advance(seconds=30)
    claimed = await client.post(f"/api/v1/handoffs/{hid}/claim", headers=eng.headers)
    assert claimed.status_code == 200, claimed.text

    clock.advance(seconds=20)
    asked = await client.post(f"/api/v1/sessions/{s['id']}/assistant", headers=eng.headers)
    assert asked.status_code == 200
    answer, token = split_answer(asked.text)
    kept = await client.post(
        f"/api/v1/sessions/{s['id']}/assistant/keep",
        json={"answer": answer, "token": token},
        headers=eng.headers,  # the claimer is the assignee now
    )
    assert kept.status_code == 201, kept.text
    stats_url = "/api/v1/analytics/escalations?days=30"
    stats = (await client.get(stats_url, headers=eng.headers)).json()
    assert (stats["n_claimed"], stats["n_with_action"]) == (1, 0)
    assert stats["time_to_first_action"]["median_seconds"] is None
    async with db() as session:  # the assistant's step left no first action on the handoff
        handoff = (await session.execute(select(Handoff).where(Handoff.id == hid))).scalar_one()
        assert handoff.first_action_at is None

    clock.advance(seconds=100)
    await add_step(client, eng, s["id"], kind="action", content="Checked the spooler")
    stats = (await client.get(stats_url, headers=eng.headers)).json()
    assert stats["n_with_action"] == 1
    # 120 s after the claim: the step kept at +20 s was the assistant's, not the engineer's.
    assert stats["time_to_first_action"]["median_seconds"] == timedelta(seconds=120).seconds
