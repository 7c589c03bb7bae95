"""A process remembers verified callers for a moment (``auth.callers``); nothing that ends or
changes a login may be answered from that memory, not even on the very next request."""

from __future__ import annotations


async def test_remembering_callers_is_on_in_these_tests(settings):
    assert settings.auth_cache_seconds > 0  # else this file would prove nothing


async def test_logout_ends_a_remembered_token_at_once(client, factory):
    user = await factory.user()
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=user.headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401


async def test_deactivation_ends_a_remembered_token_at_once(client, factory):
    admin = await factory.user(role="admin")
    eng = await factory.user(admin.account_id, role="engineer")
    assert (await client.get("/api/v1/handoffs/queue", headers=eng.headers)).status_code == 200
    r = await client.patch(f"/api/v1/users/{eng.id}", headers=admin.headers, json={"active": False})
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/me", headers=eng.headers)).status_code == 401
    assert (await client.get("/api/v1/handoffs/queue", headers=eng.headers)).status_code == 401


async def test_a_role_change_applies_to_the_next_request(client, factory):
    admin = await factory.user(role="admin")
    eng = await factory.user(admin.account_id, role="engineer")
    assert (await client.get("/api/v1/handoffs/queue", headers=eng.headers)).status_code == 200
    r = await client.patch(
        f"/api/v1/users/{eng.id}", headers=admin.headers, json={"role": "technician"}
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/handoffs/queue", headers=eng.headers)).status_code == 403
    assert (await client.get("/api/v1/me", headers=eng.headers)).json()["role"] == "technician"


async def test_a_remembered_token_still_expires_on_time(client, factory, clock, settings):
    user = await factory.user()
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200
    clock.advance(hours=settings.session_ttl_hours, seconds=1)
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401


async def test_me_shows_a_change_of_preferences_and_name_at_once(client, factory):
    admin = await factory.user(role="admin")
    eng = await factory.user(admin.account_id, role="engineer")
    before = (await client.get("/api/v1/me", headers=eng.headers)).json()
    assert before["alert_sound"] is False
    r = await client.patch(
        "/api/v1/me/preferences", headers=eng.headers, json={"alert_sound": True}
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/me", headers=eng.headers)).json()["alert_sound"] is True
    r = await client.patch(f"/api/v1/users/{eng.id}", headers=admin.headers, json={"name": "Ed"})
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/me", headers=eng.headers)).json()["name"] == "Ed"
