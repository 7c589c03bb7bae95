"""The fuzzer's rig: a real server process on its own database (SQLite, or PostgreSQL when
FLOWPILOT_TEST_POSTGRES_URL is set), an account with a user of every role, and a few real
objects so generated requests reach more than 404s."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from flowpilot.kernel.clock import SystemClock
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from tests import servers
from tests.databases import provision_database
from tests.factories import Factory, TestUser
from tests.servers import LiveServer


@dataclass
class FuzzTarget:
    server: LiveServer
    users: dict[str, TestUser]
    ids: dict[str, str] = field(default_factory=dict)  # path parameter name → a real id


@pytest.fixture(scope="session")
def fuzz_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from provision_database(tmp_path_factory, "_fuzz")


async def _team(database_url: str) -> dict[str, TestUser]:
    engine = make_engine(database_url)
    try:
        factory = Factory(make_sessionmaker(engine), SystemClock())
        account = await factory.account("Fuzz")
        return {
            "technician": await factory.user(account, role="technician"),
            "engineer": await factory.user(account, role="engineer"),
            "admin": await factory.user(account, role="admin"),
            "victim": await factory.user(account, role="technician"),  # PATCHed by the fuzzer
        }
    finally:
        await engine.dispose()


def _seed(url: str, users: dict[str, TestUser]) -> dict[str, str]:
    tech, eng = users["technician"].headers, users["engineer"].headers
    with httpx.Client(base_url=url, timeout=30) as client:
        session = client.post(
            "/api/v1/sessions", json={"title": "Printer", "problem": "Offline"}, headers=tech
        ).json()
        client.post(
            f"/api/v1/sessions/{session['id']}/steps",
            json={"kind": "action", "content": "Restarted the spooler"},
            headers=tech,
        )
        handoff = client.post(
            f"/api/v1/sessions/{session['id']}/handoff",
            json={"reason": "Still offline", "urgency": "high"},
            headers=tech,
        ).json()
        baseline = client.post(
            "/api/v1/analytics/baseline", json={"seconds": 600}, headers=eng
        ).json()
    return {
        "session_id": session["id"],
        "handoff_id": handoff["id"],
        "observation_id": baseline["id"],
        "user_id": users["victim"].id,
    }


@pytest.fixture(scope="session")
def fuzz_target(
    fuzz_database: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    settings = {
        "FLOWPILOT_DATABASE_URL": fuzz_database,
        "FLOWPILOT_REDIS_PREFIX": f"{redis_prefix}:fuzz",
        "FLOWPILOT_RUN_WORKERS": "false",  # nothing leaves the machine (webhooks, mail)
        "FLOWPILOT_ASSISTANT_PACE_SECONDS": "0",
    }
    if os.environ.get("FLOWPILOT_TEST_REDIS_URL"):
        settings["FLOWPILOT_REDIS_URL"] = os.environ["FLOWPILOT_TEST_REDIS_URL"]
    workdir: Path = tmp_path_factory.mktemp("fuzz_server")
    users = asyncio.run(_team(fuzz_database))
    with servers.running((workdir, settings)) as (server,):
        yield FuzzTarget(server, users, _seed(server.url, users))
