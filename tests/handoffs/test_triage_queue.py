"""Triage on the queue API: sort orders, urgency filter, claimed_by=me, search, cursors, 422s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from flowpilot.handoffs import queue
from flowpilot.kernel.clock import FrozenClock
from tests.factories import Factory, TestUser, open_session
from tests.handoffs.helpers import escalate, post

URL = "/api/v1/handoffs/queue"
# Escalated one minute apart, in this order.
URGENCIES = ["low", "critical", "normal", "high", "critical", "low", "high", "normal"]


async def _escalations(
    client: httpx.AsyncClient, clock: FrozenClock, tech: TestUser, urgencies: list[str]
) -> list[str]:
    ids = []
    for i, urgency in enumerate(urgencies):
        s = await open_session(client, tech, title=f"Case {i}", customer=f"Customer {i}")
        r = await escalate(client, tech, s["id"], reason=f"reason {i}", urgency=urgency)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        clock.advance(minutes=1)
    return ids


async def _get(client: httpx.AsyncClient, user: TestUser, **params: Any) -> httpx.Response:
    return await client.get(URL, params=params, headers=user.headers)


async def _ids(client: httpx.AsyncClient, user: TestUser, **params: Any) -> list[str]:
    r = await _get(client, user, **params)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return [i["id"] for i in r.json()["items"]]


async def _walk(client: httpx.AsyncClient, user: TestUser, **params: Any) -> list[str]:
    """Every item, page by page (``limit`` in ``params``)."""
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        r = await _get(client, user, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= int(params.get("limit", 50))
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


async def test_sort_orders_and_urgency_filter(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    ids = await _escalations(client, clock, team["tech"], URGENCIES)
    eng = team["eng"]
    # Urgency first: critical, high, normal, low; the longest waiting first within each.
    by_urgency = [ids[i] for i in (1, 4, 3, 6, 2, 7, 0, 5)]
    assert await _ids(client, eng, sort="urgency") == by_urgency
    assert await _ids(client, eng, sort="oldest") == ids
    assert await _ids(client, eng, sort="newest") == ids[::-1]
    assert await _ids(client, eng) == ids[::-1]  # the default stays newest first
    crit_high = await _ids(client, eng, sort="newest", urgency="critical,high")
    assert crit_high == [ids[6], ids[4], ids[3], ids[1]]
    assert await _ids(client, eng, sort="urgency", urgency="low, CRITICAL") == [
        ids[1],
        ids[4],
        ids[0],
        ids[5],
    ]
    assert await _ids(client, eng, sort="oldest", urgency="normal") == [ids[2], ids[7]]
    items = (await _get(client, eng, sort="urgency")).json()["items"]
    assert [i["urgency"] for i in items] == ["critical"] * 2 + ["high"] * 2 + ["normal"] * 2 + [
        "low"
    ] * 2


@pytest.mark.parametrize("sort", ["newest", "oldest", "urgency"])
async def test_every_sort_and_filter_pages_through_each_item_once(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock, sort: str
) -> None:
    team = await factory.team()
    tech = team["tech"]
    ids = []
    for i, urgency in enumerate(URGENCIES * 2):
        s = await open_session(client, tech, title=f"T{i}")
        ids.append((await escalate(client, tech, s["id"], urgency=urgency)).json()["id"])
        if i % 3 == 2:  # several handoffs share a created_at: the id breaks the tie
            clock.advance(seconds=1)
    for handoff_id in ids[:5]:
        await post(client, team["eng"], f"/api/v1/handoffs/{handoff_id}/claim")
    await post(client, team["eng"], f"/api/v1/handoffs/{ids[0]}/resolve", {"resolution": "ok"})
    await post(client, team["eng2"], f"/api/v1/handoffs/{ids[5]}/claim")
    combos: list[dict[str, str]] = [
        {"status": "open"},
        {"status": "all"},
        {"status": "live"},
        {"status": "all", "urgency": "critical,low"},
        {"status": "open", "urgency": "high"},
        {"status": "all", "claimed_by": "me"},
        {"status": "claimed", "claimed_by": "me", "urgency": "critical,high,normal"},
        {"status": "all", "q": "t1"},
    ]
    for combo in combos:
        whole = await _ids(client, team["eng"], sort=sort, **combo)
        assert whole, combo
        for limit in (1, 2, 3):
            paged = await _walk(client, team["eng"], sort=sort, limit=str(limit), **combo)
            assert paged == whole, (combo, limit)
    assert len(await _ids(client, team["eng"], sort=sort, status="all")) == 16
    mine = await _ids(client, team["eng"], sort=sort, status="all", claimed_by="me")
    assert sorted(mine) == sorted(ids[:5])


async def test_claimed_by_me_is_what_i_hold(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    ids = await _escalations(client, clock, team["tech"], ["high", "low", "critical", "normal"])
    await post(client, team["eng"], f"/api/v1/handoffs/{ids[0]}/claim")
    await post(client, team["eng"], f"/api/v1/handoffs/{ids[2]}/claim")
    await post(client, team["eng2"], f"/api/v1/handoffs/{ids[1]}/claim")
    assert await _ids(client, team["eng"], status="claimed", claimed_by="me", sort="urgency") == [
        ids[2],
        ids[0],
    ]
    assert await _ids(client, team["eng2"], status="claimed", claimed_by="me") == [ids[1]]
    assert await _ids(client, team["admin"], status="all", claimed_by="me") == []
    # Released: no longer mine.
    await post(client, team["eng"], f"/api/v1/handoffs/{ids[0]}/release")
    assert await _ids(client, team["eng"], status="live", claimed_by="me") == [ids[2]]


async def test_search_in_title_customer_asset_and_reason(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    tech = team["tech"]
    cases = [
        ({"title": "Printer offline", "customer": "Acme"}, "driver rollback"),
        ({"title": "VPN drops", "customer": "Globex", "asset": "FW-100"}, "tunnel resets"),
        ({"title": "Boiler E119", "customer": "Initech"}, "pressure 50% lower"),
        ({"title": "Mail stuck", "customer": "Acme_EU"}, "queue full"),
    ]
    ids = []
    for fields, reason in cases:
        s = await open_session(client, tech, **fields)
        ids.append((await escalate(client, tech, s["id"], reason=reason)).json()["id"])
        clock.advance(minutes=1)
    eng = team["eng"]
    assert await _ids(client, eng, q="PRINTER", sort="oldest") == [ids[0]]  # title, any case
    assert await _ids(client, eng, q="acme", sort="oldest") == [ids[0], ids[3]]  # customer
    assert await _ids(client, eng, q="fw-1") == [ids[1]]  # asset
    assert await _ids(client, eng, q="Tunnel") == [ids[1]]  # reason
    assert await _ids(client, eng, q="50%") == [ids[2]]  # % is a character, not a wildcard
    assert await _ids(client, eng, q="acme_") == [ids[3]]  # and so is _
    assert await _ids(client, eng, q="nothing like this") == []
    assert await _ids(client, eng, q="   ") == ids[::-1]  # blank: no search
    assert await _ids(client, eng, q="acme", urgency="critical") == []


async def test_search_is_bounded_and_its_cursor_goes_on(
    client: httpx.AsyncClient,
    factory: Factory,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    team = await factory.team()
    tech = team["tech"]
    ids = []
    for i in range(9):
        title = "Router reboot loop" if i % 4 == 0 else f"Other {i}"
        s = await open_session(client, tech, title=title)
        ids.append((await escalate(client, tech, s["id"])).json()["id"])
        clock.advance(minutes=1)
    monkeypatch.setattr(queue, "SEARCH_SCAN", 3)  # a request examines 3 escalations at most
    first = (await _get(client, team["eng"], q="router", sort="oldest")).json()
    assert [i["id"] for i in first["items"]] == [ids[0]] and first["next_cursor"]
    walked = await _walk(client, team["eng"], q="router", sort="oldest", limit="50")
    assert walked == [ids[0], ids[4], ids[8]]


async def test_unknown_values_are_422_naming_the_parameter(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    await _escalations(client, clock, team["tech"], ["high", "low", "critical"])
    eng = team["eng"]

    async def field_of(**params: Any) -> str:
        r = await _get(client, eng, **params)
        assert r.status_code == 422, (params, r.text)
        body = r.json()
        return str(body.get("field") or body["detail"][0]["field"])

    assert await field_of(sort="priority") == "sort"
    assert await field_of(urgency="critical,urgent") == "urgency"
    assert await field_of(claimed_by="you") == "claimed_by"
    assert await field_of(status="mine") == "status"
    assert await field_of(q="x\x00y") == "q"
    assert await field_of(q="x" * 201) == "q"
    urgency_cursor = (await _get(client, eng, sort="urgency", limit=1)).json()["next_cursor"]
    assert await field_of(sort="newest", cursor=urgency_cursor) == "cursor"
    r = await _get(client, eng, urgency="urgent")
    assert "urgent" in r.json()["detail"] and "critical" in r.json()["detail"]


async def test_other_accounts_never_show_in_any_view(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    other = await factory.team()
    mine = await _escalations(client, clock, team["tech"], ["critical", "low"])
    theirs = await _escalations(client, clock, other["tech"], ["critical", "high"])
    await post(client, other["eng"], f"/api/v1/handoffs/{theirs[0]}/claim")
    for params, expected in (
        ({"sort": "urgency", "status": "all"}, mine),
        ({"sort": "oldest", "urgency": "critical", "status": "all"}, mine[:1]),
        ({"q": "case", "status": "all", "sort": "oldest"}, mine),
    ):
        assert await _ids(client, team["eng"], **params) == expected, params
    assert await _ids(client, team["eng"], status="all", claimed_by="me") == []
    assert (await _get(client, team["tech"], sort="urgency")).status_code == 403
