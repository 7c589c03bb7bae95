"""Benchmark: email throughput of one worker's email lane against a local SMTP server.

Creates a database (default ``fp_bench_mail``), seeds a backlog of pending email deliveries
(``--handoffs`` escalations x ``--seniors`` recipients, 25k by default), starts an aiosmtpd
server in a child process that counts what it accepts, then drains the backlog with the
dispatcher's email lane (``run_once(channel=email)`` until nothing is due, as ``lane_job`` does)
and prints a Markdown table. The reference, in the same run and against the same server: a
bare aiosmtplib loop over the same number of connections sending pre-rendered mails of the same
size (the SMTP ceiling of this box). The ratio is dispatcher / reference. Every delivery must
be accepted exactly once and recorded ``sent``.

    .venv/bin/python -m bench.mail [--pg postgresql://postgres@127.0.0.1:5432/postgres]
        [--handoffs 2500] [--seniors 10] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import platform
import pstats
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from bench.claims_seed import _copy, bulk_handoffs, seed_people
from bench.pg import add_pg_option, async_url, create_database, drop_database
from flowpilot.kernel.clock import SystemClock
from flowpilot.kernel.db.base import new_id
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from flowpilot.kernel.settings import Settings
from flowpilot.models import Delivery, Event
from flowpilot.models.notifications import Channel, DeliveryStatus
from flowpilot.notifications.dispatcher import run_once
from flowpilot.notifications.messages import build_notice
from flowpilot.notifications.mime import render_email
from flowpilot.runtime.context import build_context
from flowpilot.runtime.migrate import upgrade


def _smtp_process(port: int, ready: Any, counts: Any, stop: Any) -> None:
    """aiosmtpd in its own process: counts accepted messages and distinct delivery ids."""
    seen: set[bytes] = set()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            data: bytes = envelope.original_content or envelope.content
            start = data.find(b"X-FlowPilot-Delivery: ")
            if start >= 0:
                seen.add(data[start + 22 : data.find(b"\r\n", start)])
            counts[0] += 1
            counts[1] = len(seen)
            counts[2] = int(time.process_time() * 1e6)  # the server's CPU so far, microseconds
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


async def _seed(engine: Any, maker: Any, handoffs: int, seniors: int, now: datetime) -> int:
    people = await seed_people(maker, seniors, now)
    tech, recipients = people[0], people[1:]
    ids = await bulk_handoffs(
        engine, tech, recipients, handoffs, now - timedelta(hours=1), statuses=("open",)
    )
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        first = int(
            (
                await conn.execute(text("SELECT nextval(pg_get_serial_sequence('events','id'))"))
            ).scalar_one()
        )
        await conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('events','id'), {first + len(ids)})")
        )
        events, deliveries = [], []
        for n, hid in enumerate(ids):
            eid = first + 1 + n
            payload = {
                "id": hid,
                "session_title": f"Case {n}: VPN drops every 5 minutes",
                "urgency": "high",
                "reason": "Tried the usual; the tunnel keeps flapping",
                "escalated_by_name": tech.name,
                "customer": "Initech",
            }
            events.append(
                {
                    "id": eid,
                    "account_id": tech.account_id,
                    "type": "handoff.created",
                    "handoff_id": hid,
                    "payload": payload,
                    "created_at": now,
                    "published_at": now,
                }
            )
            for user in recipients:
                deliveries.append(
                    {
                        "id": new_id(),
                        "account_id": tech.account_id,
                        "handoff_id": hid,
                        "event_id": eid,
                        "channel": Channel.EMAIL.value,
                        "recipient_id": user.id,
                        "recipient_key": f"user:{user.id}",
                        "status": DeliveryStatus.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        await _copy(conn, Event.__table__, events)
        await _copy(conn, Delivery.__table__, deliveries)
        await conn.execute(text("ANALYZE"))
    return len(deliveries)


async def _drain(ctx: Any, *, profile: bool = False) -> tuple[float, float, int]:
    profiler = cProfile.Profile() if profile else None
    t0, cpu0 = time.perf_counter(), time.process_time()
    rounds = 0
    if profiler:
        profiler.enable()
    while await run_once(ctx, channel=Channel.EMAIL):
        rounds += 1
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(
            "flowpilot|sqlalchemy/orm/session|aiosmtplib/smtp|prometheus|email/utils", 40
        )
    return elapsed, cpu, rounds


async def _reference(
    url_port: int, total: int, connections: int, sample: bytes
) -> tuple[float, float]:
    """The same number of mails over the same number of reused connections, nothing else."""
    remaining = iter(range(total))

    async def one_connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=url_port, timeout=30)
        await client.connect()
        try:
            for n in remaining:
                marked = sample.replace(b"X-FlowPilot-Delivery: ", b"X-Ref: %d " % n, 1)
                await client.sendmail("bench@flowpilot.test", ["ref@bench.test"], marked)
        finally:
            await client.quit()

    t0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return time.perf_counter() - t0, time.process_time() - cpu0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pg_option(parser)
    parser.add_argument("--database", default="fp_bench_mail")
    parser.add_argument("--handoffs", type=int, default=2500)
    parser.add_argument("--seniors", type=int, default=10)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the drain (slower)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    dsn = await create_database(args.pg, args.database)
    sa_url = async_url(dsn)
    mp = multiprocessing.get_context("spawn")
    ready, stop = mp.Event(), mp.Event()
    counts = mp.Array("l", 3)
    port = _free_port()
    server = mp.Process(target=_smtp_process, args=(port, ready, counts, stop), daemon=True)
    server.start()
    ready.wait(30)
    try:
        await asyncio.to_thread(upgrade, sa_url)
        now = datetime.now(UTC).replace(microsecond=0)
        engine = make_engine(sa_url, pool_size=4, max_overflow=0)
        maker = make_sessionmaker(engine)
        total = await _seed(engine, maker, args.handoffs, args.seniors, now)
        settings = Settings(
            database_url=sa_url,
            smtp_url=f"smtp://127.0.0.1:{port}",
            base_url="https://flowpilot.example.test",
            secret_key="bench",
        )
        ctx = build_context(settings, SystemClock())
        server_cpu0 = counts[2]
        try:
            elapsed, cpu, rounds = await _drain(ctx, profile=args.profile)
        finally:
            await ctx.engine.dispose()
            await ctx.system.engine.dispose()
        accepted, distinct = counts[0], counts[1]
        server_cpu = (counts[2] - server_cpu0) / 1e6
        async with maker() as session:
            sent = (
                await session.execute(
                    select(func.count()).where(Delivery.status == DeliveryStatus.SENT)
                )
            ).scalar_one()
        await engine.dispose()

        notice = build_notice(
            event_type="handoff.created",
            payload={"session_title": "Case 1: VPN drops every 5 minutes", "urgency": "high"},
            handoff_id=new_id(),
            handoff_status="open",
            base_url=settings.base_url,
        )
        sample = render_email(
            notice,
            delivery_id=new_id(),
            to_email="ref@bench.test",
            to_name="Senior 1",
            mail_from=settings.mail_from,
            now=now,
        ).data
        ref_elapsed, ref_cpu = await _reference(port, total, settings.email_concurrency, sample)
    finally:
        stop.set()
        server.join(10)
        if not args.keep:
            await drop_database(args.pg, args.database)

    rate, ref_rate = total / elapsed, total / ref_elapsed
    print("| path | mails | seconds | mails/s | ratio | worker CPU ms/mail |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| dispatcher email lane (lease {settings.email_batch_size}, "
        f"{settings.email_concurrency} connections, {rounds} rounds) | {total:,} | "
        f"{elapsed:.1f} | {rate:,.0f} | {rate / ref_rate:.2f} | {cpu / total * 1000:.2f} |"
    )
    print(
        f"| reference: bare aiosmtplib, {settings.email_concurrency} connections | {total:,} | "
        f"{ref_elapsed:.1f} | {ref_rate:,.0f} | 1.00 | {ref_cpu / total * 1000:.2f} |"
    )
    print(
        f"\nSMTP server (aiosmtpd, own process) CPU during the drain: "
        f"{server_cpu / total * 1000:.2f} ms/mail. With a core each (an idle 2-core box), one "
        f"worker's ceiling is ~{1000 / max(cpu / total * 1000, 1e-9):,.0f} mails/s (its CPU) "
        f"and this server's ~{1000 / max(server_cpu / total * 1000, 1e-9):,.0f} mails/s."
    )
    ok = accepted == total and distinct == total and sent == total
    print(
        f"\nexactly once: accepted {accepted:,}, distinct deliveries {distinct:,}, recorded sent"
        f" {sent:,} of {total:,} ({'ok' if ok else 'MISMATCH'})"
    )
    print(
        f"machine: {platform.node()} · {os.cpu_count()} cores · Python"
        f" {platform.python_version()} · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · load avg"
        f" before/after {load_before:.1f}/{os.getloadavg()[0]:.1f}"
    )
    if not ok:
        raise SystemExit(2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    asyncio.run(main())
