"""Revocation latency: how long an open stream outlives its login.

One FlowPilot server process (in-process bus, or Redis Streams) holds N open queue streams, each
of its own login (N accounts, one engineer each). The script then ends R of those logins one at
a time (``POST /api/v1/auth/logout`` with that stream's token) and times, from just before the
request is sent, (a) the logout's answer and (b) the moment its stream has ``event: revoked``
and is closed by the server. The reference in the same run is (a): (b) / (a) is what the
revocation adds on top of the request that caused it. Loopback only; prints a Markdown table.

    .venv/bin/python bench/revocation.py                          # 1k streams, 100 logouts
    .venv/bin/python bench/revocation.py --streams 200 --revocations 20 --servers memory
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sse_fanout import (  # noqa: E402
    READ_SIZE,
    Run,
    pct,
    pg_admin,
    pg_urls,
    read_opening,
    sample_frame,
    seed,
)

REVOKED = b"event: revoked"


async def open_stream(run: Run, index: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", run.port, limit=READ_SIZE)
    writer.write(run.request(run.accounts[index]))
    await read_opening(reader)
    return reader, writer


async def until_revoked_and_closed(reader: asyncio.StreamReader) -> float:
    """When the stream has ``revoked`` and its response has ended (the last, empty chunk: the
    stream is over for the client; the socket itself may stay open for keep-alive)."""
    seen = b""
    while True:
        data = await reader.read(READ_SIZE)
        if not data:
            raise RuntimeError(f"socket closed before the stream ended: {seen[-300:]!r}")
        seen = (seen + data)[-4096:]
        if REVOKED in seen and seen.endswith(b"\r\n0\r\n\r\n"):
            return time.perf_counter()


async def measure(
    run: Run, streams: int, revocations: int, concurrency: int, dead: set[int]
) -> dict[str, float]:
    """``dead``: logins an earlier run ended (their streams are refused); ends more of them."""
    sem = asyncio.Semaphore(concurrency)
    alive = [i for i in range(len(run.accounts)) if i not in dead][:streams]

    async def one(i: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with sem:
            return await open_stream(run, i)

    opened = dict(zip(alive, await asyncio.gather(*(one(i) for i in alive)), strict=True))
    await asyncio.sleep(1.0)
    answer_ms: list[float] = []
    closed_ms: list[float] = []
    step = max(1, len(alive) // revocations)
    async with httpx.AsyncClient(base_url=run.url, timeout=30) as client:
        for k in range(revocations):
            index = alive[(k * step) % len(alive)]
            dead.add(index)
            reader, _ = opened[index]
            waiter = asyncio.create_task(until_revoked_and_closed(reader))
            token = run.accounts[index].eng_token
            t0 = time.perf_counter()
            response = await client.post(
                "/api/v1/auth/logout", headers={"authorization": f"Bearer {token}"}
            )
            answered = time.perf_counter()
            assert response.status_code == 204, response.text
            closed = await asyncio.wait_for(waiter, 30)
            answer_ms.append((answered - t0) * 1000)
            closed_ms.append((closed - t0) * 1000)
    for _, writer in opened.values():
        writer.close()
    return {
        "answer_p50": pct(answer_ms, 0.5),
        "answer_p99": pct(answer_ms, 0.99),
        "closed_p50": pct(closed_ms, 0.5),
        "closed_p99": pct(closed_ms, 0.99),
        "closed_max": max(closed_ms),
    }


async def main(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from flowpilot.runtime.migrate import upgrade

    name, admin_url, db_url = pg_urls(args.postgres)
    await pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, db_url)
        runs = len(args.servers.split(","))
        # One login per stream, and enough for every run (each ends some for good).
        accounts = await seed(db_url, args.streams + runs * args.revocations)
        rows = []
        dead: set[int] = set()
        for kind in args.servers.split(","):
            run = Run(kind, args, db_url, accounts, sample_frame())
            run.start()
            try:
                result = await measure(run, args.streams, args.revocations, 200, dead)
                rows.append((kind, result))
            finally:
                run.stop()
        print()
        print(
            f"{args.streams} open streams, {args.revocations} logouts one at a time, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        )
        print()
        print(
            "| bus | logout answer p50 | p99 | stream revoked+closed p50 | p99 | max | p50 ratio |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for kind, r in rows:
            print(
                f"| {kind} | {r['answer_p50']:.1f} ms | {r['answer_p99']:.1f} ms | "
                f"{r['closed_p50']:.1f} ms | {r['closed_p99']:.1f} ms | {r['closed_max']:.1f} ms | "
                f"{r['closed_p50'] / r['answer_p50']:.2f}x |"
            )
    finally:
        await pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--revocations", type=int, default=100)
    parser.add_argument("--servers", default="memory,redis")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ns = parser.parse_args()
    asyncio.run(main(ns))
