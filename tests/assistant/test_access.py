"""Who may use the assistant's endpoints: other accounts 404, no credentials 401, roles 403."""

from __future__ import annotations

from tests.assistant.helpers import handoff_row
from tests.factories import open_session


async def test_tenant_and_role_matrix(client, factory, db, clock) -> None:  # type: ignore[no-untyped-def]
    a = await factory.team()
    b = await factory.team()
    other_tech = await factory.user(a["tech"].account_id, role="technician")
    s = await open_session(client, a["tech"])
    hid = await handoff_row(db, session_id=s["id"], escalator=a["tech"], now=clock.now())
    endpoints = [
        ("POST", f"/api/v1/sessions/{s['id']}/assistant"),
        ("POST", f"/api/v1/sessions/{s['id']}/writeup"),
        ("GET", f"/api/v1/handoffs/{hid}/summary"),
        ("POST", f"/api/v1/handoffs/{hid}/summary"),
        ("GET", f"/api/v1/handoffs/{hid}/suggested-seniors"),
    ]
    for method, url in endpoints:
        assert (await client.request(method, url)).status_code == 401, url
        for outsider in b.values():
            response = await client.request(method, url, headers=outsider.headers)
            assert response.status_code == 404, (url, outsider.role)
        # Same account, but neither owner/assignee nor escalator nor senior.
        assert (await client.request(method, url, headers=other_tech.headers)).status_code == 403
        for insider in (a["tech"], a["eng"], a["admin"]):
            response = await client.request(method, url, headers=insider.headers)
            assert response.status_code == 200, (url, insider.role, response.text)
    missing = ["/api/v1/sessions/nope/assistant", "/api/v1/handoffs/nope/summary"]
    for url in missing:
        assert (await client.post(url, headers=a["admin"].headers)).status_code == 404


async def test_cookie_requests_need_csrf(client, factory) -> None:  # type: ignore[no-untyped-def]
    team = await factory.team()
    s = await open_session(client, team["tech"])
    client.cookies.set("flowpilot_session", team["tech"].token)
    try:
        url = f"/api/v1/sessions/{s['id']}/assistant"
        assert (await client.post(url)).status_code == 403
        ok = await client.post(url, headers={"x-csrf-token": team["tech"].csrf_token})
        assert ok.status_code == 200
    finally:
        client.cookies.clear()


async def test_keeping_an_answer_matrix(client, factory) -> None:  # type: ignore[no-untyped-def]
    from tests.assistant.test_endpoints import split_answer

    a = await factory.team()
    b = await factory.team()
    other_tech = await factory.user(a["tech"].account_id, role="technician")
    s = await open_session(client, a["tech"])
    asked = await client.post(f"/api/v1/sessions/{s['id']}/assistant", headers=a["eng"].headers)
    answer, token = split_answer(asked.text)
    url = f"/api/v1/sessions/{s['id']}/assistant/keep"
    body = {"answer": answer, "token": token}
    assert (await client.post(url, json=body)).status_code == 401
    for outsider in b.values():
        assert (await client.post(url, json=body, headers=outsider.headers)).status_code == 404
    for refused in (other_tech, a["eng"], a["eng2"]):  # not the assignee
        assert (await client.post(url, json=body, headers=refused.headers)).status_code == 403
    assert (await client.post(url, json=body, headers=a["admin"].headers)).status_code == 201
    assert (await client.post(url, json=body, headers=a["tech"].headers)).status_code == 200
    missing = await client.post(
        "/api/v1/sessions/nope/assistant/keep", json=body, headers=a["admin"].headers
    )
    assert missing.status_code == 404
