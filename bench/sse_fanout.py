"""SSE fan-out: N live subscribers over many accounts on ONE server process.

For each server — FlowPilot with the in-process bus, FlowPilot with the Redis Streams bus, and a
minimal reference broadcaster (plain asyncio, no auth, no database: the floor on this machine) —
this script (the client process) opens subscribers with raw asyncio sockets in steps (1k, 5k,
10k), measures the server's RSS per idle subscriber (``/proc/<pid>/status`` VmRSS before and
after connecting) and publish→receive latency: an escalation is created through the API
(``POST /api/v1/sessions/{id}/handoff``; the reference gets the same bytes by ``POST /publish``)
and the clock runs from just before that request is sent until each of that account's
subscribers has the ``handoff.created`` frame. Loopback only. Prints a Markdown table.

    .venv/bin/python -m bench.sse_fanout                       # 1k, 5k, 10k; ~3-5 minutes
    .venv/bin/python -m bench.sse_fanout --sizes 200,1000 --events 10   # quick look

``--compare DIR`` also runs the FlowPilot servers from another checkout (``DIR`` as cwd and
``PYTHONPATH``; e.g. ``git archive <commit> | tar -x -C DIR``) on the same database, alternating
this / compare per bus kind (``--rounds N`` pairs, the order flipping each round), and prints
this ÷ compare for RSS per idle subscriber and p99 at each size (medians over the rounds). The
schema is this checkout's: an older server must read it (columns added since have defaults).

PostgreSQL (``--postgres``, default postgresql://postgres@127.0.0.1:5432/postgres) gets a fresh
database that is dropped afterwards; Redis (``--redis``) keys live under a fresh prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.redis_keys import delete_prefix  # noqa: E402

READ_SIZE = 65536
CREATED = b"event: handoff.created"


# --- reference broadcaster (runs as a subprocess of this script) -----------------------------


async def reference_server(port: int) -> None:
    """Holds streams per account; ``POST /publish?account=k`` writes the body to each of them."""
    streams: dict[str, set[asyncio.StreamWriter]] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = request_line.split(" ", 2)
        account = target.partition("account=")[2]
        if method == "POST":
            length = int(head.lower().partition(b"content-length:")[2].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            chunk = b"%x\r\n%s\r\n" % (len(body), body)
            for w in list(streams.get(account, ())):
                w.write(chunk)
            # It closes the connection: say so, or the client may reuse it and read a reset.
            writer.write(
                b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"cache-control: no-cache, no-store\r\ntransfer-encoding: chunked\r\n\r\n"
            b"d\r\nretry: 3000\n\n\r\n"
        )
        streams.setdefault(account, set()).add(writer)
        try:
            await reader.read()  # until the client goes away
        finally:
            streams[account].discard(writer)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


# --- helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def read_opening(reader: asyncio.StreamReader) -> bytes:
    """A stream's first bytes, up to its ``retry:`` line (the subscription is live then)."""
    buf = b""
    while b"retry:" not in buf:
        data = await reader.read(READ_SIZE)
        if not data:
            raise RuntimeError(f"stream refused: {buf[:200]!r}")
        buf += data
    return buf


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Account:
    id: str
    eng_token: str
    tech_token: str


@dataclass
class Result:
    server: str
    checkout: str
    subscribers: int
    rss_per_sub_kib: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    delivered: int
    expected: int
    connect_seconds: float
    request_p50_ms: float


@dataclass
class Subscriber:
    account: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    task: asyncio.Task[None] | None = None


@dataclass
class Probe:
    account: int = -1
    t0: float = 0.0
    samples: list[float] = field(default_factory=list)
    expected: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


# --- database set-up -------------------------------------------------------------------------


async def seed(database_url: str, n_accounts: int) -> list[Account]:
    from flowpilot.auth.passwords import hash_password
    from flowpilot.auth.service import hash_token
    from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
    from flowpilot.models import Account as AccountRow
    from flowpilot.models import LoginSession, User

    engine = make_engine(database_url)
    maker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    pw = hash_password("bench-password-123")
    accounts: list[Account] = []
    async with maker() as session:
        for i in range(n_accounts):
            acct = AccountRow(name=f"Bench {i}", created_at=now)
            session.add(acct)
            await session.flush()
            tokens = {}
            for role in ("engineer", "technician"):
                user = User(
                    account_id=acct.id,
                    email=f"{role}{i}@bench.test",
                    name=f"{role} {i}",
                    role=role,
                    active=True,
                    password_hash=pw,
                    created_at=now,
                    notify_email=False,
                )
                session.add(user)
                await session.flush()
                token = f"bench-{uuid.uuid4().hex}"
                session.add(
                    LoginSession(
                        user_id=user.id,
                        account_id=acct.id,
                        token_hash=hash_token(token),
                        csrf_token="x",
                        created_at=now,
                        expires_at=now + timedelta(days=1),
                    )
                )
                tokens[role] = token
            accounts.append(Account(acct.id, tokens["engineer"], tokens["technician"]))
        await session.commit()
    await engine.dispose()
    return accounts


