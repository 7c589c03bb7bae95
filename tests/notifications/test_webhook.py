"""The account webhook: signed to the Standard Webhooks spec, non-2xx is a failed attempt."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from flowpilot.kernel.clock import FrozenClock
from flowpilot.notifications.dispatcher import run_once
from flowpilot.notifications.webhook import new_secret
from flowpilot.runtime.context import AppContext
from tests.factories import Factory
from tests.notifications.helpers import (
    Received,
    WebhookReceiver,
    deliveries,
    enable_webhook,
    escalate_api,
)


def verify(secret: str, request: Received) -> Any:
    """What a receiver does: the ``standardwebhooks`` package checks the signature and time."""
    return Webhook(secret).verify(request.body, request.headers)


def signed_by(secret: str, request: Received) -> bool:
    """Whether one of the request's signatures is ``secret``'s (computed by the library),
    without the library's check of the timestamp against the real clock."""
    when = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=UTC)
    expected = Webhook(secret).sign(request.headers["webhook-id"], when, request.body.decode())
    return expected in request.headers["webhook-signature"].split(" ")


async def test_standard_webhooks_signature_verifies_with_the_library(
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
    assert request.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert request.headers["webhook-signature"].startswith("v1,")
    assert " " not in request.headers["webhook-signature"]  # one secret, one signature
    body = verify(secret, request)
    with pytest.raises(WebhookVerificationError):
        verify(new_secret(), request)
    tampered = Received(request.path, request.headers, request.body.replace(b"VPN", b"VPX"))
    with pytest.raises(WebhookVerificationError):
        verify(secret, tampered)

    assert "VPN drops every 5 minutes" in body["text"]
    assert f"http://testserver/escalations/{handoff['id']}" in body["text"]
    assert body["blocks"][0]["type"] == "section"
    assert body["flowpilot"]["type"] == "handoff.created"
    assert body["flowpilot"]["handoff"]["id"] == handoff["id"]
    assert body["flowpilot"]["handoff"]["urgency"] == "high"

    hook = next(d for d in await deliveries(db, handoff["id"]) if d.channel == "webhook")
    assert hook.status == "sent" and request.headers["webhook-id"] == hook.id


async def test_after_a_rotation_both_secrets_sign_for_24_hours(
    client: httpx.AsyncClient,
    factory: Factory,
    clock: FrozenClock,
    ctx: AppContext,
    webhook_receiver: WebhookReceiver,
) -> None:
    team = await factory.team()
    old = await enable_webhook(client, team["admin"], webhook_receiver.url)
    rotated = await client.post(
        "/api/v1/account/notifications/webhook-secret", headers=team["admin"].headers
    )
    new = rotated.json()["webhook_secret"]
    assert new.startswith("whsec_") and new != old

    await escalate_api(client, team["tech"])
    await run_once(ctx)
    [first] = webhook_receiver.received()
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert verify(new, first) == verify(old, first)  # a receiver on either secret accepts it

    # Sent later (the login tokens would expire if the clock moved before escalating).
    await escalate_api(client, team["tech"])
    clock.advance(hours=23, minutes=59)
    await run_once(ctx)
    second = webhook_receiver.received()[-1]
    assert signed_by(new, second) and signed_by(old, second)

    clock.advance(hours=-23, minutes=-59)
    await escalate_api(client, team["tech"])
    clock.advance(hours=24, minutes=1)  # 24 h and a minute after the rotation
    await run_once(ctx)
    third = webhook_receiver.received()[-1]
    assert third.headers["webhook-signature"].count("v1,") == 1
    assert signed_by(new, third) and not signed_by(old, third)


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
    assert hook.last_error == "webhook answered HTTP 500"  # the answer's body is never shown

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
    assert {r.headers["webhook-id"] for r in requests} == {hook.id}  # receivers dedupe by it


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


async def test_test_button_posts_a_signed_message_and_reports_status_only(
    client: httpx.AsyncClient, factory: Factory, webhook_receiver: WebhookReceiver
) -> None:
    team = await factory.team()
    secret = await enable_webhook(client, team["admin"], webhook_receiver.url)
    response = await client.post(
        "/api/v1/account/notifications/test-webhook", headers=team["admin"].headers
    )
    assert response.json() == {"ok": True, "detail": "delivered"}
    [request] = webhook_receiver.received()
    assert "this webhook works" in verify(secret, request)["text"]

    webhook_receiver.status = 503  # answers "receiver says no"
    response = await client.post(
        "/api/v1/account/notifications/test-webhook", headers=team["admin"].headers
    )
    assert response.json() == {"ok": False, "detail": "webhook answered HTTP 503"}
    page = await client.post("/settings/test-webhook", headers=team["admin"].headers)
    assert "webhook answered HTTP 503" in page.text and "receiver says no" not in page.text
    forbidden = await client.post(
        "/api/v1/account/notifications/test-webhook", headers=team["eng"].headers
    )
    assert forbidden.status_code == 403


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
