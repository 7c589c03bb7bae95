"""The live queue tells the truth in a real browser: the loser of a claim race is told who won;
a stream a proxy stalls is noticed by the heartbeat watchdog and caught up without a reload; a
server restart is caught up within 2 s of the server being ready, however long it was down."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Request, Route, expect

from tests import servers
from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory, TestUser


async def _api(server: LiveServer, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as c:
        response = await c.request(method, path, **kw)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


async def _escalated(server: LiveServer, tech: TestUser) -> dict[str, Any]:
    session = await _api(
        server, tech, "POST", "/api/v1/sessions", json={"title": "Walk-in cooler", "problem": "8C"}
    )
    return await _api(  # type: ignore[no-any-return]
        server,
        tech,
        "POST",
        f"/api/v1/sessions/{session['id']}/handoff",
        json={"reason": "Compressor short-cycles", "urgency": "critical"},
    )


async def test_the_loser_of_a_claim_race_sees_who_won_before_the_card_leaves(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    h = await _escalated(live_server, team["tech"])
    page = await page_as(team["eng2"])
    await page.goto("/escalations?status=open")
    await expect(page.locator("#queue-live-status")).to_have_attribute("data-state", "live")
    card = page.locator(f"#handoff-{h['id']}")
    await expect(card).to_be_visible()
    won = asyncio.Event()

    async def lose_the_race(route: Route) -> None:
        # The other engineer's claim lands (and its live event reaches this page) first.
        await _api(live_server, team["eng"], "POST", f"/api/v1/handoffs/{h['id']}/claim")
        won.set()
        await asyncio.sleep(1.0)  # the live "claimed" event arrives while our claim is in flight
        await route.continue_()

    await page.route(f"**/api/v1/handoffs/{h['id']}/claim", lose_the_race)
    await card.locator('[data-action="claim"]').click()
    await won.wait()
    await expect(card).to_contain_text(f"Claimed by {team['eng'].name}")
    await expect(card.locator("[data-claim-error]")).to_contain_text(
        f"Claimed by {team['eng'].name}"
    )
    await page.wait_for_timeout(3_000)  # "several seconds": still there, still saying who won
    await expect(card).to_be_visible()
    await expect(card).to_contain_text(f"Claimed by {team['eng'].name}")
    await expect(card).to_have_count(0, timeout=10_000)  # then it leaves the open queue


class StallingProxy:
    """A loopback TCP proxy that can stall the connections it carries: it keeps them open but
    stops forwarding the server's bytes (what a misbehaving proxy does). New connections pass."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.stalled: set[asyncio.StreamWriter] = set()
        self.open: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def stall(self) -> None:
        self.stalled |= self.open

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.open):
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.open.add(writer)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, down: bool) -> None:
            try:
                while data := await src.read(65536):
                    if down and writer in self.stalled:
                        continue  # swallowed: the browser hears nothing, the socket stays open
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        try:
            await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))
        finally:
            self.open.discard(writer)
            self.stalled.discard(writer)


