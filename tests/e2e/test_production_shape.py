"""The production shape end to end: nginx, two replicas and a worker on PostgreSQL and Redis.

A browser goes through nginx; replicas and the worker are killed as a host would lose them.
Runs in the PostgreSQL + Redis half only (the in-process bus and SQLite are one process).
"""

from __future__ import annotations

import asyncio
import collections
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Response, expect
from sqlalchemy import select

from flowpilot.models import Delivery, LoginFailure
from flowpilot.models.notifications import Channel, DeliveryStatus
from tests.databases import POSTGRES_URL, REDIS_URL, provision_database
from tests.e2e import shape as shape_mod
from tests.e2e.conftest import COOKIE_NAME
from tests.e2e.shape import Shape, SlowSmtp
from tests.factories import PASSWORD, Factory, TestUser

MISSING = [
    name
    for name, url in (
        ("PostgreSQL (FLOWPILOT_TEST_POSTGRES_URL)", POSTGRES_URL),
        ("Redis (FLOWPILOT_TEST_REDIS_URL)", REDIS_URL),
    )
    if not url
]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"the production shape needs {' and '.join(MISSING)}, not set"
)
HOLD_DOMAIN = "held.example.test"
LOGIN_LIMIT = 3
STREAM_PATH = "/api/v1/handoffs/stream"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own, left unmigrated: the shape's one-shot ``db upgrade`` does it."""
    yield from provision_database(tmp_path_factory, "_shape", migrate=False)


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, SlowSmtp]]:
    with shape_mod.smtp_server(delay=0.2, hold_domain=HOLD_DOMAIN) as server:
        yield server


@pytest.fixture(scope="module")
def stack(
    database_url: str,
    redis_prefix: str,
    smtp: tuple[str, SlowSmtp],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Shape]:
    assert REDIS_URL
    settings = {
        "FLOWPILOT_DATABASE_URL": database_url,
        "FLOWPILOT_REDIS_URL": REDIS_URL,
        "FLOWPILOT_REDIS_PREFIX": f"{redis_prefix}:shape:{uuid.uuid4().hex[:6]}",
        "FLOWPILOT_SMTP_URL": smtp[0],
        "FLOWPILOT_TRUSTED_PROXIES": "127.0.0.1",  # nginx; 127.0.0.2-4 are clients below
        "FLOWPILOT_LOGIN_MAX_FAILURES": str(LOGIN_LIMIT),
        # A lease a killed worker left behind is retaken after this (default 5 min).
        "FLOWPILOT_DELIVERY_SENDING_TIMEOUT_SECONDS": "6",
    }
    with shape_mod.running(tmp_path_factory.mktemp("shape"), settings) as running:
        yield running


@pytest.fixture
def shape(stack: Shape, smtp: tuple[str, SlowSmtp]) -> Shape:
    stack.revive()
    smtp[1].release()
    return stack


