"""Tenancy matrix: another account's handoff is 404 everywhere; roles 403; no creds 401."""

from __future__ import annotations

import pytest

from tests.handoffs.helpers import escalated, events_of, handoff_row, snapshot

ENDPOINTS = [
    ("GET", ""),
    ("POST", "/claim"),
    ("POST", "/release"),
    ("POST", "/resolve"),
    ("POST", "/cancel"),
]


def _body(suffix: str):  # type: ignore[no-untyped-def]
    return {"resolution": "done"} if suffix == "/resolve" else None


@pytest.mark.parametrize("claimed", [False, True])
async def test_other_accounts_handoff_is_404_for_every_endpoint(client, factory, db, claimed):
    victim = await factory.team()
    intruders = await factory.team()
    h = await escalated(client, victim["tech"])
    if claimed:
        r = await client.post(f"/api/v1/handoffs/{h['id']}/claim", headers=victim["eng"].headers)
        assert r.status_code == 200
    before = snapshot(await handoff_row(db, h["id"]))
    n_events = len(await events_of(db, h["id"]))
    for who in ("tech", "eng", "admin"):
        for method, suffix in ENDPOINTS:
            if who == "tech" and suffix in ("/claim", "/release", "/resolve"):
                expected = 403  # the role gate answers before any lookup
            else:
                expected = 404
            r = await client.request(
                method,
                f"/api/v1/handoffs/{h['id']}{suffix}",
                json=_body(suffix),
                headers=intruders[who].headers,
            )
            assert r.status_code == expected, (who, method, suffix, r.text)
            assert h["id"] not in r.text or expected == 403
        r = await client.get(
            f"/api/v1/sessions/{h['session_id']}/handoffs", headers=intruders[who].headers
        )
        assert r.status_code == 404
        r = await client.post(
            f"/api/v1/sessions/{h['session_id']}/handoff",
            json={"reason": "x", "urgency": "low"},
            headers=intruders[who].headers,
        )
        assert r.status_code == 404
    assert snapshot(await handoff_row(db, h["id"])) == before
    assert len(await events_of(db, h["id"])) == n_events


async def test_technician_is_403_on_queue_and_claim(client, factory, db):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    assert (
        await client.get("/api/v1/handoffs/queue", headers=team["tech"].headers)
    ).status_code == 403
    r = await client.post(f"/api/v1/handoffs/{h['id']}/claim", headers=team["tech"].headers)
    assert r.status_code == 403
    assert (await handoff_row(db, h["id"])).status == "open"


async def test_no_credentials_is_401_everywhere(client, factory):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    for method, suffix in ENDPOINTS:
        r = await client.request(method, f"/api/v1/handoffs/{h['id']}{suffix}", json=_body(suffix))
        assert r.status_code == 401, (method, suffix)
    assert (await client.get("/api/v1/handoffs/queue")).status_code == 401
    assert (await client.get(f"/api/v1/sessions/{h['session_id']}/handoffs")).status_code == 401


async def test_cookie_requests_need_csrf(client, factory, db):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    eng = team["eng"]
    client.cookies.set("flowpilot_session", eng.token)
    try:
        r = await client.post(f"/api/v1/handoffs/{h['id']}/claim")
        assert r.status_code == 403
        assert (await handoff_row(db, h["id"])).status == "open"
        r = await client.post(
            f"/api/v1/handoffs/{h['id']}/claim", headers={"X-CSRF-Token": eng.csrf_token}
        )
        assert r.status_code == 200
    finally:
        client.cookies.clear()