@pytest.fixture
def quick_heartbeat_server(
    database_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[LiveServer]:
    """A second server on the browser tests' database with a 1 s heartbeat (watchdog: 2 s)."""
    settings = {
        "FLOWPILOT_DATABASE_URL": database_url,
        "FLOWPILOT_REDIS_PREFIX": redis_prefix,
        "FLOWPILOT_RUN_WORKERS": "false",
        "FLOWPILOT_SSE_HEARTBEAT_SECONDS": "1",
    }
    redis_url = os.environ.get("FLOWPILOT_TEST_REDIS_URL")
    if redis_url:
        settings["FLOWPILOT_REDIS_URL"] = redis_url
    with servers.running((tmp_path / "quick", settings)) as (server,):
        yield server


async def test_a_stalled_stream_is_noticed_and_caught_up_without_a_reload(
    quick_heartbeat_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    server = quick_heartbeat_server
    team = await factory.team()
    proxy = StallingProxy(server.port)
    await proxy.start()
    try:
        page = await page_as(team["eng"])
        await page.goto(f"http://127.0.0.1:{proxy.port}/escalations?status=open")
        indicator = page.locator("#queue-live-status")
        await expect(indicator).to_have_attribute("data-state", "live")
        first = await _escalated(server, team["tech"])
        await expect(page.locator(f"#handoff-{first['id']}")).to_be_visible()
        await page.evaluate("window.__marker = 1")  # a reload would forget it

        proxy.stall()
        missed = [await _escalated(server, team["tech"]) for _ in range(2)]
        for h in missed:
            await expect(page.locator(f"#handoff-{h['id']}")).to_be_visible()
        await expect(indicator).to_have_attribute("data-state", "live")
        await expect(indicator).to_contain_text("2 escalations arrived while you were disconnected")
        assert await page.evaluate("window.__marker") == 1  # no reload happened
    finally:
        await proxy.stop()


async def test_the_queue_card_says_who_is_looking_before_anyone_claims(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    h = await _escalated(live_server, team["tech"])
    queue = await page_as(team["eng"])
    await queue.goto("/escalations?status=open")
    card = queue.locator(f"#handoff-{h['id']}")
    await expect(card).to_be_visible()
    looking = await page_as(team["eng2"])
    await looking.goto(f"/escalations/{h['id']}")  # reading the handoff context
    await expect(card.locator("[data-viewers]")).to_have_text(f"{team['eng2'].name} is viewing")
    await looking.close()
    await expect(card.locator("[data-viewers]")).to_be_hidden()


class Restartable:
    """``flowpilot serve`` on the browser tests' database, as a deployment runs it, which a test
    may stop and start again on the same port (``server`` is the process running now)."""

    def __init__(self, workdir: Path, settings: dict[str, str]) -> None:
        self.workdir = workdir
        self.settings = settings
        self.server = servers.start_cli(workdir, "serve", **settings)
        servers.wait_ready(self.server)

    def stop(self) -> None:
        servers.stop(self.server)

    def start_again(self) -> None:
        self.server = servers.start_cli(
            self.workdir, "serve", port=self.server.port, **self.settings
        )
        servers.wait_ready(self.server)


@pytest.fixture
def restartable(database_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[Restartable]:
    settings = {
        "FLOWPILOT_DATABASE_URL": database_url,
        "FLOWPILOT_REDIS_PREFIX": redis_prefix,
        "FLOWPILOT_RUN_WORKERS": "false",
    }
    redis_url = os.environ.get("FLOWPILOT_TEST_REDIS_URL")
    if redis_url:
        settings["FLOWPILOT_REDIS_URL"] = redis_url
    own = Restartable(tmp_path / "own", settings)
    try:
        yield own
    finally:
        own.stop()


async def test_a_server_restart_is_caught_up_within_2_s_of_the_server_being_ready(
    restartable: Restartable, live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    server = restartable.server
    team = await factory.team()
    page = await page_as(team["eng"])
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    # The page's timers run on a clock this test moves: "within 2 s" is the client's own
    # schedule, whatever the box's load does to how long each request takes.
    await page.clock.install()
    await page.goto(f"{server.url}/escalations?status=open")
    indicator = page.locator("#queue-live-status")
    await expect(indicator).to_have_attribute("data-state", "live")
    first = await _escalated(server, team["tech"])
    await expect(page.locator(f"#handoff-{first['id']}")).to_be_visible()
    await page.clock.pause_at(await page.evaluate("Date.now()") + 100)

    await asyncio.to_thread(restartable.stop)
    # A long outage: the backoff grows with each refused attempt (8-16 s after five).
    for attempt in range(1, 6):
        while sum("/handoffs/stream" in url for url in failed) < attempt:
            await page.clock.run_for(30_000)
            await asyncio.sleep(0.1)  # a refused request failing is real time, not the page's
    await expect(indicator).to_have_attribute("data-state", "reconnecting")
    down = await _escalated(live_server, team["tech"])  # the same database, while it is down

    await asyncio.to_thread(restartable.start_again)
    ready = time.monotonic()
    after = await _escalated(restartable.server, team["tech"])  # right after it is ready
    streams: list[Request] = []
    page.on("request", lambda r: streams.append(r) if "/handoffs/stream" in r.url else None)
    await page.clock.run_for(2_000)  # the page lives 2 s past the server being ready, no more
    for h in (down, after):
        await expect(page.locator(f"#handoff-{h['id']}")).to_be_visible()
    await expect(indicator).to_have_attribute("data-state", "live")
    assert len(streams) == 1  # one reconnect did it
    print(f"ready -> both cards shown: {time.monotonic() - ready:.2f} s real, 2 s page time")
