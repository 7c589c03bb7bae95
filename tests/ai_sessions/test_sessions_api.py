"""AI sessions and their steps through the public API."""

from __future__ import annotations

from flowpilot.ai_sessions import service
from flowpilot.models import AiSession
from tests.factories import add_step, open_session


async def reassign(db, clock, session_id: str, user_id: str) -> None:
    async with db() as s:
        ai_session = await s.get(AiSession, session_id)
        assert ai_session is not None
        await service.assign(s, ai_session=ai_session, assignee_id=user_id, now=clock.now())
        await s.commit()


async def test_open_session_belongs_to_and_is_assigned_to_the_caller(client, factory, clock):
    tech = await factory.user()
    env = {"os": "Windows 11", "ram_gb": 16, "vpn": True}
    s = await open_session(client, tech, customer="Acme", asset="HP M507", environment=env)
    assert s["owner_id"] == s["assignee_id"] == tech.id
    assert s["account_id"] == tech.account_id
    assert s["status"] == "open"
    assert (s["customer"], s["asset"]) == ("Acme", "HP M507")
    # Environment is key/value text.
    assert s["environment"] == {"os": "Windows 11", "ram_gb": "16", "vpn": "true"}
    assert s["resolution"] is None and s["resolved_at"] is None
    assert s["created_at"].startswith(clock.now().isoformat()[:19])


async def test_optional_fields_default_to_empty(client, factory):
    tech = await factory.user()
    s = await open_session(client, tech, customer="")
    assert s["customer"] is None and s["asset"] is None
    assert s["environment"] == {}


async def test_get_returns_steps_in_order_with_their_authors(client, factory, db, clock):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    first = await add_step(client, team["tech"], s["id"], "note", "Customer called")
    clock.advance(seconds=5)
    second = await add_step(client, team["tech"], s["id"], "action", "Rebooted spooler")
    await reassign(db, clock, s["id"], team["eng"].id)
    clock.advance(seconds=5)
    third = await add_step(client, team["eng"], s["id"], "result", "Queue back online")
    # Same timestamp as the one before: order still follows creation.
    fourth = await add_step(client, team["eng"], s["id"], "note", "Told the customer")
    r = await client.get(f"/api/v1/sessions/{s['id']}", headers=team["tech"].headers)
    assert r.status_code == 200
    steps = r.json()["steps"]
    assert [st["id"] for st in steps] == [first["id"], second["id"], third["id"], fourth["id"]]
    assert [st["actor_id"] for st in steps] == [team["tech"].id] * 2 + [team["eng"].id] * 2
    assert [st["kind"] for st in steps] == ["note", "action", "result", "note"]
    assert steps[2]["actor_name"] == team["eng"].name
    assert r.json()["assignee_id"] == team["eng"].id


async def test_step_records_its_author(client, factory):
    tech = await factory.user()
    s = await open_session(client, tech)
    step = await add_step(client, tech, s["id"], "action", "Ran ipconfig /all")
    assert {"id", "kind", "content", "actor_id", "created_at"} <= step.keys()
    assert (step["kind"], step["content"], step["actor_id"]) == (
        "action",
        "Ran ipconfig /all",
        tech.id,
    )


async def test_technician_lists_own_sessions_admin_lists_the_accounts(client, factory, db, clock):
    team = await factory.team()
    t1 = await open_session(client, team["tech"], title="mine")
    other_tech = await factory.user(team["tech"].account_id)
    t2 = await open_session(client, other_tech, title="theirs")
    e1 = await open_session(client, team["eng"], title="engineer's")
    await reassign(db, clock, t2["id"], team["eng"].id)
    await factory.user()  # another account, with a session of its own below
    stranger = await factory.user()
    await open_session(client, stranger)

    async def ids(user):
        r = await client.get("/api/v1/sessions", headers=user.headers)
        assert r.status_code == 200
        return {s["id"] for s in r.json()["items"]}

    assert await ids(team["tech"]) == {t1["id"]}
    assert await ids(other_tech) == {t2["id"]}  # still the owner after reassignment
    assert await ids(team["eng"]) == {e1["id"], t2["id"]}  # own and assigned
    assert await ids(team["eng2"]) == set()
    assert await ids(team["admin"]) == {t1["id"], t2["id"], e1["id"]}


async def test_list_is_newest_first_and_pages(client, factory, clock):
    tech = await factory.user()
    made = []
    for n in range(3):
        made.append((await open_session(client, tech, title=f"s{n}"))["id"])
        clock.advance(minutes=1)
    r = await client.get("/api/v1/sessions?limit=2", headers=tech.headers)
    assert [s["id"] for s in r.json()["items"]] == made[::-1][:2]
    r = await client.get("/api/v1/sessions?limit=2&offset=2", headers=tech.headers)
    assert [s["id"] for s in r.json()["items"]] == [made[0]]
    for query, field in (("limit=0", "limit"), ("limit=201", "limit"), ("offset=-1", "offset")):
        bad = await client.get(f"/api/v1/sessions?{query}", headers=tech.headers)
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["field"] == field


async def test_only_the_owner_the_assignee_or_an_admin_adds_steps(client, factory, db, clock):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    url = f"/api/v1/sessions/{s['id']}/steps"
    body = {"kind": "note", "content": "x"}
    # A senior who can read the session is still not its assignee.
    assert (await client.post(url, json=body, headers=team["eng"].headers)).status_code == 403
    await reassign(db, clock, s["id"], team["eng"].id)
    # The owner, no longer the assignee, still co-works on their session.
    r = await client.post(url, json=body, headers=team["tech"].headers)
    assert r.status_code == 201 and r.json()["actor_id"] == team["tech"].id
    assert (await client.post(url, json=body, headers=team["eng"].headers)).status_code == 201
    r = await client.post(url, json=body, headers=team["eng2"].headers)
    assert r.status_code == 403 and "assignee" in r.json()["detail"]
    admin_step = await add_step(client, team["admin"], s["id"])
    assert admin_step["actor_id"] == team["admin"].id
    got = await client.get(f"/api/v1/sessions/{s['id']}", headers=team["tech"].headers)
    assert len(got.json()["steps"]) == 3


async def test_a_peer_technician_cannot_read_or_add(client, factory):
    team = await factory.team()
    peer = await factory.user(team["tech"].account_id)
    s = await open_session(client, team["tech"])
    assert (
        await client.get(f"/api/v1/sessions/{s['id']}", headers=peer.headers)
    ).status_code == 403
    r = await client.post(
        f"/api/v1/sessions/{s['id']}/steps",
        json={"kind": "note", "content": "x"},
        headers=peer.headers,
    )
    assert r.status_code == 403
    # Seniors of the account may read it.
    assert (
        await client.get(f"/api/v1/sessions/{s['id']}", headers=team["eng2"].headers)
    ).status_code == 200
