"""Deliveries endpoint tenant matrix and the account's notification settings."""

from __future__ import annotations

import httpx
import pytest

from flowpilot.notifications.dispatcher import run_once
from flowpilot.runtime.context import AppContext
from tests.factories import Factory
from tests.notifications.helpers import escalate_api


async def test_deliveries_endpoint_tenant_matrix(
    client: httpx.AsyncClient, factory: Factory, ctx: AppContext
) -> None:
    team = await factory.team()
    bystander = await factory.user(team["tech"].account_id, role="technician")
    other = await factory.team()
    handoff = await escalate_api(client, team["tech"])
    await run_once(ctx)
    url = f"/api/v1/handoffs/{handoff['id']}/deliveries"

    for who in ("eng", "eng2", "admin", "tech"):  # seniors and the escalator
        response = await client.get(url, headers=team[who].headers)
        assert response.status_code == 200, who
    assert (await client.get(url, headers=bystander.headers)).status_code == 403
    for who in ("tech", "eng", "admin"):  # another account: existence not revealed
        response = await client.get(url, headers=other[who].headers)
        assert response.status_code == 404, who
    assert (await client.get(url)).status_code == 401
    missing = await client.get("/api/v1/handoffs/nope/deliveries", headers=team["eng"].headers)
    assert missing.status_code == 404

    body = (await client.get(url, headers=team["eng"].headers)).json()
    names = {i["recipient_name"] for i in body["items"]}
    assert names == {team["eng"].name, team["eng2"].name, team["admin"].name}
    item = body["items"][0]
    assert set(item) >= {
        "id",
        "channel",
        "recipient_id",
        "recipient_name",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
        "created_at",
        "kind",
    }
    assert item["sent_at"].endswith(("Z", "+00:00"))


