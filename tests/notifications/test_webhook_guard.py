"""Safe by default: webhooks never reach loopback, private, link-local or internal addresses."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.settings import Settings
from flowpilot.notifications.dispatcher import run_once
from flowpilot.runtime.context import AppContext
from tests.factories import Factory
from tests.notifications.helpers import WebhookReceiver, deliveries, enable_webhook, escalate_api

URL = "/api/v1/account/notifications"
INTERNAL = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",  # a name: what it resolves to is checked
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "https://192.168.1.10/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT: not global
    "http://0.0.0.0:9000/hook",
    "http://[::1]/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
]


def test_the_guard_is_on_by_default() -> None:
    assert Settings().webhook_block_private_networks is True


@pytest.mark.parametrize("url", INTERNAL)
async def test_internal_urls_are_refused_at_save(
    client: httpx.AsyncClient, factory: Factory, url: str
) -> None:
    team = await factory.team()
    response = await client.patch(
        URL, json={"webhook_url": url, "webhook_enabled": True}, headers=team["admin"].headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "webhook_url"
    assert "internal address" in response.json()["detail"]
    shown = (await client.get(URL, headers=team["admin"].headers)).json()
    assert shown["webhook_url"] is None and shown["webhook_enabled"] is False


async def test_a_url_resolving_internal_at_send_time_fails_without_a_request(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    ctx: AppContext,
    webhook_receiver: WebhookReceiver,
) -> None:
    team = await factory.team()
    # Saved while the operator allowed it (or while the name resolved elsewhere) ...
    await enable_webhook(client, team["admin"], webhook_receiver.url)
    ctx.settings.webhook_block_private_networks = True  # ... then the guard is on at send.
    handoff = await escalate_api(client, team["tech"])
    await run_once(ctx)
    hook = next(d for d in await deliveries(db, handoff["id"]) if d.channel == "webhook")
    assert hook.status == "failed"
    assert hook.last_error == "webhook URL points to a private network address; not allowed"
    assert webhook_receiver.received() == []

    response = await client.post(f"{URL}/test-webhook", headers=team["admin"].headers)
    assert response.json() == {
        "ok": False,
        "detail": "webhook URL points to a private network address; not allowed",
    }
    assert webhook_receiver.received() == []


async def test_redirects_are_never_followed(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    ctx: AppContext,
    webhook_receiver: WebhookReceiver,
) -> None:
    team = await factory.team()
    await enable_webhook(client, team["admin"], webhook_receiver.url)
    webhook_receiver.status = 307
    webhook_receiver.answer_headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
    handoff = await escalate_api(client, team["tech"])
    await run_once(ctx)
    hook = next(d for d in await deliveries(db, handoff["id"]) if d.channel == "webhook")
    assert hook.status == "failed" and hook.last_error == "webhook answered HTTP 307"
    assert len(webhook_receiver.received()) == 1
    response = await client.post(f"{URL}/test-webhook", headers=team["admin"].headers)
    assert response.json() == {"ok": False, "detail": "webhook answered HTTP 307"}


async def test_operators_may_allow_internal_receivers(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    settings.webhook_block_private_networks = False
    team = await factory.team()
    response = await client.patch(
        URL,
        json={"webhook_url": "http://10.0.0.5/hook", "webhook_enabled": True},
        headers=team["admin"].headers,
    )
    assert response.status_code == 200, response.text
