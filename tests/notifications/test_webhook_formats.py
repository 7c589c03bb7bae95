"""The webhook's message format: Slack blocks, a Microsoft Teams MessageCard, or the event."""

from __future__ import annotations

import httpx
from standardwebhooks.webhooks import Webhook

from flowpilot.notifications.dispatcher import run_once
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, TestUser
from tests.notifications.helpers import WebhookReceiver, enable_webhook, escalate_api

URL = "/api/v1/account/notifications"


async def choose(client: httpx.AsyncClient, admin: TestUser, fmt: str) -> None:
    response = await client.patch(URL, json={"webhook_format": fmt}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["webhook_format"] == fmt
    assert (await client.get(URL, headers=admin.headers)).json()["webhook_format"] == fmt


async def test_teams_format_posts_a_message_card(
    client: httpx.AsyncClient, factory: Factory, ctx: AppContext, webhook_receiver: WebhookReceiver
) -> None:
    team = await factory.team()
    secret = await enable_webhook(client, team["admin"], webhook_receiver.url)
    await choose(client, team["admin"], "teams")
    handoff = await escalate_api(client, team["tech"])  # customer "Initech"
    await run_once(ctx)
    [request] = webhook_receiver.received()
    card = Webhook(secret).verify(request.body, request.headers)
    assert card["@type"] == "MessageCard"
    assert card["@context"] == "https://schema.org/extensions"
    assert card["title"] == "New high escalation: VPN drops every 5 minutes"
    assert card["summary"].startswith("[FlowPilot] high escalation")
    assert card["themeColor"] == "EF6C00"
    facts = {f["name"]: f["value"] for f in card["sections"][0]["facts"]}
    assert facts["Urgency"] == "high" and facts["Reason"] == "Tunnel keeps flapping"
    assert facts["Customer"] == "Initech"
    [action] = card["potentialAction"]
    assert action["@type"] == "OpenUri" and action["name"] == "Open the handoff"
    assert action["targets"] == [
        {"os": "default", "uri": f"http://testserver/escalations/{handoff['id']}"}
    ]

    test = await client.post(f"{URL}/test-webhook", headers=team["admin"].headers)
    assert test.json()["ok"] is True
    sample = webhook_receiver.received()[-1].json()
    assert sample["@type"] == "MessageCard" and "this webhook works" in sample["text"]


async def test_generic_format_posts_the_event_itself(
    client: httpx.AsyncClient, factory: Factory, ctx: AppContext, webhook_receiver: WebhookReceiver
) -> None:
    team = await factory.team()
    secret = await enable_webhook(client, team["admin"], webhook_receiver.url)
    await choose(client, team["admin"], "generic")
    handoff = await escalate_api(client, team["tech"])
    await run_once(ctx)
    [request] = webhook_receiver.received()
    event = Webhook(secret).verify(request.body, request.headers)
    assert set(event) == {"id", "type", "timestamp", "data"}
    assert event["type"] == "handoff.created" and isinstance(event["id"], int)
    assert event["timestamp"].endswith("Z")
    assert event["data"]["id"] == handoff["id"]
    assert event["data"]["urgency"] == "high"
    assert event["data"]["reason"] == "Tunnel keeps flapping"
    assert event["data"]["link"] == f"http://testserver/escalations/{handoff['id']}"
    timeline = await client.get(
        f"/api/v1/handoffs/{handoff['id']}/deliveries", headers=team["eng"].headers
    )
    hook = next(i for i in timeline.json()["items"] if i["channel"] == "webhook")
    assert hook["event_id"] == event["id"]


async def test_slack_is_the_default_format(
    client: httpx.AsyncClient, factory: Factory, ctx: AppContext, webhook_receiver: WebhookReceiver
) -> None:
    team = await factory.team()
    await enable_webhook(client, team["admin"], webhook_receiver.url)
    await escalate_api(client, team["tech"])
    await run_once(ctx)
    message = webhook_receiver.received()[0].json()
    assert message["text"].startswith("New high escalation: VPN drops every 5 minutes")
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds[0] == "section" and kinds[-1] == "actions"
    assert message["blocks"][1]["fields"][0]["text"] == "*Urgency*\nhigh"
