"""The account webhook: Slack-compatible JSON, HMAC-signed, non-2xx is a failed attempt."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.clock import FrozenClock
from flowpilot.notifications.dispatcher import run_once
from flowpilot.notifications.webhook import sign, verify
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, TestUser, open_session
from tests.notifications.conftest import WebhookReceiver
from tests.notifications.helpers import deliveries


async def enable_webhook(client: httpx.AsyncClient, admin: TestUser, url: str) -> str:
    response = await client.patch(
        "/api/v1/account/notifications",
        json={"webhook_url": url, "webhook_enabled": True},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    secret = response.json()["webhook_secret"]
    assert secret and secret.startswith("whsec_")
    return str(secret)


async def escalate_api(client: httpx.AsyncClient, owner: TestUser, **fields: Any) -> dict[str, Any]:
    ai = await open_session(client, owner, title="VPN drops every 5 minutes", customer="Initech")
    response = await client.post(
        f"/api/v1/sessions/{ai['id']}/handoff",
        json={"reason": "Tunnel keeps flapping", "urgency": "high", **fields},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_signed_slack_compatible_post_verifies_with_the_secret(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    webhook_receiver: WebhookReceiver,
) -> None:
    team = await factory.team()
    secret = await enable_webhook(client, team["admin"], webhook_receiver.url)
    handoff = await escalate_api(client, team["tech"])

    assert await run_once(ctx) == 4  # three emails (mailbox) and the webhook
    [request] = webhook_receiver.received()
    assert request.path == "/hooks/flowpilot"
    timestamp = request.headers["x-flowpilot-timestamp"]
    assert timestamp == str(int(clock.now().timestamp()))
    signature = request.headers["x-flowpilot-signature"]
    assert verify(secret, timestamp, request.body, signature)
    assert not verify("whsec_wrong", timestamp, request.body, signature)
    assert not verify(secret, str(int(timestamp) + 1), request.body, signature)

    body = request.json()
    assert "VPN drops every 5 minutes" in body["text"]
    assert f"http://testserver/escalations/{handoff['id']}" in body["text"]
    assert body["blocks"][0]["type"] == "section"
    assert body["flowpilot"]["type"] == "handoff.created"
    assert body["flowpilot"]["handoff"]["id"] == handoff["id"]
    assert body["flowpilot"]["handoff"]["urgency"] == "high"

    hook = next(d for d in await deliveries(db, handoff["id"]) if d.channel == "webhook")
    assert hook.status == "sent" and request.headers["x-flowpilot-delivery"] == hook.id


async def test_webhook_500_is_a_failed_attempt_then_retried(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    webhook_receiver: WebhookReceiver,
) -> None:
    team = await factory.team()
    await enable_webhook(client, team["admin"], webhook_receiver.url)
    handoff = await escalate_api(client, team["tech"])
    webhook_receiver.status = 500

    await run_once(ctx)
    hook = next(d for d in await deliveries(db, handoff["id"]) if d.channel == "webhook")
    assert hook.status == "failed" and hook.attempts == 1
    assert hook.last_error == "webhook answered HTTP 500: receiver says no"

    response = await client.get(
        f"/api/v1/handoffs/{handoff['id']}/deliveries", headers=team["eng"].headers
    )
    item = next(i for i in response.json()["items"] if i["channel"] == "webhook")
    assert item["status"] == "failed" and item["recipient_id"] is None
    assert item["recipient_name"] == "Team webhook"
    assert "1 retrying: webhook answered HTTP 500" in response.json()["summary"]

    webhook_receiver.status = 204
    clock.advance(seconds=ctx.settings.delivery_backoff_base_seconds)
    assert await run_once(ctx) == 1
    hook = next(d for d in await deliveries(db, handoff["id"]) if d.channel == "webhook")
    assert hook.status == "sent" and hook.attempts == 2
    requests = webhook_receiver.received()
    assert len(requests) == 2
    assert {r.headers["x-flowpilot-delivery"] for r in requests} == {hook.id}


async def test_webhook_timeout_is_a_failed_attempt(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    ctx: AppContext,
    webhook_receiver: WebhookReceiver,
) -> None:
    ctx.settings.webhook_timeout_seconds = 0.3
    webhook_receiver.delay_seconds = 2.0
    team = await factory.team()
    await enable_webhook(client, team["admin"], webhook_receiver.url)
    handoff = await escalate_api(client, team["tech"])
    await run_once(ctx)
    hook = next(d for d in await deliveries(db, handoff["id"]) if d.channel == "webhook")
    assert hook.status == "failed"
    assert (hook.last_error or "").startswith("webhook timed out")


async def test_test_webhook_endpoint_posts_a_signed_message(
    client: httpx.AsyncClient, factory: Factory, webhook_receiver: WebhookReceiver
) -> None:
    team = await factory.team()
    secret = await enable_webhook(client, team["admin"], webhook_receiver.url)
    response = await client.post(
        "/api/v1/account/notifications/test-webhook", headers=team["admin"].headers
    )
    assert response.json() == {"ok": True, "detail": "delivered"}
    [request] = webhook_receiver.received()
    ts = request.headers["x-flowpilot-timestamp"]
    assert request.headers["x-flowpilot-signature"] == sign(secret, ts, request.body)

    webhook_receiver.status = 503
    response = await client.post(
        "/api/v1/account/notifications/test-webhook", headers=team["admin"].headers
    )
    assert response.json()["ok"] is False and "HTTP 503" in response.json()["detail"]
    forbidden = await client.post(
        "/api/v1/account/notifications/test-webhook", headers=team["eng"].headers
    )
    assert forbidden.status_code == 403


async def test_private_network_guard_refuses_loopback_webhooks_when_on(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    ctx: AppContext,
    webhook_receiver: WebhookReceiver,
) -> None:
    ctx.settings.webhook_block_private_networks = True
    team = await factory.team()
    await enable_webhook(client, team["admin"], webhook_receiver.url)
    handoff = await escalate_api(client, team["tech"])
    await run_once(ctx)
    hook = next(d for d in await deliveries(db, handoff["id"]) if d.channel == "webhook")
    assert hook.status == "failed"
    assert hook.last_error == "webhook URL points to a private network address; not allowed"
    assert webhook_receiver.received() == []


async def test_delivery_outcomes_are_counted_in_metrics(
    client: httpx.AsyncClient,
    factory: Factory,
    ctx: AppContext,
    webhook_receiver: WebhookReceiver,
) -> None:
    team = await factory.team()
    await enable_webhook(client, team["admin"], webhook_receiver.url)
    webhook_receiver.status = 500
    await escalate_api(client, team["tech"])
    await run_once(ctx)
    text = (await client.get("/metrics")).text
    assert 'flowpilot_delivery_outcomes_total{channel="email",outcome="sent"} 3.0' in text
    assert 'flowpilot_delivery_outcomes_total{channel="webhook",outcome="failed"} 1.0' in text
