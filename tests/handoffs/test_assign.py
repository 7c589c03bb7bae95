"""Hand an escalation to a named senior: who may, to whom, and what the new holder gets."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.clock import FrozenClock
from tests.factories import Factory, add_step
from tests.handoffs.helpers import (
    deliveries_of_event,
    escalated,
    events_of,
    handoff_row,
    post,
    session_row,
    snapshot,
)


def _assign(handoff_id: str) -> str:
    return f"/api/v1/handoffs/{handoff_id}/assign"


async def test_the_claimer_hands_it_to_a_named_senior(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    eng, eng2 = team["eng"], team["eng2"]
    h = await escalated(client, team["tech"])
    assert (await post(client, eng, f"/api/v1/handoffs/{h['id']}/claim")).status_code == 200
    await add_step(client, eng, h["session_id"], content="Checked the spooler")
    clock.advance(minutes=3)
    r = await post(client, eng, _assign(h["id"]), {"user_id": eng2.id})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "claimed" and body["claimed_by_id"] == eng2.id
    assert body["claimed_by_name"] == eng2.name
    # The new holder has not acted yet: their first action counts from the hand-over.
    assert body["first_action_at"] is None
    assert body["assigned_at"] is not None
    row = await handoff_row(db, h["id"])
    assert row.assigned_at == clock.now() and row.first_action_at is None
    assert (await session_row(db, h["session_id"])).assignee_id == eng2.id
    events = await events_of(db, h["id"])
    assigned = events[-1]
    assert assigned.type == "handoff.assigned" and assigned.actor_id == eng.id
    assert assigned.payload["claimed_by_id"] == eng2.id
    assert assigned.payload["previous_claimed_by_id"] == eng.id
    rows = await deliveries_of_event(db, assigned)
    assert [(d.channel, d.recipient_id) for d in rows] == [("email", eng2.id)]
    listed = await client.get(f"/api/v1/handoffs/{h['id']}/deliveries", headers=eng.headers)
    assert [i["kind"] for i in listed.json()["items"]].count("assigned") == 1

    # The previous holder may no longer add steps; the new one does, and that is their first.
    refused = await client.post(
        f"/api/v1/sessions/{h['session_id']}/steps",
        json={"kind": "note", "content": "still me"},
        headers=eng.headers,
    )
    assert refused.status_code == 403
    clock.advance(seconds=45)
    await add_step(client, eng2, h["session_id"], content="Replaced the cable")
    assert (await handoff_row(db, h["id"])).first_action_at == clock.now()
    stats = await client.get("/api/v1/analytics/escalations", headers=eng.headers)
    assert stats.json()["time_to_first_action"]["median_seconds"] == 45.0
    assert "hand-over" in stats.json()["metric_definition"]


async def test_an_admin_hands_an_open_escalation_to_a_senior(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    h = await escalated(client, team["tech"])
    clock.advance(minutes=1)
    r = await post(client, team["admin"], _assign(h["id"]), {"user_id": team["eng"].id})
    assert r.status_code == 200, r.text
    row = await handoff_row(db, h["id"])
    assert row.status == "claimed" and row.claimed_by_id == team["eng"].id
    assert row.claimed_at == clock.now() == row.assigned_at
    # An admin may also take it from its holder and hand it to someone else, or to themselves.
    r = await post(client, team["admin"], _assign(h["id"]), {"user_id": team["admin"].id})
    assert r.status_code == 200, r.text
    assert r.json()["claimed_by_id"] == team["admin"].id
    types = [e.type for e in await events_of(db, h["id"])]
    assert types == ["handoff.created", "handoff.assigned", "handoff.assigned"]


async def test_refusals_name_the_field_and_change_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
) -> None:
    team = await factory.team()
    other = await factory.team()
    inactive = await factory.user(team["tech"].account_id, role="engineer", active=False)
    h = await escalated(client, team["tech"])
    assert (await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")).status_code == 200
    before = snapshot(await handoff_row(db, h["id"]))
    n_events = len(await events_of(db, h["id"]))
    for user_id in (team["tech"].id, other["eng"].id, inactive.id, "no-such-user", team["eng"].id):
        r = await post(client, team["eng"], _assign(h["id"]), {"user_id": user_id})
        assert r.status_code == 422, (user_id, r.text)
        assert "user_id" in r.text
    r = await post(client, team["eng"], _assign(h["id"]), {})
    assert r.status_code == 422 and "user_id" in r.text
    # Not the claimer and not an admin; a technician; another account's admin.
    r = await post(client, team["eng2"], _assign(h["id"]), {"user_id": team["eng2"].id})
    assert r.status_code == 403
    r = await post(client, team["tech"], _assign(h["id"]), {"user_id": team["eng2"].id})
    assert r.status_code == 403
    r = await post(client, other["admin"], _assign(h["id"]), {"user_id": other["eng"].id})
    assert r.status_code == 404
    assert snapshot(await handoff_row(db, h["id"])) == before
    assert len(await events_of(db, h["id"])) == n_events

    # An engineer cannot hand an open escalation (only admins may); a resolved one is final.
    open_one = await escalated(client, team["tech"])
    r = await post(client, team["eng"], _assign(open_one["id"]), {"user_id": team["eng2"].id})
    assert r.status_code == 403
    resolved = await post(
        client, team["eng"], f"/api/v1/handoffs/{h['id']}/resolve", {"resolution": "Cable"}
    )
    assert resolved.status_code == 200
    r = await post(client, team["admin"], _assign(h["id"]), {"user_id": team["eng2"].id})
    assert r.status_code == 409


async def test_hand_to_control_on_the_context_and_session_pages(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    h = await escalated(client, team["tech"])
    assert (await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")).status_code == 200
    client.cookies.set("flowpilot_session", team["eng"].token)
    for url in (f"/escalations/{h['id']}", f"/sessions/{h['session_id']}"):
        html = (await client.get(url, headers={"accept": "text/html"})).text
        assert "Hand to…" in html, url
        assert f'value="{team["eng2"].id}"' in html and f'value="{team["admin"].id}"' in html
        assert f'value="{team["eng"].id}"' not in html  # not to the holder themselves
        assert f'value="{team["tech"].id}"' not in html
    # Someone who may not hand it on sees no control.
    client.cookies.set("flowpilot_session", team["eng2"].token)
    html = (await client.get(f"/escalations/{h['id']}", headers={"accept": "text/html"})).text
    assert "Hand to…" not in html
