"""The production shape's price: nginx (``deploy/nginx.conf``) in front of two replicas against
the same work sent straight to one replica, in the same run, on PostgreSQL + Redis.

1. Live stream: S subscribers (raw sockets) over A accounts; an escalation is made through the
   API and the clock runs from just before that request until each of the account's
   subscribers has its ``handoff.created`` frame. Direct: subscribers and escalations on
   replica 1. Proxy: both through nginx (the subscribers land on both replicas, so half the
   frames cross replicas through Redis). Rounds alternate direct / proxy; p50 and p99 of every
   receipt, and the proxy/direct ratio (goal <= 1.5).
2. Claims over HTTP (``bench/wrk.py``): 4 seniors contending per handoff, wrk with C
   connections for T seconds, direct vs through nginx; every run checks one winner per
   handoff in the database.

    .venv/bin/python -m bench.proxy                    # 1k subscribers, 5 rounds; ~5 minutes
    .venv/bin/python -m bench.proxy --subscribers 200 --rounds 1 --claims-seconds 3   # a look

The replicas are ``flowpilot serve --no-migrate`` (``FLOWPILOT_RUN_WORKERS=false``, trusting
nginx at 127.0.0.1); the database ``fp_bench_proxy_*`` is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import socket
import struct
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.claims_seed import bulk_handoffs, seed_people  # noqa: E402
from bench.sse_fanout import Account, Probe, pct, pg_admin, pg_urls, read_opening, seed  # noqa: E402
from bench.wrk import ClaimsResult, claim_pairs, run_claims  # noqa: E402
from flowpilot.auth.service import hash_token  # noqa: E402
from flowpilot.kernel.db.base import new_id  # noqa: E402
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker  # noqa: E402
from flowpilot.models import Handoff, LoginSession  # noqa: E402
from flowpilot.runtime.migrate import upgrade  # noqa: E402
from tests import nginx, servers  # noqa: E402
from tests.redis_keys import delete_prefix  # noqa: E402

READ_SIZE = 65536
CREATED = b"event: handoff.created"


@dataclass
class Subscriber:
    account: int
    writer: asyncio.StreamWriter
    task: asyncio.Task[None]


class Fanout:
    """One arm's subscribers and escalations against ``url``."""

    def __init__(self, url: str, accounts: list[Account], concurrency: int) -> None:
        parts = urlsplit(url)
        self.url, self.host, self.port = url, parts.hostname or "", parts.port or 80
        self.accounts = accounts
        self.concurrency = concurrency
        self.subs: list[Subscriber] = []
        self.probe = Probe()

    async def connect(self, total: int) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(i: int) -> None:
            index = i % len(self.accounts)
            async with gate:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, limit=READ_SIZE
                )
                writer.write(
                    f"GET /api/v1/handoffs/stream HTTP/1.1\r\nHost: {self.host}\r\n"
                    f"Authorization: Bearer {self.accounts[index].eng_token}\r\n"
                    "Accept: text/event-stream\r\n\r\n".encode()
                )
                await read_opening(reader)
            task = asyncio.create_task(self.listen(index, reader))
            self.subs.append(Subscriber(index, writer, task))

        await asyncio.gather(*(one(i) for i in range(total)))

    async def listen(self, account: int, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(READ_SIZE):
            probe = self.probe
            if CREATED in data and probe.account == account:
                probe.samples.append((time.monotonic() - probe.t0) * 1000)
                if len(probe.samples) >= probe.expected:
                    probe.done.set()

    async def publish(self, client: httpx.AsyncClient, index: int) -> list[float]:
        account = self.accounts[index]
        headers = {"Authorization": f"Bearer {account.tech_token}"}
        body = {"title": "Bench", "problem": "Proxy benchmark"}
        session = await client.post(f"{self.url}/api/v1/sessions", headers=headers, json=body)
        session.raise_for_status()
        expected = sum(1 for s in self.subs if s.account == index)
        self.probe = Probe(index, time.monotonic(), [], expected)
        r = await client.post(
            f"{self.url}/api/v1/sessions/{session.json()['id']}/handoff",
            headers=headers,
            json={"reason": "benchmark escalation", "urgency": "high"},
        )
        r.raise_for_status()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.probe.done.wait(), 30)
        return list(self.probe.samples)

    def close(self) -> None:
        for sub in self.subs:
            sock = sub.writer.get_extra_info("socket")
            if sock is not None:  # RST, not TIME_WAIT: thousands of ports are reused per run
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sub.writer.close()
            sub.task.cancel()
        self.subs.clear()


