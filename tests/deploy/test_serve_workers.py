"""``flowpilot serve --workers N``: migrate once, then N processes on one port sharing the bus."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from flowpilot.runtime import cli
from tests import servers
from tests.databases import REDIS_URL, provision_database
from tests.factories import Factory
from tests.live.sse_client import SSEReader

needs_redis = pytest.mark.skipif(
    not REDIS_URL,
    reason="needs Redis (FLOWPILOT_TEST_REDIS_URL not set): several processes share the Redis bus",
)


def test_several_processes_without_redis_are_refused_saying_why(tmp_path: Path) -> None:
    env = {
        "FLOWPILOT_REDIS_URL": "",
        "FLOWPILOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
    }
    result = CliRunner().invoke(cli.app, ["serve", "--workers", "2"], env=env)
    assert result.exit_code == 2
    words = " ".join(result.output.replace("│", " ").split())
    assert "--workers" in words and "FLOWPILOT_REDIS_URL" in words
    assert "would never reach the live streams held by the others" in words
    assert not (tmp_path / "x.db").exists()  # refused before migrating anything


@pytest.fixture(scope="module")
def fresh_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database nobody has migrated: ``serve`` must do it, once."""
    yield from provision_database(tmp_path_factory, "_workers", migrate=False)


@pytest.fixture
async def fresh_factory(fresh_database: str) -> AsyncIterator[Factory]:
    engine = make_engine(fresh_database)
    try:
        yield Factory(
            make_sessionmaker(engine), FrozenClock(datetime.now(UTC).replace(microsecond=0))
        )
    finally:
        await engine.dispose()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in path.read_text().split()]
    return [k for k in kids if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()]


def _alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def _established(pid: int, port: int) -> int:
    """Established TCP connections on local ``port`` whose socket process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            local_port = int(cols[1].rsplit(":", 1)[1], 16)
            if local_port == port and cols[3] == "01" and cols[9] in inodes:
                count += 1
    return count


@needs_redis
async def test_serve_with_two_workers_migrates_once_and_every_process_gets_every_event(
    fresh_database: str, fresh_factory: Factory, redis_prefix: str, tmp_path: Path
) -> None:
    assert REDIS_URL
    settings = {
        "FLOWPILOT_DATABASE_URL": fresh_database,
        "FLOWPILOT_REDIS_URL": REDIS_URL,
        "FLOWPILOT_REDIS_PREFIX": f"{redis_prefix}:workers",
        "FLOWPILOT_RUN_WORKERS": "false",
    }
    server = servers.start_cli(tmp_path, "serve", "--workers", "2", "--migrate", **settings)
    try:
        servers.wait_ready(server)
        log = server.log_path.read_text()
        assert log.count("database is up to date") == 1, log
        servers.wait_log(server, "Application startup complete")
        processes = _children(server.process.pid)
        assert len(processes) == 2, processes

        team = await fresh_factory.team()
        async with contextlib.AsyncExitStack() as stack:
            readers: list[SSEReader] = []
            # Open streams until both processes hold one (the kernel picks who accepts).
            for _ in range(60):
                client = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=server.url, timeout=15)
                )
                response = await stack.enter_async_context(
                    client.stream("GET", "/api/v1/handoffs/stream", headers=team["eng"].headers)
                )
                assert response.status_code == 200
                reader = SSEReader(response)
                assert (await reader.next()).retry is not None
                readers.append(reader)
                held = [_established(pid, server.port) for pid in processes]
                if all(held):
                    break
            assert all(held), f"every stream landed on one process: {held}"

            async with httpx.AsyncClient(base_url=server.url, headers=team["tech"].headers) as api:
                session = (
                    await api.post("/api/v1/sessions", json={"title": "T", "problem": "p"})
                ).json()
                handoff = await api.post(
                    f"/api/v1/sessions/{session['id']}/handoff",
                    json={"reason": "stuck", "urgency": "high"},
                )
                assert handoff.status_code == 201, handoff.text
            events = await asyncio.gather(*(r.next_event(within=20) for r in readers))
            assert {(e.event, e.json["id"]) for e in events} == {
                ("handoff.created", handoff.json()["id"])
            }
    finally:
        servers.stop(server)
    assert server.process.returncode == 0, server.log_tail()
    assert not any(_alive(pid) for pid in processes), processes  # gone with the parent
