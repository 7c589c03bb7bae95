"""A hung Redis (a real redis-server, stopped with SIGSTOP) costs answers nothing: escalations
answer without waiting for the publish, the relay keeps the event, /readyz answers and names the
bus, and the failures log a line, not a traceback per event."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from flowpilot.events import service as events_service
from flowpilot.kernel.settings import Settings
from flowpilot.models import Event
from tests.factories import open_session
from tests.servers import free_port


@pytest.fixture
def hung_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None:
                raise
            time.sleep(0.05)
    client.close()
    try:
        yield url, process
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def settings(settings: Settings, hung_redis) -> Settings:
    # Long enough that a publish is still waiting for Redis when the answer has gone out.
    return settings.model_copy(update={"redis_url": hung_redis[0], "redis_timeout_seconds": 3.0})


async def escalate(client, user, session_id):
    return await client.post(
        f"/api/v1/sessions/{session_id}/handoff",
        json={"reason": "stuck", "urgency": "high"},
        headers=user.headers,
    )


async def test_an_escalation_answers_while_redis_hangs_and_the_event_waits_for_the_relay(
    client, factory, db, hung_redis, caplog
):
    _, process = hung_redis
    tech = await factory.user()
    first = await open_session(client, tech)
    assert (await escalate(client, tech, first["id"])).status_code == 201  # Redis answering
    assert not events_service._in_flight
    second = await open_session(client, tech)
    os.kill(process.pid, signal.SIGSTOP)
    caplog.set_level(logging.WARNING, logger="flowpilot.events")
    events_service._failures.next_at = 0.0  # no line held back from an earlier test

    r = await escalate(client, tech, second["id"])
    assert r.status_code == 201, r.text
    # The answer came back while its publish was still waiting for Redis.
    assert len(events_service._in_flight) == 1
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["down"] == ["bus"]
    assert ready.json()["database"] == "ok"

    await asyncio.wait(set(events_service._in_flight), timeout=30)
    async with db() as s:
        event = (
            await s.execute(select(Event).where(Event.handoff_id == r.json()["id"]))
        ).scalar_one()
    assert event.published_at is None  # the relay publishes it once Redis is back
    lines = [rec for rec in caplog.records if "publishing events" in rec.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None

    os.kill(process.pid, signal.SIGCONT)
    for _ in range(100):
        if (await client.get("/readyz")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert (await client.get("/readyz")).json()["down"] == []


def test_failures_log_one_line_per_interval(caplog):
    throttled = events_service.ThrottledLog(logging.getLogger("tests.throttled"), every=3600)
    caplog.set_level(logging.WARNING, logger="tests.throttled")
    for n in range(5):
        throttled.warning("publish failed %d", n)
    assert [r.getMessage() for r in caplog.records] == ["publish failed 0"]
    throttled.next_at = 0.0  # the interval passed
    throttled.warning("publish failed %d", 5)
    assert caplog.records[-1].getMessage() == (
        "publish failed 5 (4 more like it since the last line)"
    )
