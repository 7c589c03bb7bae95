"""Benchmark: what row-level security costs a request's database work (PostgreSQL).

One request's transaction as the API runs it, without HTTP: resolve the bearer token (the auth
dependency), do the endpoint's work through the service layer, commit. Two endpoints: a claim
(the write hot path) and the queue's first page (a read). Three ways to run them:

- **RLS**: the request engine (connections act as ``flowpilot_app``), the token lookup through
  the SECURITY DEFINER function with ``set_config`` folded into the same statement: the app now;
- **no RLS**: the login role (a superuser: bypasses RLS), the same columns looked up by a plain
  join, no ``set_config``: the cost of the wall alone is the difference to RLS;
- **before**: no RLS, and the token lookup as it was (loading LoginSession and User entities).

Rounds rotate the order of the ways, so noise from a shared machine hits all alike. Creates the
database ``fp_bench_rls``, prints a Markdown table, drops it.

    .venv/bin/python -m bench.rls [--pg URL] [--requests 1000] [--workers 1,8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from bench.claims_seed import bulk_handoffs, seed_people
from bench.pg import add_pg_option, async_url, create_database, drop_database, pct
from flowpilot.auth import repository as auth_repository
from flowpilot.auth import service as auth_service
from flowpilot.auth.service import hash_token
from flowpilot.handoffs import service
from flowpilot.kernel.db.base import new_id
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from flowpilot.kernel.db.uow import commit
from flowpilot.kernel.identity import Actor
from flowpilot.models import LoginSession, User
from flowpilot.runtime.migrate import upgrade

Request = Callable[[Any, str, str], Awaitable[None]]  # (sessionmaker, token, handoff id)
WAYS = ("before", "no RLS", "RLS")

# The app's own caller lookup (what SQLite runs; PostgreSQL wraps it in a definer function).
_CALLER = auth_repository._CALLER


async def _resolve_without_rls(session: Any, token: str, now: datetime) -> Actor:
    """The app's token lookup without the wall: the same columns by a plain join."""
    r = (await session.execute(_CALLER, {"token_hash": hash_token(token)})).one()
    assert r[2] > now and r[8]
    return Actor(r[3], r[4], r[5], r[6], r[7], r[0], r[1], "bearer")


async def _resolve_before(session: Any, token: str, now: datetime) -> Actor:
    """The token lookup as it was before row-level security (entities, no set_config)."""
    stmt = (
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == hash_token(token))
    )
    login, user = (await session.execute(stmt)).one()
    assert login.expires_at > now and user.active
    return Actor(user.id, user.account_id, user.role, user.email, user.name, login.id, "", "bearer")


async def _resolve_with_rls(session: Any, token: str, now: datetime) -> Actor:
    actor = await auth_service.resolve_token(session, token=token, now=now, via="bearer")
    assert actor is not None
    return actor


def request(kind: str, *, way: str, now: datetime) -> Request:
    resolve = {"before": _resolve_before, "no RLS": _resolve_without_rls, "RLS": _resolve_with_rls}[
        way
    ]

    async def run(maker: Any, token: str, handoff_id: str) -> None:
        async with maker() as session:
            actor = await resolve(session, token, now)
            if kind == "claim":
                await service.claim(session, actor=actor, handoff_id=handoff_id, now=now, bus=None)
            else:
                rows, _ = await service.queue(
                    session, actor=actor, status="open", limit=50, cursor=None
                )
                assert rows
            await commit(session)

    return run