async def fanout_round(
    url: str, accounts: list[Account], args: argparse.Namespace
) -> tuple[list[float], int, float]:
    arm = Fanout(url, accounts, args.connect_concurrency)
    started = time.monotonic()
    await arm.connect(args.subscribers)
    connect_seconds = time.monotonic() - started
    await asyncio.sleep(1.0)  # let the connect burst settle before timing
    samples: list[float] = []
    expected = 0
    async with httpx.AsyncClient(timeout=30) as client:
        for e in range(args.events):
            index = e % len(accounts)
            expected += sum(1 for s in arm.subs if s.account == index)
            samples += await arm.publish(client, index)
    arm.close()
    await asyncio.sleep(1.0)
    return samples, expected, connect_seconds


async def seed_claims(db_url: str, n: int) -> tuple[list[str], list[str], list[str]]:
    """Two sets of ``n`` open handoffs (one per arm) and four seniors' bearer tokens."""
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    people = await seed_people(maker, 4, now)
    tech, seniors = people[0], people[1:]
    ids = await bulk_handoffs(engine, tech, seniors, 2 * n, now, statuses=("open",))
    tokens = []
    async with maker() as session:
        for senior in seniors:
            token = new_id()
            tokens.append(token)
            session.add(
                LoginSession(
                    user_id=senior.id, account_id=senior.account_id,
                    token_hash=hash_token(token), csrf_token="-", created_at=now,
                    expires_at=now + timedelta(days=1),
                )
            )  # fmt: skip
        await session.commit()
    await engine.dispose()
    return ids[:n], ids[n:], tokens


async def claimed(db_url: str, ids: list[str]) -> int:
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as session:
        n = await session.scalar(
            select(func.count()).where(Handoff.id.in_(ids), Handoff.status == "claimed")
        )
    await engine.dispose()
    return int(n or 0)


REDIS_PREFIX = f"fpbench:proxy:{uuid.uuid4().hex[:8]}"


def start_replicas(
    db_url: str, args: argparse.Namespace, workdir: Path
) -> list[servers.LiveServer]:
    settings = {
        "FLOWPILOT_DATABASE_URL": db_url,
        "FLOWPILOT_REDIS_URL": args.redis,
        "FLOWPILOT_REDIS_PREFIX": REDIS_PREFIX,
        "FLOWPILOT_RUN_WORKERS": "false",
        "FLOWPILOT_TRUSTED_PROXIES": "127.0.0.1",
    }
    replicas = [servers.start_cli(workdir / f"web{i}", "serve", **settings) for i in (1, 2)]
    for replica in replicas:
        servers.wait_ready(replica)
    return replicas


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