async def test_account_notification_settings_admin_only_and_validated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    url = "/api/v1/account/notifications"
    admin = team["admin"].headers
    for who in ("tech", "eng"):
        assert (await client.get(url, headers=team[who].headers)).status_code == 403
        response = await client.patch(
            url, json={"webhook_enabled": True}, headers=team[who].headers
        )
        assert response.status_code == 403
    assert (await client.get(url)).status_code == 401

    assert (await client.get(url, headers=admin)).json() == {
        "renotify_after_minutes": 10,
        "admin_alert_after_minutes": 30,
        "webhook_url": None,
        "webhook_enabled": False,
        "webhook_secret_set": False,
        "webhook_format": "slack",
        "webhook_secret": None,
        "claim_target_minutes": {"critical": 5, "high": 15, "normal": 60, "low": 240},
        "idle_claim_nudge_minutes": 10,
        "idle_claim_release_minutes": 30,
    }

    async def field_of_422(body: dict[str, object]) -> str:
        response = await client.patch(url, json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        detail = response.json()
        return str(detail.get("field") or detail["detail"][0]["field"])

    assert await field_of_422({"renotify_after_minutes": 0}) == "renotify_after_minutes"
    assert await field_of_422({"renotify_after_minutes": 1441}) == "renotify_after_minutes"
    assert await field_of_422({"admin_alert_after_minutes": 10081}) == "admin_alert_after_minutes"
    assert await field_of_422({"admin_alert_after_minutes": 10}) == "admin_alert_after_minutes"
    assert await field_of_422({"renotify_after_minutes": 30}) == "admin_alert_after_minutes"
    assert await field_of_422({"webhook_url": "ftp://example.test/x"}) == "webhook_url"
    assert await field_of_422({"webhook_url": "not a url"}) == "webhook_url"
    assert await field_of_422({"webhook_enabled": True}) == "webhook_url"
    assert await field_of_422({"webhook_format": "discord"}) == "webhook_format"
    assert await field_of_422({"webhook_format": None}) == "webhook_format"
    assert await field_of_422({"surprise": 1}) == "surprise"

    ok = await client.patch(
        url,
        json={"renotify_after_minutes": 5, "admin_alert_after_minutes": 20},
        headers=admin,
    )
    assert ok.status_code == 200 and ok.json()["renotify_after_minutes"] == 5

    # Enabling generates the signing secret and shows it exactly once.
    enabled = await client.patch(
        url,
        json={"webhook_url": "https://hooks.example.test/T1", "webhook_enabled": True},
        headers=admin,
    )
    first_secret = enabled.json()["webhook_secret"]
    assert enabled.status_code == 200 and first_secret.startswith("whsec_")
    shown = (await client.get(url, headers=admin)).json()
    assert shown["webhook_secret"] is None and shown["webhook_secret_set"] is True
    assert shown["webhook_enabled"] is True

    rotated = await client.post(f"{url}/webhook-secret", headers=admin)
    assert rotated.status_code == 200
    assert rotated.json()["webhook_secret"] not in (first_secret, None)
    assert (
        await client.post(f"{url}/webhook-secret", headers=team["eng"].headers)
    ).status_code == 403

    # Clearing the URL switches the webhook off.
    cleared = await client.patch(url, json={"webhook_url": None}, headers=admin)
    assert cleared.json()["webhook_enabled"] is False and cleared.json()["webhook_url"] is None


@pytest.mark.parametrize("role", ["technician", "engineer", "admin"])
async def test_settings_page_shows_own_preferences_and_admin_sections(
    client: httpx.AsyncClient, factory: Factory, role: str
) -> None:
    user = await factory.user(role=role, notify_min_urgency="high")
    response = await client.get("/settings", headers=user.headers)
    assert response.status_code == 200
    html = response.text
    assert 'name="notify_email"' in html
    assert '<option value="high" selected>' in html
    assert ('name="webhook_url"' in html) is (role == "admin")
    assert ('name="renotify_after_minutes"' in html) is (role == "admin")


async def test_settings_forms_update_preferences_and_account(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(role="admin")
    response = await client.post(
        "/settings/preferences",
        data={"notify_min_urgency": "critical"},  # checkbox unticked: email off
        headers=admin.headers,
    )
    assert response.status_code == 303
    me = await client.get("/api/v1/users", headers=admin.headers)
    mine = next(u for u in me.json()["items"] if u["id"] == admin.id)
    assert mine["notify_email"] is False and mine["notify_min_urgency"] == "critical"

    response = await client.post(
        "/settings/account",
        data={
            "renotify_after_minutes": "7",
            "admin_alert_after_minutes": "45",
            "webhook_url": "https://hooks.example.test/abc",
            "webhook_format": "teams",
            "webhook_enabled": "on",
        },
        headers=admin.headers,
    )
    assert response.status_code == 200  # shows the new secret once
    assert "whsec_" in response.text
    settings = await client.get("/api/v1/account/notifications", headers=admin.headers)
    assert settings.json()["renotify_after_minutes"] == 7
    assert settings.json()["webhook_enabled"] is True
    assert settings.json()["webhook_format"] == "teams"
    page = (await client.get("/settings", headers=admin.headers)).text
    assert '<option value="teams" selected>' in page

    internal = await client.post(
        "/settings/account",
        data={
            "renotify_after_minutes": "7",
            "admin_alert_after_minutes": "45",
            "webhook_url": "http://169.254.169.254/latest/meta-data/",
        },
        headers=admin.headers,
    )
    assert internal.status_code == 422
    assert "webhook URL" in internal.text and "internal address" in internal.text

    bad = await client.post(
        "/settings/account",
        data={"renotify_after_minutes": "50", "admin_alert_after_minutes": "45"},
        headers=admin.headers,
    )
    assert bad.status_code == 422
    assert "admin_alert_after_minutes" in bad.text

    tech = await factory.user(admin.account_id, role="technician")
    forbidden = await client.post(
        "/settings/account", data={"renotify_after_minutes": "3"}, headers=tech.headers
    )
    assert forbidden.status_code == 403


async def test_handoff_screen_has_the_deliveries_section(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    handoff = await escalate_api(client, team["tech"])
    page = await client.get(f"/escalations/{handoff['id']}", headers=team["eng"].headers)
    assert page.status_code == 200
    assert 'id="handoff-deliveries"' in page.text
    assert f'data-deliveries-url="/api/v1/handoffs/{handoff["id"]}/deliveries"' in page.text
    assert (await client.get("/static/deliveries.js")).status_code == 200
