"""The demo on first run: the escalated printer has suggestions and suggested seniors."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select

from flowpilot.kernel.db.uow import commit
from flowpilot.models import AiSession
from flowpilot.runtime.demo import DEMO_DOMAIN, DEMO_PASSWORD, create_demo
from flowpilot.runtime.demo_pilot import PILOT_TOPICS


async def _login(client, who: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    login = await client.post(
        "/api/v1/auth/login", json={"email": f"{who}@{DEMO_DOMAIN}", "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


async def test_demo_escalation_has_suggestions_and_seniors(client, db, clock) -> None:  # type: ignore[no-untyped-def]
    async with db() as session:
        assert await create_demo(session, SimpleNamespace(clock=clock)) is not None
        await commit(session)
    async with db() as session:  # idempotent: a second run adds nothing
        assert await create_demo(session, SimpleNamespace(clock=clock)) is None
        pilot = [title for title, _ in PILOT_TOPICS]  # the metrics' six weeks (demo_pilot)
        count = (
            await session.execute(
                select(func.count(AiSession.id)).where(AiSession.title.not_in(pilot))
            )
        ).scalar_one()
    # 3 examples + 5 resolved from the last two weeks + 1 claimed but idle (act faster)
    assert count == 9

    eng = await _login(client, "engineer")
    queue = (await client.get("/api/v1/handoffs/queue", headers=eng)).json()["items"]
    (handoff,) = queue
    hid = handoff["id"]
    seniors = await client.get(f"/api/v1/handoffs/{hid}/suggested-seniors", headers=eng)
    assert [(s["name"], s["resolved_similar"]) for s in seniors.json()["items"]] == [
        ("Erin Engineer", 1),
        ("Sam Senior", 1),
    ]
    summary = (await client.get(f"/api/v1/handoffs/{hid}/summary", headers=eng)).json()
    cited = [item["source"]["title"] for item in summary["next_steps"]["items"]]
    assert set(cited[:2]) == {
        "LaserJet offline after the firmware push",
        "Printer offline for all users after firmware update",
    }
    assert all("SNMP" in item["suggestion"] for item in summary["next_steps"]["items"][:2])
    assert summary["source"].startswith("Suggested from ")
    detail = (await client.get(f"/api/v1/handoffs/{hid}", headers=eng)).json()
    assert any("SNMP" in line for line in detail["context"]["next_steps"]["suggestions"])
