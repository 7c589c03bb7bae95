"""The demo shows "act faster" on first run: an escalation claimed long ago with no action (the
guard nudges and later releases it) and claim links in the mailbox once the dispatcher runs."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.handoffs.idle import run_idle_once
from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.db.uow import commit
from flowpilot.notifications.dispatcher import run_once
from flowpilot.runtime.demo import DEMO_DOMAIN, DEMO_PASSWORD, create_demo


def _mailbox(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in folder.iterdir()]


async def test_demo_has_an_idle_claim_and_a_claim_link(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    app: Any,
) -> None:
    ctx = app.state.ctx
    async with db() as session:
        assert await create_demo(session, SimpleNamespace(clock=clock)) is not None
        await commit(session)
    async with db() as session:
        assert await create_demo(session, SimpleNamespace(clock=clock)) is None  # idempotent
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": f"engineer@{DEMO_DOMAIN}", "password": DEMO_PASSWORD},
    )
    assert login.status_code == 200
    client.cookies.set("flowpilot_session", login.json()["token"])
    page = await client.get("/escalations?view=mine", headers={"accept": "text/html"})
    assert "claimed 25 min ago · no action yet" in page.text
    assert await run_idle_once(ctx) == 1  # the nudge, as the server starts
    assert await run_once(ctx) > 0
    links = []
    for raw in _mailbox(Path(ctx.settings.mailbox_dir)):
        body = message_from_bytes(raw, policy=policy.default).get_body(("plain",))
        assert body is not None
        links += re.findall(r"/claim/[A-Za-z0-9_.\-]+", body.get_content())
    assert links, "the open escalation's emails carry claim links"
    client.cookies.clear()
    shown = await client.get(links[0])
    assert shown.status_code == 200 and "Printer offline after firmware update" in shown.text
