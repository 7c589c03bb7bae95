"""A window holding 1,000,000 handoffs for ``bench.metrics``: its own database, its check.

One account, 1M handoffs created over the last 29 days (all inside ``days=30``), loaded with
COPY at the head schema (``first_action_at`` written directly: no sessions or steps, the
foreign-key triggers are off while loading, as in ``bench.metrics``). It lives in a database of
its own (``fp_bench_metrics_1m``) so the 100k account's plans and timings are not changed by a
table ten times larger. ``check`` recomputes the escalation statistics in Python from the rows
(the service's own SQLite path) and compares them with what the endpoint answered.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg

from flowpilot.analytics import repository, rollup, service
from flowpilot.auth.service import hash_token
from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.db.base import new_id
from flowpilot.kernel.db.engines import make_system_path
from flowpilot.runtime.migrate import upgrade

DB_NAME = "fp_bench_metrics_1m"
N_HANDOFFS = 1_000_000
SPREAD_DAYS = 29

COLUMNS = (
    "id", "account_id", "session_id", "status", "reason", "urgency", "triage_rank",
    "escalated_by_id", "claimed_by_id", "created_at", "claimed_at", "first_action_at",
    "updated_at", "claim_due_at", "breached_at",
)  # fmt: skip


def _handoffs(account: str, tech: str, engineers: list[str], now: datetime, n: int) -> list[Any]:
    rnd = random.Random(11)
    rows = []
    created_times = sorted(
        now - timedelta(seconds=rnd.uniform(60, SPREAD_DAYS * 86400)) for _ in range(n)
    )
    # As in a live account, what is still open or claimed was escalated recently (renotified,
    # alerted, released by the idle guard or resolved otherwise): the last day's escalations.
    settled_before = now - timedelta(days=1)
    for created in created_times:
        claimed = claimer = acted = breached = None
        status = rnd.choice(("open", "cancelled"))
        due = created + timedelta(minutes=60)
        if rnd.random() < 0.85:
            claimed = created + timedelta(seconds=rnd.expovariate(1 / 300))
            claimer = rnd.choice(engineers)
            status = "resolved" if rnd.random() < 0.8 else "claimed"
            if rnd.random() < 0.9:
                acted = claimed + timedelta(seconds=rnd.expovariate(1 / 120))
            if claimed > due:
                breached = due
        elif status == "open" and due <= now:
            breached = due
        if created < settled_before:  # older ones settled: resolved, or cancelled after a wait
            status = {"claimed": "resolved", "open": "cancelled"}.get(status, status)
        rows.append(
            (new_id(), account, new_id(), status, "stuck", "normal", 2, tech, claimer, created,
             claimed, acted, created, due, breached)
        )  # fmt: skip
    return rows


async def seed(pg_admin: str, now: datetime, token: str, n: int = N_HANDOFFS) -> dict[str, Any]:
    """Create and fill the database; ``{"dsn", "url", "account_id", "seconds"}``."""
    head = pg_admin.rsplit("/", 1)[0]
    dsn, url = (
        f"{head}/{DB_NAME}",
        f"{head.replace('postgresql://', 'postgresql+asyncpg://')}/{DB_NAME}",
    )
    await drop(pg_admin)
    conn = await asyncpg.connect(pg_admin)
    try:
        await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await conn.close()
    start = time.perf_counter()
    await asyncio.to_thread(upgrade, url)
    account, tech = new_id(), new_id()
    engineers = [new_id() for _ in range(20)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            "INSERT INTO accounts (id, name, created_at, renotify_after_minutes, "
            "admin_alert_after_minutes, webhook_enabled) VALUES ($1, 'Window Co', $2, 10, 30, "
            "false)",
            account,
            now - timedelta(days=400),
        )
        await conn.executemany(
            "INSERT INTO users (id, account_id, email, name, role, active, password_hash, "
            "created_at, notify_email, notify_min_urgency) "
            "VALUES ($1, $2, $3, $1, $4, true, 'x', $5, true, 'low')",
            [
                (u, account, f"{u}@bench.test", "engineer" if u != tech else "technician", now)
                for u in [tech, *engineers]
            ],
        )
        await conn.execute(
            "INSERT INTO login_sessions (id, user_id, account_id, token_hash, csrf_token, "
            "created_at, expires_at) VALUES ($1, $2, $3, $4, 'csrf', $5, $6)",
            new_id(),
            engineers[0],
            account,
            hash_token(token),
            now,
            now + timedelta(days=1),
        )
        rows = _handoffs(account, tech, engineers, now, n)
        await conn.copy_records_to_table("handoffs", records=rows, columns=list(COLUMNS))
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("VACUUM ANALYZE")
        seeded = time.perf_counter()
        rolled = await roll(url, now)
        rolled_in = time.perf_counter() - seeded
        await conn.execute("VACUUM ANALYZE")  # as autovacuum would after one update per row
    finally:
        await conn.close()
    return {
        "dsn": dsn,
        "url": url,
        "account_id": account,
        "seconds": seeded - start,
        "rolled": rolled,
        "roll_seconds": rolled_in,
    }


async def roll(url: str, now: datetime) -> int:
    """The rollup job's catch-up on the freshly loaded rows (as a worker does after an upgrade):
    how many escalations it counted."""
    system = make_system_path(url)
    try:
        return await rollup.roll_once(SimpleNamespace(system=system, clock=FrozenClock(now)))  # type: ignore[arg-type]
    finally:
        await system.engine.dispose()


async def check(dsn: str, account_id: str, now: datetime, answer: dict[str, Any]) -> bool:
    """Whether the endpoint's statistics equal the Python computation over the fetched rows."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT created_at, claimed_at, first_action_at, coalesce(assigned_at, claimed_at) "
            "AS held_at FROM handoffs WHERE account_id = $1 AND created_at > $2 "
            "AND created_at <= $3",
            account_id,
            now - timedelta(days=30),
            now,
        )
    finally:
        await conn.close()
    timings = [repository.Timing(r[0], r[1], r[2], r[3]) for r in rows]
    ttc = [(t.claimed_at - t.created_at).total_seconds() for t in timings if t.claimed_at]
    ttfa = [
        (t.first_action_at - (t.held_at or t.claimed_at)).total_seconds()
        for t in timings
        if t.claimed_at and t.first_action_at
    ]
    expected = {
        "n_escalated": len(timings),
        "n_claimed": len(ttc),
        "n_with_action": len(ttfa),
        "time_to_claim": service._stats(ttc).model_dump(),
        "time_to_first_action": service._stats(ttfa).model_dump(),
    }
    return all(answer[k] == v for k, v in expected.items())


async def drop(pg_admin: str) -> None:
    conn = await asyncpg.connect(pg_admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    finally:
        await conn.close()
