"""The README's first minutes: log in as the demo technician, open a session, add a step."""

from __future__ import annotations

from types import SimpleNamespace

from flowpilot.kernel.db.uow import commit
from flowpilot.runtime.demo import DEMO_DOMAIN, DEMO_PASSWORD, create_demo


async def test_demo_technician_round_trip(client, db, clock):
    async with db() as session:
        assert await create_demo(session, SimpleNamespace(clock=clock)) is not None
        await commit(session)

    login = await client.post(
        "/api/v1/auth/login",
        json={"email": f"tech@{DEMO_DOMAIN}", "password": DEMO_PASSWORD},
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    tech_id = login.json()["user"]["id"]

    listed = await client.get("/api/v1/sessions", headers=headers)
    assert len(listed.json()["items"]) >= 2  # the demo's own sessions

    created = await client.post(
        "/api/v1/sessions",
        json={"title": "Scanner not found", "problem": "Scan to email fails", "customer": "Acme"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    step = await client.post(
        f"/api/v1/sessions/{sid}/steps",
        json={"kind": "action", "content": "Re-entered the SMTP relay settings"},
        headers=headers,
    )
    assert step.status_code == 201, step.text

    got = await client.get(f"/api/v1/sessions/{sid}", headers=headers)
    assert got.status_code == 200
    assert [(s["kind"], s["content"], s["actor_id"]) for s in got.json()["steps"]] == [
        ("action", "Re-entered the SMTP relay settings", tech_id)
    ]
