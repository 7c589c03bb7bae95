"""Benchmark: atomic claims under contention, and the queue list at 100k handoffs (PostgreSQL).

Creates a fresh database (default ``fp_bench_claims``), migrates it, measures, prints a Markdown
table and drops the database. Everything runs in-process through the **service layer**
(``flowpilot.handoffs.service``), one DB session and transaction per call, exactly as a request
does (without HTTP parsing and auth): claim = one statement (conditional UPDATE ... RETURNING +
re-assign the AI session, or the holder for a refused caller) + append the audit event (its
INSERT takes the account lock) + commit (+ publish to the in-process bus after commit; the
"mark published" write is batched in the background, see events/marks.py).
Each path first claims ``--warmup`` handoffs untimed (connections, statement caches).

    .venv/bin/python -m bench.claims [--pg postgresql://postgres@127.0.0.1:5432/postgres]
        [--handoffs 1000] [--claimers 4] [--workers 16] [--queue-rows 100000] [--samples 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text

from bench.claims_seed import bulk_handoffs, seed_people
from bench.pg import add_pg_option, async_url, create_database, drop_database, pct
from flowpilot.events import marks
from flowpilot.handoffs import service
from flowpilot.kernel import tenancy
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from flowpilot.kernel.db.uow import commit
from flowpilot.kernel.errors import Conflict
from flowpilot.kernel.identity import Actor
from flowpilot.live.memory import MemoryBus
from flowpilot.runtime.migrate import upgrade

Attempt = Callable[[str, Actor], Awaitable[tuple[bool, str | None]]]


def service_attempt(
    maker: Any, bus: MemoryBus | None, now: datetime, *, act_for: bool = False
) -> Attempt:
    """A claim as the API does it: ``service.claim`` in its own session + commit (+ publish).

    ``act_for``: first make the transaction act for the claimer's account (row-level security;
    the API folds this into its token lookup, so here it stands in for that round trip).
    """

    async def attempt(handoff_id: str, actor: Actor) -> tuple[bool, str | None]:
        async with maker() as session:
            try:
                if act_for:
                    await tenancy.act_for(session, actor)
                await service.claim(session, actor=actor, handoff_id=handoff_id, now=now, bus=bus)
                await commit(session)
                return True, actor.id
            except Conflict as exc:
                await session.rollback()
                return False, exc.extra.get("claimed_by_id")

    return attempt


def sql_attempt(pool: Any, now: datetime) -> Attempt:
    """The same transaction in hand-written SQL on asyncpg: the database's share of the cost.

    Same round trips as the service on PostgreSQL: BEGIN, the claim + session re-assignment in
    one statement, then (winner) the event INSERT that takes the account lock itself, or
    (refused) the holder's read; COMMIT/ROLLBACK.
    """

    async def attempt(handoff_id: str, actor: Actor) -> tuple[bool, str | None]:
        async with pool.acquire() as conn, conn.transaction():
            session_id = await conn.fetchval(
                "WITH claimed AS (UPDATE handoffs SET status = 'claimed', claimed_by_id = $1,"
                " claimed_at = $2, updated_at = $2 WHERE id = $3 AND account_id = $4"
                " AND status = 'open' RETURNING session_id)"
                " UPDATE ai_sessions SET assignee_id = $1, updated_at = $2 FROM claimed"
                " WHERE ai_sessions.id = claimed.session_id RETURNING ai_sessions.id",
                actor.id,
                now,
                handoff_id,
                actor.account_id,
            )
            if session_id is None:
                holder = await conn.fetchval(
                    "SELECT claimed_by_id FROM handoffs WHERE id = $1 AND account_id = $2",
                    handoff_id,
                    actor.account_id,
                )
                return False, holder
            # As flowpilot.events.repository does: event ids commit in id order per account.
            await conn.execute(
                "INSERT INTO events (account_id, type, handoff_id, session_id, actor_id, payload,"
                " created_at) SELECT $1, 'handoff.claimed', $2, $3, $4, $5::json, $6"
                " FROM (SELECT pg_advisory_xact_lock(hashtext($7))) AS account_log_lock",
                actor.account_id,
                handoff_id,
                session_id,
                actor.id,
                json.dumps({"id": handoff_id, "status": "claimed", "claimed_by_id": actor.id}),
                now,
                f"events:{actor.account_id}",
            )
            return True, actor.id

    return attempt


async def bench_claims(
    attempt: Attempt, handoff_ids: list[str], seniors: list[Actor], *, claimers: int, workers: int
) -> dict[str, float]:
    """Each handoff gets ``claimers`` back-to-back attempts (they contend); ``workers`` at once."""
    attempts = [
        (hid, seniors[(i * 7 + k) % len(seniors)])
        for i, hid in enumerate(handoff_ids)
        for k in range(claimers)
    ]
    queue: asyncio.Queue[tuple[str, Actor]] = asyncio.Queue()
    for item in attempts:
        queue.put_nowait(item)
    wins: dict[str, str] = {}
    losses: list[tuple[str, str | None]] = []
    errors: list[BaseException] = []
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            hid, actor = queue.get_nowait()
            t0 = time.perf_counter()
            try:
                won, holder = await attempt(hid, actor)
            except Exception as exc:
                errors.append(exc)
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            if won:
                if wins.setdefault(hid, actor.id) != actor.id:
                    errors.append(RuntimeError(f"two winners for {hid}"))
            else:
                losses.append((hid, holder))

    t0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    wrong = [h for h, holder in losses if holder != wins.get(h)]
    assert not errors, errors[:3]
    assert len(wins) == len(handoff_ids), "a handoff was never claimed"
    assert not wrong, f"{len(wrong)} refusals named the wrong holder"
    return {
        "attempts": len(attempts),
        "wins": len(wins),
        "refused": len(losses),
        "seconds": elapsed,
        "attempts_per_s": len(attempts) / elapsed,
        "wins_per_s": len(wins) / elapsed,
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
        "cpu_ms": cpu * 1000 / len(attempts),
    }


async def _time(call: Callable[[], Awaitable[Any]], samples: int) -> tuple[float, float]:
    for _ in range(10):  # warm caches and prepared statements
        await call()
    took = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await call()
        took.append((time.perf_counter() - t0) * 1000)
    return statistics.median(took), pct(took, 99)


async def bench_queue(maker: Any, actor: Actor, samples: int) -> list[tuple[str, float, float]]:
    async def page(status: str, cursor: str | None = None) -> str | None:
        async with maker() as session:
            rows, nxt = await service.queue(
                session, actor=actor, status=status, limit=50, cursor=cursor
            )
            assert rows
            return nxt

    # A cursor 200 pages deep (10,000 rows in) in the "all" list.
    deep: str | None = None
    for _ in range(200):
        deep = await page("all", deep)
    results = []
    for label, status, cursor in [
        ("open, first page", "open", None),
        ("claimed, first page", "claimed", None),
        ("all, first page", "all", None),
        ("live (open+claimed), first page", "live", None),
        ("all, page 201 (keyset cursor)", "all", deep),
    ]:
        p50, p99 = await _time(lambda s=status, c=cursor: page(s, c), samples)
        results.append((label, p50, p99))
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pg_option(parser)
    parser.add_argument("--database", default="fp_bench_claims")
    parser.add_argument(
        "--handoffs", type=int, default=1000, help="handoffs claimed in the claim bench"
    )
    parser.add_argument("--claimers", type=int, default=4, help="concurrent claimers per handoff")
    parser.add_argument("--workers", type=int, default=16, help="claims in flight at once")
    parser.add_argument(
        "--warmup",
        type=int,
        default=64,
        help="handoffs claimed (not timed) through each path first: opens its connections,"
        " fills statement caches, so the first path measured is not the only cold one",
    )
    parser.add_argument("--queue-rows", type=int, default=100_000)
    parser.add_argument(
        "--app-role", default="flowpilot_app", help="the role requests run as (row-level security)"
    )
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--keep", action="store_true", help="keep the database (to inspect)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    dsn = await create_database(args.pg, args.database)
    sa_url = async_url(dsn)
    try:
        await asyncio.to_thread(upgrade, sa_url)
        now = datetime.now(UTC).replace(microsecond=0)
        engine = make_engine(sa_url, pool_size=args.workers, max_overflow=0)
        maker = make_sessionmaker(engine)
        bus = MemoryBus()
        await bus.start()
        try:
            t0 = time.perf_counter()
            big_people = await seed_people(maker, 20, now)
            await bulk_handoffs(
                engine, big_people[0], big_people[1:], args.queue_rows, now - timedelta(days=400)
            )
            claim_people = await seed_people(maker, 20, now)
            claim_ids = await bulk_handoffs(
                engine,
                claim_people[0],
                claim_people[1:],
                4 * args.handoffs + 4 * args.warmup,
                now - timedelta(hours=2),
                statuses=("open",),
            )
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
            load_s = time.perf_counter() - t0
            seniors = claim_people[1:]
            warm_ids = claim_ids[4 * args.handoffs :]

            async def warm_up(attempt: Attempt, k: int) -> None:
                ids = warm_ids[k * args.warmup : (k + 1) * args.warmup]
                if ids:
                    await bench_claims(
                        attempt, ids, seniors, claimers=args.claimers, workers=args.workers
                    )

            await warm_up(service_attempt(maker, bus, now), 0)
            claims = {
                "service layer (as the API)": await bench_claims(
                    service_attempt(maker, bus, now),
                    claim_ids[: args.handoffs],
                    seniors,
                    claimers=args.claimers,
                    workers=args.workers,
                ),
            }
            # As the server runs requests: the app role under row-level security.
            app_engine = make_engine(
                sa_url, role=args.app_role, pool_size=args.workers, max_overflow=0
            )
            marks.write_with(app_engine, engine)  # the app role may not update the event log
            app_maker = make_sessionmaker(app_engine)
            await warm_up(service_attempt(app_maker, bus, now, act_for=True), 3)
            claims[
                "service layer as the app role under RLS (+ set_config, as the auth lookup)"
            ] = await bench_claims(
                service_attempt(app_maker, bus, now, act_for=True),
                claim_ids[3 * args.handoffs : 4 * args.handoffs],
                seniors,
                claimers=args.claimers,
                workers=args.workers,
            )
            await marks.flush(app_engine)
            await app_engine.dispose()
            await warm_up(service_attempt(maker, None, now), 2)
            claims[
                "service layer, no bus (skips after-commit publish + mark)"
            ] = await bench_claims(
                service_attempt(maker, None, now),
                claim_ids[2 * args.handoffs : 3 * args.handoffs],
                seniors,
                claimers=args.claimers,
                workers=args.workers,
            )
            pool = await asyncpg.create_pool(dsn, min_size=args.workers, max_size=args.workers)
            try:
                await warm_up(sql_attempt(pool, now), 1)
                claims["same transaction, raw SQL (asyncpg)"] = await bench_claims(
                    sql_attempt(pool, now),
                    claim_ids[args.handoffs : 2 * args.handoffs],
                    seniors,
                    claimers=args.claimers,
                    workers=args.workers,
                )
            finally:
                await pool.close()
            queue = await bench_queue(maker, big_people[1], args.samples)
        finally:
            await marks.flush(engine)
            await bus.stop()
            await engine.dispose()
    finally:
        if not args.keep:
            await drop_database(args.pg, args.database)

    cmd = " ".join(["python -m bench.claims", *sys.argv[1:]])
    print(
        f"\nmachine: {platform.node()} · {os.cpu_count()} cores"
        f" · Python {platform.python_version()}"
        f" · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · load avg before/after"
        f" {load_before:.1f}/{os.getloadavg()[0]:.1f} · seeded"
        f" {args.queue_rows + 4 * args.handoffs:,} handoffs in {load_s:.1f} s · `{cmd}`\n"
    )
    print(
        f"### Claims ({args.handoffs} open handoffs x {args.claimers} back-to-back claimers each, "
        f"{args.workers} in flight)\n"
    )
    print(
        "| path | attempts | won | refused (409) | seconds | claim attempts/s"
        " | successful claims/s | p50 ms | p99 ms | client CPU ms/attempt |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, c in claims.items():
        print(
            f"| {label} | {c['attempts']:.0f} | {c['wins']:.0f} | {c['refused']:.0f} |"
            f" {c['seconds']:.2f} | {c['attempts_per_s']:.0f} | {c['wins_per_s']:.0f} |"
            f" {c['p50_ms']:.1f} | {c['p99_ms']:.1f} | {c['cpu_ms']:.2f} |"
        )
    print(
        f"\n### Queue list, 50 per page, {args.queue_rows:,} handoffs in one account "
        f"({args.samples} samples each, service layer incl. session + transaction)\n"
    )
    print("| query | p50 ms | p99 ms |")
    print("|---|---:|---:|")
    for label, p50, p99 in queue:
        print(f"| {label} | {p50:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