async def _api(base: str, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=base, headers=user.headers, timeout=20) as client:
        response = await client.request(method, path, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _escalate(base: str, tech: TestUser, title: str) -> dict[str, Any]:
    session = await _api(
        base, tech, "POST", "/api/v1/sessions", json={"title": title, "problem": "Down"}
    )
    return await _api(  # type: ignore[no-any-return]
        base, tech, "POST", f"/api/v1/sessions/{session['id']}/handoff",
        json={"reason": f"{title}: need a senior", "urgency": "critical"},
    )  # fmt: skip


async def _open_queue(
    browser: Browser, shape: Shape, user: TestUser
) -> tuple[Page, list[Response]]:
    context = await browser.new_context(base_url=shape.proxy.url)
    await context.add_cookies(
        [{"name": COOKIE_NAME, "value": user.token, "domain": "127.0.0.1", "path": "/",
          "httpOnly": True, "sameSite": "Lax"}]
    )  # fmt: skip
    page = await context.new_page()
    streams: list[Response] = []
    page.on("response", lambda r: streams.append(r) if STREAM_PATH in r.url else None)
    await page.goto("/escalations?status=live")
    await expect(page.locator("#queue-live-status")).to_have_attribute("data-state", "live")
    return page, streams


def _resumed_after(url: str, headers: dict[str, str]) -> int | None:
    """The event id a stream request resumes after (header, or the query a manual retry uses)."""
    value = headers.get("last-event-id")
    if value is None and "last_event_id=" in url:
        value = url.split("last_event_id=", 1)[1].split("&", 1)[0]
    return int(value) if value else None


async def test_a_page_behind_the_proxy_follows_both_replicas_and_replays_when_one_dies(
    shape: Shape, browser: Browser, factory: Factory
) -> None:
    team = await factory.team()
    page, streams = await _open_queue(browser, shape, team["eng"])
    holder = shape.replica_at(streams[-1].headers["x-upstream-addr"])
    other = shape.other_than(holder)

    first = await _escalate(other.url, team["tech"], "Boiler E119")  # not through the holder
    await expect(page.locator(f"#handoff-{first['id']}")).to_be_visible()
    await page.evaluate("window.notReloaded = true")

    # The holder freezes, an escalation is made meanwhile, then the holder dies: the page never
    # got it live, and must reconnect through nginx to the other replica and replay it.
    seen = len(streams)
    holder.process.send_signal(signal.SIGSTOP)
    missed = await _escalate(other.url, team["tech"], "Chiller trip")
    holder.process.kill()
    holder.process.wait(timeout=10)

    await expect(page.locator(f"#handoff-{missed['id']}")).to_be_visible(timeout=20_000)
    await expect(page.locator("#queue-live-status")).to_have_attribute("data-state", "live")
    assert await page.evaluate("window.notReloaded === true"), "the page reloaded, not replayed"
    again = streams[seen:]
    assert again, "no new stream request after the replica died"
    assert shape.replica_at(again[-1].headers["x-upstream-addr"]) is other
    resumed = _resumed_after(again[-1].url, await again[-1].request.all_headers())
    assert resumed is not None, "the reconnect did not say where it left off"
    await page.context.close()


async def test_a_worker_killed_mid_delivery_sends_every_mail_exactly_once(
    shape: Shape, smtp: tuple[str, SlowSmtp], factory: Factory, db: Any
) -> None:
    server = smtp[1]
    account = await factory.account()
    tech = await factory.user(account, role="technician")
    for n in range(10):
        await factory.user(account, role="engineer", email=f"eng{n}.{account.id}@{HOLD_DOMAIN}")
    server.hold_after(4)  # four mails get through, the rest stall at the server

    handoffs = [await _escalate(shape.proxy.url, tech, f"Site {n}") for n in range(2)]
    ids = [h["id"] for h in handoffs]

    async def statuses() -> dict[str, str]:
        async with db() as s:
            rows = await s.execute(
                select(Delivery.id, Delivery.status).where(
                    Delivery.handoff_id.in_(ids), Delivery.channel == Channel.EMAIL
                )
            )
            return {row.id: row.status for row in rows}

    def delivered(mine: dict[str, str]) -> collections.Counter[str]:
        """How many times the SMTP server accepted each of ``mine`` (by X-FlowPilot-Delivery)."""
        stamps = (str(m["X-FlowPilot-Delivery"]) for m in server.messages())
        return collections.Counter(d for d in stamps if d in mine)

    # In flight: four accepted and recorded as sent, others waiting for the server's "250".
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = await statuses()
        sent = {k for k, v in current.items() if v == DeliveryStatus.SENT}
        accepted = delivered(current)
        if len(accepted) == 4 and sent == set(accepted) and server.waiting >= 2:
            break
        await asyncio.sleep(0.1)  # polling other processes' progress, not an app timer
    else:
        pytest.fail(
            f"never in flight: accepted {dict(accepted)}, statuses {current}, waiting "
            f"{server.waiting} (a mail accepted but not recorded as sent would go out twice)"
        )
    in_flight = server.waiting
    shape.worker.process.kill()
    shape.worker.process.wait(timeout=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.waiting == 0:  # the server noticed the dead connections
            break
        await asyncio.sleep(0.05)
    assert server.waiting == 0 and server.aborted >= in_flight

    server.release()
    shape.start_worker()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        current = await statuses()
        if len(current) == 20 and all(v == DeliveryStatus.SENT for v in current.values()):
            break
        await asyncio.sleep(0.2)  # the dead worker's leases expire in real time
    else:
        pytest.fail(f"not every delivery was sent: {current}")

    counts = delivered(current)
    assert set(counts) == set(current), "a delivery never reached the SMTP server"
    assert set(counts.values()) == {1}, f"sent twice: {[k for k, n in counts.items() if n > 1]}"
    mine = [m for m in server.messages() if str(m["X-FlowPilot-Delivery"]) in current]
    message_ids = {str(m["Message-ID"]) for m in mine}
    assert len(message_ids) == 20
    assert all(str(m["Message-ID"]).startswith(f"<{m['X-FlowPilot-Delivery']}@") for m in mine)


def _client(base: str, source: str) -> httpx.AsyncClient:
    """A client connecting from loopback address ``source`` (another host, as far as TCP goes)."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=20)


async def test_replicas_believe_forwarded_addresses_from_the_proxy_only(
    shape: Shape, factory: Factory, db: Any
) -> None:
    user = await factory.user()
    wrong = {"email": user.email, "password": "wrong-password"}
    spoof = {"X-Forwarded-For": "198.51.100.1"}  # what a client claims about itself
    async with _client(shape.proxy.url, "127.0.0.3") as client:
        for _ in range(LOGIN_LIMIT):
            r = await client.post("/api/v1/auth/login", json=wrong, headers=spoof)
            assert r.status_code == 401
        right = {"email": user.email, "password": PASSWORD}
        assert (await client.post("/api/v1/auth/login", json=right)).status_code == 429
    # Straight to a replica from an address that is no proxy: its X-Forwarded-For is ignored.
    async with _client(shape.replicas[0].url, "127.0.0.4") as client:
        headers = {"X-Forwarded-For": "127.0.0.3"}
        r = await client.post(
            "/api/v1/auth/login", json={**wrong, "email": "x@example.test"}, headers=headers
        )
        assert r.status_code == 401
    async with db() as s:
        keys = set((await s.scalars(select(LoginFailure.key))).all())
    assert {k for k in keys if k.startswith("ip:")} == {"ip:127.0.0.3", "ip:127.0.0.4"}


async def test_streams_pass_the_proxy_unbuffered_and_the_api_keeps_its_limits(
    shape: Shape, factory: Factory
) -> None:
    team = await factory.team()
    async with (
        httpx.AsyncClient(base_url=shape.proxy.url, timeout=20) as client,
        client.stream("GET", STREAM_PATH, headers=team["eng"].headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "no-cache" in response.headers["cache-control"]
        assert response.headers["x-accel-buffering"] == "no"
        chunks = response.aiter_text()
        text = ""
        while "retry:" not in text:  # the first frame arrives at once, not when a buffer fills
            text += await asyncio.wait_for(anext(chunks), 10)
        handoff = await _escalate(shape.replicas[0].url, team["tech"], "Printer")
        while handoff["id"] not in text:
            text += await asyncio.wait_for(anext(chunks), 10)

    async with httpx.AsyncClient(
        base_url=shape.proxy.url, headers=team["tech"].headers, timeout=60
    ) as api:
        session = (
            await api.post("/api/v1/sessions", json={"title": "Laptop", "problem": "No boot"})
        ).json()
        async with api.stream("POST", f"/api/v1/sessions/{session['id']}/assistant") as answer:
            assert answer.status_code == 200
            assert "no-cache" in answer.headers["cache-control"]
            assert answer.headers["x-accel-buffering"] == "no"
            assert (await answer.aread()).strip()

        too_big = await api.post(
            "/api/v1/sessions",
            content=b"x" * 2_000_000,
            headers={"content-type": "application/json"},
        )
        assert too_big.status_code == 413
        assert too_big.json() == {"detail": "request body larger than 1048576 bytes"}
        hidden = await api.get("/metrics")
        assert hidden.status_code == 404  # scraped from each replica, never through the proxy
    async with httpx.AsyncClient(base_url=shape.replicas[1].url) as direct:
        assert (await direct.get("/metrics")).status_code == 200
