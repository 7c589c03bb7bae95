"""Benchmark: every queue view stays O(page size) at 100k handoffs per account (PostgreSQL).

Three accounts in one database: A with ``--rows`` handoffs, B with as many (the other tenants'
rows an index must skip), and C with ``--reference-rows`` (the reference: the same queries on a
small queue). Each view is timed through the service layer (``handoffs.service.queue``, one
session per call, as a request does without HTTP) in A and in C; the ratio A / C is the
verdict: a page that reads only what it shows costs the same in both (ratio near 1). Creates
database ``fp_bench_triage``, drops it afterwards.

    .venv/bin/python -m bench.queue_triage [--rows 100000] [--reference-rows 1000]
        [--samples 200] [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.claims_seed import bulk_handoffs, seed_people
from bench.pg import add_pg_option, async_url, create_database, drop_database, pct
from flowpilot.handoffs import service
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from flowpilot.kernel.identity import Actor
from flowpilot.runtime.migrate import upgrade

# (label, queue parameters): the page's tabs and filters, and the API's other shapes.
VIEWS: list[tuple[str, dict[str, Any]]] = [
    ("Unclaimed, urgency first (the page)", {"status": "open", "sort": "urgency"}),
    ("Unclaimed, newest", {"status": "open", "sort": "newest"}),
    ("All, urgency first", {"status": "all", "sort": "urgency"}),
    ("All, oldest", {"status": "all", "sort": "oldest"}),
    ("Open + claimed, urgency first", {"status": "live", "sort": "urgency"}),
    (
        "All, critical + high, newest",
        {"status": "all", "sort": "newest", "urgency": "critical,high"},
    ),
    (
        "Mine (claimed by me), urgency first",
        {"status": "claimed", "sort": "urgency", "claimed_by": "me"},
    ),
    ("All mine, newest", {"status": "all", "sort": "newest", "claimed_by": "me"}),
    (
        "Search q=customer 42, all, urgency first",
        {"status": "all", "sort": "urgency", "q": "customer 42"},
    ),
]


async def _page(maker: Any, actor: Actor, params: dict[str, Any], cursor: str | None) -> Any:
    async with maker() as session:
        return await service.queue(session, actor=actor, limit=50, cursor=cursor, **params)


async def _time(
    maker: Any, actor: Actor, params: dict[str, Any], cursor: str | None, n: int
) -> tuple[float, float]:
    for _ in range(10):
        await _page(maker, actor, params, cursor)
    took = []
    for _ in range(n):
        t0 = time.perf_counter()
        await _page(maker, actor, params, cursor)
        took.append((time.perf_counter() - t0) * 1000)
    return statistics.median(took), pct(took, 99)


async def _deep_cursor(maker: Any, actor: Actor, params: dict[str, Any], pages: int) -> str | None:
    cursor = None
    for _ in range(pages):
        _, cursor = await _page(maker, actor, params, cursor)
        if cursor is None:
            break
    return cursor


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pg_option(parser)
    parser.add_argument("--database", default="fp_bench_triage")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--reference-rows", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    sa_url = async_url(await create_database(args.pg, args.database))
    try:
        await asyncio.to_thread(upgrade, sa_url)
        now = datetime.now(UTC).replace(microsecond=0)
        engine = make_engine(sa_url, pool_size=4, max_overflow=0)
        maker = make_sessionmaker(engine)
        t0 = time.perf_counter()
        big = await seed_people(maker, 20, now)
        other = await seed_people(maker, 20, now)
        # Two seniors: "mine" holds as many rows per page in the reference as in the big one.
        small = await seed_people(maker, 2, now)
        start = now - timedelta(days=400)
        await bulk_handoffs(engine, big[0], big[1:], args.rows, start)
        await bulk_handoffs(engine, other[0], other[1:], args.rows, start)
        await bulk_handoffs(engine, small[0], small[1:], args.reference_rows, start)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        load_s = time.perf_counter() - t0
        rows = []
        for label, params in [*VIEWS, ("All, urgency first, page 201 (cursor)", None)]:
            if params is None:
                params = {"status": "all", "sort": "urgency"}
                cursors = [
                    await _deep_cursor(maker, a, params, 200 if a is big[1] else 2)
                    for a in (big[1], small[1])
                ]
            else:
                cursors = [None, None]
            a50, a99 = await _time(maker, big[1], params, cursors[0], args.samples)
            c50, c99 = await _time(maker, small[1], params, cursors[1], args.samples)
            rows.append((label, a50, a99, c50, c99, a50 / c50))
    finally:
        if not args.keep:
            await drop_database(args.pg, args.database)
    load_after = os.getloadavg()[0]
    print(
        f"\n{platform.node()} · {os.cpu_count()} cores · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · "
        f"load {load_before:.2f} → {load_after:.2f} · seeded "
        f"{2 * args.rows + args.reference_rows:,} handoffs in {load_s:.1f} s · "
        f"`.venv/bin/python -m bench.queue_triage --rows {args.rows}"
        f" --reference-rows {args.reference_rows} --samples {args.samples}`\n"
    )
    print(
        f"| view (50 per page, service layer) | {args.rows:,} p50 ms | p99 ms "
        f"| {args.reference_rows:,} p50 ms | p99 ms | ratio p50 |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, a50, a99, c50, c99, ratio in rows:
        print(f"| {label} | {a50:.2f} | {a99:.2f} | {c50:.2f} | {c99:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
