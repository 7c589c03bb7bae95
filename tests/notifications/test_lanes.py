"""Lanes: each channel drains on its own, so a slow SMTP server never holds up a webhook."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.notifications.dispatcher import dispatcher_job
from flowpilot.runtime.context import AppContext
from tests.factories import Factory
from tests.notifications.helpers import (
    SmtpServer,
    WebhookReceiver,
    deliveries,
    enable_webhook,
    escalate_api,
)


async def _until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30.0
    while not condition():
        assert loop.time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)  # polling the dispatcher task's progress, not an app timer


async def test_a_slow_smtp_server_never_holds_up_the_webhook(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    ctx: AppContext,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    ctx.settings.smtp_url = smtp_server.url
    ctx.settings.dispatcher_interval_seconds = 0.05
    release = threading.Event()
    smtp_server.collector.release = release  # every mail now waits inside the server
    team = await factory.team()
    first = await escalate_api(client, team["tech"])  # three mails, no webhook yet
    worker = asyncio.create_task(dispatcher_job(ctx))
    try:
        await _until(lambda: smtp_server.collector.waiting == 3, "three mails at the server")
        await enable_webhook(client, team["admin"], webhook_receiver.url)
        second = await escalate_api(client, team["tech"])
        # The second escalation's webhook goes out while every mail is still held.
        await _until(lambda: len(webhook_receiver.received()) == 1, "the webhook was posted")
        assert smtp_server.messages == [] and smtp_server.collector.waiting == 3

        async def hook_status() -> str:
            rows = await deliveries(db, second["id"])
            return next(d.status for d in rows if d.channel == "webhook")

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while await hook_status() != "sent":  # recorded a moment after the receiver had it
            assert loop.time() < deadline, "the webhook was never recorded sent"
            await asyncio.sleep(0.02)  # polling the dispatcher task's progress
        assert smtp_server.messages == [] and smtp_server.collector.waiting == 3
        mails = [d for d in await deliveries(db, first["id"]) if d.channel == "email"]
        assert {d.status for d in mails} == {"sending"}

        release.set()
        await _until(lambda: len(smtp_server.messages) == 6, "all six mails accepted")

        async def all_sent() -> bool:
            rows = await deliveries(db)
            return len(rows) == 7 and all(d.status == "sent" for d in rows)

        deadline = loop.time() + 30
        while not await all_sent():
            assert loop.time() < deadline, "not every delivery was recorded sent"
            await asyncio.sleep(0.02)  # polling the dispatcher task's progress
    finally:
        release.set()
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
