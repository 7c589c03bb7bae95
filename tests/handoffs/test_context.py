"""The handoff context (four sections + timeline) and a session's handoffs."""

from __future__ import annotations

from tests.factories import add_step, open_session
from tests.handoffs.helpers import escalate, post


async def _story(client, team, clock):  # type: ignore[no-untyped-def]
    tech = team["tech"]
    s = await open_session(
        client,
        tech,
        title="Label printer offline",
        problem="Zebra ZT410 shows offline after firmware update",
        customer="Northwind",
        asset="ZT410-0042",
        environment={"os": "Windows 11", "driver": "5.1.7", "port": 9100},
    )
    contents = [
        ("action", "Power-cycled the printer"),
        ("result", "Still offline"),
        ("note", "Is the VLAN change related?"),
        ("action", "Reinstalled driver 5.1.7"),
        ("result", "Test page fails with error 0x1F"),
        ("note", "Root cause unclear"),
        ("note", "Customer is patient"),
    ]
    for kind, content in contents:
        await add_step(client, tech, s["id"], kind=kind, content=content)
        clock.advance(seconds=30)
    h = (await escalate(client, tech, s["id"], reason="Out of ideas", urgency="critical")).json()
    return s, h


async def test_context_sections(client, factory, clock):
    team = await factory.team()
    _, h = await _story(client, team, clock)
    r = await client.get(f"/api/v1/handoffs/{h['id']}", headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == h["id"] and body["status"] == "open"
    ctx = body["context"]
    problem = ctx["problem"]
    assert problem["title"] == "Label printer offline"
    assert problem["problem"].startswith("Zebra ZT410")
    assert problem["customer"] == "Northwind" and problem["asset"] == "ZT410-0042"
    assert problem["reason"] == "Out of ideas" and problem["urgency"] == "critical"
    assert problem["escalated_by"] == {"id": team["tech"].id, "name": team["tech"].name}
    assert problem["escalated_at"] == h["created_at"]

    tried = ctx["tried"]
    assert [t["content"] for t in tried][:2] == ["Power-cycled the printer", "Still offline"]
    assert len(tried) == 7
    assert all(t["author"]["id"] == team["tech"].id for t in tried)
    assert all(t["author"]["name"] == team["tech"].name for t in tried)
    assert [t["created_at"] for t in tried] == sorted(t["created_at"] for t in tried)

    assert ctx["environment"] == {"os": "Windows 11", "driver": "5.1.7", "port": "9100"}

    nxt = ctx["next_steps"]
    assert [q["content"] for q in nxt["open_questions"]] == [
        "Is the VLAN change related?",
        "Root cause unclear",
    ]
    assert nxt["last_result"]["content"] == "Test page fails with error 0x1F"
    assert nxt["suggestions"] == []

    assert [e["type"] for e in body["timeline"]] == ["handoff.created"]
    assert body["timeline"][0]["actor_name"] == team["tech"].name


async def test_context_timeline_grows_with_transitions(client, factory, clock):
    team = await factory.team()
    _, h = await _story(client, team, clock)
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/release")
    await post(client, team["eng2"], f"/api/v1/handoffs/{h['id']}/claim")
    body = (await client.get(f"/api/v1/handoffs/{h['id']}", headers=team["tech"].headers)).json()
    assert [(e["type"], e["actor_id"]) for e in body["timeline"]] == [
        ("handoff.created", team["tech"].id),
        ("handoff.claimed", team["eng"].id),
        ("handoff.released", team["eng"].id),
        ("handoff.claimed", team["eng2"].id),
    ]


async def test_next_steps_without_results_or_questions(client, factory):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    h = (await escalate(client, team["tech"], s["id"])).json()
    ctx = (await client.get(f"/api/v1/handoffs/{h['id']}", headers=team["admin"].headers)).json()[
        "context"
    ]
    assert ctx["tried"] == []
    assert ctx["next_steps"] == {"open_questions": [], "last_result": None, "suggestions": []}
    assert ctx["environment"] == {}


async def test_who_may_read_the_context(client, factory, clock):
    team = await factory.team()
    _, h = await _story(client, team, clock)
    other_tech = await factory.user(team["tech"].account_id, role="technician")
    for user, code in [
        (team["tech"], 200),
        (team["eng"], 200),
        (team["admin"], 200),
        (other_tech, 403),
    ]:
        r = await client.get(f"/api/v1/handoffs/{h['id']}", headers=user.headers)
        assert r.status_code == code, (user.role, r.text)
    assert (await client.get(f"/api/v1/handoffs/{h['id']}")).status_code == 401


async def test_session_handoffs_with_timelines(client, factory, clock):
    team = await factory.team()
    tech = team["tech"]
    s = await open_session(client, tech)
    first = (await escalate(client, tech, s["id"])).json()
    await post(client, tech, f"/api/v1/handoffs/{first['id']}/cancel")
    clock.advance(minutes=1)
    second = (await escalate(client, tech, s["id"], urgency="critical")).json()
    await post(client, team["eng"], f"/api/v1/handoffs/{second['id']}/claim")
    r = await client.get(f"/api/v1/sessions/{s['id']}/handoffs", headers=tech.headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == [second["id"], first["id"]]
    assert [e["type"] for e in items[0]["timeline"]] == ["handoff.created", "handoff.claimed"]
    assert [e["type"] for e in items[1]["timeline"]] == ["handoff.created", "handoff.cancelled"]
    assert items[0]["claimed_by_name"] == team["eng"].name
    other_tech = await factory.user(tech.account_id, role="technician")
    r = await client.get(f"/api/v1/sessions/{s['id']}/handoffs", headers=other_tech.headers)
    assert r.status_code == 403
    other = await factory.team()
    r = await client.get(f"/api/v1/sessions/{s['id']}/handoffs", headers=other["admin"].headers)
    assert r.status_code == 404