def pg_urls(base: str) -> tuple[str, str, str]:
    name = f"fp_bench_sse_{uuid.uuid4().hex[:8]}"
    head = base.rsplit("/", 1)[0]
    async_head = head.replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{async_head}/postgres", f"{async_head}/{name}"


async def pg_admin(admin_url: str, sql: str) -> None:
    from sqlalchemy import text

    from flowpilot.kernel.db.engines import make_engine

    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


# --- one server ------------------------------------------------------------------------------


class Run:
    def __init__(
        self,
        kind: str,
        args: argparse.Namespace,
        db_url: str,
        accounts: list[Account],
        frame: bytes,
        checkout: str = "this",
    ) -> None:
        self.kind = kind
        self.checkout = checkout
        self.source = Path(args.compare) if checkout == "compare" else ROOT
        self.args = args
        self.db_url = db_url
        self.accounts = accounts
        self.frame = frame
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.subs: list[Subscriber] = []
        self.probe = Probe()
        self.request_ms: list[float] = []  # how long the escalation request itself took
        self.proc: subprocess.Popen[bytes] | None = None
        self.redis_prefix = f"fpbench:{uuid.uuid4().hex[:8]}"

    def start(self) -> None:
        log = open(f"/tmp/sse_bench_{self.kind}_{self.checkout}.log", "wb")  # noqa: SIM115
        if self.kind == "reference":
            # As a module: run as a script, bench/ would be on sys.path and bench/http.py would
            # shadow the standard library's http.
            cmd = [sys.executable, "-m", "bench.sse_fanout", "--reference-server", str(self.port)]
            env = dict(os.environ)
        else:
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "flowpilot.runtime.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--backlog",
                "4096",
            ]
            env = {
                **os.environ,
                "FLOWPILOT_DATABASE_URL": self.db_url,
                "FLOWPILOT_RUN_WORKERS": "false",
                "FLOWPILOT_REDIS_PREFIX": self.redis_prefix,
                "FLOWPILOT_MAILBOX_DIR": "/tmp/sse_bench_mailbox",
            }
            env.pop("FLOWPILOT_REDIS_URL", None)
            if self.kind == "redis":
                env["FLOWPILOT_REDIS_URL"] = self.args.redis
            if self.checkout == "compare":  # its code, not this checkout's (editable install)
                env["PYTHONPATH"] = str(self.source)
        self.proc = subprocess.Popen(
            cmd, cwd=self.source, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        path = "/healthz" if self.kind != "reference" else None
        while time.monotonic() < deadline:
            try:
                if path is None:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except (OSError, httpx.HTTPError):
                time.sleep(0.1)
        raise RuntimeError(f"{self.kind} server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.kind == "redis":
            delete_prefix(self.args.redis, self.redis_prefix)  # leave Redis as we found it

    def request(self, account: Account) -> bytes:
        if self.kind == "reference":
            target = f"/stream?account={account.id}"
            auth = ""
        else:
            target = "/api/v1/handoffs/stream"
            auth = f"Authorization: Bearer {account.eng_token}\r\n"
        head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
        return (head + "Accept: text/event-stream\r\n\r\n").encode()

    async def connect(self, total: int) -> None:
        sem = asyncio.Semaphore(self.args.connect_concurrency)

        async def one(i: int) -> None:
            index = i % len(self.accounts)
            async with sem:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", self.port, limit=READ_SIZE
                )
                writer.write(self.request(self.accounts[index]))
                buf = await read_opening(reader)
                if b" 200 " not in buf.split(b"\r\n", 1)[0]:
                    raise RuntimeError(buf[:200].decode(errors="replace"))
            sub = Subscriber(index, reader, writer)
            sub.task = asyncio.create_task(self.listen(sub))
            self.subs.append(sub)

        start = len(self.subs)
        await asyncio.gather(*(one(i) for i in range(start, total)))

    async def listen(self, sub: Subscriber) -> None:
        probe_ref = self
        while True:
            data = await sub.reader.read(READ_SIZE)
            if not data:
                return
            now = time.monotonic()
            probe = probe_ref.probe
            if CREATED in data and probe.account == sub.account:
                probe.samples.append((now - probe.t0) * 1000)
                if len(probe.samples) >= probe.expected:
                    probe.done.set()

    async def publish(self, client: httpx.AsyncClient, index: int) -> None:
        account = self.accounts[index]
        expected = sum(1 for s in self.subs if s.account == index)
        if self.kind == "reference":
            self.probe = Probe(index, 0.0, [], expected)
            self.probe.t0 = time.monotonic()
            await client.post(f"/publish?account={account.id}", content=self.frame)
        else:
            headers = {"Authorization": f"Bearer {account.tech_token}"}
            s = await client.post(
                "/api/v1/sessions",
                headers=headers,
                json={"title": "Bench", "problem": "Fan-out benchmark"},
            )
            s.raise_for_status()
            self.probe = Probe(index, 0.0, [], expected)
            self.probe.t0 = time.monotonic()
            r = await client.post(
                f"/api/v1/sessions/{s.json()['id']}/handoff",
                headers=headers,
                json={"reason": "benchmark escalation", "urgency": "high"},
            )
            r.raise_for_status()
        self.request_ms.append((time.monotonic() - self.probe.t0) * 1000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.probe.done.wait(), 30)

    async def measure(self, sizes: list[int]) -> list[Result]:
        results: list[Result] = []
        assert self.proc is not None
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            # Warm up (imports, pools, first stream), then the idle baseline.
            await self.connect(min(10, sizes[0]))
            await self.publish(client, 0)
            for sub in self.subs:
                await self.close(sub)
            self.subs.clear()
            await asyncio.sleep(1.0)
            base = rss_kib(self.proc.pid)
            for size in sizes:
                t = time.monotonic()
                await self.connect(size)
                connect_seconds = time.monotonic() - t
                await asyncio.sleep(1.0)
                rss = rss_kib(self.proc.pid)
                samples: list[float] = []
                expected = 0
                self.request_ms = []
                for e in range(self.args.events):
                    await self.publish(client, e % len(self.accounts))
                    samples += self.probe.samples
                    if self.args.per_event:
                        print(
                            f"    e={e} account {e % len(self.accounts)}: request "
                            f"{self.request_ms[-1]:.1f} ms, slowest receipt "
                            f"{max(self.probe.samples, default=0.0):.1f} ms",
                            flush=True,
                        )
                    expected += self.probe.expected
                results.append(
                    Result(
                        self.kind,
                        self.checkout,
                        size,
                        (rss - base) / size,
                        pct(samples, 0.5),
                        pct(samples, 0.99),
                        max(samples),
                        len(samples),
                        expected,
                        connect_seconds,
                        pct(self.request_ms, 0.5),
                    )
                )
                print(
                    f"  {self.kind:9} {self.checkout:7} {size:6} subs: "
                    f"rss/sub {(rss - base) / size:6.1f} KiB  "
                    f"p50 {pct(samples, 0.5):7.1f} ms  p99 {pct(samples, 0.99):7.1f} ms  "
                    f"({len(samples)}/{expected} delivered, connect {connect_seconds:.1f}s, "
                    f"publish request p50 {pct(self.request_ms, 0.5):.1f} ms)",
                    flush=True,
                )
        for sub in self.subs:
            await self.close(sub)
        return results

    async def close(self, sub: Subscriber) -> None:
        sock = sub.writer.get_extra_info("socket")
        if sock is not None:  # RST instead of TIME_WAIT: thousands of ports are reused per run
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sub.writer.close()
        if sub.task:
            sub.task.cancel()


def sample_frame() -> bytes:
    handoff = {
        "id": "0193f1c2a7b80000a1b2c3d4e5",
        "session_id": "0193f1c2a7a00000f6e5d4c3b2",
        "account_id": "0193f1c2a6900000a9b8c7d6e5",
        "status": "open",
        "reason": "benchmark escalation",
        "urgency": "high",
        "escalated_by_id": "0193f1c2a6a00000b1c2d3e4f5",
        "claimed_by_id": None,
        "created_at": "2026-11-25T20:00:00Z",
        "claimed_at": None,
        "resolved_at": None,
        "session_title": "Bench",
        "customer": None,
        "asset": None,
        "escalated_by_name": "technician 0",
        "claimed_by_name": None,
    }
    return b"id: 123456\nevent: handoff.created\ndata: " + json.dumps(handoff).encode() + b"\n\n"


async def main(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the servers too
    sizes = [int(s) for s in args.sizes.split(",")]
    if max(sizes) + 200 > hard:
        raise SystemExit(f"fd limit {hard} is below {max(sizes)} subscribers")
    from flowpilot.runtime.migrate import upgrade

    name, admin_url, db_url = pg_urls(args.postgres)
    await pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, db_url)
        accounts = await seed(db_url, args.accounts)
        results: list[Result] = []
        load_before = os.getloadavg()
        for kind, checkout in plan(args):
            run = Run(kind, args, db_url, accounts, sample_frame(), checkout)
            run.start()
            try:
                results += await run.measure(sizes)
            finally:
                run.stop()
            await asyncio.sleep(1.0)
        print()
        print(
            f"{args.accounts} accounts, {args.events} escalations per step, "
            f"{os.cpu_count()} cores, load average {load_before[0]:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after"
        )
        print()
        print(
            "| server | checkout | subscribers | RSS per idle subscriber | p50 publish→receive | "
            "p99 | max | publish request p50 | delivered | connect time |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results:
            print(
                f"| {r.server} | {r.checkout} | {r.subscribers:,} | {r.rss_per_sub_kib:.1f} KiB | "
                f"{r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.max_ms:.1f} ms | "
                f"{r.request_p50_ms:.1f} ms | "
                f"{r.delivered}/{r.expected} | {r.connect_seconds:.1f} s |"
            )
        if args.compare:
            print_ratios(args, results, sizes)
    finally:
        await pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plan(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The servers in order: with ``--compare``, this and compare alternate for each FlowPilot
    kind (the box's load drifts), flipping which goes first every round."""
    order: list[tuple[str, str]] = []
    for kind in args.servers.split(","):
        if kind == "reference" or not args.compare:
            order.append((kind, "this"))
            continue
        for r in range(args.rounds):
            pair = ["this", "compare"] if r % 2 == 0 else ["compare", "this"]
            order += [(kind, checkout) for checkout in pair]
    return order


def print_ratios(args: argparse.Namespace, results: list[Result], sizes: list[int]) -> None:
    """this ÷ compare: RSS per idle subscriber and p99, the median of the rounds' ratios (each
    round's pair ran back to back), with each round's p99 ratio and the escalation request's own
    p50 ratio (the request path changed too, not only the fan-out)."""
    print()
    print(f"this: {ROOT}; compare: {args.compare}; {args.rounds} round(s), median of the ratios")
    print()
    print(
        "| bus | subscribers | RSS/sub this / compare | ratio | p99 this / compare | ratio "
        "| p99 ratio per round | request p50 ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for kind in [k for k in args.servers.split(",") if k != "reference"]:
        for size in sizes:
            got = {
                c: [r for r in results if (r.server, r.checkout, r.subscribers) == (kind, c, size)]
                for c in ("this", "compare")
            }
            pairs = list(zip(got["this"], got["compare"], strict=True))
            rss = [t.rss_per_sub_kib / c.rss_per_sub_kib for t, c in pairs]
            p99 = [t.p99_ms / c.p99_ms for t, c in pairs]
            request = [t.request_p50_ms / c.request_p50_ms for t, c in pairs]

            def mid(rs: list[Result], attr: str) -> float:
                return statistics.median(getattr(r, attr) for r in rs)

            print(
                f"| {kind} | {size:,} | {mid(got['this'], 'rss_per_sub_kib'):.1f} / "
                f"{mid(got['compare'], 'rss_per_sub_kib'):.1f} KiB | "
                f"{statistics.median(rss):.2f} | {mid(got['this'], 'p99_ms'):.1f} / "
                f"{mid(got['compare'], 'p99_ms'):.1f} ms | {statistics.median(p99):.2f} | "
                f"{', '.join(f'{r:.2f}' for r in p99)} | {statistics.median(request):.2f} |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--servers", default="memory,redis,reference")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--connect-concurrency", type=int, default=200)
    parser.add_argument(
        "--compare", help="another checkout: its FlowPilot servers alternate with this one's"
    )
    parser.add_argument("--rounds", type=int, default=1, help="this/compare pairs per bus kind")
    parser.add_argument(
        "--per-event",
        action="store_true",
        help="print each escalation's request time and slowest receipt",
    )
    parser.add_argument("--reference-server", type=int, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    try:
        import uvloop

        uvloop.install()  # the same loop uvicorn uses, for client and reference alike
    except ImportError:
        pass
    if ns.reference_server:
        asyncio.run(reference_server(ns.reference_server))
    else:
        asyncio.run(main(ns))
