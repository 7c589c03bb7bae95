"""The request floor over real HTTP: ``flowpilot serve`` on PostgreSQL, driven over loopback by
wrk (Debian's C load generator, a separate process: the client does not eat the Python box),
with ``GET /healthz`` measured in the same run as the reference.

For each server shape (``--workers 1``: in-process bus; ``--workers 2``: Redis), in this order:
``/healthz``, ``GET /api/v1/me`` (bearer token), ``GET /api/v1/handoffs/queue`` (a senior of an
account with ``--queue-rows`` handoffs, beside ``--other-rows`` of another account, tables never
analysed), ``/healthz`` again, then contended claims (``bench/wrk.py``: 4 seniors per handoff;
every run checks one winner per handoff in the database and that every 409 names the holder).
Server CPU per request is read from ``/proc/<pid>/stat`` (the server and its worker processes)
around each wrk run; the load average is printed before and after. Ratios are to the mean
``/healthz`` of the same shape in the same run: the box is shared, absolute numbers move.

    .venv/bin/python -m bench.http                       # ~2 minutes on a busy 2-core box
    .venv/bin/python -m bench.http --queue-rows 100000 --other-rows 1000000   # the issue's scale

The database ``fp_bench_http_*`` (and the Redis prefix) is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import redis.asyncio as redis
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import metrics_window  # noqa: E402
from bench.claims_seed import bulk_handoffs, seed_people  # noqa: E402
from bench.sse_fanout import pg_admin  # noqa: E402
from bench.wrk import claim_pairs, run_claims, wrk_path  # noqa: E402
from flowpilot.auth.service import hash_token  # noqa: E402
from flowpilot.kernel.db.base import new_id  # noqa: E402
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker  # noqa: E402
from flowpilot.kernel.identity import Actor  # noqa: E402
from flowpilot.models import Handoff, LoginSession  # noqa: E402
from flowpilot.runtime.migrate import upgrade  # noqa: E402
from tests import servers  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        return []
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def server_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its descendants (uvicorn's worker processes)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        total += _cpu_ticks(p)
        todo += _children(p)
    return total / TICK


def backends_cpu_seconds(pids: list[int]) -> float:
    """utime + stime of PostgreSQL backend processes (the server's pooled connections)."""
    return sum(_cpu_ticks(p) for p in pids) / TICK


async def server_backends(db_url: str) -> list[int]:
    """The PostgreSQL backends connected to the benchmark's database (the server's pools,
    warmed before anything is measured), without this query's own."""
    engine = make_engine(db_url, pool_size=1)
    async with engine.connect() as conn:
        pids = await conn.scalars(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        )
        found = list(pids)
    await engine.dispose()
    return found


@dataclass
class Measured:
    name: str
    requests: int
    seconds: float
    cpu_seconds: float
    p50_ms: float
    p99_ms: float
    statuses: str = ""
    db_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0

    @property
    def db_cpu_ms(self) -> float:
        return 1000 * self.db_cpu_seconds / self.requests if self.requests else 0.0


GET_SCRIPT = """
statuses = {}
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
"""

REPORT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("WRK_GET %d %f %d %d %d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), errors))
end
"""


def wrk_get(
    url: str, path: str, token: str | None, args: argparse.Namespace, connections: int
) -> Measured:
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    threads = min(args.threads, connections)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "get.lua"
        script.write_text(REPORT)
        done = subprocess.run(
            [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{args.seconds}s",
             "--latency", "-s", str(script), *headers, url + path],
            capture_output=True, text=True, timeout=args.seconds + 60,
        )  # fmt: skip
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_GET ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    n, secs, p50, p99, errors = line.split()[1:]
    if int(errors):
        raise SystemExit(f"{path}: {errors} non-2xx or socket errors\n{done.stdout}")
    return Measured(path, int(n), float(secs), 0.0, int(p50) / 1000, int(p99) / 1000)


def measured_get(
    server: servers.LiveServer,
    path: str,
    token: str | None,
    args: argparse.Namespace,
    backends: list[int],
    *,
    connections: int | None = None,
    name: str | None = None,
) -> Measured:
    before = server_cpu_seconds(server.process.pid), backends_cpu_seconds(backends)
    result = wrk_get(server.url, path, token, args, connections or args.connections)
    result.cpu_seconds = server_cpu_seconds(server.process.pid) - before[0]
    result.db_cpu_seconds = backends_cpu_seconds(backends) - before[1]
    if name:
        result.name = name
    return result


async def add_tokens(maker: object, people: list[Actor], now: datetime) -> list[str]:
    tokens = []
    async with maker() as session:  # type: ignore[operator]
        for person in people:
            token = new_id()
            tokens.append(token)
            session.add(
                LoginSession(
                    user_id=person.id, account_id=person.account_id,
                    token_hash=hash_token(token), csrf_token="-", created_at=now,
                    expires_at=now + timedelta(days=60),
                )
            )  # fmt: skip
        await session.commit()
    return tokens


@dataclass
class Seeded:
    queue_token: str
    claim_ids: dict[str, list[str]]  # per run (server shape, checkout, round)
    claim_tokens: list[str]


async def seed_all(db_url: str, args: argparse.Namespace, runs: list[str]) -> Seeded:
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    now = datetime.now(UTC) - timedelta(days=30)
    async with engine.begin() as conn:  # no statistics: none gathered while we load or measure
        for table in ("handoffs", "ai_sessions", "users", "login_sessions"):
            await conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    if args.other_rows:
        other = await seed_people(maker, 1, now)
        await bulk_handoffs(engine, other[0], other[1:], args.other_rows, now)
    queue_people = await seed_people(maker, 1, now)
    await bulk_handoffs(engine, queue_people[0], queue_people[1:], args.queue_rows, now)
    queue_token = (await add_tokens(maker, queue_people[1:], now))[0]
    claim_people = await seed_people(maker, args.claimers, now)
    claim_ids = {}
    for run in runs:
        claim_ids[run] = await bulk_handoffs(
            engine, claim_people[0], claim_people[1:], args.claim_handoffs, now, statuses=("open",)
        )
    claim_tokens = await add_tokens(maker, claim_people[1:], now)
    await engine.dispose()
    # The steady state: the worker's analytics rollup has long counted the settled escalations
    # (otherwise the first server's job would be catching up on them while we measure; the
    # measured paths read open escalations, which it never updates). No statistics gathered.
    rolled = await metrics_window.roll(db_url, datetime.now(UTC))
    print(f"rolled up {rolled:,} settled escalations", file=sys.stderr)
    return Seeded(queue_token, claim_ids, claim_tokens)


async def drop_redis_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def claimed(db_url: str, ids: list[str]) -> int:
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as session:
        n = await session.scalar(
            select(func.count()).where(Handoff.id.in_(ids), Handoff.status == "claimed")
        )
    await engine.dispose()
    return int(n or 0)


def start_server(
    db_url: str, workers: int, args: argparse.Namespace, workdir: Path, source: Path
) -> servers.LiveServer:
    settings = {"FLOWPILOT_DATABASE_URL": db_url, "FLOWPILOT_RUN_WORKERS": "false"}
    if workers > 1:
        settings["FLOWPILOT_REDIS_URL"] = args.redis
        settings["FLOWPILOT_REDIS_PREFIX"] = args.redis_prefix
    server = servers.start_cli(
        workdir / f"w{workers}", "serve", "--workers", str(workers), source=source, **settings
    )
    servers.wait_ready(server)
    return server


async def run_shape(
    db_url: str, run: str, seeded: Seeded, args: argparse.Namespace, workdir: Path
) -> list[Measured]:
    workers, source = int(run.split(" ", 1)[0]), Path(args.compare if "compare" in run else ROOT)
    server = start_server(db_url, workers, args, workdir, source)
    try:
        # Warm every worker's pool: as many requests in flight as the claims will have.
        limits = httpx.Limits(max_connections=args.claim_connections)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:

            async def warm() -> None:
                answer = await client.get(
                    f"{server.url}/api/v1/me",
                    headers={"Authorization": f"Bearer {seeded.queue_token}"},
                )
                answer.raise_for_status()

            for _ in range(10 * workers):
                await asyncio.gather(*(warm() for _ in range(args.claim_connections)))
        backends = await server_backends(db_url)
        queue = "/api/v1/handoffs/queue"
        results = [measured_get(server, "/healthz", None, args, backends)]
        if not args.claims_only:
            results += [
                measured_get(server, "/api/v1/me", seeded.queue_token, args, backends),
                measured_get(server, queue, seeded.queue_token, args, backends),
                # The latency arm: a page's own time, not a queue behind a saturated server.
                *(
                    measured_get(
                        server, queue, seeded.queue_token, args, backends, connections=c,
                        name=f"{queue} ({c} in flight)",
                    )
                    for c in args.latency_connections
                ),
            ]  # fmt: skip
        results.append(measured_get(server, "/healthz", None, args, backends))
        ids = seeded.claim_ids[run]
        before = server_cpu_seconds(server.process.pid), backends_cpu_seconds(backends)
        claims = await asyncio.to_thread(
            run_claims, server.url, claim_pairs(ids, seeded.claim_tokens),
            seconds=args.seconds, connections=args.claim_connections,
        )  # fmt: skip
        cpu = server_cpu_seconds(server.process.pid) - before[0]
        db_cpu = backends_cpu_seconds(backends) - before[1]
        winners = await claimed(db_url, ids)
        wins = claims.statuses.get(200, 0)
        # A claim in flight when wrk stops is made but never counted: at most one per
        # connection. More winners than that, or a refusal not naming the holder, is a bug.
        if not wins <= winners <= wins + args.claim_connections or claims.unnamed:
            raise SystemExit(
                f"claims: {claims.statuses} answers, {winners} claimed, "
                f"{claims.unnamed} refusals without the holder"
            )
        if claims.exhausted:
            print(f"  (claims: the list ran out {claims.exhausted} times: raise --claim-handoffs)")
        results.append(
            Measured(
                "claims (4 per handoff)", claims.attempts, claims.seconds, cpu,
                claims.p50_ms, claims.p99_ms,
                " ".join(f"{k}:{v}" for k, v in sorted(claims.statuses.items())), db_cpu,
            )
        )  # fmt: skip
        return results
    finally:
        servers.stop(server)


async def main(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    wrk_path()  # installed before anything is measured
    shapes = [int(w) for w in args.workers.split(",")]
    checkouts = ["this", "compare"] if args.compare else ["this"]
    runs = [
        f"{w} {c} {r}" for w in shapes for r in range(args.rounds) for c in checkouts
    ]  # alternating: the box's load drifts
    name = f"fp_bench_http_{uuid.uuid4().hex[:8]}"
    prefix = args.redis_prefix = f"fpbench:http:{uuid.uuid4().hex[:8]}"
    head = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    admin_url, db_url = f"{head}/postgres", f"{head}/{name}"
    await pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="fp-bench-http-"))
    try:
        await asyncio.to_thread(upgrade, db_url)
        seeded = await seed_all(db_url, args, runs)
        load_before = os.getloadavg()
        by_run = {run: await run_shape(db_url, run, seeded, args, workdir) for run in runs}
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        await pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await drop_redis_keys(args.redis, prefix)

    print()
    print(
        f"{os.cpu_count()} cores; load average {load_before[0]:.1f} before, {load_after[0]:.1f} "
        f"after; wrk -t{args.threads} -c{args.connections} -d{args.seconds}s (claims: "
        f"-c{args.claim_connections}); queue account {args.queue_rows} handoffs, other account "
        f"{args.other_rows}, no statistics"
    )
    print()
    if args.compare:
        print(f"checkout 'compare': {args.compare}; 'this': {ROOT}")
    print("| workers | checkout, round | request | req/s | x /healthz | server CPU/req "
          "| database CPU/req | p50 | p99 | statuses |")  # fmt: skip
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
    for run, results in by_run.items():
        workers, checkout = run.split(" ", 1)
        healthz = [r for r in results if r.name == "/healthz"]
        ref = sum(r.rate for r in healthz) / len(healthz)
        for r in results:
            print(
                f"| {workers} | {checkout} | {r.name} | {r.rate:.0f} | {r.rate / ref:.2f} "
                f"| {r.cpu_ms:.2f} ms | {r.db_cpu_ms:.2f} ms | {r.p50_ms:.1f} ms "
                f"| {r.p99_ms:.1f} ms | {r.statuses} |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", default="1,2", help="server shapes, e.g. 1,2")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--claim-connections", type=int, default=32)
    parser.add_argument("--claimers", type=int, default=4)
    parser.add_argument("--claim-handoffs", type=int, default=5000)
    parser.add_argument("--queue-rows", type=int, default=10000)
    parser.add_argument("--other-rows", type=int, default=100000)
    parser.add_argument(
        "--compare", help="another checkout (e.g. main's): its server alternates with this one"
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs per checkout and shape")
    parser.add_argument("--claims-only", action="store_true", help="skip /me and the queue")
    parser.add_argument(
        "--latency-connections",
        type=lambda v: [int(c) for c in v.split(",") if c],
        default=[1, 2],
        help="the queue page again with this many in flight (its own latency, not queueing)",
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
