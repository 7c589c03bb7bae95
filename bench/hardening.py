"""What the hardening bought, each arm against its reference in the same run:

1. ``/healthz`` p50/p99 while 30 clients log in at once (Argon2 in worker threads) vs quiet.
2. The escalation answer (``POST /sessions/{id}/handoff``) p50/p99 with Redis stopped
   (SIGSTOP: hung, not down) vs Redis answering.

One server process (uvicorn, PostgreSQL database ``fp_bench_hardening_*``, created and dropped)
and its own redis-server on a free port; everything is removed at the end. (SQLite serialises
logins on its write lock: 30 looping login clients starve one past the busy timeout.)
Run: ``.venv/bin/python -m bench.hardening``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sse_fanout import pg_admin, pg_urls  # noqa: E402
from flowpilot.kernel.clock import SystemClock  # noqa: E402
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker  # noqa: E402
from flowpilot.runtime.migrate import upgrade  # noqa: E402
from tests import servers  # noqa: E402
from tests.factories import PASSWORD, Factory, TestUser  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, values: list[float]) -> tuple[str, float, float]:
    return name, statistics.median(values), pct(values, 0.99)


async def seed(url: str, n: int) -> list[TestUser]:
    engine = make_engine(url)
    try:
        factory = Factory(make_sessionmaker(engine), SystemClock())
        account = await factory.account("Bench")
        return [await factory.user(account) for _ in range(n)]
    finally:
        await engine.dispose()


async def timed(client: httpx.AsyncClient, method: str, path: str, **kw: object) -> float:
    start = time.perf_counter()
    try:
        r = await client.request(method, path, **kw)  # type: ignore[arg-type]
    except httpx.TimeoutException as exc:
        raise RuntimeError(f"{method} {path}: no answer in time") from exc
    assert r.status_code < 300, (path, r.status_code, r.text[:200])
    return (time.perf_counter() - start) * 1000


async def healthz_samples(client: httpx.AsyncClient, n: int) -> list[float]:
    out = []
    for _ in range(n):
        out.append(await timed(client, "GET", "/healthz"))
        await asyncio.sleep(0.01)
    return out


async def logins_under_way(url: str, users: list[TestUser], stop: asyncio.Event) -> int:
    done = 0

    async def one(user: TestUser) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            while not stop.is_set():
                body = {"email": user.email, "password": PASSWORD}
                await timed(c, "POST", "/api/v1/auth/login", json=body)
                done += 1

    await asyncio.gather(*(one(u) for u in users))
    return done


async def escalations(client: httpx.AsyncClient, user: TestUser, n: int) -> list[float]:
    out = []
    for i in range(n):
        s = await client.post(
            "/api/v1/sessions", json={"title": f"t{i}", "problem": "p"}, headers=user.headers
        )
        body = {"reason": "stuck", "urgency": "high"}
        path = f"/api/v1/sessions/{s.json()['id']}/handoff"
        out.append(await timed(client, "POST", path, json=body, headers=user.headers))
    return out


async def measure(
    url: str, users: list[TestUser], redis: subprocess.Popen[bytes], args: argparse.Namespace
) -> list[tuple[str, float, float]]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        quiet = await healthz_samples(client, args.samples)
        stop = asyncio.Event()
        logins = asyncio.create_task(logins_under_way(url, users[1:], stop))
        await asyncio.sleep(1.0)  # every login client under way
        busy = await healthz_samples(client, args.samples)
        stop.set()
        print(f"logins done while sampling: {await logins}")
        ok = await escalations(client, users[0], args.escalations)
        os.kill(redis.pid, signal.SIGSTOP)
        try:
            hung = await escalations(client, users[0], args.escalations)
        finally:
            os.kill(redis.pid, signal.SIGCONT)
    return [
        row("/healthz, quiet", quiet),
        row(f"/healthz, {args.logins} clients logging in", busy),
        row("escalation answer, Redis answering", ok),
        row("escalation answer, Redis hung (SIGSTOP)", hung),
    ]


def main(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="fp-bench-hardening-"))
    name, admin_url, db_url = pg_urls(args.postgres)
    name = name.replace("fp_bench_sse_", "fp_bench_hardening_")
    db_url = db_url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(pg_admin(admin_url, f'CREATE DATABASE "{name}"'))
    upgrade(db_url)
    users = asyncio.run(seed(db_url, args.logins + 1))
    redis_port = servers.free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    settings = {
        "FLOWPILOT_DATABASE_URL": db_url,
        "FLOWPILOT_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FLOWPILOT_RUN_WORKERS": "false",
        # The production default, not the test suite's small pool (tests/servers.py).
        "FLOWPILOT_DB_POOL_SIZE": "30",
    }
    try:
        time.sleep(0.5)  # redis-server binds
        with servers.running((tmp / "server", settings)) as (server,):
            try:
                rows = asyncio.run(measure(server.url, users, redis, args))
            except Exception:
                print(server.log_tail(3000), file=sys.stderr)
                raise
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
        asyncio.run(pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("| arm | p50 ms | p99 ms |\n|---|---|---|")
    for name, p50, p99 in rows:
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")
    print(
        f"ratios (p99): healthz busy/quiet {rows[1][2] / rows[0][2]:.2f}x; "
        f"escalation hung/answering {rows[3][2] / rows[2][2]:.2f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--logins", type=int, default=30)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--escalations", type=int, default=60)
    main(parser.parse_args())