async def main(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the servers
    load_before = os.getloadavg()
    name, admin_url, db_url = pg_urls(args.postgres)
    name = name.replace("fp_bench_sse_", "fp_bench_proxy_")
    db_url = db_url.rsplit("/", 1)[0] + f"/{name}"
    await pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="fp-bench-proxy-"))
    replicas: list[servers.LiveServer] = []
    proxy = None
    try:
        await asyncio.to_thread(upgrade, db_url)
        accounts = await seed(db_url, args.accounts)
        direct_ids, proxy_ids, tokens = await seed_claims(db_url, args.claim_handoffs)
        replicas = start_replicas(db_url, args, workdir)
        proxy = nginx.start([f"127.0.0.1:{r.port}" for r in replicas])
        arms = {"direct": replicas[0].url, "proxy": proxy.url}

        # Warm-up: imports, pools and the first streams on every path.
        for url in (*arms.values(), replicas[1].url):
            warm = Fanout(url, accounts, args.connect_concurrency)
            await warm.connect(10)
            async with httpx.AsyncClient(timeout=30) as client:
                await warm.publish(client, 0)
            warm.close()

        fan: dict[str, dict[str, list[float]]] = {k: {"samples": [], "connect": []} for k in arms}
        expected = dict.fromkeys(arms, 0)
        paired: list[tuple[float, float]] = []  # per round: proxy/direct at p50 and p99
        for r in range(args.rounds):
            by_arm = {}
            order = list(arms.items())
            for kind, url in order if r % 2 == 0 else order[::-1]:  # neither always goes first
                samples, n, connect = await fanout_round(url, accounts, args)
                by_arm[kind] = samples
                fan[kind]["samples"] += samples
                fan[kind]["connect"].append(connect)
                expected[kind] += n
                print(
                    f"  round {r + 1} {kind:6}: p50 {pct(samples, 0.5):6.1f} ms  p99 "
                    f"{pct(samples, 0.99):6.1f} ms  ({len(samples)}/{n}, connect {connect:.1f} s)",
                    flush=True,
                )
            d, p = by_arm["direct"], by_arm["proxy"]
            paired.append((pct(p, 0.5) / pct(d, 0.5), pct(p, 0.99) / pct(d, 0.99)))

        claims: dict[str, ClaimsResult] = {}
        for kind, ids in (("direct", direct_ids), ("proxy", proxy_ids)):
            result = await asyncio.to_thread(
                run_claims, arms[kind], claim_pairs(ids, tokens),
                seconds=args.claims_seconds, connections=args.claims_connections,
            )  # fmt: skip
            winners = await claimed(db_url, ids)
            wins = result.statuses.get(200, 0)
            # A claim still in flight when wrk stops is made but never counted: at most one per
            # connection. More winners than that, or a refusal not naming the holder, is a bug.
            if not wins <= winners <= wins + args.claims_connections or result.unnamed:
                raise SystemExit(
                    f"{kind}: {result.statuses} answers, {winners} claimed, "
                    f"{result.unnamed} refusals without the holder"
                )
            claims[kind] = result
            print(f"  claims {kind:6}: {result.attempts_per_second:.0f}/s {result.statuses}")
        load_after = os.getloadavg()

        print()
        print(
            f"{args.subscribers} subscribers over {args.accounts} accounts, {args.events} "
            f"escalations x {args.rounds} rounds per arm; {os.cpu_count()} cores; load average "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
        )
        print()
        print("| live stream | p50 publish→receive | p99 | delivered | connect (median) |")
        print("|---|---:|---:|---:|---:|")
        for kind in arms:
            s = fan[kind]["samples"]
            c = sorted(fan[kind]["connect"])[len(fan[kind]["connect"]) // 2]
            print(
                f"| {kind} | {pct(s, 0.5):.1f} ms | {pct(s, 0.99):.1f} ms | "
                f"{len(s)}/{expected[kind]} | {c:.1f} s |"
            )
        d, p = fan["direct"]["samples"], fan["proxy"]["samples"]
        print(
            f"| **proxy / direct** | **{ratio(pct(p, 0.5), pct(d, 0.5))}** | "
            f"**{ratio(pct(p, 0.99), pct(d, 0.99))}** | | |"
        )
        p50s = sorted(x for x, _ in paired)
        p99s = sorted(y for _, y in paired)
        print(
            f"| proxy / direct, median of the {len(paired)} rounds | "
            f"{p50s[len(p50s) // 2]:.2f}x | {p99s[len(p99s) // 2]:.2f}x | | |"
        )
        print()
        print("| claims over HTTP | attempts/s | 200 | 409 | other | p50 | p99 | list exhausted |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for kind, res in claims.items():
            other = res.attempts - res.statuses.get(200, 0) - res.statuses.get(409, 0)
            print(
                f"| {kind} | {res.attempts_per_second:.0f} | {res.statuses.get(200, 0)} | "
                f"{res.statuses.get(409, 0)} | {other} | {res.p50_ms:.1f} ms | "
                f"{res.p99_ms:.1f} ms | {res.exhausted} |"
            )
        print(
            "| **proxy / direct** | **"
            f"{ratio(claims['proxy'].attempts_per_second, claims['direct'].attempts_per_second)}"
            "** | | | | | | |"
        )
    finally:
        if proxy is not None:
            nginx.stop(proxy)
        for replica in replicas:
            servers.stop(replica)
        delete_prefix(args.redis, REDIS_PREFIX)  # leave Redis as we found it
        shutil.rmtree(workdir, ignore_errors=True)
        await pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument("--claims-seconds", type=int, default=8)
    parser.add_argument("--claims-connections", type=int, default=16)
    parser.add_argument("--claim-handoffs", type=int, default=2500)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
