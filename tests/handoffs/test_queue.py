"""The escalation queue: role gate, status filter, newest first, keyset pagination."""

from __future__ import annotations

from tests.factories import open_session
from tests.handoffs.helpers import escalate, escalated, post


async def _make(client, factory, clock, tech, n):  # type: ignore[no-untyped-def]
    ids = []
    for i in range(n):
        s = await open_session(client, tech, title=f"Case {i}")
        r = await escalate(client, tech, s["id"], reason=f"reason {i}", urgency="normal")
        ids.append(r.json()["id"])
        clock.advance(seconds=10)
    return ids


async def test_queue_newest_first_with_display_fields(client, factory, clock):
    team = await factory.team()
    ids = await _make(client, factory, clock, team["tech"], 3)
    response = await client.get("/api/v1/handoffs/queue", headers=team["eng"].headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["id"] for i in body["items"]] == list(reversed(ids))
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert first["urgency"] == "normal" and first["session_title"] == "Case 2"
    assert first["escalated_by_name"] == team["tech"].name and first["status"] == "open"


async def test_status_filter(client, factory, clock):
    team = await factory.team()
    ids = await _make(client, factory, clock, team["tech"], 4)
    await post(client, team["eng"], f"/api/v1/handoffs/{ids[0]}/claim")
    await post(client, team["eng"], f"/api/v1/handoffs/{ids[1]}/claim")
    await post(client, team["eng"], f"/api/v1/handoffs/{ids[1]}/resolve", {"resolution": "ok"})
    await post(client, team["tech"], f"/api/v1/handoffs/{ids[2]}/cancel")

    async def q(status: str | None) -> list[str]:
        params = {"status": status} if status else {}
        r = await client.get("/api/v1/handoffs/queue", params=params, headers=team["admin"].headers)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await q(None) == [ids[3]]  # default: open
    assert await q("open") == [ids[3]]
    assert await q("claimed") == [ids[0]]
    assert await q("resolved") == [ids[1]]
    assert await q("cancelled") == [ids[2]]
    assert await q("live") == [ids[3], ids[0]]
    assert await q("all") == list(reversed(ids))
    bad = await client.get("/api/v1/handoffs/queue?status=bogus", headers=team["eng"].headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "status"


async def test_pagination_walks_every_item_once_including_same_timestamp(client, factory, clock):
    team = await factory.team()
    ids = []
    for i in range(7):
        s = await open_session(client, team["tech"], title=f"T{i}")
        ids.append((await escalate(client, team["tech"], s["id"])).json()["id"])
        if i % 3 == 2:  # several handoffs share a created_at: the id breaks the tie
            clock.advance(seconds=1)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/handoffs/queue", params=params, headers=team["eng"].headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= 3
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(ids, reverse=True)  # ids are time ordered: newest first
    assert len(set(seen)) == 7


async def test_bad_cursor_and_limit_are_422(client, factory):
    team = await factory.team()
    h = team["eng"].headers
    r = await client.get("/api/v1/handoffs/queue?cursor=garbage!!", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "cursor"
    for limit in (0, 201):
        r = await client.get(f"/api/v1/handoffs/queue?limit={limit}", headers=h)
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "limit"


async def test_queue_role_gate_and_isolation(client, factory, clock):
    team = await factory.team()
    other = await factory.team()
    mine = await escalated(client, team["tech"])
    await escalated(client, other["tech"])
    assert (
        await client.get("/api/v1/handoffs/queue", headers=team["tech"].headers)
    ).status_code == 403
    assert (await client.get("/api/v1/handoffs/queue")).status_code == 401
    for user in (team["eng"], team["admin"]):
        r = await client.get("/api/v1/handoffs/queue?status=all", headers=user.headers)
        assert [i["id"] for i in r.json()["items"]] == [mine["id"]]
