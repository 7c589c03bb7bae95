"""Delivery dispatcher: lease due deliveries, send outside the transaction, record the outcome.

Lifecycle of a delivery: ``pending`` -> (leased) ``sending`` -> ``sent`` | ``failed`` (retried
after an exponential back-off) | ``dead`` (gave up after ``delivery_max_attempts``) |
``skipped`` (deliberately not sent: a re-notification for a handoff that was claimed meanwhile,
a deactivated recipient, a webhook switched off). A lease that is never finished (the worker
died) expires after ``delivery_sending_timeout_seconds`` and the row is taken again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta

import httpx
from prometheus_client import Counter

from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.settings import Settings
from flowpilot.models.events import EventType
from flowpilot.models.handoffs import HandoffStatus
from flowpilot.models.notifications import Channel, DeliveryStatus
from flowpilot.notifications import email as email_channel
from flowpilot.notifications import repository as repo
from flowpilot.notifications import webhook as webhook_channel
from flowpilot.notifications.chain import run_chain_once
from flowpilot.notifications.email import SendError
from flowpilot.notifications.messages import build_notice, slack_message

log = logging.getLogger("flowpilot.notifications")

__all__ = ["dispatcher_job", "escalation_chain_job", "run_chain_once", "run_once", "take_due"]


async def take_due(ctx: Context, *, limit: int | None = None) -> list[repo.Job]:
    """Lease due deliveries and read what sending needs, in one short committed transaction."""
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:  # every account's due deliveries
        ids = await repo.take_due(
            session,
            now=now,
            limit=limit or ctx.settings.delivery_batch_size,
            lease_seconds=ctx.settings.delivery_sending_timeout_seconds,
            skip_locked=ctx.system.engine.dialect.name == "postgresql",
        )
        return await repo.load_jobs(session, ids)


async def run_once(ctx: Context, *, limit: int | None = None) -> int:
    """One dispatcher round: returns how many deliveries were taken (0 when idle)."""
    _outcomes(ctx)  # registered up front, so /metrics shows it before the first send
    jobs = await take_due(ctx, limit=limit)
    if not jobs:
        return 0
    gate = asyncio.Semaphore(max(1, ctx.settings.delivery_concurrency))
    async with (
        httpx.AsyncClient(
            timeout=ctx.settings.webhook_timeout_seconds, follow_redirects=False
        ) as client,
        email_channel.SmtpConnections(ctx.settings) as smtp,
    ):

        async def one(job: repo.Job) -> None:
            async with gate:
                await process(ctx, job, client, smtp)

        await asyncio.gather(*(one(job) for job in jobs))
    return len(jobs)


async def process(
    ctx: Context,
    job: repo.Job,
    client: httpx.AsyncClient,
    smtp: email_channel.SmtpConnections | None = None,
) -> None:
    """Send one leased delivery (or decide not to) and record the outcome."""
    settings = ctx.settings
    skip = _skip_reason(job)
    if skip is not None:
        await _finish(ctx, job, status=DeliveryStatus.SKIPPED, error=skip)
        return
    if job.attempts > settings.delivery_max_attempts:
        # Only an expired lease gets here: the worker died mid-send on the last attempt.
        error = f"gave up after {job.attempts - 1} attempts (last one never finished)"
        await _finish(ctx, job, status=DeliveryStatus.DEAD, error=error)
        return
    try:
        await _send(ctx, job, client, smtp)
    except SendError as exc:
        await _failed(ctx, job, str(exc))
    except Exception as exc:
        log.exception("delivery %s: unexpected error while sending", job.delivery_id)
        await _failed(ctx, job, f"internal error: {type(exc).__name__}")
    else:
        await _finish(ctx, job, status=DeliveryStatus.SENT, error=None)


def _skip_reason(job: repo.Job) -> str | None:
    # The creation notice always goes out (it records that the team was told); the chain's
    # re-notifications are pointless once someone has the escalation.
    # A hand-over or a nudge is pointless once the holder no longer holds it.
    if job.event_type in (EventType.HANDOFF_ASSIGNED, EventType.HANDOFF_IDLE_NUDGED):
        if job.handoff_status != HandoffStatus.CLAIMED:
            return f"handoff already {job.handoff_status}"
    elif job.event_type != EventType.HANDOFF_CREATED and job.handoff_status != HandoffStatus.OPEN:
        return f"handoff already {job.handoff_status}"
    if job.channel == Channel.EMAIL:
        if not job.recipient_active:
            return "recipient deactivated"
        if not job.recipient_email:
            return "recipient has no email address"
    elif job.channel == Channel.WEBHOOK:
        if not job.webhook_enabled or not job.webhook_url:
            return "webhook disabled"
        if not job.webhook_secret:
            return "webhook has no signing secret"
    else:
        return f"unknown channel {job.channel}"
    return None


async def _send(
    ctx: Context,
    job: repo.Job,
    client: httpx.AsyncClient,
    smtp: email_channel.SmtpConnections | None,
) -> None:
    settings = ctx.settings
    now = ctx.clock.now()
    notice = build_notice(
        event_type=job.event_type,
        payload=job.payload,
        handoff_id=job.handoff_id,
        handoff_status=job.handoff_status,
        base_url=settings.base_url,
    )
    if job.channel == Channel.EMAIL:
        msg = email_channel.build_email(
            notice,
            delivery_id=job.delivery_id,
            to_email=job.recipient_email or "",
            to_name=job.recipient_name,
            settings=settings,
            now=now,
        )
        await email_channel.send(
            msg, delivery_id=job.delivery_id, settings=settings, connections=smtp
        )
    else:
        await webhook_channel.post(
            client,
            url=job.webhook_url or "",
            secret=job.webhook_secret or "",
            message=slack_message(
                notice, event_type=job.event_type, event_id=job.event_id, payload=job.payload
            ),
            delivery_id=job.delivery_id,
            event_type=job.event_type,
            now=now,
            block_private=settings.webhook_block_private_networks,
        )


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """min(cap, base * 2^(attempts-1)), shortened by up to ``jitter`` (never lengthened)."""
    delay = min(
        settings.delivery_backoff_cap_seconds,
        settings.delivery_backoff_base_seconds * 2 ** max(attempts - 1, 0),
    )
    jitter = min(max(settings.delivery_backoff_jitter, 0.0), 1.0)
    return delay * (1.0 - jitter * random.random())


async def _failed(ctx: Context, job: repo.Job, error: str) -> None:
    if job.attempts >= ctx.settings.delivery_max_attempts:
        await _finish(ctx, job, status=DeliveryStatus.DEAD, error=error)
        return
    retry_at = ctx.clock.now() + timedelta(seconds=backoff_seconds(ctx.settings, job.attempts))
    await _finish(ctx, job, status=DeliveryStatus.FAILED, error=error, next_attempt_at=retry_at)


async def _finish(
    ctx: Context,
    job: repo.Job,
    *,
    status: str,
    error: str | None,
    next_attempt_at: datetime | None = None,
) -> None:
    async with unit_of_work(ctx.system.sessionmaker) as session:
        recorded = await repo.finish(
            session,
            delivery_id=job.delivery_id,
            attempts=job.attempts,
            now=ctx.clock.now(),
            status=status,
            last_error=error,
            next_attempt_at=next_attempt_at,
        )
    if not recorded:
        log.warning("delivery %s: lease lost before recording %s", job.delivery_id, status)
        return
    _outcomes(ctx).labels(channel=job.channel, outcome=status).inc()


def _outcomes(ctx: Context) -> Counter:
    """``flowpilot_delivery_outcomes_total{channel,outcome}`` on the process's registry."""
    return ctx.metrics.counter(
        "flowpilot_delivery_outcomes",
        "Delivery attempts by channel and outcome (sent, failed, dead, skipped)",
        ["channel", "outcome"],
    )


async def dispatcher_job(ctx: Context) -> None:
    """Loop: take due deliveries (SKIP LOCKED on PostgreSQL), send, record the outcome."""
    while True:
        try:
            taken = await run_once(ctx)
        except Exception:
            log.exception("delivery dispatcher round failed")
            taken = 0
        # A full batch means more may be due: go again at once; otherwise wait (one indexed
        # query per interval while idle).
        if taken < ctx.settings.delivery_batch_size:
            await asyncio.sleep(ctx.settings.dispatcher_interval_seconds)


async def escalation_chain_job(ctx: Context) -> None:
    """Loop: re-notify seniors after N minutes, alert admins after M minutes."""
    while True:
        try:
            await run_chain_once(ctx)
        except Exception:
            log.exception("escalation chain round failed")
        await asyncio.sleep(ctx.settings.escalation_chain_interval_seconds)
