from tests.factories import add_step, open_session


async def test_session_roundtrip(client, factory):
    team = await factory.team()
    s = await open_session(client, team["tech"], environment={"os": "Windows 11"})
    step = await add_step(client, team["tech"], s["id"])
    assert step["actor_id"] == team["tech"].id
    got = (await client.get(f"/api/v1/sessions/{s['id']}", headers=team["tech"].headers)).json()
    assert [st["id"] for st in got["steps"]] == [step["id"]]