async def measure(
    run: Request, maker: Any, tokens: list[str], ids: list[str], workers: int
) -> dict[str, float]:
    jobs: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for i, handoff_id in enumerate(ids):
        jobs.put_nowait((tokens[i % len(tokens)], handoff_id))
    took: list[float] = []

    async def worker() -> None:
        while not jobs.empty():
            token, handoff_id = jobs.get_nowait()
            t0 = time.perf_counter()
            await run(maker, token, handoff_id)
            took.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - t0
    return {"per_s": len(ids) / elapsed, "p50": statistics.median(took), "p99": pct(took, 99)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pg_option(parser)
    parser.add_argument("--database", default="fp_bench_rls")
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint, way and round")
    parser.add_argument("--workers", default="1,8", help="requests in flight (comma-separated)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--role", default="flowpilot_app")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    load_before = os.getloadavg()[0]

    sa_url = async_url(await create_database(args.pg, args.database))
    results: dict[tuple[str, int, str], list[dict[str, float]]] = {}
    try:
        await asyncio.to_thread(upgrade, sa_url, app_role=args.role)
        now = datetime.now(UTC).replace(microsecond=0)
        plain = make_engine(sa_url, pool_size=max(workers), max_overflow=0)
        with_rls = make_engine(sa_url, role=args.role, pool_size=max(workers), max_overflow=0)
        makers = {
            "before": make_sessionmaker(plain),
            "no RLS": make_sessionmaker(plain),
            "RLS": make_sessionmaker(with_rls),
        }
        try:
            people = await seed_people(makers["no RLS"], 20, now)
            seniors = people[1:]
            tokens = []
            async with makers["no RLS"]() as session:
                for senior in seniors:
                    token = new_id()
                    tokens.append(token)
                    session.add(
                        LoginSession(
                            user_id=senior.id,
                            account_id=senior.account_id,
                            token_hash=hash_token(token),
                            csrf_token="-",
                            created_at=now,
                            expires_at=now + timedelta(days=1),
                        )
                    )
                await session.commit()
            per_claim_run = args.requests
            n_claims = len(WAYS) * (args.rounds + 1) * len(workers) * per_claim_run
            # One account; 1,000 more open handoffs than get claimed, for the queue page.
            open_ids = await bulk_handoffs(
                plain,
                people[0],
                seniors,
                n_claims + 1000,
                now - timedelta(days=30),
                statuses=("open",),
            )
            async with plain.begin() as conn:
                await conn.execute(text("ANALYZE"))
            next_id = iter(range(0, n_claims, per_claim_run))

            def claim_ids() -> list[str]:
                start = next(next_id)
                return open_ids[start : start + per_claim_run]

            queue_ids = open_ids[:per_claim_run]  # a handoff id is not used by the queue
            for w in workers:  # warm-up: connections, statement caches, PL/pgSQL plans
                for way in WAYS:
                    await measure(request("claim", way=way, now=now), makers[way], tokens,
                                  claim_ids(), w)  # fmt: skip
                    await measure(request("queue", way=way, now=now), makers[way], tokens,
                                  queue_ids[:100], w)  # fmt: skip
            for r in range(args.rounds):
                for w in workers:
                    for way in WAYS[r % 3 :] + WAYS[: r % 3]:
                        for kind in ("claim", "queue"):
                            ids = claim_ids() if kind == "claim" else queue_ids
                            run = request(kind, way=way, now=now)
                            results.setdefault((kind, w, way), []).append(
                                await measure(run, makers[way], tokens, ids, w)
                            )
        finally:
            await plain.dispose()
            await with_rls.dispose()
    finally:
        await drop_database(args.pg, args.database)

    cmd = " ".join(["python -m bench.rls", *sys.argv[1:]])
    print(
        f"\nmachine: {platform.node()} · {os.cpu_count()} cores"
        f" · Python {platform.python_version()} · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        f" · load avg before/after {load_before:.1f}/{os.getloadavg()[0]:.1f} · `{cmd}`\n"
    )
    print(
        f"### A request's database work, RLS on vs off ({args.requests} requests per cell and "
        f"round, median of {args.rounds} rounds)\n"
    )
    print("| request | in flight | way | requests/s | p50 ms | p99 ms | requests/s vs no RLS |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for kind in ("claim", "queue"):
        for w in workers:
            base = statistics.median(m["per_s"] for m in results[(kind, w, "no RLS")])
            for way in WAYS:
                runs = results[(kind, w, way)]
                per_s = statistics.median(m["per_s"] for m in runs)
                p50 = statistics.median(m["p50"] for m in runs)
                p99 = statistics.median(m["p99"] for m in runs)
                label = "token + claim + commit" if kind == "claim" else "token + queue page"
                print(
                    f"| {label} | {w} | {way} | {per_s:.0f} | {p50:.2f}"
                    f" | {p99:.2f} | {per_s / base - 1:+.1%} |"
                )


if __name__ == "__main__":
    asyncio.run(main())
